"""The keyboard-wedge decoder: a scanner's bursts vs a person typing, without Kivy."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.errors import (
    DeviceCancelled,
    DeviceError,
    DeviceErrorKind,
    DeviceRetry,
    DeviceUnavailable,
)
from drivers.reader.base import READER_UNREADABLE, ReaderState
from drivers.reader.wedge import Typing, WedgeDecoder, WedgeReader
from kiosk.api import ecard
from kiosk.api.contract import DocumentType
from tests.drivers.reader.conftest import in_thread, type_burst

PAYLOAD = "JMEC1.eyJiIjoiMTk0Ni0wMy0xMiJ9.c2lnbmF0dXJl"


class Clock:
    """The decoder's clock, moved by the test."""

    def __init__(self):
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def decoder(clock):
    return WedgeDecoder(clock=clock)


def feed(decoder, keys, clock, gaps):
    """Feeds `keys` with the gaps (seconds) before each; a float gap is used for every key."""
    if isinstance(gaps, (int, float)):
        gaps = [gaps] * len(keys)
    for key, gap in zip(keys, gaps, strict=True):
        clock.t += gap
        decoder.feed(key, clock.t)


def burst(decoder, text, clock, gap=0.004, end="enter"):
    feed(decoder, [*text, end] if end else list(text), clock, gap)


def later(decoder, clock, seconds=1.0):
    clock.t += seconds
    decoder.poll()


def test_a_scanner_burst_is_a_scan(decoder, clock):
    burst(decoder, PAYLOAD, clock)
    scan = decoder.wait(0)
    assert scan.text == PAYLOAD and scan.source == "wedge"
    assert scan.timestamp == pytest.approx(clock.t)
    assert scan.details == {"keys": len(PAYLOAD), "terminated": True}
    assert decoder.wait(0) is None and decoder.typed() == []


def test_a_person_typing_is_not_a_scan(decoder, clock):
    feed(
        decoder, [*"A1234563", "enter"], clock, [0.18, 0.11, 0.25, 0.14, 0.3, 0.09, 0.2, 0.16, 0.4]
    )
    later(decoder, clock)
    assert decoder.wait(0) is None
    typed = decoder.typed()
    assert "".join(t.text for t in typed) == "A1234563"
    assert [k for t in typed for k in t.keys][-1] == "enter"


def test_a_fast_typist_rolling_a_few_keys_is_still_typing(decoder, clock):
    # Rollover makes some gaps tiny, but never min_length keys in a row.
    feed(decoder, [*"the", "enter"], clock, [0.3, 0.02, 0.03, 0.03])
    later(decoder, clock)
    assert decoder.wait(0) is None
    assert [t.keys for t in decoder.typed()] == [("t", "h", "e", "enter")]


def test_editing_keys_make_a_fast_run_typing(decoder, clock):
    burst(decoder, ["A", "B", "C", "backspace", "D", "E", "F", "G"], clock)
    assert decoder.wait(0) is None
    (typing,) = decoder.typed()
    assert typing.keys == ("A", "B", "C", "backspace", "D", "E", "F", "G", "enter")
    assert typing.text == "ABCDEFG"


def test_a_burst_without_its_terminator_is_unreadable(decoder, clock):
    burst(decoder, PAYLOAD[:40], clock, end="")
    assert decoder.wait(0) is None  # it might still be going on
    later(decoder, clock)
    with pytest.raises(DeviceRetry) as e:
        decoder.wait(0)
    assert e.value.reason == READER_UNREADABLE and "terminator" in e.value.detail
    assert decoder.cut_off == 1


def test_without_a_required_terminator_the_pause_ends_the_scan(clock):
    decoder = WedgeDecoder(clock=clock, require_terminator=False)
    burst(decoder, PAYLOAD, clock, end="")
    later(decoder, clock)
    scan = decoder.wait(0)
    assert scan.text == PAYLOAD and scan.details["terminated"] is False


def test_an_endless_burst_is_unreadable(clock):
    decoder = WedgeDecoder(clock=clock, max_length=64)
    burst(decoder, "X" * 200, clock)
    with pytest.raises(DeviceRetry, match="longer than 64"):
        decoder.wait(0)


def test_modifier_keys_inside_a_burst_are_ignored(decoder, clock):
    keys = []
    for ch in PAYLOAD:
        if ch.isupper():
            keys.append("shift")
        keys.append(ch)
    burst(decoder, keys, clock)
    assert decoder.wait(0).text == PAYLOAD


def test_a_late_ui_thread_pausing_a_burst_is_tolerated(decoder, clock):
    gaps = [0.004] * len(PAYLOAD) + [0.004]
    gaps[30] = 0.2  # the UI thread was busy for 200 ms
    gaps[40] = 0.25
    feed(decoder, [*PAYLOAD, "enter"], clock, gaps)
    assert decoder.wait(0).text == PAYLOAD


def test_a_long_pause_splits_a_burst(decoder, clock):
    gaps = [0.004] * (len(PAYLOAD) + 1)
    gaps[30] = 1.0
    feed(decoder, [*PAYLOAD, "enter"], clock, gaps)
    with pytest.raises(DeviceRetry):  # the first 30 keys: cut off
        decoder.wait(0)
    assert decoder.wait(0).text == PAYLOAD[30:]  # the rest ends with Enter: the kiosk's
    # e-card check refuses it as not an e-card, the resident scans again


def test_typing_then_a_scan_right_after_are_told_apart(decoder, clock):
    feed(decoder, list("12"), clock, [0.3, 0.25])
    clock.t += 0.4
    burst(decoder, PAYLOAD, clock)
    assert decoder.wait(0).text == PAYLOAD
    assert "".join(t.text for t in decoder.typed()) == "12"


def test_short_fast_bursts_are_typing(clock):
    decoder = WedgeDecoder(clock=clock, min_length=6)
    burst(decoder, "ABCDE", clock)
    assert decoder.wait(0) is None
    assert decoder.typed()[0].keys == ("A", "B", "C", "D", "E", "enter")
    burst(decoder, "ABCDEF", clock)
    assert decoder.wait(0).text == "ABCDEF"


@pytest.mark.parametrize("end", ["enter", "return", "\r", "\n", "numpadenter", "Enter"])
def test_terminators(decoder, clock, end):
    burst(decoder, PAYLOAD, clock, end=end)
    assert decoder.wait(0).text == PAYLOAD


def test_a_tab_terminated_scanner_can_be_configured(clock):
    decoder = WedgeDecoder(clock=clock, terminators={"tab", "\t"})
    burst(decoder, PAYLOAD, clock, end="tab")
    assert decoder.wait(0).text == PAYLOAD
    burst(decoder, PAYLOAD, clock, end="enter")  # Enter is now a key no scanner presses
    assert decoder.wait(0) is None


def test_callbacks_and_a_broken_one(clock):
    scans, typed = [], []
    decoder = WedgeDecoder(clock=clock, on_scan=scans.append, on_typing=typed.append)
    burst(decoder, PAYLOAD, clock)
    feed(decoder, list("ab"), clock, 0.5)
    later(decoder, clock)
    assert [s.text for s in scans] == [PAYLOAD]
    assert [t.keys for t in typed] == [("a",), ("b",)]
    assert decoder.typed() == []  # handed to the callback instead

    def broken(_):
        raise RuntimeError("UI bug")

    decoder = WedgeDecoder(clock=clock, on_scan=broken, on_typing=broken)
    burst(decoder, PAYLOAD, clock)
    feed(decoder, list("ab"), clock, 0.5)
    later(decoder, clock)
    assert decoder.wait(0).text == PAYLOAD


def test_clear_forgets_everything(decoder, clock):
    burst(decoder, PAYLOAD, clock)
    burst(decoder, PAYLOAD[:20], clock, end="")
    decoder.clear()
    later(decoder, clock)
    assert decoder.wait(0) is None and decoder.typed() == []


def test_stale_scans_are_dropped(clock):
    decoder = WedgeDecoder(clock=clock, max_age_s=30)
    burst(decoder, PAYLOAD, clock)
    clock.t += 31
    assert decoder.wait(0) is None


def test_a_real_e_card_typed_by_a_scanner_verifies():
    key = Ed25519PrivateKey.generate()
    now = dt.datetime.now(dt.UTC)
    claims = ecard.new_claims(
        DocumentType.HKID, "A123456(3)", dt.date(1946, 3, 12), now, dt.timedelta(days=1)
    )
    text = ecard.issue(claims, key, ecard.key_id(key))
    with WedgeReader() as reader:
        type_burst(reader, text, gap=0.002)
        scan = reader.read(timeout=1)
    assert scan.text == text
    assert ecard.verify(scan.text, {ecard.key_id(key): key.public_key()}, now) == ecard.parse(text)


def test_wait_wakes_when_a_burst_arrives_from_another_thread():
    decoder = WedgeDecoder()
    thread, box = in_thread(decoder.wait, 10.0)
    time.sleep(0.1)
    t = time.monotonic()
    for i, ch in enumerate(PAYLOAD + "\r"):
        decoder.feed(ch, t + i * 0.003)
    thread.join(2)
    assert box["result"].text == PAYLOAD


def test_a_burst_cut_off_in_real_time_is_reported_by_a_waiting_reader():
    with WedgeReader() as reader:
        type_burst(reader, PAYLOAD, end="")
        started = time.monotonic()
        with pytest.raises(DeviceRetry):
            reader.read(timeout=3)
        assert time.monotonic() - started < 1.5  # after stall_gap_s, not the full timeout


def test_cancel_ends_a_wait():
    decoder = WedgeDecoder()
    thread, box = in_thread(decoder.wait, 10.0)
    time.sleep(0.1)
    decoder.cancel()
    thread.join(2)
    assert isinstance(box["error"], DeviceCancelled)


def test_a_scanner_device_path_missing_and_unplugged(tmp_path):
    node = tmp_path / "usb-scanner-event-kbd"
    reader = WedgeReader(device_path=node)
    with pytest.raises(DeviceUnavailable):
        reader.open()
    node.touch()
    reader.open()
    assert reader.info.source == str(node)
    assert reader.read(timeout=0.05) is None
    node.unlink()
    with pytest.raises(DeviceError) as e:
        reader.read(timeout=0.05)
    assert e.value.kind is DeviceErrorKind.UNPLUGGED
    health = reader.health()
    assert not health.ok and health.state is ReaderState.FAILED
    node.touch()  # plugged back in: reading goes on without a new open
    type_burst(reader, PAYLOAD)
    assert reader.read(timeout=1).text == PAYLOAD
    assert reader.health().ok
    reader.close()


def test_typing_reaches_the_ui_while_the_reader_runs():
    typed: list[Typing] = []
    with WedgeReader(on_typing=typed.append) as reader:
        t = reader.clock()
        for i, ch in enumerate("42"):
            reader.feed(ch, t + i * 0.3)
        assert reader.read(timeout=0.5) is None
    assert "".join(x.text for x in typed) == "42"


KEYS = st.one_of(
    st.characters(),
    st.sampled_from(["enter", "shift", "backspace", "tab", "f1", "", "\r", "\x00", "ENTER"]),
    st.text(max_size=5),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(KEYS, st.floats(0, 0.5)), max_size=80))
def test_fuzz_any_key_sequence(events):
    clock = Clock()
    decoder = WedgeDecoder(clock=clock, max_length=40)
    for key, gap in events:
        clock.t += gap
        decoder.feed(key, clock.t)
    decoder.feed(None, clock.t)  # type: ignore[arg-type] - the UI may hand over anything
    decoder.feed(5, clock.t)  # type: ignore[arg-type]
    clock.t += 5
    decoder.poll()
    while True:
        try:
            scan = decoder.wait(0)
        except DeviceRetry:
            continue
        if scan is None:
            break
        assert scan.text and "\r" not in scan.text and "\n" not in scan.text
