"""Face pipeline benchmark: the analysis loop, templates and the naive loop, at 640x480.

    .venv/bin/python bench/face.py [--frames 150] [--video CLIP] [--out result.json]

Frames: the default face (scikit-image's astronaut) moving across a 640x480 frame, or a
video clip scaled to 640x480 (e.g. a genuine clip from ../shared/data/videos). Everything
runs in one process, one after the other, on the same frames:

- `analysis_loop`: FaceAnalyzer.process per frame (HOG on a 426 px copy every 3rd frame,
  landmark tracking, 68 landmarks, quality gate) -> fps and per-frame ms percentiles;
- `stages`: the parts on their own (detection at 426 px and full size, 5 and 68 landmarks,
  quality measures, one descriptor);
- `template`: one frame (one descriptor), three best frames, a still photo (mirror);
- `naive_loop`: face_recognition the README way on every frame (HOG upsample 1 on the full
  frame, an encoding per face) -> fps, and how many times faster our loop is.

Not yet: the loop while the kiosk's camera preview renders at 1280x720 (needs the UI).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
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


def analysis_loop(frames) -> dict:
    analyzer = FaceAnalyzer()
    analyzer.process(frames[0])  # load models outside the timing
    analyzer.reset()
    per = []
    ok = 0
    start = time.perf_counter()
    for i, f in enumerate(frames):
        t = time.perf_counter()
        a = analyzer.process(f, i / 15)
        per.append((time.perf_counter() - t) * 1000)
        ok += a.quality.ok
    total = time.perf_counter() - start
    return {
        "fps": round(len(frames) / total, 1),
        "frame_ms": ms_stats(per),
        "frames": len(frames),
        "detections": analyzer.tracker.detections_run,
        "frames_passing_quality": ok,
    }


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

    return describe(
        dlib=dlib.__version__,
        dlib_avx=bool(getattr(dlib, "USE_AVX_INSTRUCTIONS", False)),
        dlib_blas=bool(getattr(dlib, "DLIB_USE_BLAS", False)),
    )


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=150)
    ap.add_argument("--naive-frames", type=int, default=20)
    ap.add_argument("--video", help="a clip to use instead of the moving default face")
    ap.add_argument("--out", help="write the JSON here too")
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
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
