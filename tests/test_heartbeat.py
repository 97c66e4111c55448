"""The back-end check and its monitor thread, against the real back end on loopback."""

from __future__ import annotations

import queue
import socket

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kiosk.api.client import KioskApiClient
from kiosk.heartbeat import BackendMonitor, check_backend, heartbeat_report


def test_known_kiosk_is_answered_and_its_heartbeat_accepted(client, tmp_path):
    status = check_backend(client, heartbeat_report(tmp_path))
    assert status.answered and status.accepted
    assert status.database == "ok"
    assert status.next_heartbeat_s == 30
    assert "heartbeat accepted" in status.summary()


def test_unknown_kiosk_is_answered_but_refused(backend, clock, tmp_path):
    _app, server = backend
    stranger = KioskApiClient(
        server.url, "HK-UNKNOWN-09", Ed25519PrivateKey.generate(), clock=clock.time
    )
    status = check_backend(stranger, heartbeat_report(tmp_path))
    stranger.close()
    assert status.answered and not status.accepted
    assert status.error_key == "error_kiosk_not_authorised"


def test_no_backend_is_a_network_error(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    nobody = KioskApiClient(
        f"http://127.0.0.1:{port}", "HK-X-01", Ed25519PrivateKey.generate(), retries=0
    )
    status = check_backend(nobody, heartbeat_report(tmp_path))
    assert not status.answered and status.error_key == "error_network"
    assert "did not answer" in status.summary()


def test_monitor_reports_from_its_own_thread_and_stops(client, tmp_path):
    statuses: queue.Queue = queue.Queue()
    monitor = BackendMonitor(client, lambda: heartbeat_report(tmp_path), statuses.put, 30)
    monitor.start()
    try:
        status = statuses.get(timeout=20)
    finally:
        monitor.stop()
    assert status.accepted
    assert not monitor._thread.is_alive()


def test_the_last_errors_reach_the_heartbeat_redacted(tmp_path):
    import logging

    from kiosk.heartbeat import RecentErrors

    recent = RecentErrors(keep=3)
    log = logging.getLogger("kiosk.test.recent")
    log.addHandler(recent)
    try:
        log.info("fine")  # below WARNING: not an error
        log.warning("printer paper out")
        log.error("identify failed for A123456(3) born 1946-03-12")
        for i in range(3):
            log.error("camera gave no frame %d", i)
    finally:
        log.removeHandler(recent)
    lines = recent.recent()
    assert len(lines) == 3 and lines[-1].endswith("camera gave no frame 2")
    report = heartbeat_report(tmp_path, last_errors=["x" * 10, "printer_paper_out"])
    assert report.last_errors == ["x" * 10, "printer_paper_out"]

    recent = RecentErrors()
    log.addHandler(recent)
    try:
        log.error("identify failed for A123456(3) born 1946-03-12")
    finally:
        log.removeHandler(recent)
    [line] = recent.recent()
    assert "A123456" not in line and "1946-03-12" not in line and "identify failed" in line
