"""The UI side of the tests/ui tests: each run is a process of its own (one Kivy window per
process), started by the tests with SDL_VIDEODRIVER=offscreen, KIVY_NO_ARGS=1 and KIVY_HOME
in a temporary directory. It writes its findings as JSON for the parent to assert on.

    python -m tests.ui.uiproc tour-audit OUT REPORT.json     # `kiosk tour` itself, audited
    python -m tests.ui.uiproc care-audit OUT REPORT.json     # the tour in care mode, audited
    python -m tests.ui.uiproc journeys CONFIG.json REPORT.json
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from types import SimpleNamespace

from kiosk.ui.touch import Driver


def configure(width: int, height: int) -> None:
    from kiosk.ui import configure_kivy

    configure_kivy(SimpleNamespace(fullscreen=False, window_width=width, window_height=height))


# ---------------------------------------------------------------------------- tour audits


def _auditor(report: dict):
    from kivy.app import App
    from kivy.core.window import Window

    from tests.ui.audit import audit_screen

    def on_shot(step, screen, path) -> None:
        language, state, care = step
        px = App.get_running_app().px
        name = f"{'care/' if care else ''}{language}/{state}"
        report["screens"][name] = {
            "state": screen.name,
            "path": str(path),
            **audit_screen(screen, Window.size, px),
        }

    return on_shot


def tour_audit(out: str, report_path: str) -> int:
    """Runs `kiosk tour --out OUT` through the CLI, auditing every screen it draws."""
    configure(1920, 1080)
    from kiosk.ui import tour

    report = {"screens": {}}
    run = tour.run

    def audited_run(*args, **kwargs):
        kwargs["on_shot"] = _auditor(report)
        done = run(*args, **kwargs)
        report["unsettled"] = done.unsettled
        return done

    tour.run = audited_run
    from kiosk.cli import main

    report["exit_code"] = main(["tour", "--out", out])
    Path(report_path).write_text(json.dumps(report, ensure_ascii=False, indent=1))
    return 0


def care_audit(out: str, report_path: str) -> int:
    """The tour in care mode (text 1.25x) for every language, audited."""
    configure(1920, 1080)
    from kiosk.i18n import LANGUAGES
    from kiosk.ui import tour

    report = {"screens": {}}
    done = tour.run(Path(out), LANGUAGES, care_modes=(True,), on_shot=_auditor(report))
    report["unsettled"] = done.unsettled
    report["exit_code"] = 0
    Path(report_path).write_text(json.dumps(report, ensure_ascii=False, indent=1))
    return 0


# ---------------------------------------------------------------------------- journeys


def journeys(config_path: str, report_path: str) -> int:
    """Taps through a verification and an enquiry with touches, against the real back end;
    after each, lets the idle timer reset the kiosk in virtual time and looks for anything
    personal left in any widget."""
    config = json.loads(Path(config_path).read_text())
    configure(*config.get("window", (1280, 720)))
    from cryptography.hazmat.primitives.serialization import load_pem_private_key
    from kivy.config import Config
    from kivy.core.window import Window

    from kiosk import formats
    from kiosk.api.client import KioskApiClient
    from kiosk.devices.sim_resident import MATCH, ResidentScript
    from kiosk.ui import docentry
    from kiosk.ui.flow_app import FlowApp
    from tests.flow.test_journeys import Kiosk
    from tests.ui.audit import texts

    key = load_pem_private_key(Path(config["key_pem"]).read_bytes(), password=None)
    server_time = config["server_time"]
    client = KioskApiClient(
        config["url"],
        config["kiosk_id"],
        key,
        clock=lambda: server_time,
        sleep=lambda s: None,
        read_timeout=20,
    )
    verify, enquire = config["verify"], config["enquiry"]
    kiosk = Kiosk(client, ResidentScript(verify["key"], face=[MATCH]))
    flow = kiosk.flow
    app = FlowApp(kiosk.runner, start_runner=False)
    report: dict = {
        "mouse": Config.get("input", "mouse"),
        "exit_on_escape": Config.get("kivy", "exit_on_escape"),
        "window": list(Window.size),
        "visited": [],
        "sessions": [],
    }
    app.bind(state=lambda _a, s: report["visited"].append(s))

    def all_texts() -> list[str]:
        return [t for screen in app.screens.values() for t in texts(screen)]

    def personal_strings(p, doc, purpose_values) -> list[str]:
        raw = docentry.from_number(doc["type"], doc["number"])
        born = dt.date.fromisoformat(p["date_of_birth"])
        found = [
            docentry.display(doc["type"], raw),
            docentry.submission(doc["type"], raw),
            *purpose_values,
        ]
        found += [formats.long_date(born, lang) for lang in flow.settings.languages]
        return [s for s in found if s]

    def title(state: str) -> str:
        from kiosk.ui.widgets.frame import Title

        titles = [w for w in app.screens[state].walk(restrict=True) if isinstance(w, Title)]
        return titles[0].text

    def status_bar(d):
        """Language and care mode from the status bar: every screen relabels, text grows."""
        from kiosk import i18n

        yield from d.tap(d.find(tid="status.language.pt_MO"))
        yield 2
        report["relabelled"] = {
            state: title(state) == i18n.text(f"{state}.title", "pt_MO")
            for state in ("home", "receipt", "summary", "doc_number")
        }
        yield from d.tap(d.find(tid="status.language.zh_Hant_HK"))
        yield 2
        report["relabelled_back"] = title("home") == i18n.text("home.title", "zh_Hant_HK")
        before = next(
            w.font_size
            for w in app.current_screen.walk(restrict=True)
            if getattr(w, "key", "") == "home.title"
        )
        yield from d.tap(d.find(tid="status.care_mode"))
        yield 2
        after = next(
            w.font_size
            for w in app.current_screen.walk(restrict=True)
            if getattr(w, "key", "") == "home.title"
        )
        report["care_mode"] = {"on": flow.ctx.care_mode, "growth": after / before}
        yield from d.tap(d.find(tid="status.care_mode"))
        yield 2
        report["care_mode"]["off_again"] = not flow.ctx.care_mode

    def identify(d, p, doc, purpose):
        yield d.state("attract")
        yield from d.tap(d.find(action="start"))
        yield d.state("language")
        yield from d.tap(d.find(action="choose", choice="zh_Hant_HK"))
        yield d.state("home")
        if purpose == "verify":
            yield from status_bar(d)
        yield from d.tap(d.find(action=purpose))
        yield d.state("doc_type")
        yield from d.tap(d.find(action="choose", choice=doc["type"]))
        yield d.state("doc_number")
        yield from d.type_number(docentry.from_number(doc["type"], doc["number"]))
        yield from d.tap(d.find(primary=True))
        yield d.state("birth_date")
        yield from d.set_date(dt.date.fromisoformat(p["date_of_birth"]))
        yield from d.tap(d.find(primary=True))
        yield d.state("confirm_name")
        shown = all_texts()
        session = {
            "purpose": purpose,
            "name_shown": flow.ctx.masked_name_zh in shown,
            "personal": [flow.ctx.masked_name_zh, flow.ctx.masked_name_en],
        }
        yield from d.tap(d.find(action="yes"))
        yield d.state("consent")
        yield from d.tap(d.find(action="agree"))
        return session

    def idle_reset(d, session):
        # Virtual time: the flow's clock jumps; the app's own Tick (every 0.5 s) notices.
        before = flow.state
        shown = all_texts()
        session["shown_before_reset"] = sorted(
            {s for s in session["personal"] if any(s in t for t in shown)}
        )
        kiosk.clock.advance(flow.settings.idle_warning_s + 1)
        yield d.state("idle_warning")
        yield 3
        session["countdown_shown"] = app.current_screen.seconds
        kiosk.clock.advance(flow.settings.idle_reset_s - flow.settings.idle_warning_s)
        yield d.state("attract")
        yield 3
        left = all_texts()
        session["reset_from"] = before
        session["leaks"] = sorted({s for s in session["personal"] if any(s in t for t in left)})
        session["personal_values"] = sorted(flow.ctx.personal_values())
        session["camera_frame_kept"] = app.screens["face_capture"].ids.preview.texture is not None
        session["keypad_kept"] = app.screens["doc_number"].ids.keypad.raw
        report["sessions"].append(session)

    def script(d):
        # 1. Annual verification, every step a touch, ending on the receipt.
        p, doc = verify, verify["documents"][0]
        session = yield from identify(d, p, doc, "verify")
        yield d.state("receipt")
        yield 2
        reference = flow.ctx.decision.reference
        shown = all_texts()
        session.update(
            final_screen=app.state,
            reference=reference,
            reference_shown=any(reference in t for t in shown),
            printed=[doc_["kind"] for doc_ in kiosk.printer.documents],
        )
        session["personal"] += [reference, *personal_strings(p, doc, [])]
        # Esc on the keyboard must not end the kiosk.
        Window.dispatch("on_keyboard", 27, 41, None, [])
        Window.dispatch("on_key_down", 27, 41, None, [])
        yield 5
        session["after_escape"] = app.state
        yield from idle_reset(d, session)

        # 2. Pension enquiry for someone else, with a PRC ID (the birth date comes from it).
        kiosk.resident.script.persona_key = enquire["key"]
        p = enquire
        doc = next(x for x in p["documents"] if x["type"] == "prc_id")
        session = yield from identify(d, p, doc, "enquiry")
        yield d.state("summary")
        yield 2
        summary = flow.ctx.summary
        amounts = [
            formats.money(summary.monthly_amount, summary.currency, lang)
            for lang in flow.settings.languages
        ]
        session["amount_shown"] = any(a in t for a in amounts for t in all_texts())
        yield from d.tap(d.find(action="payments"))
        yield d.state("payments")
        yield 2
        session["payments_rows"] = len(app.current_screen.ids.table.lines)
        session["final_screen"] = app.state
        session["personal"] += [*amounts, summary.bank_account_masked]
        session["personal"] += personal_strings(p, doc, [])
        yield from idle_reset(d, session)

    driver = Driver(app, script, report, timeout_s=config.get("timeout_s", 60))
    app.bind(on_start=driver.start)
    try:
        app.run()
    finally:
        kiosk.close()
        client.close()
    report["taps"] = driver.taps
    Path(report_path).write_text(json.dumps(report, ensure_ascii=False, indent=1, default=str))
    return 0


def lockdown(report_path: str) -> int:
    """A locked-down kiosk (simulated devices, no back end): a close request is refused, the
    cursor hidden, and an exception in the UI loop shows the out-of-service screen."""
    import socket

    from kiosk import container as ct
    from kiosk.config import load_settings

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    settings = load_settings(
        None,
        lockdown=True,
        devices="simulated",
        backend_url=f"http://127.0.0.1:{closed}",
        heartbeat_interval_s=3600,
    )
    configure(1280, 720)
    from kivy.clock import Clock
    from kivy.core.window import Window

    from kiosk.ui.run_app import KioskRunApp

    container = ct.build(settings)
    runner = container.build_runner()
    app = KioskRunApp(container, runner)
    report: dict = {}

    def boom(_dt):
        report["before_error"] = app.flow.state
        raise RuntimeError("a bug in a screen")

    def look(_dt):
        report["after_error"] = app.flow.state
        report["message"] = app.flow.ctx.message_key
        report["close_refused"] = bool(Window.dispatch("on_request_close"))
        report["cursor_shown"] = Window.show_cursor
        app.stop()

    def start(*_):
        # Wait out the first heartbeat's verdict (back end down: out of service), back to
        # attract as if it had answered, then break something.
        app.flow.reset("attract")
        app.sync()
        Clock.schedule_once(boom, 0.5)
        Clock.schedule_once(look, 1.5)

    app.bind(on_start=lambda *_: Clock.schedule_once(start, 1.0))
    try:
        app.run()
    finally:
        container.close()
    Path(report_path).write_text(json.dumps(report))
    return 0


if __name__ == "__main__":
    mode, *args = sys.argv[1:]
    sys.exit(
        {
            "tour-audit": tour_audit,
            "care-audit": care_audit,
            "journeys": journeys,
            "lockdown": lockdown,
        }[mode](*args)
    )
