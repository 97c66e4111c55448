"""The ESC/POS bytes, compared exactly with hand-computed ones, and the status answers."""

from __future__ import annotations

import numpy as np
import pytest

from drivers.printer.base import PrinterStatus
from drivers.printer.escpos import (
    PAPER_SENSOR_QUERY,
    CommandParser,
    StatusReport,
    feed_lines,
    is_realtime_answer,
    pack_rows,
    parse_gs_r_paper,
    parse_realtime,
    parse_stream,
    partial_cut,
    raster_bands,
    realtime_status_query,
    receipt_job,
    status_report,
)

# A 10-dot wide, 3-row image (X = black):
#   row 0  X.......X.   -> 1000 0000  1000 0000(pad) -> 80 80
#   row 1  .XXXXXXXX.   -> 0111 1111  1000 0000      -> 7F 80
#   row 2  XXXXXXXXXX   -> 1111 1111  1100 0000      -> FF C0
TINY = np.array(
    [[c == "X" for c in row] for row in ("X.......X.", ".XXXXXXXX.", "XXXXXXXXXX")], dtype=bool
)

# The whole job with bands of at most 2 rows, a 1-line feed and the partial cut:
TINY_JOB = bytes.fromhex(
    "1B 40"  # ESC @
    " 1D 76 30 00 02 00 02 00  80 80 7F 80"  # GS v 0 m=0 x=2 bytes y=2 rows, rows 0-1
    " 1D 76 30 00 02 00 01 00  FF C0"  # GS v 0 m=0 x=2 bytes y=1 row, row 2
    " 1B 64 01"  # ESC d 1
    " 1D 56 42 00"  # GS V 66 0: feed to the cutter, partial cut
)


def test_tiny_image_job_bytes_exactly():
    assert b"".join(receipt_job(TINY, band_rows=2, feed=1)) == TINY_JOB


def test_tiny_image_in_one_band():
    assert list(raster_bands(TINY, band_rows=64)) == [
        bytes.fromhex("1D 76 30 00 02 00 03 00 80 80 7F 80 FF C0")
    ]


def test_pack_rows_msb_is_the_leftmost_dot():
    assert pack_rows(TINY).tolist() == [[0x80, 0x80], [0x7F, 0x80], [0xFF, 0xC0]]


def test_raster_header_is_little_endian():
    wide = np.zeros((300, 8 * 256), dtype=bool)  # 256 bytes per row, 300 rows
    (band,) = raster_bands(wide, band_rows=300)
    assert band[:8] == bytes.fromhex("1D 76 30 00 00 01 2C 01")
    assert len(band) == 8 + 256 * 300


def test_bands_cover_the_image_top_to_bottom():
    rng = np.random.default_rng(7)
    image = rng.random((130, 576)) < 0.3
    bands = list(raster_bands(image, band_rows=64))
    assert [int.from_bytes(b[6:8], "little") for b in bands] == [64, 64, 2]
    decoded = np.vstack([c.raster() for c in parse_stream(b"".join(bands))])
    assert np.array_equal(decoded, image)


def test_simple_commands():
    assert realtime_status_query(1) == b"\x10\x04\x01"
    assert realtime_status_query(4) == b"\x10\x04\x04"
    assert PAPER_SENSOR_QUERY == b"\x1d\x72\x01"
    assert feed_lines(3) == b"\x1b\x64\x03"
    assert partial_cut(0) == b"\x1d\x56\x42\x00"
    assert partial_cut(None) == b"\x1d\x56\x01"
    assert b"".join(receipt_job(TINY, band_rows=8, feed=0, cut=False))[-4:] == bytes.fromhex(
        "7F 80 FF C0"
    )


@pytest.mark.parametrize(
    "call",
    [
        lambda: realtime_status_query(5),
        lambda: feed_lines(256),
        lambda: partial_cut(-1),
        lambda: list(raster_bands(TINY, band_rows=0)),
        lambda: pack_rows(np.zeros((2, 2), dtype=np.uint8)),
        lambda: pack_rows(np.zeros((0, 8), dtype=bool)),
    ],
)
def test_bad_arguments_are_refused(call):
    with pytest.raises((ValueError, TypeError)):
        call()


# ---------------------------------------------------------------------------- status bytes

# (n of DLE EOT n, answer byte, the flags it must set; every other flag of that n is False)
REALTIME = [
    (1, 0x12, {}),
    (1, 0x16, {}),  # bit 2: drawer kick pin, not ours
    (1, 0x1A, {"offline"}),
    (1, 0x32, {"recovering"}),
    (1, 0x3A, {"offline", "recovering"}),
    (2, 0x12, {}),
    (2, 0x16, {"cover_open"}),
    (2, 0x1A, {"feed_button"}),
    (2, 0x32, {"stopped_paper_end"}),
    (2, 0x52, {"error"}),
    (2, 0x76, {"cover_open", "stopped_paper_end", "error"}),
    (3, 0x12, {}),
    (3, 0x1A, {"cutter_error"}),
    (3, 0x32, {"unrecoverable_error"}),
    (3, 0x52, {"auto_recoverable_error"}),
    (4, 0x12, {}),
    (4, 0x1E, {"paper_near_end"}),  # both near-end bits
    (4, 0x16, {"paper_near_end"}),  # one of them
    (4, 0x72, {"paper_out"}),
    (4, 0x7E, {"paper_near_end", "paper_out"}),  # a typical empty roll: both sensors
]


@pytest.mark.parametrize("n,byte,flags", REALTIME)
def test_realtime_status_bytes(n, byte, flags):
    parsed = parse_realtime(n, byte)
    assert {k for k, v in parsed.items() if v} == set(flags)
    assert is_realtime_answer(byte)


@pytest.mark.parametrize("byte", [0x00, 0xFF, 0x02, 0x10, 0x13, 0x92, 0x0C])
def test_realtime_answers_must_have_the_fixed_bits(byte):
    assert not is_realtime_answer(byte)
    for n in (1, 2, 3, 4):
        with pytest.raises(ValueError):
            parse_realtime(n, byte)


@pytest.mark.parametrize(
    "byte,near,out",
    [(0x00, False, False), (0x03, True, False), (0x01, True, False), (0x0C, False, True),
     (0x0F, True, True)],
)  # fmt: skip
def test_gs_r_paper_sensor_bytes(byte, near, out):
    assert parse_gs_r_paper(byte) == {"paper_near_end": near, "paper_out": out}
    assert not is_realtime_answer(byte)  # never mistaken for a DLE EOT answer


@pytest.mark.parametrize("byte", [0x10, 0x80, 0x9F])
def test_gs_r_answer_with_fixed_bits_set_is_refused(byte):
    with pytest.raises(ValueError):
        parse_gs_r_paper(byte)


@pytest.mark.parametrize(
    "answers,status,cause",
    [
        ({1: None}, PrinterStatus.OFFLINE, "no_answer"),
        ({1: 0x12, 4: 0x12}, PrinterStatus.READY, "ready"),
        ({1: 0x12, 4: None}, PrinterStatus.READY, "ready"),  # no DLE EOT 4 on this model
        ({1: 0x12, 4: 0x1E}, PrinterStatus.PAPER_NEAR_END, "paper_near_end"),
        ({1: 0x1A, 2: 0x32, 4: 0x7E}, PrinterStatus.PAPER_OUT, "paper_out"),
        ({1: 0x1A, 2: 0x32, 4: 0x12}, PrinterStatus.PAPER_OUT, "paper_out"),  # stopped by end
        ({1: 0x12, 4: 0x72}, PrinterStatus.PAPER_OUT, "paper_out"),
        ({1: 0x1A, 2: 0x16, 4: 0x12}, PrinterStatus.OFFLINE, "cover_open"),
        ({1: 0x1A, 2: 0x52, 3: 0x1A, 4: 0x12}, PrinterStatus.OFFLINE, "printer_error"),
        ({1: 0x1A, 2: 0x1A, 4: 0x12}, PrinterStatus.OFFLINE, "busy"),
        ({1: 0x3A, 2: 0x12, 4: 0x12}, PrinterStatus.OFFLINE, "busy"),
    ],
)
def test_answers_combine_into_one_status(answers, status, cause):
    report = status_report(answers)
    assert report.status == status
    assert report.cause == cause
    assert report.busy == (cause == "busy")


def test_unanswered_report():
    assert StatusReport(answered=False).status == PrinterStatus.OFFLINE
    assert not PrinterStatus.OFFLINE.can_print
    assert PrinterStatus.PAPER_NEAR_END.can_print


# ---------------------------------------------------------------------------- the parser


def test_parser_reassembles_commands_split_across_writes():
    stream = TINY_JOB + b"\x10\x04\x01" + PAPER_SENSOR_QUERY
    whole = parse_stream(stream)
    parser = CommandParser()
    pieces = []
    for i in range(len(stream)):
        pieces += parser.feed(stream[i : i + 1])
    assert pieces == whole
    assert parser.pending == 0
    assert [c.name for c in whole] == [
        "INIT", "RASTER", "RASTER", "FEED", "CUT", "REALTIME_STATUS", "PAPER_STATUS"
    ]  # fmt: skip
    assert b"".join(c.raw for c in whole) == stream
    assert [c.offset for c in whole][:3] == [0, 2, 14]


def test_parser_holds_an_incomplete_command():
    parser = CommandParser()
    assert parser.feed(TINY_JOB[:9]) == [parse_stream(TINY_JOB)[0]]  # ESC @ only
    assert parser.pending == 7


def test_realtime_bytes_inside_raster_data_are_data():
    image = np.zeros((1, 24), dtype=bool)
    image[0] = np.unpackbits(np.frombuffer(b"\x10\x04\x01", dtype=np.uint8)).astype(bool)
    cmds = parse_stream(b"".join(raster_bands(image)))
    assert [c.name for c in cmds] == ["RASTER"]
    assert np.array_equal(cmds[0].raster(), image)


def test_parser_knows_other_common_commands():
    stream = b"\x1ba\x01Hi\n\x1d!\x11\x1b\x45\x01\x1d(k\x03\x001A2\x1dV\x00\x1b\x99"
    assert [c.name for c in parse_stream(stream)] == [
        "OTHER", "TEXT", "TEXT", "LF", "OTHER", "OTHER", "OTHER", "CUT", "UNKNOWN"
    ]  # fmt: skip
