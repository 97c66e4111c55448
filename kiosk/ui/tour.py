"""`kiosk tour`: every screen of the resident's kiosk in every language, drawn by the real UI
in one offscreen window and saved as `<out>/<language>/<state>.png`.

The flow is put straight into each state with a representative, fabricated context
(kiosk/ui/samples.py: a masked name, amounts, twelve payments, a reference, a coaching
message, a drawn camera frame), so no back end and no device is needed. Each screenshot is read
from the window's `on_flip`, once the screen has been laid out and drawn (the geometry of every
widget is the same on two frames in a row), never after a fixed delay. Call it through
`kiosk.ui.render_tour`, which configures Kivy first: importing this module opens the window.
`care_modes=(True,)` renders the care-mode variant under <out>/care/.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np
from kivy.clock import Clock
from kivy.core.window import Window

from kiosk.flow.clock import ManualClock
from kiosk.flow.context import FlowSettings
from kiosk.flow.machine import SCREENS, Flow
from kiosk.ui.flow_app import FlowApp
from kiosk.ui.samples import NOW, PARTIAL_ENTRY, PROGRESS, sample_context, sample_frame

Step = tuple[str, str, bool]  # language, state, care mode
Shot = Callable[[Step, object, Path], None]


def plan(languages: Iterable[str], care_modes: Iterable[bool] = (False,)) -> list[Step]:
    return [
        (language, state, care)
        for care in care_modes
        for language in languages
        for state in SCREENS
    ]


def shot_path(out: Path, step: Step) -> Path:
    language, state, care = step
    return out / "care" / language / f"{state}.png" if care else out / language / f"{state}.png"


log = logging.getLogger(__name__)


class StillRunner:
    """Stands in for the Runner: the tour shows states, it performs no effect (no back end,
    no device), so there is nothing to run."""

    def __init__(self, flow: Flow):
        self.flow = flow
        self.progress: tuple[str, float] | None = None
        self.on_effect = None

    def start(self) -> None:
        pass

    def dispatch(self, event) -> None:
        raise RuntimeError(f"the tour handles no events ({type(event).__name__})")

    def pump(self, timeout: float = 0.0) -> int:
        return 0

    def close(self) -> None:
        pass


class Tour:
    """Stages each (language, state) and shoots it from on_flip once it has settled."""

    def __init__(
        self,
        app: FlowApp,
        clock: ManualClock,
        steps: list[Step],
        out: Path,
        *,
        on_shot: Shot | None = None,
        max_frames: int = 90,
    ):
        self.app, self.clock, self.steps, self.out = app, clock, list(steps), Path(out)
        self.on_shot, self.max_frames = on_shot, max_frames
        self.frame = sample_frame()
        self.written: list[Path] = []
        self.unsettled: list[str] = []
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tour-png")
        self._pending = []
        self._current: Step | None = None
        self._frames = 0
        self._last = None

    def begin(self, *_):
        Window.bind(on_flip=self._on_flip)
        Clock.schedule_once(self._next, 0)

    def _next(self, *_):
        if not self.steps:
            self._current = None
            Window.unbind(on_flip=self._on_flip)
            for job in self._pending:
                job.result()
            self._writer.shutdown()
            self.app.stop()
            return
        step = self.steps.pop(0)
        self.stage(*step)
        self._current = step
        self._frames, self._last = 0, None
        Window.canvas.ask_update()

    def stage(self, language: str, state: str, care: bool = False) -> None:
        app, flow, runner = self.app, self.app.flow, self.app.runner
        settings = flow.settings
        now = self.clock.now()
        flow.ctx = sample_context(state, language, settings, care)
        flow.state = state
        flow.last_activity = now
        flow.idle_return = flow.help_return = None
        runner.progress = PROGRESS.get(state)
        if state == "attract":
            index = settings.languages.index(language)
            flow.attract_since = now - index * settings.attract_cycle_s - 1.0
        if state == "idle_warning":
            flow.idle_return = "summary"
            flow.last_activity = now - settings.idle_warning_s - 3.0
        app.sync()
        if state == "face_capture":
            app.current_screen.show_frame(self.frame)
        if state == "doc_number":
            app.current_screen.ids.keypad.raw = PARTIAL_ENTRY  # mid-typing: digits are live

    def _signature(self):
        screen = self.app.current_screen
        manager = self.app.manager
        shape = [
            (
                type(w).__name__,
                tuple(int(v) for v in w.pos),
                tuple(int(v) for v in w.size),
                tuple(getattr(w, "texture_size", ()) or ()),
            )
            for w in screen.walk(restrict=True)
        ]
        return (manager.current, manager.transition.is_active, tuple(shape))

    def _on_flip(self, window):
        if self._current is None:
            return
        self._frames += 1
        signature = self._signature()
        settled = signature == self._last and self._frames >= 2
        self._last = signature
        if not settled and self._frames < self.max_frames:
            Clock.schedule_once(lambda _dt: window.canvas.ask_update(), 0)
            return
        step, self._current = self._current, None
        path = shot_path(self.out, step)
        if not settled:
            self.unsettled.append(str(path.relative_to(self.out)))
        pixels = read_pixels(window)
        self._pending.append(self._writer.submit(_write_png, path, pixels))
        self.written.append(path)
        if self.on_shot is not None:
            self.on_shot(step, self.app.current_screen, path)
        Clock.schedule_once(self._next, 0)


def read_pixels(window) -> np.ndarray:
    """The frame just drawn (bound on_flip handlers run before the buffers are swapped)."""
    from kivy.graphics.opengl import (
        GL_PACK_ALIGNMENT,
        GL_RGB,
        GL_UNSIGNED_BYTE,
        glPixelStorei,
        glReadPixels,
    )

    width, height = (int(v) for v in window.size)
    glPixelStorei(GL_PACK_ALIGNMENT, 1)
    data = glReadPixels(0, 0, width, height, GL_RGB, GL_UNSIGNED_BYTE)
    return np.frombuffer(data, np.uint8).reshape(height, width, 3)[::-1]


def _write_png(path: Path, rgb: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), np.ascontiguousarray(rgb[..., ::-1])):
        raise OSError(f"cannot write {path}")


def run(
    out: Path,
    languages: Iterable[str],
    *,
    kiosk_id: str = "HK-DEMO-01",
    site: str = "Demo self-service point",
    care_modes: Iterable[bool] = (False,),
    on_shot: Shot | None = None,
) -> Tour:
    """Renders the tour; returns it (written paths, states that never settled)."""
    clock = ManualClock(start=NOW.timestamp())
    flow = Flow(clock, FlowSettings(kiosk_id=kiosk_id, site=site))
    runner = StillRunner(flow)
    tour = None
    app = FlowApp(
        runner,
        start_runner=False,
        tick_interval=None,
        frame_source=lambda: tour.frame if tour is not None else None,
    )
    tour = Tour(app, clock, plan(languages, care_modes), Path(out), on_shot=on_shot)
    app.bind(on_start=tour.begin)
    try:
        app.run()
    finally:
        runner.close()
    return tour
