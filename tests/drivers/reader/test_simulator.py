"""The simulated reader's script and fault switches."""

from __future__ import annotations

import pytest

from drivers.errors import DeviceError, DeviceErrorKind, DeviceRetry, DeviceUnavailable
from drivers.reader.base import READER_UNREADABLE, ReaderState
from drivers.reader.simulator import ReaderFaults, SimulatedReader, garble
from kiosk.api import ecard

CARD = "JMEC1.eyJiIjoiMTk0Ni0wMy0xMiJ9.c2lnbmF0dXJlLXNpZ25hdHVyZS1zaWduYXR1cmU"


def test_payloads_are_read_in_order():
    with SimulatedReader(["one", "two", "three"]) as reader:
        assert [reader.read(0).text for _ in range(3)] == ["one", "two", "three"]
        assert reader.read(0) is None


def test_a_scan_after_a_while_arrives_in_virtual_time():
    with SimulatedReader() as reader:
        reader.scan(CARD, after_s=2.0)
        start = reader.clock()
        assert reader.read(timeout=1.0) is None
        assert reader.clock() - start == pytest.approx(1.0)
        scan = reader.read(timeout=5.0)
        assert scan.text == CARD and scan.timestamp == pytest.approx(start + 2.0)
        assert reader.clock() - start == pytest.approx(2.0)  # returned when it came


def test_missing_at_start():
    reader = SimulatedReader(faults=ReaderFaults(missing=True))
    with pytest.raises(DeviceUnavailable):
        reader.open()
    reader.faults.missing = False
    assert reader.open().kind == "simulator"


def test_unplugged_while_in_use_then_back():
    with SimulatedReader([CARD]) as reader:
        reader.faults.unplugged = True
        health = reader.health()
        assert not health.ok and health.state is ReaderState.FAILED
        assert health.message_key == "reader_failed"
        with pytest.raises(DeviceError) as e:
            reader.read(0.1)
        assert e.value.kind is DeviceErrorKind.UNPLUGGED
        assert e.value.message_key == "device_error_unplugged"
        reader.faults.unplugged = False
        assert reader.read(0.1).text == CARD  # kept while unplugged, no new open needed
        assert reader.health().ok


def test_garbled_payloads_get_a_clear_message_key_from_the_e_card_parser():
    with SimulatedReader([CARD], faults=ReaderFaults(garbled=True)) as reader:
        scan = reader.read(0)
    assert scan.text != CARD and scan.text == garble(CARD)
    with pytest.raises(ecard.ECardError) as e:
        ecard.parse(scan.text)
    assert e.value.key in {"ecard_malformed", "ecard_unreadable"}


def test_garble_is_deterministic_and_damaging():
    assert garble(CARD) == garble(CARD)
    assert len(garble(CARD)) < len(CARD)
    assert garble("x") == "x"[:1]


def test_unreadable_scans_are_retries():
    with SimulatedReader(["a", "b"], faults=ReaderFaults(unreadable=True)) as reader:
        with pytest.raises(DeviceRetry) as e:
            reader.read(0)
        assert e.value.reason == READER_UNREADABLE
        reader.faults.unreadable = False
        assert reader.read(0).text == "b"
        assert reader.health().unreadable == 1 and reader.health().scans == 1


def test_slow_scans_need_patience():
    with SimulatedReader(faults=ReaderFaults(slow_s=3.0)) as reader:
        reader.scan(CARD)
        assert reader.read(timeout=1.0) is None
        assert reader.pending == 1
        assert reader.read(timeout=5.0).text == CARD


def test_stale_scans_are_dropped():
    with SimulatedReader(max_age_s=10) as reader:
        reader.scan(CARD)
        reader.advance(11)
        assert reader.read(0) is None


def test_health_counts_and_details():
    with SimulatedReader([CARD]) as reader:
        reader.read(0)
        reader.advance(2)
        h = reader.health()
        assert h.scans == 1 and h.last_scan_age_s == pytest.approx(2)
        assert h.details["faults"]["garbled"] is False
