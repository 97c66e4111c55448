"""The UI part of bench/soak.py, in a process of its own (one Kivy window per process).

    python -m bench.soak_ui CONFIG_JSON RESULT_FD

Not meant to be run by hand: bench/soak.py starts it offscreen with a fresh KIVY_HOME and
TMPDIR and reads the result from the pipe RESULT_FD (never a file: the result carries the
templates the sessions captured, which the after-check then looks for on disk).

KioskRunApp on a container with the simulated devices (camera 1280x720, the R30x fingerprint
simulator, the ESC/POS printer simulator) against the demo back end (kiosk/demo.py, its own
process), one app instance for every session. The scripted resident plays the scenarios of
kiosk/scenarios.py (and `cancel-capture`, defined here) with real touches through
kiosk/ui/touch.py's Driver, then taps `done` where the journey ends on a receipt: the kiosk's
full reset, as between two residents. Each face capture lasts `face_hold_s` (the resident
doing the liveness challenges), so the camera preview is drawn into its texture meanwhile.
After each session, back on the attract screen: RSS, Python's allocated blocks, threads and
open descriptors, and the checks that nothing personal is left in the flow and no camera
frame is left in a preview texture.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
import traceback
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

from bench.soak import (
    Captures,
    Recording,
    Samples,
    SessionFailed,
    Trace,
    malloc_arenas,
    malloc_env,
    process_sample,
    warmup_count,
)
from kiosk.devices.demo_resident import plain_number
from kiosk.devices.sim_resident import ResidentScript
from kiosk.flow.context import CHALLENGE_PROMPTS
from kiosk.flow.ports import CaptureRetryError
from kiosk.scenarios import IDENTIFY, SCENARIOS, Scenario

SESSION_TIMEOUT_S = 120.0
CANCEL_AFTER_FRAMES = 10  # camera frames drawn before the resident gives up and cancels

EXTRA = {
    "cancel-capture": Scenario(
        "cancel-capture",
        "the resident cancels during the face capture, then walks away from the home screen",
        "due",
        {
            **IDENTIFY,
            "home": ["verify", "walk_away"],
            "face_capture": ["cancel"],
            "idle_warning": ["walk_away"],
        },
        expect="attract",
    )
}


class Holding:
    """The face port with the resident's time at the camera: the challenges' prompts
    (progress) spread over `hold_s`, then the capture. A cancel ends it without a result."""

    def __init__(self, port, hold_s: float):
        self.port, self.hold_s = port, hold_s
        self.calls = 0

    def capture(self, server_nonce, challenges, cancel: threading.Event, progress):
        self.calls += 1
        kinds = list(challenges) or ["blink"]
        for i, kind in enumerate(kinds):
            progress(CHALLENGE_PROMPTS.get(kind, "liveness_blink"), i / len(kinds))
            if cancel.wait(self.hold_s / len(kinds)):
                raise CaptureRetryError("face_none")  # dropped: the capture was cancelled
        return self.port.capture(server_nonce, challenges, cancel, progress)


def eligible(personas: list[dict]) -> list[dict]:
    return [
        p
        for p in personas
        if p["face"] and p["fingers"] and p["account"]["status"] == "paying" and p["documents"]
    ]


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    config, fd = json.loads(argv[0]), int(argv[1])
    result: dict = {}
    try:
        run(config, result)
    except Exception:  # noqa: BLE001 - reported to the parent, which records it
        result["error"] = traceback.format_exc()
    finally:
        with os.fdopen(fd, "w", encoding="utf-8") as pipe:
            json.dump(result, pipe)
    return 0


def run(config: dict, result: dict) -> None:
    from kiosk import ui
    from kiosk.config import KioskSettings

    t_start = time.monotonic()
    data_dir = Path(config["data_dir"])
    settings = KioskSettings(data_dir=data_dir, devices="simulated", fullscreen=False)
    ui.prepare_environment(settings.data_dir)
    os.environ.setdefault("SDL_VIDEODRIVER", "offscreen")
    ui.configure_kivy(settings)

    from kiosk import container as ct
    from kiosk.api.signing import public_key_b64
    from kiosk.demo import DemoBackend

    key = ct.device_key(settings)
    with DemoBackend(settings, public_key_b64(key.public_key())) as backend:
        container = ct.build(settings.model_copy(update={"backend_url": backend.url}))
        try:
            Soak(config, container, backend, result, t_start).run()
        finally:
            container.close()
    result["window"] = [settings.window_width, settings.window_height]
    result["camera"] = [settings.camera_width, settings.camera_height]


class Soak:
    def __init__(self, config, container, backend, result, t_start):
        from kiosk.devices.demo_resident import load_personas
        from kiosk.ui.scenario import ShiftClock

        self.config, self.container, self.backend = config, container, backend
        self.result, self.t_start = result, t_start
        self.n = int(config["sessions"])
        self.deadline = float(config["deadline"])
        self.hold_s = float(config["face_hold_s"])
        self.seed = int(config.get("seed", 0))
        self.plan = [
            EXTRA[name] if name in EXTRA else SCENARIOS[name] for name in config["scenarios"]
        ]
        self.personas = eligible(load_personas())
        self.captures = Captures(face_capacity=3 * self.n + 8, finger_capacity=self.n + 8)
        self.samples = Samples(self.n)
        self.seconds = np.zeros(self.n)
        self.failures: list[dict] = []
        self.scenarios: Counter = Counter()
        self.printer_bytes = self.printer_receipts = 0
        self.capture_sessions = 0
        self.clock = ShiftClock()

    def run(self) -> None:
        from kiosk.ui.run_app import KioskRunApp
        from kiosk.ui.touch import Driver

        container = self.container
        self.runner = container.build_runner(
            self.clock, script=ResidentScript("nobody"), probe_interval_s=1.0
        )
        self.resident = container.resident
        self.holding = Holding(Recording(self.runner.devices.face, self.captures), self.hold_s)
        self.runner.devices.face = self.holding
        self.runner.devices.finger = Recording(self.runner.devices.finger, self.captures)
        self.app = KioskRunApp(container, self.runner)
        self.flow = self.app.flow
        report: dict = {}
        driver = Driver(self.app, self.play, report, timeout_s=SESSION_TIMEOUT_S * 3)
        self.app.bind(on_start=driver.start)
        self.app.run()
        res = self.result
        if report.get("error"):
            res["error"] = report["error"]
        done = self.samples.n
        res["samples"] = self.samples.to_list()
        res["failures"] = self.failures
        res["scenarios"] = dict(self.scenarios)
        res["seconds"] = round(float(self.seconds[:done].sum()), 2)
        res["session_seconds"] = (
            {
                "median": round(float(np.median(self.seconds[:done])), 2),
                "max": round(float(self.seconds[:done].max()), 2),
            }
            if done
            else None
        )
        res["face_hold_s"] = self.hold_s
        res["malloc_arenas"] = malloc_arenas()
        res["malloc_env"] = malloc_env()
        face_preview = self.app.screens["face_capture"].ids.preview
        res["preview_frames_shown"] = int(face_preview.frames_shown)
        res["preview_frames_per_capture_session"] = (
            round(face_preview.frames_shown / self.capture_sessions, 1)
            if self.capture_sessions
            else None
        )
        res["printer_simulator_bytes_per_receipt"] = (
            round(self.printer_bytes / self.printer_receipts) if self.printer_receipts else 0
        )
        res["captures"] = self.captures.to_json()

    # -------------------------------------------------------------- the resident

    def stable(self) -> bool:
        flow, app = self.flow, self.app
        return flow.awaiting is None and not flow.busy and app.state == flow.state

    def wait_for(self, predicate, timeout: float, what: str):
        end = time.monotonic() + timeout
        yield lambda: predicate() or time.monotonic() > end
        if not predicate():
            raise SessionFailed(f"{what}: stuck in {self.flow.state} (screen {self.app.state})")

    def play(self, d):
        first = True
        trace = Trace() if self.config.get("trace") else None
        warm = warmup_count(self.n)
        for i in range(self.n):
            if trace is not None and i == warm:
                trace.start()
            if first:
                yield from self.wait_for(
                    lambda: self.flow.state == "attract" and self.stable(), 60, "start"
                )
                self.result["startup_s"] = round(time.monotonic() - self.t_start, 2)
                first = False
            last = float(self.seconds[i - 1]) if i else 0.0
            if time.time() + last > self.deadline:
                self.result["stopped"] = f"time cap reached after {i} sessions"
                break
            scenario = self.plan[i % len(self.plan)]
            persona = self.personas[i % len(self.personas)]
            self.scenarios[scenario.name] += 1
            t0 = time.monotonic()
            try:
                yield from self.session(d, i, scenario, persona)
            except Exception as exc:  # noqa: BLE001 - a failed session is recorded, then on
                self.failures.append(
                    {
                        "session": i,
                        "scenario": scenario.name,
                        "reason": f"{type(exc).__name__}: {exc}",
                        "state": self.flow.state,
                    }
                )
                try:
                    yield from self.recover()
                except SessionFailed as again:
                    self.result["stopped"] = f"session {i}: {again}"
                    break
            self.after_session()
            yield 5  # the attract screen drawn a few times
            self.samples.add(
                process_sample(self.config.get("collect", True), self.config.get("malloc_trim"))
            )
            self.seconds[i] = time.monotonic() - t0
            if (i + 1) % 10 == 0:
                print(
                    f"soak_ui: {i + 1} sessions, RSS {self.samples.last['rss_mb']:.1f} MB, "
                    f"{len(self.failures)} failures",
                    file=sys.stderr,
                    flush=True,
                )
        if trace is not None and hasattr(trace, "before"):
            self.result["tracemalloc_growth_after_warmup"] = trace.top()
            self.result["object_growth_after_warmup"] = trace.objects()

    def session(self, d, i: int, scenario: Scenario, persona: dict):
        from kiosk.ui.scenario import resident_acts

        flow, app, container = self.flow, self.app, self.container
        resident = self.resident
        resident.script = ResidentScript(
            persona["key"], face=list(scenario.face), finger=list(scenario.finger)
        )
        resident.face_attempts = resident.finger_attempts = 0
        resident.rng = np.random.default_rng(self.seed * 100_003 + i)
        cancels = "face_capture" in scenario.steps
        self.holding.hold_s = SESSION_TIMEOUT_S if cancels else self.hold_s
        preview = app.screens["face_capture"].ids.preview
        frames_before = preview.frames_shown
        calls_before = self.holding.calls
        printed_before = getattr(self.runner.devices.printer, "printed", 0)
        used: dict[str, int] = defaultdict(int)
        left_start = False
        end = time.monotonic() + SESSION_TIMEOUT_S

        def ready() -> bool:
            if self.stable():
                return True
            # The one busy screen the resident acts on: cancel once the preview is showing.
            return (
                cancels
                and flow.state == app.state == "face_capture"
                and preview.frames_shown >= frames_before + CANCEL_AFTER_FRAMES
            )

        while True:
            yield from self.wait_for(ready, max(1.0, end - time.monotonic()), scenario.name)
            yield from d.settle()
            state = flow.state
            if left_start and state == scenario.expect:
                break
            plan = scenario.steps.get(state, [])
            if used[state] >= len(plan):
                raise SessionFailed(f"the resident has nothing to do on {state}")
            action = plan[used[state]]
            used[state] += 1
            left_start = True
            if action == "walk_away":
                s = flow.settings
                self.clock.advance(
                    s.idle_reset_s - s.idle_warning_s + 1
                    if state == "idle_warning"
                    else s.idle_warning_s + 1
                )
                yield from self.wait_for(lambda st=state: flow.state != st, 10, "walk_away")
            else:
                yield from resident_acts(d, action, persona, container, self.backend)
            yield 2

        if self.holding.calls > calls_before:
            # The face capture ran: the camera preview must have drawn its frames meanwhile.
            self.capture_sessions += 1
            if preview.frames_shown == frames_before:
                raise SessionFailed("no camera frame was drawn during the face capture")
        decision = flow.ctx.decision
        reference = decision.reference if decision else flow.ctx.pending_reference
        if scenario.expect_reference and not reference:
            raise SessionFailed(f"ended on {flow.state} without a reference")
        if flow.state in ("receipt", "pending"):
            if flow.ctx.printed is not True:
                raise SessionFailed(f"not printed ({flow.ctx.message_key})")
            yield from d.tap(d.find(action="done"))
        yield from self.wait_for(
            lambda: flow.state == "attract" and self.stable(), 20, "full reset"
        )
        left = flow.ctx.personal_values()
        if left:
            raise SessionFailed(f"personal data left after the reset: {sorted(left)}")
        for name in ("face_capture", "qr_scan"):
            if app.screens[name].ids.preview.texture is not None:
                raise SessionFailed(f"a camera frame left in the {name} preview texture")
        shown = self.personal_text_left(persona["documents"][0]["number"], reference)
        if shown:
            raise SessionFailed(f"personal data still on a screen after the reset: {shown}")
        printed = getattr(self.runner.devices.printer, "printed", 0) - printed_before
        if printed != (1 if scenario.expect != "attract" else 0):
            raise SessionFailed(f"{printed} documents printed")

    def personal_text_left(self, *values: str | None) -> list[str]:
        """Screens (shown or not) whose widgets still carry the resident's document number
        or reference number in their text."""
        wanted = [plain_number(v) for v in values if v and len(plain_number(v)) >= 6]
        found = []
        for name, screen in self.app.screens.items():
            for w in screen.walk(restrict=True):
                text = plain_number(str(getattr(w, "text", "") or ""))
                if text and any(v in text for v in wanted):
                    found.append(f"{name}: {type(w).__name__}")
        return found

    def recover(self):
        """After a failure: back to the attract screen the way the kiosk gets there by
        itself (the busy step ends, then the idle timeout)."""
        flow = self.flow
        self.container.simulators["camera"].present(None)
        self.holding.hold_s = self.hold_s
        end = time.monotonic() + 60
        while not (flow.state == "attract" and self.stable()):
            if time.monotonic() > end:
                raise SessionFailed(f"cannot get back to attract from {flow.state}")
            if not flow.busy and flow.state != "out_of_service":
                self.clock.advance(flow.settings.idle_reset_s * 3)
            yield 15

    def after_session(self) -> None:
        """The printer simulator's record (every byte, every receipt image) is the test
        double's, not the kiosk's: counted, then cleared."""
        sim = self.container.simulators["printer"]
        if sim.received:
            self.printer_bytes += len(sim.received)
            self.printer_receipts += 1
        sim.clear()


if __name__ == "__main__":
    sys.exit(main())
