"""The UI side of bench/ui.py: one Kivy window per process, offscreen.

bench/ui.py starts it with SDL_VIDEODRIVER=offscreen, KIVY_NO_ARGS=1 and KIVY_HOME in a
temporary directory (as tests/ui/child.py does for the UI tests):

    python -m bench.ui_child preview CONFIG.json OUT.json   # the camera preview, measured
    python -m bench.ui_child first-frame OUT.json           # spawn -> first attract frame

`preview`: the real FlowApp (kiosk/ui/flow_app.py) sits on face_capture, staged the way
`kiosk tour` stages a state (kiosk/ui/tour.py: the flow put into the state with the tour's
sample context, a runner that performs nothing), so no back end and no device is involved.
Its frame source hands the app's pump a new camera frame on every call: pre-generated BGR
frames of the default face moving, cycling, so that every frame is a new texture upload;
given as the kiosk's own source gives them (kiosk/container.py Container.frame_source:
the camera's BGR frame as it is). What a BGR->RGB conversion would add is timed apart.
Every flip of the window is timed (a bound `on_flip` handler runs just before the buffers
are swapped); a flip counts as a preview frame when a new camera frame was uploaded since
the previous flip. It prints `preview measuring` when the measurement starts; with
`stop_file` in its config it ends the measurement early once that file exists (bench/face.py
measures its analysis loop while this preview renders, over the same span).

`first-frame`: the shortest way to a drawn attract screen: configure Kivy, import the app
(which opens the window), build FlowApp on a flow that starts in `attract`, and print
`first frame drawn` at the first flip after the app has started. Each milestone is written
as a wall-clock time (time.time()) so the parent can subtract its own spawn time.
"""

from __future__ import annotations

import time

T_START = time.time()  # as early as this module allows: the interpreter has started

import json  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
from itertools import pairwise  # noqa: E402
from pathlib import Path  # noqa: E402
from types import SimpleNamespace  # noqa: E402

PANEL = (1920, 1080)
FIRST_FRAME_LINE = "first frame drawn"
MEASURING_LINE = "preview measuring"


def configure(
    width: int, height: int, maxfps: int | None = None, multisamples: int | None = None
) -> None:
    """Kivy configured as the kiosk configures it (kiosk.ui.configure_kivy), then the
    bench's own changes: `maxfps` (read once, when kivy.clock is first imported, which
    happens with the app below) and `multisamples` (None: Kivy's default, as the app)."""
    from kiosk.ui import configure_kivy

    configure_kivy(SimpleNamespace(fullscreen=False, window_width=width, window_height=height))
    from kivy.config import Config

    if maxfps is not None:
        Config.set("graphics", "maxfps", str(int(maxfps)))
    if multisamples is not None:
        Config.set("graphics", "multisamples", str(int(multisamples)))


def moving_frames(n: int, size: tuple[int, int]):
    """`n` distinct BGR frames of the default face moving about, `size` (width, height)."""
    import cv2
    import numpy as np

    from drivers.camera.sources import cover, default_face

    width, height = size
    src = default_face()
    base = cover(src.image, (width, height), src.crop)
    frames = []
    for i in range(n):
        m = cv2.getRotationMatrix2D((width / 2, height * 0.46), 0, 1 + 0.06 * np.sin(i / 7))
        m[:, 2] += (width * 0.06 * np.sin(i / 5), height * 0.03 * np.sin(i / 4))
        frames.append(cv2.warpAffine(base, m, (width, height), borderMode=cv2.BORDER_REPLICATE))
    return frames


def ms_stats(values: list[float]) -> dict | None:
    if not values:
        return None
    v = sorted(values)
    return {
        "p50": round(statistics.median(v), 2),
        "p95": round(v[int(0.95 * (len(v) - 1))], 2),
        "max": round(v[-1], 2),
        "mean": round(statistics.fmean(v), 2),
        "n": len(v),
    }


def bgr_to_rgb_ms(frames) -> list[float]:
    """What converting a camera frame (BGR) to the RGB that CameraPreview's texture is made
    for would cost per frame; timed apart, before the window opens: the kiosk's frame source
    hands the preview its frames as the camera gave them."""
    import cv2

    out = []
    for frame in frames * 2:
        t = time.perf_counter()
        cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
        out.append((time.perf_counter() - t) * 1000)
    return out


def gl_info() -> dict:
    try:
        from kivy.graphics.opengl import GL_RENDERER, GL_VERSION, glGetString

        def text(name):
            value = glGetString(name)
            return value.decode(errors="replace") if isinstance(value, bytes) else str(value)

        return {"gl_renderer": text(GL_RENDERER), "gl_version": text(GL_VERSION)}
    except Exception as exc:  # noqa: BLE001 - a description, never a reason to fail
        return {"gl_renderer": f"unknown ({exc})"}


def _still_app(state: str, **app_kwargs):
    """FlowApp on a flow staged in `state` as the tour stages it (no back end, no device)."""
    from kiosk.flow.clock import MonotonicClock
    from kiosk.flow.context import FlowSettings
    from kiosk.flow.machine import Flow
    from kiosk.ui.flow_app import FlowApp
    from kiosk.ui.samples import PROGRESS, sample_context
    from kiosk.ui.tour import StillRunner

    flow = Flow(MonotonicClock(), FlowSettings())
    runner = StillRunner(flow)
    app = FlowApp(runner, start_runner=False, tick_interval=None, **app_kwargs)

    def stage(*_):
        if state != flow.state:
            flow.ctx = sample_context(state, flow.settings.default_language, flow.settings, False)
            flow.state = state
        runner.progress = PROGRESS.get(state)
        app.sync()

    app.bind(on_start=stage)
    return app


# ---------------------------------------------------------------------------- preview


def preview(config_path: str, out_path: str) -> int:
    cfg = json.loads(Path(config_path).read_text())
    window_size = tuple(cfg.get("window", PANEL))
    frame_size = tuple(cfg.get("frame_size", (1280, 720)))
    warmup_s, seconds = float(cfg.get("warmup_s", 2.0)), float(cfg.get("seconds", 10.0))
    pump_interval = float(cfg.get("pump_interval", 1 / 30))
    maxfps = int(cfg.get("maxfps", 60))
    multisamples = cfg.get("multisamples")
    stop_file = Path(cfg["stop_file"]) if cfg.get("stop_file") else None
    configure(*window_size, maxfps, multisamples)

    frames = moving_frames(int(cfg.get("frames", 48)), frame_size)
    convert_ms = bgr_to_rgb_ms(frames)

    from kivy.clock import Clock
    from kivy.core.window import Window

    show_ms: list[float] = []
    counter = {"next": 0}

    def frame_source():
        # As the kiosk's source (Container.frame_source -> PreviewFeed.latest): the newest
        # camera frame as the camera gave it, never a wait; here a new one on every call.
        frame = frames[counter["next"] % len(frames)]
        counter["next"] += 1
        return frame

    app = _still_app("face_capture", frame_source=frame_source, pump_interval=pump_interval)
    measuring = {"on": False}
    flips: list[float] = []  # every flip while measuring
    new_frames: list[float] = []  # flips that showed a camera frame not shown before
    draw_ms: list[float] = []
    finish_ms: list[float] = []  # after the measurement, with glFinish in each flip
    finish_s = float(cfg.get("finish_s", 1.5))
    marks: dict = {}
    state = {"shown": 0, "draw_t": None}

    def on_draw(*_):
        state["draw_t"] = time.perf_counter()

    def on_flip(_window):
        now = time.perf_counter()
        preview_widget = app.screens["face_capture"].ids.preview
        shown = preview_widget.frames_shown
        if measuring["on"]:
            flips.append(now)
            if state["draw_t"] is not None:
                draw_ms.append((now - state["draw_t"]) * 1000)
            if shown != state["shown"]:
                new_frames.append(now)
        state["shown"] = shown

    def start_measuring(_dt):
        if app.state != "face_capture":
            marks["error"] = f"the app shows {app.state!r}, not face_capture"
            app.stop()
            return
        screen = app.screens["face_capture"]
        original = screen.show_frame

        def timed_show_frame(frame):
            t = time.perf_counter()
            original(frame)
            if measuring["on"]:
                show_ms.append((time.perf_counter() - t) * 1000)

        screen.show_frame = timed_show_frame
        marks["t0"], marks["cpu0"] = time.perf_counter(), time.process_time()
        marks["uploads0"] = screen.ids.preview.frames_shown
        measuring["on"] = True
        marks["stop"] = Clock.schedule_once(stop_measuring, seconds)
        if stop_file is not None:
            marks["poll"] = Clock.schedule_interval(poll_stop_file, 0.05)
        print(MEASURING_LINE, flush=True)

    def poll_stop_file(_dt):
        if measuring["on"] and stop_file.exists():
            marks["stop"].cancel()
            stop_measuring(_dt)

    def stop_measuring(_dt):
        if "poll" in marks:
            marks.pop("poll").cancel()
        marks.pop("stop", None)
        measuring["on"] = False
        marks["t1"], marks["cpu1"] = time.perf_counter(), time.process_time()
        preview_widget = app.screens["face_capture"].ids.preview
        marks["uploads1"] = preview_widget.frames_shown
        marks["preview_px"] = [round(v) for v in preview_widget.picture[2:]]
        marks["window"] = [int(v) for v in Window.size]
        marks["gl"] = gl_info()
        marks["clock_max_fps"] = getattr(Clock, "_max_fps", None)
        from kivy.config import Config

        marks["multisamples_configured"] = Config.getint("graphics", "multisamples")
        if finish_s > 0:
            Window.bind(on_flip=finish_frame)
            Clock.schedule_once(lambda _dt: app.stop(), finish_s)
        else:
            app.stop()

    def finish_frame(_window):
        # After the measurement: how long the renderer takes to finish a frame's drawing
        # (glFinish before the swap), the cost show_frame otherwise waits for when it
        # uploads into the texture the previous frame still draws from.
        from kivy.graphics.opengl import glFinish

        t = time.perf_counter()
        glFinish()
        finish_ms.append((time.perf_counter() - t) * 1000)

    def begin(*_):
        Window.bind(on_draw=on_draw, on_flip=on_flip)
        Clock.schedule_once(start_measuring, warmup_s)

    app.bind(on_start=begin)
    app.run()

    result: dict = {
        "pump_interval_s": round(pump_interval, 4),
        "maxfps": maxfps,
        "frame_size": list(frame_size),
        "frames_cycled": len(frames),
        "warmup_s": warmup_s,
    }
    if "error" in marks or "t1" not in marks:
        result["error"] = marks.get("error", "the app stopped before the measurement ended")
    else:
        wall = marks["t1"] - marks["t0"]
        intervals = [(b - a) * 1000 for a, b in pairwise(new_frames)]
        result.update(
            {
                "window": marks["window"],
                "preview_drawn_px": marks["preview_px"],
                "seconds": round(wall, 2),
                "fps": round(len(new_frames) / wall, 1),
                "frames_drawn": len(new_frames),
                "frames_uploaded": marks["uploads1"] - marks["uploads0"],
                "flips_per_s": round(len(flips) / wall, 1),
                "frame_ms": ms_stats(intervals),
                "bgr_to_rgb_ms": ms_stats(convert_ms),
                "show_frame_ms": ms_stats(show_ms),
                "draw_ms": ms_stats(draw_ms),
                "gl_finish_ms": ms_stats(finish_ms[2:]),
                "cpu_percent": round(100 * (marks["cpu1"] - marks["cpu0"]) / wall, 1),
                "clock_max_fps": marks["clock_max_fps"],
                "multisamples_configured": marks["multisamples_configured"],
                **marks["gl"],
            }
        )
    Path(out_path).write_text(json.dumps(result, indent=1))
    return 0 if "error" not in result else 1


# ---------------------------------------------------------------------------- first frame


def first_frame(out_path: str) -> int:
    marks = {"interpreter_started": T_START}
    configure(*PANEL)
    marks["kivy_configured"] = time.time()
    import kiosk.ui.flow_app  # noqa: F401 - imports kivy and opens the window

    marks["window_open"] = time.time()
    from kivy.core.window import Window

    app = _still_app("attract")
    started = {"on": False}

    def on_start(*_):
        marks["app_started"] = time.time()
        started["on"] = True

    def on_flip(_window):
        if not started["on"] or "first_frame" in marks:
            return
        marks["first_frame"] = time.time()
        marks["state"] = app.state
        print(FIRST_FRAME_LINE, flush=True)
        from kivy.clock import Clock

        Clock.schedule_once(lambda _dt: app.stop(), 0)

    app.bind(on_start=on_start)
    Window.bind(on_flip=on_flip)
    app.run()
    marks["window"] = [int(v) for v in Window.size]
    Path(out_path).write_text(json.dumps(marks, indent=1))
    return 0 if "first_frame" in marks else 1


if __name__ == "__main__":
    mode, *args = sys.argv[1:]
    sys.exit({"preview": preview, "first-frame": first_frame}[mode](*args))
