"""Maintenance mode's service on the kiosk's own container (simulated devices, the test back
end): each diagnostic is kiosk doctor's check, the QR reader's own check, the camera check's
frames for the live preview, the outbox drain, settings without secrets, the identity; and
the whole of it headless through the flow and its runner, audit log included."""

from __future__ import annotations

import os
import threading
import time

import pytest
from pydantic import BaseModel

from kiosk.api.signing import key_fingerprint
from kiosk.container import build
from kiosk.flow import events as ev
from kiosk.flow import maintenance as mt
from kiosk.flow.clock import ManualClock
from kiosk.maintenance.audit import AUDIT_FILE, verify
from kiosk.maintenance.pin import PinStore
from kiosk.maintenance.service import MaintenanceService, check_reader
from kiosk.maintenance.views import identity_payload, settings_rows
from tests.kiosk.test_doctor import _settings


@pytest.fixture(autouse=True)
def _no_kiosk_env(monkeypatch):
    for name in list(os.environ):
        if name.startswith("KIOSK_"):
            monkeypatch.delenv(name)


@pytest.fixture
def container(backend, kiosk_identity, tmp_path):
    _app, server = backend
    made = build(_settings(tmp_path, server.url, kiosk_identity.kiosk_id, kiosk_identity.key))
    yield made
    made.close()


def test_each_check_is_doctors_with_a_result(container):
    container.reader.open()  # as the running kiosk's wedge pump does
    service = MaintenanceService(container)
    got = {name: service.perform("check", name=name) for name in mt.CHECKS}
    assert {n: r["status"] for n, r in got.items()} == {
        **{n: "pass" for n in mt.CHECKS},
        "tls": "skip",  # http on loopback
    }
    assert got["camera"]["measurement"]["face"] is True
    assert got["fingerprint"]["measurement"]["quality"] > 0
    assert got["backend"]["measurement"]["rtt_ms"] >= 0
    assert "offset_s" in got["clock"]["measurement"]
    assert got["reader"]["measurement"]["decoder_ok"] is True
    assert all(r["text"] for r in got.values())
    assert service.preview_frame() is None  # the camera's frames go with its check


def test_the_camera_check_feeds_the_live_preview_while_it_runs(container):
    service = MaintenanceService(container)
    frames = []
    done = threading.Event()

    def watch():
        while not done.is_set():
            frame = service.preview_frame()
            if frame is not None:
                frames.append(frame)
            time.sleep(0.05)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        result = service.perform("check", name="camera")
    finally:
        done.set()
        watcher.join()
    assert result["status"] == "pass"
    assert len(frames) > 3 and frames[0].shape == (480, 640, 3)


def test_the_test_page_prints_only_when_asked(container):
    service = MaintenanceService(container)
    sim = container.simulators["printer"]
    service.perform("check", name="printer")
    before = len(sim.pages) if hasattr(sim, "pages") else None
    result = service.perform("check", name="printer", test_page=True)
    assert result["status"] == "pass" and result["measurement"]["test_page"]["printed"]
    if before is not None:
        assert len(sim.pages) == before + 1


def test_the_reader_check_reports_a_failed_wedge_scanner(container):
    container.reader.open()
    assert check_reader(container).status == "pass"
    container.reader.close()
    check = check_reader(container)
    assert check.status == "warn" and check.message_key == "reader_closed"
    assert check.ok  # advisory: the keypad still works


def test_drain_identity_settings(container):
    service = MaintenanceService(container)
    drained = service.perform("drain")
    assert drained["available"] and drained["waiting"] == 0 and drained["delivered"] == 0
    ident = service.perform("identity")
    key = container.settings.device_key_path
    from kiosk.api import keys

    assert ident["key_fingerprint"] == key_fingerprint(keys.load_or_create(key).public_key())
    assert ident["kiosk_id"] == container.settings.kiosk_id
    assert '"kiosk_id":' in identity_payload(ident)
    rows = dict(service.perform("settings"))
    assert rows["kiosk_id"] == container.settings.kiosk_id
    assert rows["device_key_path"].endswith("device-key.pem")  # a path, never the key itself
    assert not any("PRIVATE KEY" in value for value in rows.values())


def test_settings_that_hold_secrets_are_hidden():
    class Settings(BaseModel):
        backend_url: str = "https://x"
        api_token: str = "s3cr3t"
        db_password: str = "hunter2"
        data_dir: str = "/var/lib/jiangmen-kiosk/" + "d" * 80

    rows = dict(settings_rows(Settings()))
    assert rows["api_token"] == rows["db_password"] == "(hidden)"
    assert len(rows["data_dir"]) <= 48 and "…" in rows["data_dir"]


def _pump_until(runner, states, timeout=30.0):
    deadline = time.monotonic() + timeout
    while runner.flow.state not in states or runner.flow.awaiting:
        assert time.monotonic() < deadline, f"stuck in {runner.flow.state}"
        runner.pump(timeout=0.05)


def test_headless_through_the_flow_and_runner(container):
    PinStore(container.settings.data_dir).set_pin("482915", n=16, r=1, p=1)
    runner = container.build_runner(ManualClock())
    runner.start()
    runner.dispatch(ev.Tapped(mt.ENTRY))
    runner.dispatch(ev.PinEntered("482915"))
    _pump_until(runner, {"maint_menu"})
    runner.dispatch(ev.Tapped("diagnostics"))
    runner.dispatch(ev.Tapped("run", "disk"))
    _pump_until(runner, {"maint_diagnostics"})
    assert runner.flow.ctx.maint.results["disk"]["status"] == "pass"
    runner.dispatch(ev.Tapped("back"))
    runner.dispatch(ev.Tapped("identity"))
    _pump_until(runner, {"maint_identity"})
    assert runner.flow.ctx.maint.identity["kiosk_id"] == container.settings.kiosk_id
    runner.dispatch(ev.Tapped("back"))
    runner.dispatch(ev.Tapped("exit"))
    assert runner.flow.state == "attract"
    audit = container.settings.data_dir / AUDIT_FILE
    assert verify(audit).ok
    import json

    actions = [json.loads(line)["action"] for line in audit.read_text().splitlines()]
    assert actions == ["enter", "pin", "open", "diagnostic disk", "open", "exit"]
