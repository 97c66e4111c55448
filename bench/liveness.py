"""Liveness benchmark: the cost of the liveness signals per frame, blink detection against
the hand labels, and the error rates over the evaluation clips.

    .venv/bin/python bench/liveness.py [--out bench/results/liveness.json]
        [--videos DIR] [--schedules 100] [--jobs N] [--skip-eval]

- `signals`: per 640x480 frame, on top of the face analyzer: head pose (solvePnP), eye and
  mouth openness, the passive cues (every 2nd frame by default), in ms;
- `blinks`: precision and recall of the blink detector against the blinks labelled by hand
  (tests/biometrics/face/blink_labels.json), per clip and overall;
- `eval`: `kiosk bio liveness-eval` on the clips (BPCER on `genuine`, APCER per attack
  category over random challenge schedules, the other categories apart), with counts.

Clips come from ../shared/data/videos (KIOSK_EVAL_DATA overrides ../shared/data); without
them only `signals` runs.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.machine import describe  # noqa: E402
from biometrics.face import FaceAnalyzer  # noqa: E402
from biometrics.face.liveness import Observer  # noqa: E402
from biometrics.face.liveness.evaluation import (  # noqa: E402
    analyse_clip,
    blink_agreement,
    clip_events,
    liveness_eval,
    precision_recall,
)
from biometrics.face.liveness.pad import PadConfig, frame_cues  # noqa: E402
from biometrics.face.liveness.regions import Regions  # noqa: E402
from biometrics.face.liveness.signals import head_pose  # noqa: E402
from drivers.camera.sources import cover, default_face  # noqa: E402

LABELS = ROOT / "tests" / "biometrics" / "face" / "blink_labels.json"


def eval_videos() -> Path:
    from drivers.eval_data import eval_data_root

    return eval_data_root() / "videos"


def moving_face(n: int) -> list[np.ndarray]:
    src = default_face()
    base = cover(src.image, (640, 480), src.crop)
    frames = []
    for i in range(n):
        m = cv2.getRotationMatrix2D((320, 223), 3 * np.sin(i / 9), 1 + 0.05 * np.sin(i / 13))
        m[:, 2] += (40 * np.sin(i / 10), 10 * np.sin(i / 7))
        frames.append(cv2.warpAffine(base, m, (640, 480), borderMode=cv2.BORDER_REPLICATE))
    return frames


def _ms(samples: list[float]) -> dict:
    s = sorted(samples)
    return {
        "mean": round(statistics.fmean(s), 3),
        "p50": round(s[len(s) // 2], 3),
        "p95": round(s[int(0.95 * (len(s) - 1))], 3),
    }


def bench_signals(n: int = 150) -> dict:
    frames = moving_face(n)
    analyzer = FaceAnalyzer()
    analyses = [analyzer.process(f, i / 15) for i, f in enumerate(frames)]
    pose, cues, observe = [], [], []
    cfg = PadConfig()
    for f, a in zip(frames, analyses, strict=True):
        face = a.primary
        r = Regions(face.landmarks)
        t = time.perf_counter()
        head_pose(r, a.size)
        r.eye_openness()
        r.mouth_openness()
        pose.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        frame_cues(f, face.box, r, cfg)
        cues.append((time.perf_counter() - t) * 1000)
    observer = Observer(pad=cfg, descriptor_fn=lambda f, b: np.zeros(128))
    for f, a in zip(frames, analyses, strict=True):
        t = time.perf_counter()
        observer.observe(a, f)
        observe.append((time.perf_counter() - t) * 1000)
    return {
        "frames": n,
        "frame_size": [640, 480],
        "pose_and_openness_ms": _ms(pose),
        "passive_cues_ms": _ms(cues),
        "passive_every": cfg.every,
        "observe_per_frame_ms": _ms(observe),
    }


def bench_blinks(videos: Path) -> dict:
    labels = json.loads(LABELS.read_text(encoding="utf-8"))["clips"]
    rows = []
    for name, lab in labels.items():
        path = videos / name
        if not path.is_file():
            continue
        clip = analyse_clip(path, descriptors=False)
        row = blink_agreement(clip_events(clip), lab["blinks"], lab.get("winks", []), clip.fps)
        rows.append({"file": name, **row})
    return {"overall": precision_recall(rows), "clips": rows}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", help="write the JSON here too")
    ap.add_argument("--videos", type=Path, default=None)
    ap.add_argument("--schedules", type=int, default=100)
    ap.add_argument("--jobs", type=int, default=min(4, os.cpu_count() or 1))
    ap.add_argument("--skip-eval", action="store_true", help="signals and blinks only")
    args = ap.parse_args(argv)
    videos = args.videos or eval_videos()
    result: dict = {
        "machine": describe(platform=platform.platform()),  # load_at_end is added after
        "signals": bench_signals(),
    }
    if (videos / "PROVENANCE.tsv").is_file():
        result["blinks"] = bench_blinks(videos)
        if not args.skip_eval:
            ev = liveness_eval(videos, schedules_per_clip=args.schedules, jobs=args.jobs)
            for d in ev["per_clip"]:
                d.pop("event_times", None)
            result["eval"] = ev
    else:
        result["skipped"] = f"no evaluation clips at {videos} (set KIOSK_EVAL_DATA)"
    with contextlib.suppress(OSError):
        # Other work on the same cores slows every figure here; the load says how much ran.
        result["machine"]["load_at_end"] = round(os.getloadavg()[0], 2)
    text = json.dumps(result, indent=2, ensure_ascii=False)
    print(text)
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
