"""The reader contract (drivers/reader/base.py), run against every reader in conftest."""

from __future__ import annotations

import time

import pytest

from drivers.errors import DeviceCancelled, DeviceRetry, DeviceUnavailable
from drivers.reader.base import READER_UNREADABLE, ReaderHealth, ReaderInfo, ReaderState, Scan
from tests.drivers.reader.conftest import in_thread

TEXT = "JMEC1.contract-test_payload-0123456789"
OTHER = "JMEC1.another-payload_9876543210"


def read_until(reader, timeout=5.0):
    """The first scan within `timeout` (readers may need several frames or polls)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        scan = reader.read(timeout=0.5)
        if scan is not None:
            return scan
    return None


def test_open_reports_and_health_is_ready(rig):
    reader = rig.reader
    info = reader.open()
    assert isinstance(info, ReaderInfo) and reader.info == info
    health = reader.health()
    assert isinstance(health, ReaderHealth)
    assert health.ok and health.state is ReaderState.READY and health.message_key == "reader_ok"
    assert health.scans == 0 and health.last_scan_age_s is None


def test_used_before_open_or_after_close_is_unavailable(rig):
    reader = rig.reader
    with pytest.raises(DeviceUnavailable):
        reader.read(timeout=0.1)
    with pytest.raises(DeviceUnavailable):
        _ = reader.info
    assert reader.health().state is ReaderState.CLOSED and not reader.health().ok
    reader.open()
    reader.close()
    reader.close()  # idempotent
    with pytest.raises(DeviceUnavailable):
        reader.read(timeout=0.1)
    assert reader.health().state is ReaderState.CLOSED
    reader.cancel()  # never raises, open or not
    reader.clear()


def test_nothing_scanned_is_none_not_an_error(rig):
    with rig.reader as reader:
        started = time.monotonic()
        assert reader.read(timeout=0.3) is None
        assert time.monotonic() - started < 3.0


def test_a_scan_is_read_once(rig):
    with rig.reader as reader:
        rig.scan(TEXT)
        scan = read_until(reader)
        assert isinstance(scan, Scan) and scan.text == TEXT
        assert scan.source == reader.info.kind
        assert reader.read(timeout=0.3) is None  # not twice
        health = reader.health()
        assert health.scans == 1 and health.last_scan_age_s is not None


def test_scans_between_reads_are_kept_in_order(rig):
    if not rig.keeps_scans:
        pytest.skip("the camera reader looks only while it reads")
    with rig.reader as reader:
        rig.scan(TEXT)
        rig.scan(OTHER)
        assert read_until(reader).text == TEXT
        assert read_until(reader).text == OTHER


def test_clear_forgets_what_was_scanned(rig):
    with rig.reader as reader:
        rig.scan(TEXT)
        if rig.keeps_scans:
            reader.clear()
            assert reader.read(timeout=0.3) is None
        else:  # the code stays in view: reported once, and again after clear()
            assert read_until(reader).text == TEXT
            assert reader.read(timeout=0.3) is None
            reader.clear()
            assert read_until(reader).text == TEXT


def test_an_unreadable_scan_is_a_retry_and_reading_goes_on(rig):
    with rig.reader as reader:
        rig.unreadable()
        with pytest.raises(DeviceRetry) as e:
            read_until(reader)
        assert e.value.reason == READER_UNREADABLE
        assert reader.health().unreadable == 1
        rig.extra["after_unreadable"]()
        rig.scan(TEXT)
        assert read_until(reader).text == TEXT
        assert reader.health().ok


def _blocked_read(rig):
    if not rig.blocks:
        pytest.skip("reads do not wait in real time")
    reader = rig.reader
    reader.open()
    thread, box = in_thread(reader.read, 30.0)
    time.sleep(0.3)
    assert thread.is_alive() and not box
    return reader, thread, box


def test_cancel_ends_a_waiting_read(rig):
    reader, thread, box = _blocked_read(rig)
    started = time.monotonic()
    reader.cancel()
    thread.join(3.0)
    assert not thread.is_alive() and time.monotonic() - started < 1.0
    assert isinstance(box.get("error"), DeviceCancelled)
    assert reader.read(timeout=0.2) is None  # a later read waits as usual
    assert reader.health().ok


def test_close_ends_a_waiting_read(rig):
    reader, thread, box = _blocked_read(rig)
    reader.close()
    thread.join(3.0)
    assert not thread.is_alive()
    assert isinstance(box.get("error"), DeviceCancelled)
    assert reader.health().state is ReaderState.CLOSED


def test_scans_iterator_ends_quietly_on_close(rig):
    if not rig.blocks:
        pytest.skip("reads do not wait in real time")
    reader = rig.reader
    reader.open()
    got = []

    def collect():
        for scan in reader.scans(timeout=0.2):
            got.append(scan)

    thread, box = in_thread(collect)
    rig.scan(TEXT)
    deadline = time.monotonic() + 5
    while not got and time.monotonic() < deadline:
        time.sleep(0.02)
    reader.close()
    thread.join(3.0)
    assert not thread.is_alive() and "error" not in box
    assert [s.text for s in got] == [TEXT]


def test_reopen_after_close(rig):
    reader = rig.reader
    reader.open()
    reader.close()
    reader.open()
    rig.scan(TEXT)
    assert read_until(reader).text == TEXT
