"""Face pipeline benchmark: the analysis loop, templates and the naive loop, at 640x480.

    .venv/bin/python bench/face.py [--frames 150] [--video CLIP] [--out result.json]
                                   [--preview-seconds 10] [--no-preview]

Frames: the default face (scikit-image's astronaut) moving across a 640x480 frame, or a
video clip scaled to 640x480 (e.g. a genuine clip from ../shared/data/videos). Everything
runs in one process, one after the other, on the same frames:

- `analysis_loop`: FaceAnalyzer.process per frame (HOG on a 426 px copy every 3rd frame,
  landmark tracking, 68 landmarks, quality gate) -> fps and per-frame ms percentiles;
- `stages`: the parts on their own (detection at 426 px and full size, 5 and 68 landmarks,
  quality measures, one descriptor);
- `template`: one frame (one descriptor), three best frames, a still photo (mirror);
- `naive_loop`: face_recognition the README way on every frame (HOG upsample 1 on the full
  frame, an encoding per face) -> fps, and how many times faster our loop is;
- `with_preview`: the same analysis loop while a child process renders the kiosk's camera
  preview (bench/ui_child.py's `preview`, as bench/ui.py runs it: the real FlowApp on
  face_capture, offscreen, fed a new 1280x720 camera frame every 1/30 s, in the 1920x1080
  panel unless --preview-window says otherwise). The loop runs over the frames again and
  again (a fresh start each pass) for --preview-seconds, once alone and once while the child
  measures its own preview frame rate over the same span (the child starts measuring after
  its warm-up, the loop starts when it says so and the child stops when the loop ends); the
  child also measures the preview alone for as long. So: loop fps alone / with the preview,
  and preview fps alone / with the loop, on the same 2 cores.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.machine import describe
from biometrics.face import FaceAnalyzer, StillTemplates, TemplateExtractor, models
from biometrics.face.detect import FaceDetector, to_gray
from biometrics.face.quality import measure
from drivers.camera.sources import cover, default_face, default_face_path

SIZE = (640, 480)


def moving_default_face(n: int) -> list[np.ndarray]:
    src = default_face()
    base = cover(src.image, SIZE, src.crop)
    frames = []
    for i in range(n):
        dx = 50 * np.sin(2 * np.pi * i / 60)
        dy = 15 * np.sin(2 * np.pi * i / 45)
        zoom = 1.0 + 0.08 * np.sin(2 * np.pi * i / 90)
        m = cv2.getRotationMatrix2D((320, 223), 0, zoom)
        m[:, 2] += (dx, dy)
        frames.append(cv2.warpAffine(base, m, SIZE, borderMode=cv2.BORDER_REPLICATE))
    return frames


def video_frames(path: str, n: int) -> list[np.ndarray]:
    cap = cv2.VideoCapture(path)
    frames = []
    while len(frames) < n:
        ok, img = cap.read()
        if not ok:
            break
        frames.append(cover(img, SIZE))
    cap.release()
    if not frames:
        raise SystemExit(f"no frames in {path}")
    return frames


def ms_stats(values: list[float]) -> dict:
    v = sorted(values)
    return {
        "median": round(statistics.median(v), 2),
        "p90": round(v[int(0.9 * (len(v) - 1))], 2),
        "max": round(v[-1], 2),
    }


def timed(fn, repeat: int) -> list[float]:
    fn()  # warm-up (model load, caches)
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def analysis_loop(
    frames, min_seconds: float = 0.0, ready: Callable[[], None] | None = None
) -> dict:
    """FaceAnalyzer.process over `frames`; passes over them again (the analyzer reset, as for
    a new resident) until `min_seconds` have gone. `ready` is called after the models have
    loaded, just before the timing starts."""
    analyzer = FaceAnalyzer()
    analyzer.process(frames[0])  # load models outside the timing
    analyzer.reset()
    if ready is not None:
        ready()
    per = []
    ok = passes = 0
    detections0 = analyzer.tracker.detections_run  # a running count: reset keeps it
    start, cpu = time.perf_counter(), time.process_time()
    while True:
        for i, f in enumerate(frames):
            t = time.perf_counter()
            a = analyzer.process(f, i / 15)
            per.append((time.perf_counter() - t) * 1000)
            ok += a.quality.ok
        passes += 1
        if time.perf_counter() - start >= min_seconds:
            break
        analyzer.reset()
    total = time.perf_counter() - start
    out = {
        "fps": round(len(per) / total, 1),
        "frame_ms": ms_stats(per),
        "frames": len(per),
        "detections": analyzer.tracker.detections_run - detections0,
        "frames_passing_quality": ok,
    }
    if passes > 1:
        out.update(
            passes=passes,
            seconds=round(total, 2),
            cpu_percent=round(100 * (time.process_time() - cpu) / total, 1),
        )
    return out


# ---------------------------------------------------------------------------- with the preview


class PreviewChild:
    """bench/ui_child.py's camera preview (app_pump: the app as it is) in a child process
    started as bench/ui.py starts it; `measuring()` waits until its measurement has begun,
    `result()` ends it (the stop file) and returns what the child wrote."""

    def __init__(self, tmp: Path, name: str, window, seconds: float, warmup: float = 2.0):
        from bench.ui import FRAME, VARIANTS, _LineWatch, child_env
        from bench.ui_child import MEASURING_LINE

        self.work = tmp / name
        self.work.mkdir(parents=True)
        self.stop_file, self.out = self.work / "stop", self.work / "result.json"
        self.config = {
            "variant": "app_pump",
            **VARIANTS["app_pump"],
            "window": list(window),
            "frame_size": list(FRAME),
            "seconds": seconds,
            "warmup_s": warmup,
            "stop_file": str(self.stop_file),
        }
        (self.work / "config.json").write_text(json.dumps(self.config))
        self.log = (self.work / "stderr.txt").open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.ui_child", "preview", "config.json", str(self.out)],
            cwd=self.work,
            env=child_env(tmp),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
        )
        self.watch = _LineWatch(self.proc, MEASURING_LINE)

    def measuring(self, timeout: float = 120) -> None:
        if not self.watch.seen.wait(timeout) or self.watch.at is None:
            raise RuntimeError(f"the preview child did not start measuring: {self._tail()}")

    def result(self, timeout: float = 60) -> dict:
        from bench.ui import _stop

        self.stop_file.touch()
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            _stop(self.proc)
        self.log.close()
        if not self.out.exists():
            raise RuntimeError(
                f"the preview child wrote nothing (exit {self.proc.returncode}): {self._tail()}"
            )
        return json.loads(self.out.read_text())

    def close(self) -> None:
        from bench.ui import _stop

        _stop(self.proc)
        self.log.close()

    def _tail(self) -> str:
        from bench.ui import _tail

        self.log.flush()
        return _tail((self.work / "stderr.txt").read_text(errors="replace"), 6)


def _preview_figures(r: dict) -> dict:
    keys = ("fps", "seconds", "frames_drawn", "frame_ms", "cpu_percent", "error")
    return {k: r[k] for k in keys if k in r}


def with_preview(frames, seconds: float, window) -> dict:
    """The analysis loop alone and while the kiosk's preview renders in a child process; the
    preview alone and while the loop runs."""
    out: dict = {
        "what": "the analysis loop (this process) while bench/ui_child.py renders the kiosk's "
        "camera preview (FlowApp on face_capture, offscreen, app_pump) in a child process",
        "window": list(window),
        "loop_seconds": seconds,
    }
    out["loop_alone"] = analysis_loop(frames, seconds)
    with tempfile.TemporaryDirectory(prefix="bench-face-") as td:
        tmp = Path(td)
        # The child's own limit is only a backstop: the stop file ends it with the loop.
        child = PreviewChild(tmp, "with-loop", window, seconds=4 * seconds + 30)
        try:
            out["loop_with_preview"] = analysis_loop(frames, seconds, ready=child.measuring)
            with_loop = child.result()
        except RuntimeError as exc:
            child.close()
            out["error"] = str(exc)
            return out
        out["preview"] = {
            **{k: with_loop[k] for k in ("variant", "frame_size", "window") if k in with_loop},
            "pump_interval_s": with_loop.get("pump_interval_s"),
            "gl_renderer": with_loop.get("gl_renderer"),
        }
        out["preview_with_loop"] = _preview_figures(with_loop)
        measured = out["loop_with_preview"].get("seconds")
        alone = PreviewChild(tmp, "alone", window, seconds=measured or seconds)
        try:
            alone.measuring()
            alone.proc.wait(measured + 60 if measured else seconds + 60)
            out["preview_alone"] = _preview_figures(alone.result())
        except (RuntimeError, subprocess.TimeoutExpired) as exc:
            alone.close()
            out["preview_alone"] = {"error": str(exc)}
    a, w = out["loop_alone"]["fps"], out["loop_with_preview"]["fps"]
    out["loop_fps_ratio"] = round(w / a, 2) if a else None
    return out


def stages(frame) -> dict:
    gray = to_gray(frame)
    det = FaceDetector(426)
    box = det.detect(gray)[0]
    p5, p68 = models.predictor("5"), models.predictor("68")
    rect = box.to_dlib()
    ex = TemplateExtractor()
    rgb = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
    chip = ex.chip(rgb, box)
    return {
        "detect_426px_ms": ms_stats(timed(lambda: det.detect(gray), 20)),
        "detect_640px_ms": ms_stats(timed(lambda: det.detect(gray, width=640), 10)),
        "detect_640px_upsample1_ms": ms_stats(
            timed(lambda: det.detect(gray, width=640, upsample=1), 5)
        ),
        "landmarks_5_ms": ms_stats(timed(lambda: p5(gray, rect), 50)),
        "landmarks_68_ms": ms_stats(timed(lambda: p68(gray, rect), 50)),
        "quality_measures_ms": ms_stats(timed(lambda: measure(gray, box, None), 50)),
        "descriptor_ms": ms_stats(timed(lambda: ex.descriptor(chip), 10)),
    }


def template(frames) -> dict:
    ex = TemplateExtractor()
    analyzer = FaceAnalyzer()
    boxes = [analyzer.process(f).primary.box for f in frames[:3]]
    one = timed(lambda: ex.from_frames([(frames[0], boxes[0])]), 10)
    three = timed(lambda: ex.from_frames(list(zip(frames[:3], boxes, strict=True))), 3)
    stills = StillTemplates()
    photo = cv2.imread(str(default_face_path()))
    still = timed(lambda: stills.from_image(photo), 5)
    return {
        "one_frame_ms": ms_stats(one),
        "three_frames_ms": ms_stats(three),
        "still_photo_mirror_ms": ms_stats(still),
    }


def naive_loop(frames) -> dict:
    from biometrics.face import baseline

    rgbs = [cv2.cvtColor(f, cv2.COLOR_BGR2RGB) for f in frames]
    baseline.naive_frame(rgbs[0])  # load face_recognition's models
    start = time.perf_counter()
    per = []
    for rgb in rgbs:
        t = time.perf_counter()
        baseline.naive_frame(rgb)
        per.append((time.perf_counter() - t) * 1000)
    total = time.perf_counter() - start
    return {"fps": round(len(rgbs) / total, 2), "frame_ms": ms_stats(per), "frames": len(rgbs)}


def machine() -> dict:
    import dlib

    return describe(  # load_at_end is added after the run
        dlib=dlib.__version__,
        dlib_avx=bool(getattr(dlib, "USE_AVX_INSTRUCTIONS", False)),
        dlib_blas=bool(getattr(dlib, "DLIB_USE_BLAS", False)),
    )


def _size(text: str) -> tuple[int, int]:
    w, _, h = text.lower().partition("x")
    return int(w), int(h)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=150)
    ap.add_argument("--naive-frames", type=int, default=20)
    ap.add_argument("--video", help="a clip to use instead of the moving default face")
    ap.add_argument("--out", help="write the JSON here too")
    ap.add_argument(
        "--preview-seconds", type=float, default=10.0,
        help="analysis loop alone and with the preview, each at least this long (10 s)",
    )  # fmt: skip
    ap.add_argument(
        "--preview-window", type=_size, default=(1920, 1080),
        help="the preview child's window, WxH (the kiosk panel, 1920x1080)",
    )  # fmt: skip
    ap.add_argument("--no-preview", action="store_true", help="skip `with_preview`")
    args = ap.parse_args(argv)
    if args.video:
        frames = video_frames(args.video, args.frames)
    else:
        frames = moving_default_face(args.frames)
    loop = analysis_loop(frames)
    naive = naive_loop(frames[: args.naive_frames])
    result = {
        "benchmark": "face",
        "frames_source": args.video or "default face (astronaut), moving",
        "resolution": list(SIZE),
        "machine": machine(),
        "analysis_loop": loop,
        "naive_loop": naive,
        "speedup_vs_naive": round(loop["fps"] / naive["fps"], 1) if naive["fps"] else None,
        "template": template(frames),
        "stages": stages(frames[0]),
    }
    if not args.no_preview:
        result["with_preview"] = with_preview(frames, args.preview_seconds, args.preview_window)
    with contextlib.suppress(OSError):
        # Other work on the same cores slows every figure here; the load says how much ran.
        result["machine"]["load_at_end"] = round(os.getloadavg()[0], 2)
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
