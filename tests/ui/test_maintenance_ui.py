"""Maintenance mode through the real UI, offscreen, with real touches (kiosk/ui/touch.py), on
the kiosk's own container: simulated devices and the test back end.

Run 1: a resident starts typing a document number; a technician holds the top-left corner
(a short press does nothing; 3 s opens maintenance and ends the resident's session), types
the PIN on the keypad, runs every diagnostic (each row shows a result; the camera's live
preview shows frames while its check runs), one check again, the printer's test page, sends
the outbox, reads the log (redacted), the settings and the identity (its QR code, read back
from the drawn screen), and restarts the app (exit code 75). Every action is in the audit log,
whose chain holds.

Run 2: five wrong PINs lock maintenance; the sixth, the right one, is refused.

Each run is a child process of its own (one Kivy window per process); both run side by side:

    python -m tests.ui.test_maintenance_ui enter|lockout CONFIG.json REPORT.json
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from tests.ui import child

PIN = "482915"
WRONG = ["482916", "907315", "583920", "271828", "314159"]
PERSONAL = ["A123456(3)", "1946-03-12", "陳大文", "JM261128-7KQ4XW2M", "+852 9123 4567"]


def _start(tmp: Path, mode: str, config: Path) -> subprocess.Popen:
    tmp.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [sys.executable, "-m", "tests.ui.test_maintenance_ui", mode, str(config), "report.json"],
        cwd=tmp,
        env=child.env(tmp),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    """Both runs against one test back end (the conftest fixtures, made by hand here so the
    back end is shared by the two children)."""
    from backend.clock import SystemClock
    from backend.settings import BackendSettings
    from kiosk.maintenance.pin import PinStore
    from tests.conftest import _start as start_backend
    from tests.conftest import register_kiosk

    tmp = tmp_path_factory.mktemp("maintenance-ui")
    settings = BackendSettings(
        db_url=f"sqlite:///{tmp / 'backend.sqlite3'}",
        evidence_key_path=str(tmp / "evidence-key.pem"),
        ecard_key_path=str(tmp / "ecard-key.pem"),
    )
    clock = SystemClock()  # real time: the clock check compares it with the kiosk's
    app, server = start_backend(settings, clock)
    identity = register_kiosk(app, clock)
    try:
        procs = {}
        for mode in ("enter", "lockout"):
            where = tmp / mode
            data = where / "data"
            data.mkdir(parents=True)
            key_pem = data / "device-key.pem"
            key_pem.write_bytes(
                identity.key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
            )
            PinStore(data).set_pin(PIN)  # the kiosk's real scrypt cost
            config = where / "config.json"
            config.write_text(
                json.dumps({"url": server.url, "kiosk_id": identity.kiosk_id, "data": str(data)})
            )
            procs[mode] = _start(where, mode, config)
        return {
            mode: child.finish(proc, tmp / mode / "report.json", timeout=150)
            for mode, proc in procs.items()
        }
    finally:
        server.stop()
        app.state.engine.dispose()


@pytest.fixture(scope="module")
def entered(reports):
    report = reports["enter"]
    assert report.get("error") is None, report.get("error")
    return report


def test_a_short_press_does_nothing_and_a_long_one_opens_maintenance(entered):
    assert entered["after_short_press"] == "doc_number"
    assert entered["after_long_press"] == "maint_pin"
    assert 2.9 <= entered["held_s"] < 10  # ENTRY_PRESS_S = 3 (give or take a frame)


def test_entering_ended_the_resident_session(entered):
    assert entered["typed_before"] == "A123"
    assert entered["keypad_after"] == ""
    assert entered["personal_values"] == []


def test_the_pin_typed_with_touches_opens_the_menu(entered):
    assert entered["after_pin"] == "maint_menu"


def test_every_diagnostic_runs_on_the_simulators_and_shows_its_row(entered):
    from kiosk.flow.maintenance import CHECKS

    results = entered["results"]
    assert set(results) == set(CHECKS)
    assert {name: r["status"] for name, r in results.items()} == {
        **{name: "pass" for name in CHECKS},
        "tls": "skip",  # http on loopback
    }
    assert results["camera"]["measurement"]["face"] is True
    assert results["fingerprint"]["measurement"]["quality"] > 0
    assert results["backend"]["measurement"]["rtt_ms"] >= 0
    for name, text in entered["tiles"].items():
        assert text.split("\n")[1] == entered["status_texts"][results[name]["status"]], name
    assert entered["preview_frames"] > 0  # the camera check's live preview
    assert entered["single"]["status"] == "pass" and entered["single"]["seconds"] > 0
    assert entered["test_page"]["printed"] is True


def test_the_outbox_drain_the_log_the_settings_and_the_identity(entered):
    assert entered["drain"]["available"] and entered["drain"]["waiting"] == 0
    shown = "\n".join(entered["log_texts"])
    assert "[id]" in shown and "[date]" in shown and "[name]" in shown
    assert not [p for p in PERSONAL if p in shown]
    assert entered["settings"]["kiosk_id"] == "HK-TEST-01"
    qr = json.loads(entered["qr"])
    assert qr["kiosk_id"] == "HK-TEST-01" and qr["key_fingerprint"].startswith("SHA256:")
    assert entered["identity_texts_include_fingerprint"]


def test_restart_stops_the_app_with_its_exit_code_and_everything_is_audited(entered):
    assert entered["exit_code"] == 75
    audit = entered["audit"]
    assert audit["ok"], audit
    actions = audit["actions"]
    for action in ("enter", "pin", "open", "drain outbox", "printer test page", "restart"):
        assert action in actions, action
    assert {f"diagnostic {name}" for name in entered["results"]} <= set(actions)


def test_five_wrong_pins_lock_and_the_right_one_is_then_refused(reports):
    report = reports["lockout"]
    assert report.get("error") is None, report.get("error")
    assert report["messages"] == ["maint_pin.wrong"] * 4 + ["maint_pin.locked"]
    assert report["attempts_left"] == [4, 3, 2, 1, 0]
    assert report["after_right_pin"] == "maint_pin"
    assert report["right_pin_message"] == "maint_pin.locked"
    assert report["locked_minutes"] == 15
    assert report["lockout_file"]["failures"] == 5
    assert "lockout" in report["audit"]["actions"] and report["audit"]["ok"]
    assert report["audit"]["results"][-1] == "refused: locked out"


# ============================================================================ the child


def _run(mode: str, config_path: str, report_path: str) -> int:
    import logging
    import time

    config = json.loads(Path(config_path).read_text())
    from tests.ui.uiproc import configure

    configure(1280, 720)
    from kivy.core.window import Window

    from drivers.reader.camera_qr import decode_qr
    from kiosk import i18n
    from kiosk.config import KioskSettings
    from kiosk.container import build
    from kiosk.flow.clock import ManualClock
    from kiosk.flow.maintenance import CHECKS
    from kiosk.maintenance import logs
    from kiosk.maintenance.audit import AUDIT_FILE, AuditLog, verify
    from kiosk.maintenance.pin import PinStore
    from kiosk.ui.flow_app import FlowApp
    from kiosk.ui.touch import Driver, Touch
    from kiosk.ui.tour import read_pixels
    from tests.ui.audit import texts

    data = Path(config["data"])
    settings = KioskSettings(
        backend_url=config["url"],
        kiosk_id=config["kiosk_id"],
        data_dir=data,
        devices="simulated",
        camera_width=640,
        camera_height=480,
        retries=0,
        connect_timeout_s=2.0,
        read_timeout_s=10.0,
    )
    logs.install(data)
    container = build(settings)
    runner = container.build_runner(ManualClock())
    app = FlowApp(runner)
    flow = app.flow
    report: dict = {"mode": mode}

    def press(d, *, seconds: float = 0.0, until: str | None = None):
        """A finger held still in the top-left corner: for `seconds`, or until the flow is in
        state `until`; returns how long it was held (from when the app had the touch)."""
        touch = Touch(12, Window.height - 12)
        touch.down()
        yield lambda: app.manager._hold is not None  # the app has the touch: the hold runs
        started = time.monotonic()
        if until is None:
            yield lambda: time.monotonic() - started >= seconds
        else:
            yield lambda: flow.state == until
        held = time.monotonic() - started
        touch.up()
        yield 2
        return held

    def open_maintenance(d):
        report["held_s"] = yield from press(d, until="maint_pin")
        yield d.state("maint_pin")

    def type_pin(d, pin: str):
        yield from d.type_number(pin)
        yield from d.tap(d.find(primary=True))
        yield lambda: not flow.ctx.maint.checking

    def screenshot():
        shot = {}

        def grab(window):
            shot["pixels"] = read_pixels(window)
            Window.unbind(on_flip=grab)

        Window.bind(on_flip=grab)
        Window.canvas.ask_update()
        return shot

    def enter_script(d):
        yield d.state("attract")
        yield from d.tap(d.find(action="start"))
        yield d.state("language")
        yield from d.tap(d.find(action="choose", choice="zh_Hant_HK"))
        yield d.state("home")
        yield from d.tap(d.find(action="enquiry"))
        yield d.state("doc_type")
        yield from d.tap(d.find(action="choose", choice="hkid"))
        yield d.state("doc_number")
        yield from d.type_number("A123")
        report["typed_before"] = app.current_screen.ids.keypad.raw
        yield from press(d, seconds=1.0)
        report["after_short_press"] = flow.state
        yield from open_maintenance(d)
        report["after_long_press"] = flow.state
        report["keypad_after"] = app.screens["doc_number"].ids.keypad.raw
        report["personal_values"] = sorted(flow.ctx.personal_values())
        yield from type_pin(d, PIN)
        yield d.state("maint_menu")
        report["after_pin"] = flow.state

        # Every diagnostic, then one again, then the printer's test page.
        yield from d.tap(d.find(action="diagnostics"))
        yield d.state("maint_diagnostics")
        screen = app.current_screen
        yield from d.tap(d.find(primary=True))
        view = flow.ctx.maint
        yield lambda: view.running == "camera"
        yield lambda: view.running != "camera"
        report["preview_frames"] = screen.ids.preview.frames_shown
        yield lambda: view.running is None and not view.queue and len(view.results) == len(CHECKS)
        yield 2
        report["results"] = view.results
        report["tiles"] = {name: tile.text for name, tile in screen.tiles.items()}
        report["status_texts"] = {
            s: i18n.text(f"maint_diagnostics.{s}", "zh_Hant_HK")
            for s in ("pass", "warn", "fail", "skip")
        }
        before = view.results["disk"]
        yield from d.tap(d.find(tid="check.disk"))
        yield lambda: view.running is None and view.results["disk"] is not before
        report["single"] = view.results["disk"]
        before = view.results["printer"]
        yield from d.tap(d.find(action="test_page"))
        yield lambda: view.running is None and view.results["printer"] is not before
        report["test_page"] = view.results["printer"]["measurement"].get("test_page", {})
        yield from d.tap(d.find(action="back"))
        yield d.state("maint_menu")

        # The outbox, the log (with something personal logged just before), the settings.
        yield from d.tap(d.find(action="drain"))
        yield lambda: view.drain is not None and not view.draining
        report["drain"] = view.drain
        logging.getLogger("kiosk.test").warning(
            "identify failed for A123456(3) born 1946-03-12, name 陳大文, "
            "ref JM261128-7KQ4XW2M, phone +852 9123 4567"
        )
        yield from d.tap(d.find(action="logs"))
        yield d.state("maint_logs")
        yield lambda: view.loading is None and view.logs
        yield 3
        report["log_texts"] = texts(app.current_screen)
        yield from d.tap(d.find(primary=True))
        yield d.state("maint_menu")
        yield from d.tap(d.find(action="settings"))
        yield d.state("maint_settings")
        yield lambda: view.settings
        yield 2
        shown = texts(app.current_screen.ids.table)
        report["settings"] = {
            "kiosk_id": config["kiosk_id"] if config["kiosk_id"] in shown else None
        }
        yield from d.tap(d.find(primary=True))

        # The identity: its QR code, read back from the screen as drawn.
        yield d.state("maint_menu")
        yield from d.tap(d.find(action="identity"))
        yield d.state("maint_identity")
        yield lambda: view.identity
        yield from d.settle()
        yield 3
        shot = screenshot()
        yield lambda: "pixels" in shot
        report["qr"] = decode_qr(shot["pixels"][..., ::-1].copy())
        fingerprint = view.identity["key_fingerprint"]
        report["identity_texts_include_fingerprint"] = fingerprint in texts(app.current_screen)
        yield from d.tap(d.find(primary=True))
        yield d.state("maint_menu")
        yield from d.tap(d.find(action="restart"))
        yield 600  # the app stops itself

    def lockout_script(d):
        yield d.state("attract")
        yield from open_maintenance(d)
        view = flow.ctx.maint
        report["messages"], report["attempts_left"] = [], []
        for pin in WRONG:
            yield from type_pin(d, pin)
            yield 2
            report["messages"].append(flow.ctx.message_key)
            report["attempts_left"].append(view.attempts_left)
        report["locked_minutes"] = view.locked_minutes
        yield from type_pin(d, PIN)
        yield 2
        report["after_right_pin"] = flow.state
        report["right_pin_message"] = flow.ctx.message_key
        report["lockout_file"] = json.loads(PinStore(data).lockout_path.read_text())

    script = enter_script if mode == "enter" else lockout_script
    driver = Driver(app, script, report, timeout_s=90)
    app.bind(on_start=driver.start)
    try:
        app.run()
    finally:
        container.close()
    report["exit_code"] = getattr(app, "exit_code", 0)
    audit = AuditLog(data / AUDIT_FILE)
    report["audit"] = {
        "ok": verify(audit.path).ok,
        "actions": [e["action"] for e in audit.entries()],
        "results": [e["result"] for e in audit.entries()],
    }
    Path(report_path).write_text(json.dumps(report, ensure_ascii=False, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(_run(*sys.argv[1:]))
