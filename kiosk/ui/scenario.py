"""`kiosk scenario NAME`: a scripted resident taps through the real UI, offscreen, against the
reference back end (a child process on loopback, seeded with the demo pensioners), on the
simulated devices. The scenario itself is data (kiosk/scenarios.py); this module plays it
with real touches and reports what happened: the final screen, the reference number if any,
and the seconds spent on each screen.

The kiosk's clock is real time plus jumps: `walk_away` moves it past the idle timeouts so the
idle scenario does not wait a minute for nothing. Call through `run`, which prepares Kivy.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from kiosk.devices.demo_resident import load_personas
from kiosk.devices.sim_resident import ResidentScript
from kiosk.scenarios import SCENARIOS, Scenario


class ShiftClock:
    """Monotonic time that can jump forward (virtual time for idle timeouts)."""

    def __init__(self):
        self.offset = 0.0

    def now(self) -> float:
        return time.monotonic() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


class _DropsBackend:
    """A face port whose capture first takes the back end away (the line to the bureau
    goes while the resident is at the camera)."""

    def __init__(self, face, backend):
        self.face, self.backend = face, backend

    def capture(self, *args):
        self.backend.stop()
        return self.face.capture(*args)


class ScenarioError(RuntimeError):
    pass


def pick_persona(scenario: Scenario, personas: list[dict]) -> dict:
    for p in personas:
        if (
            p["certification"] == scenario.certification
            and p["face"]
            and p["fingers"]
            and p["account"]["status"] == "paying"
        ):
            return p
    raise ScenarioError(f"no demo pensioner fits {scenario.name}")


def resident_acts(d, action: str, persona: dict, container, backend):
    """One resident-level step of kiosk/scenarios.py (taps, typing, holding up an e-card),
    played with real touches through `d` (kiosk/ui/touch.py Driver)."""
    from kiosk.ui import docentry

    doc = persona["documents"][0]
    if action == "hold_up_ecard":
        card = card_scene(backend.issue_ecard(persona["key"]))
        container.simulators["camera"].present(card)
    elif action == "lower_ecard":
        container.simulators["camera"].present(None)
    elif action == "choose_document":
        yield from d.tap(d.find(action="choose", choice=doc["type"]))
    elif action == "choose_finger":
        yield from d.tap(d.find(action="choose", choice=persona["fingers"][0]))
    elif action == "type_document":
        yield from d.type_number(docentry.from_number(doc["type"], doc["number"]))
        yield from d.tap(d.find(primary=True))
    elif action == "enter_birth_date":
        yield from d.set_date(dt.date.fromisoformat(persona["date_of_birth"]))
        yield from d.tap(d.find(primary=True))
    elif action.startswith("choose:"):
        yield from d.tap(d.find(action="choose", choice=action.split(":", 1)[1]))
    else:
        yield from d.tap(d.find(action=action))


def card_scene(payload: str, size: tuple[int, int] = (1280, 720)) -> np.ndarray:
    """A camera's view of an e-card's QR code held up in front of it (BGR)."""
    import cv2

    modules = cv2.QRCodeEncoder.create().encode(payload)  # 255 light, 0 dark, with margin
    side = int(size[1] * 0.55)
    code = cv2.resize(modules, (side, side), interpolation=cv2.INTER_NEAREST)
    scene = np.full((size[1], size[0], 3), 96, np.uint8)  # a grey room
    card = np.full((side + 80, side + 80), 255, np.uint8)
    card[40 : 40 + side, 40 : 40 + side] = code
    y, x = (size[1] - card.shape[0]) // 2, (size[0] - card.shape[1]) // 2
    scene[y : y + card.shape[0], x : x + card.shape[1]] = card[..., None]
    return scene


def run(name: str, settings, *, data_dir: Path | None = None, log=print) -> dict:
    """Plays scenario `name`; returns the report (see `kiosk scenario --help`)."""
    from kiosk import ui

    scenario = SCENARIOS[name]
    own_dir = None
    if data_dir is None:
        # A fresh back end each time: the demo pensioners start from their seeded state.
        own_dir = tempfile.TemporaryDirectory(prefix="kiosk-scenario-")
        data_dir = Path(own_dir.name)
    settings = settings.model_copy(
        update={
            "data_dir": Path(data_dir),
            "devices": "simulated",
            "face_pipeline": scenario.face_pipeline,
        }
    )
    try:
        ui.prepare_environment(settings.data_dir)
        os.environ.setdefault("SDL_VIDEODRIVER", "offscreen")
        ui.configure_kivy(settings.model_copy(update={"fullscreen": False}))
        return _play(scenario, settings, log)
    finally:
        if own_dir is not None:
            own_dir.cleanup()


def _play(scenario: Scenario, settings, log) -> dict:
    from kiosk import container as ct
    from kiosk.api.signing import public_key_b64
    from kiosk.demo import DemoBackend

    persona = pick_persona(scenario, load_personas())
    if scenario.face_pipeline == "actor":
        from kiosk.devices import demo_actor

        usable, line = demo_actor.find_actor()
        if not usable:
            raise ScenarioError(f"scenario {scenario.name} needs the demo actor: {line}")
    key = ct.device_key(settings)
    report: dict = {
        "scenario": scenario.name,
        "expected_screen": scenario.expect,
        "persona": persona["key"],
        "final_screen": None,
        "reference": None,
    }
    t0 = time.monotonic()
    with DemoBackend(settings, public_key_b64(key.public_key())) as backend:
        report["backend_start_s"] = round(time.monotonic() - t0, 2)
        log(f"demo back end listening on {backend.url}")
        if scenario.face_pipeline == "actor":
            backend.enrol_face_for_all(demo_actor.enrolment_png())
        container = ct.build(settings.model_copy(update={"backend_url": backend.url}))
        try:
            _run_app(scenario, persona, container, backend, report)
        finally:
            container.close()
    report["ok"] = (
        report.get("error") is None
        and report["final_screen"] == scenario.expect
        and (bool(report["reference"]) or not scenario.expect_reference)
    )
    return report


def _run_app(scenario, persona, container, backend, report) -> None:
    from kiosk.ui.run_app import KioskRunApp
    from kiosk.ui.touch import Driver

    clock = ShiftClock()
    script = ResidentScript(persona["key"], face=list(scenario.face), finger=list(scenario.finger))
    runner = container.build_runner(clock, script=script, probe_interval_s=1.0)
    app = KioskRunApp(container, runner)
    flow = app.flow
    steps: list[dict] = []
    entered = {"at": time.monotonic(), "screen": None}

    def on_state(_app, state):
        now = time.monotonic()
        if entered["screen"] is not None:
            steps.append({"screen": entered["screen"], "seconds": round(now - entered["at"], 3)})
        entered.update(at=now, screen=state)

    app.bind(state=on_state)

    def stable():
        return flow.awaiting is None and not flow.busy and app.state == flow.state

    def play(d):
        used: dict[str, int] = defaultdict(int)
        left_start = False
        while True:
            yield stable
            yield from d.settle()
            state = flow.state
            if left_start and state == scenario.expect:
                return
            plan = scenario.steps.get(state, [])
            if used[state] >= len(plan):
                raise ScenarioError(f"the resident has nothing to do on {state}")
            action = plan[used[state]]
            used[state] += 1
            left_start = True
            if action == "walk_away":
                s = flow.settings
                clock.advance(
                    s.idle_reset_s - s.idle_warning_s + 1
                    if state == "idle_warning"
                    else s.idle_warning_s + 1
                )
                yield lambda st=state: flow.state != st
            elif action == "stop_backend":
                backend.stop()
            elif action == "backend_drops_at_capture":
                runner.devices.face = _DropsBackend(runner.devices.face, backend)
            else:
                yield from resident_acts(d, action, persona, container, backend)
            yield 2

    def finish_report():
        decision = flow.ctx.decision
        report["final_screen"] = flow.state
        report["reference"] = (
            decision.reference if decision and decision.reference else flow.ctx.pending_reference
        )
        report["decision"] = (
            {"outcome": decision.outcome.value, "reason_code": decision.reason_code.value}
            if decision
            else None
        )
        report["printed"] = getattr(runner.devices.printer, "printed", None)
        report["outbox_depth"] = container.outbox.depth() if container.outbox else None
        report["personal_data_left"] = (
            sorted(flow.ctx.personal_values()) if flow.state == "attract" else None
        )

    driver = Driver(app, play, report, timeout_s=90)

    def stop_hook(*_):
        finish_report()

    app.bind(on_start=driver.start, on_stop=stop_hook)
    t0 = time.monotonic()
    # The app prints its own progress lines (back end state, attract drawn): to stderr here,
    # so that stdout carries the JSON report alone.
    with contextlib.redirect_stdout(sys.stderr):
        app.run()
    on_state(app, None)
    report["seconds"] = round(time.monotonic() - t0, 2)
    report["taps"] = driver.taps
    report["steps"] = steps
    report.pop("waiting", None)
