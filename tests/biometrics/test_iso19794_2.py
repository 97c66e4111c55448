"""ISO/IEC 19794-2:2005 records: every shared real record decoded, checked against bytes read
independently here, and written back byte for byte; broken records give ISORecordError."""

from __future__ import annotations

import dataclasses
import struct
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from biometrics import iso19794_2 as iso
from drivers.eval_data import eval_data_root

FINGERS = eval_data_root() / "fingers"


def _shared_records() -> list[Path]:
    files = sorted(FINGERS.rglob("*.iso")) if FINGERS.is_dir() else []
    if not files:
        pytest.skip(
            f"no .iso records under {FINGERS} (the shared evaluation data; "
            "set KIOSK_EVAL_DATA to its folder)"
        )
    return files


def _by_hand(raw: bytes, index: int) -> dict:
    """Fields read straight from fixed offsets, without the parser."""
    count = raw[24 + 3]  # 24-byte record header, then the view header's 4th byte
    off = 28 + 6 * index  # minutiae start after the 4-byte view header
    type_x, y, angle = struct.unpack(">HHB", raw[off : off + 5])
    return {
        "length": struct.unpack(">I", raw[8:12])[0],
        "size": struct.unpack(">HHHH", raw[14:22]),
        "views": raw[22],
        "count": count,
        "type": type_x >> 14,
        "x": type_x & 0x3FFF,
        "y": y & 0x3FFF,
        "angle": angle,
    }


def test_every_shared_record_decodes_and_writes_back_byte_for_byte():
    files = _shared_records()
    for path in files:
        raw = path.read_bytes()
        record = iso.parse(raw)
        assert len(record.views) == 1, path
        view = record.views[0]
        for index in {0, len(view.minutiae) // 2, len(view.minutiae) - 1}:
            hand = _by_hand(raw, index)
            m = view.minutiae[index]
            assert hand["length"] == len(raw)
            assert hand["count"] == len(view.minutiae), path
            assert (m.x, m.y, m.angle, int(m.type)) == (
                hand["x"],
                hand["y"],
                hand["angle"],
                hand["type"],
            ), (path, index)
        # The note in the data's README: every record declares 300x400 at 197 px/cm.
        assert (record.width, record.height, record.x_resolution, record.y_resolution) == (
            300,
            400,
            197,
            197,
        )
        assert _by_hand(raw, 0)["size"] == (300, 400, 197, 197)
        # Written back from the parsed fields alone (a fresh record built field by field).
        rebuilt = iso.FingerMinutiaeRecord(
            **{f.name: getattr(record, f.name) for f in dataclasses.fields(record)}
        )
        assert iso.write(rebuilt) == raw, path
    assert len(files) >= 1


def test_a_known_shared_record():
    path = FINGERS / "fvc2002" / "DB1_B" / "101_1.iso"
    if not path.exists():
        pytest.skip(f"{path} absent (shared evaluation data)")
    record = iso.read(path)
    view = record.views[0]
    assert len(view.minutiae) == 25
    first = view.minutiae[0]
    # bytes 28..33: 80 A5 00 30 6B 00 -> bifurcation at (165, 48), angle 0x6B
    assert (first.type, first.x, first.y, first.angle, first.quality) == (
        iso.MinutiaType.BIFURCATION,
        165,
        48,
        0x6B,
        0,
    )
    assert first.angle_degrees == pytest.approx(107 * 360 / 256)
    assert record.dpi[0] == pytest.approx(500.38)


# -- records made here, no data needed ------------------------------------------------------------


def _sample() -> iso.FingerMinutiaeRecord:
    return iso.FingerMinutiaeRecord(
        width=256,
        height=288,
        x_resolution=197,
        y_resolution=197,
        equipment_compliance=1,
        equipment_id=0x123,
        views=(
            iso.FingerView(
                finger_position=2,
                view_number=0,
                impression_type=0,
                quality=80,
                minutiae=(
                    iso.Minutia(10, 20, 0, iso.MinutiaType.RIDGE_ENDING, 50),
                    iso.Minutia(255, 287, 255, iso.MinutiaType.BIFURCATION, 100),
                    iso.Minutia(0, 0, 64, iso.MinutiaType.OTHER, 0),
                ),
                extended=(iso.ExtendedDataArea(0x0002, b"\x01\x02\x03"),),
            ),
            iso.FingerView(
                finger_position=7, view_number=1, quality=60, minutiae=(iso.Minutia(5, 6, 7),)
            ),
        ),
    )


SAMPLE = iso.write(_sample())


def test_write_then_parse_is_identity():
    assert SAMPLE[:8] == b"FMR\x00 20\x00"
    expected = 24 + (4 + 3 * 6 + 2 + 7) + (4 + 6 + 2)  # header, two views
    assert struct.unpack(">I", SAMPLE[8:12])[0] == len(SAMPLE) == expected
    assert iso.parse(SAMPLE) == _sample()
    assert iso.Minutia.angle_from_degrees(90) == 64


def test_errors_say_what_and_where():
    with pytest.raises(iso.ISORecordError, match="format identifier"):
        iso.parse(b"XYZ\x00" + SAMPLE[4:])
    with pytest.raises(iso.ISORecordError, match="version"):
        iso.parse(SAMPLE[:4] + b"030\x00" + SAMPLE[8:])
    with pytest.raises(iso.ISORecordError, match="record length field says"):
        iso.parse(SAMPLE + b"\0")
    with pytest.raises(iso.ISORecordError, match="truncated"):
        iso.parse(SAMPLE[:20])
    with pytest.raises(iso.ISORecordError, match="a record is bytes"):
        iso.parse("FMR")  # type: ignore[arg-type]
    outside = bytearray(SAMPLE)
    outside[28:30] = struct.pack(">H", (1 << 14) | 300)  # x = 300 in a 256-wide image
    with pytest.raises(iso.ISORecordError, match="outside") as caught:
        iso.parse(bytes(outside))
    assert caught.value.offset == 28
    assert iso.parse(bytes(outside), strict=False).views[0].minutiae[0].x == 300
    assert isinstance(caught.value, ValueError)


def _parse_or_clear_error(data: bytes) -> None:
    try:
        iso.parse(data)
    except iso.ISORecordError as exc:
        assert str(exc)  # a message, not an empty error
    try:
        iso.parse(data, strict=False)
    except iso.ISORecordError as exc:
        assert str(exc)


@given(st.integers(0, len(SAMPLE) - 1))
def test_every_truncation_is_a_clear_error(cut):
    with pytest.raises(iso.ISORecordError):
        iso.parse(SAMPLE[:cut])
    with pytest.raises(iso.ISORecordError):
        iso.parse(SAMPLE[:cut], strict=False)


@given(st.binary(max_size=200))
def test_random_bytes_never_crash(data):
    _parse_or_clear_error(data)
    _parse_or_clear_error(SAMPLE[:8] + data)  # past the identifier check, into the fields


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(8, len(SAMPLE) - 1), st.integers(0, 255))
def test_any_corrupted_byte_never_crashes(index, value):
    data = bytearray(SAMPLE)
    data[index] = value
    _parse_or_clear_error(bytes(data))


@given(st.integers(0, 0xFFFFFFFF))
def test_wrong_record_lengths_are_errors(length):
    data = SAMPLE[:8] + struct.pack(">I", length) + SAMPLE[12:]
    if length == len(SAMPLE):
        assert iso.parse(data) == _sample()
    else:
        with pytest.raises(iso.ISORecordError, match="record length"):
            iso.parse(data)


def test_wrong_inner_counts_are_errors():
    """Every other minutiae count, every other extended data length of the first view (with
    the record length left consistent, so only the inner field is wrong): all errors."""
    for count in range(256):
        data = bytearray(SAMPLE)
        data[27] = count
        if count == 3:
            assert iso.parse(bytes(data)) == _sample()
            continue
        with pytest.raises(iso.ISORecordError):
            iso.parse(bytes(data), strict=False)
    for ext_length in range(0x10000):
        data = bytearray(SAMPLE)
        data[28 + 18 : 28 + 20] = ext_length.to_bytes(2, "big")
        if ext_length == 7:
            assert iso.parse(bytes(data)) == _sample()
            continue
        with pytest.raises(iso.ISORecordError):
            iso.parse(bytes(data), strict=False)


minutiae = st.builds(
    iso.Minutia,
    x=st.integers(0, 299),
    y=st.integers(0, 399),
    angle=st.integers(0, 255),
    type=st.sampled_from(list(iso.MinutiaType)),
    quality=st.integers(0, 100),
)
views = st.builds(
    iso.FingerView,
    minutiae=st.lists(minutiae, max_size=40).map(tuple),
    finger_position=st.integers(0, 10),
    view_number=st.integers(0, 15),
    impression_type=st.sampled_from([0, 1, 2, 3, 8]),
    quality=st.integers(0, 100),
    extended=st.lists(
        st.builds(iso.ExtendedDataArea, st.integers(1, 0xFFFF), st.binary(max_size=20)),
        max_size=3,
    ).map(tuple),
)
records = st.builds(
    iso.FingerMinutiaeRecord,
    width=st.just(300),
    height=st.just(400),
    x_resolution=st.integers(1, 0xFFFF),
    y_resolution=st.integers(1, 0xFFFF),
    views=st.lists(views, max_size=4).map(tuple),
    equipment_compliance=st.integers(0, 15),
    equipment_id=st.integers(0, 0xFFF),
)


@given(records)
def test_any_valid_record_round_trips(record):
    raw = iso.write(record)
    back = iso.parse(raw)
    assert back == record
    assert iso.write(back) == raw


def test_writing_values_that_do_not_fit_is_an_error():
    with pytest.raises(iso.ISORecordError, match="14 bits"):
        iso.write(
            dataclasses.replace(
                _sample(), views=(iso.FingerView(minutiae=(iso.Minutia(1 << 14, 0, 0),)),)
            )
        )
    with pytest.raises(iso.ISORecordError, match="255 minutiae"):
        iso.write(
            dataclasses.replace(
                _sample(), views=(iso.FingerView(minutiae=(iso.Minutia(1, 1, 1),) * 256),)
            )
        )
