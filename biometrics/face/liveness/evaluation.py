"""Liveness on recorded clips: the events in a clip, a given challenge sequence replayed
against it, and error rates over a folder of clips.

A clip is read once (`analyse_clip`): every frame goes through the face analyzer and the
liveness observer, as a kiosk camera's frames would, and is kept as an `Observation`. Then
sessions are *replayed* over those observations as often as needed: a recorded clip cannot
react to prompts, so a session is the clip played from some moment on (looping, as an
attacker's replay would), with prompts issued whenever the session logic issues them.

Frames are scaled down to fit 640 x 480 (never up: upscaling invents spectra and edges).
A kiosk coaches a resident to a face about a quarter of the frame wide; a clip whose face is
much smaller (broadcast and DFDC footage) is first cropped around the face to that framing
(`framing`), or the detector, tuned for kiosk distances, loses it between frames.

`liveness_eval(folder)`: clips listed in its PROVENANCE.tsv (columns `file`, `category`):
- `genuine`: BPCER = the share of clips the passive check flags, over each whole clip (and,
  for information, over the random session windows too); the events found in each clip.
- `attack-screen`, `attack-print`: APCER = the share of `schedules` random challenge
  schedules per clip (a random challenge sequence drawn as the kiosk draws it, started at a
  random moment of the clip) that the clip passes with everything applied (challenges,
  identity, faces, passive check); also the share that passes the active part alone.
- every other category: the same figures, reported on their own, outside both rates.
All counts come with their 95 % upper bounds (biometrics/evaluation.py). Schedules of one
clip are not independent trials: read the clip counts beside the schedule counts.
"""

from __future__ import annotations

import csv
import dataclasses
import math
import random
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from biometrics.evaluation import clopper_pearson_upper
from biometrics.face.analyzer import FaceAnalyzer
from biometrics.face.detect import FaceDetector
from biometrics.face.errors import FaceInputError, ImageMissing, NoFace, NotAnImage
from biometrics.face.liveness.events import KINDS, Detectors, Event
from biometrics.face.liveness.observe import Observation, Observer
from biometrics.face.liveness.pad import PadAccumulator
from biometrics.face.liveness.session import (
    LivenessConfig,
    LivenessResult,
    LivenessSession,
    draw_challenges,
)

VIDEO_SUFFIXES = {".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg"}
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp"}
ATTACK_CATEGORIES = ("attack-screen", "attack-print")
GENUINE = "genuine"
MAX_SIZE = (640, 480)
KIOSK_FACE_RATIO = 0.3  # face width / frame width the framing aims for
SMALL_FACE_RATIO = 0.2  # below this, the clip is cropped around the face
STILL_SECONDS = 5.0  # a still picture is shown for this long at 15 fps

# Clips measure liveness, not the quality gate: identity checks accept any face frame.
EVAL_CONFIG = LivenessConfig(require_good_frames=False)


@dataclass
class Clip:
    path: Path
    fps: float
    size: tuple[int, int]  # analysed frame size (width, height)
    source_size: tuple[int, int]
    crop: tuple[int, int, int, int] | None  # framing crop in source pixels, if any
    observations: list[Observation] = field(default_factory=list, repr=False)
    analysis_s: float = 0.0

    @property
    def frames(self) -> int:
        return len(self.observations)

    @property
    def duration(self) -> float:
        return self.frames / self.fps if self.fps else 0.0

    @property
    def face_frames(self) -> int:
        return sum(1 for o in self.observations if o.face)


# -- reading ------------------------------------------------------------------------------


def _fit(image: np.ndarray, size=MAX_SIZE) -> np.ndarray:
    h, w = image.shape[:2]
    s = min(size[0] / w, size[1] / h, 1.0)
    if s >= 1.0:
        return image
    return cv2.resize(image, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA)


def _open(path: Path):
    if not path.exists():
        raise ImageMissing(f"no such file: {path}")
    if path.suffix.lower() in IMAGE_SUFFIXES:
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            raise NotAnImage(f"not a picture or video OpenCV can read: {path}")
        return None, image, 15.0
    cap = cv2.VideoCapture(str(path))
    ok, first = cap.read() if cap.isOpened() else (False, None)
    if not ok or first is None:
        cap.release()
        raise NotAnImage(f"not a video OpenCV can read: {path}")
    fps = cap.get(cv2.CAP_PROP_FPS)
    if not (fps and math.isfinite(fps) and 1.0 <= fps <= 240.0):
        fps = 25.0
    return cap, first, float(fps)


def _frames(cap, first: np.ndarray, still_frames: int) -> Iterator[np.ndarray]:
    if cap is None:
        for _ in range(still_frames):
            yield first
        return
    yield first
    try:
        while True:
            ok, image = cap.read()
            if not ok or image is None:
                return
            yield image
    finally:
        cap.release()


def framing_crop(path: Path, samples: int = 5) -> tuple[int, int, int, int] | None:
    """A crop (x, y, w, h) that frames a small face as a kiosk camera would, or None."""
    cap, first, _ = _open(path)
    frames = [first]
    if cap is not None:
        n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        for k in range(1, samples):
            if n > samples:
                cap.set(cv2.CAP_PROP_POS_FRAMES, int(k * (n - 1) / (samples - 1)))
            ok, image = cap.read()
            if ok and image is not None:
                frames.append(image)
        cap.release()
    h, w = first.shape[:2]
    detector = FaceDetector()
    boxes = []
    for image in frames:
        small = _fit(image, (1280, 960))
        s = small.shape[1] / w
        gray = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
        found = detector.detect(gray, width=gray.shape[1], upsample=0)
        if found:
            boxes.append(found[0].scaled(1 / s))
    if not boxes:
        return None
    fw = float(np.median([b.w for b in boxes]))
    if fw / w >= SMALL_FACE_RATIO:
        return None
    cx = float(np.median([b.cx for b in boxes]))
    cy = float(np.median([b.cy for b in boxes]))
    cw = min(w, fw / KIOSK_FACE_RATIO)
    ch = min(h, cw * 3 / 4)
    cw = min(cw, ch * 4 / 3)
    x0 = int(min(max(0, cx - cw / 2), w - cw))
    y0 = int(min(max(0, cy - ch * 0.45), h - ch))
    return x0, y0, int(cw), int(ch)


# -- analysis --------------------------------------------------------------------------------


def analyse_clip(
    path: str | Path,
    *,
    config: LivenessConfig | None = None,
    framing: bool = True,
    descriptor_every_s: float = 0.2,
    max_frames: int | None = None,
    descriptors: bool = True,
) -> Clip:
    """Every frame of a clip (or a still, shown for `STILL_SECONDS`) as an observation, with
    template descriptors on a face frame every `descriptor_every_s` (other frames borrow the
    nearest one of the same face track: one descriptor costs ~60 ms; `descriptors=False`
    skips them when only the events matter)."""
    from biometrics.face.template import TemplateExtractor

    start = time.perf_counter()
    path = Path(path)
    config = config or EVAL_CONFIG
    crop = framing_crop(path) if framing else None
    cap, first, fps = _open(path)
    src_h, src_w = first.shape[:2]
    analyzer = FaceAnalyzer()
    observer = Observer(pad=config.pad, descriptor_fn=lambda f, b: np.zeros(1))
    extractor = TemplateExtractor()
    observations: list[Observation] = []
    vectors: dict[int, np.ndarray] = {}
    last_desc_t: dict[int, float] = {}
    size = (0, 0)
    still_frames = round(STILL_SECONDS * fps)
    for i, image in enumerate(_frames(cap, first, still_frames)):
        if max_frames is not None and i >= max_frames:
            break
        if crop is not None:
            x, y, w, h = crop
            image = image[y : y + h, x : x + w]
        frame = np.ascontiguousarray(_fit(image))
        size = (frame.shape[1], frame.shape[0])
        t = i / fps
        a = analyzer.process(frame, t)
        o = observer.observe(a, frame)
        if o.face and descriptors:
            due = t - last_desc_t.get(o.track_id, -1e9) >= descriptor_every_s - 1e-9
            if due:
                vectors[i] = extractor.frame_descriptor(frame, o.box)
                last_desc_t[o.track_id] = t
        observations.append(dataclasses.replace(o, descriptor=None))
    if not observations:
        raise NotAnImage(f"no frames in {path}")
    clip = Clip(path, fps, size, (src_w, src_h), crop)
    clip.observations = _attach_descriptors(observations, vectors)
    clip.analysis_s = time.perf_counter() - start
    return clip


def _attach_descriptors(obs: list[Observation], desc: dict[int, np.ndarray]):
    by_track: dict[int, list[int]] = {}
    for i in sorted(desc):
        by_track.setdefault(obs[i].track_id, []).append(i)
    out = []
    for i, o in enumerate(obs):
        idx = by_track.get(o.track_id) if o.face else None
        if not idx:
            out.append(o)
            continue
        k = int(np.searchsorted(idx, i))
        near = min((idx[j] for j in (k - 1, k) if 0 <= j < len(idx)), key=lambda j: abs(j - i))
        vec = desc[near]
        out.append(dataclasses.replace(o, descriptor=lambda v=vec: v))
    return out


# -- one clip --------------------------------------------------------------------------------


def clip_events(clip: Clip, config: LivenessConfig | None = None) -> list[Event]:
    from biometrics.face.liveness.events import BlinkDetector, MouthDetector, TurnDetector

    c = config or EVAL_CONFIG
    dets = Detectors(BlinkDetector(c.blink), TurnDetector(c.turn), MouthDetector(c.mouth))
    events = []
    for o in clip.observations:
        events += dets.update(o)
    return events


def clip_passive(clip: Clip, config: LivenessConfig | None = None) -> PadAccumulator:
    """The passive check over a whole clip (frame cues and every head turn in it)."""
    from biometrics.face.liveness.events import TurnDetector
    from biometrics.face.liveness.pad import flat_check

    c = config or EVAL_CONFIG
    acc = PadAccumulator(c.pad)
    turn = TurnDetector(c.turn)
    for o in clip.observations:
        acc.add(o.cues)
        turn.update(o)
    turn.flush()
    for t in turn.finished:
        acc.add_turn(flat_check(t))
    return acc


def replay(
    clip: Clip,
    challenges,
    *,
    start_s: float = 0.0,
    config: LivenessConfig | None = None,
    loop: bool = True,
    max_s: float = 60.0,
) -> LivenessResult:
    """Run one session over the clip from `start_s` (looping when `loop`)."""
    c = config or EVAL_CONFIG
    session = LivenessSession(challenges, c)
    n = clip.frames
    first = round(start_s * clip.fps) % n
    k = 0
    while not session.done:
        i = first + k
        if i >= n and not loop:
            break
        t = k / clip.fps
        if t > max_s:
            break
        o = clip.observations[i % n]
        session.step(dataclasses.replace(o, index=k, t=t))
        k += 1
    return session.result()


def schedules(clip: Clip, count: int, seed: int, config: LivenessConfig | None = None):
    """`count` random (challenge sequence, start time) pairs for a clip, reproducibly."""
    c = config or EVAL_CONFIG
    rng = random.Random(f"{seed}:{clip.path.name}:{clip.frames}")  # noqa: S311 (not secret)
    return [(draw_challenges(c, rng), rng.uniform(0.0, clip.duration)) for _ in range(count)]


def run_schedules(clip: Clip, count: int, seed: int, config: LivenessConfig | None = None):
    """Replays `count` random schedules: totals with and without the passive check."""
    c = config or EVAL_CONFIG
    active = dataclasses.replace(c, pad=dataclasses.replace(c.pad, decision=math.inf))
    passed = active_passed = flagged = 0
    reasons: Counter = Counter()
    for seq, start in schedules(clip, count, seed, c):
        r = replay(clip, seq, start_s=start, config=c)
        passed += r.passed
        reasons[r.reason or "passed"] += 1
        flagged += bool(r.trace["passive"]["flagged"])
        if r.passed or r.reason == "presentation_attack":
            ra = replay(clip, seq, start_s=start, config=active)
            active_passed += ra.passed
    return {
        "schedules": count,
        "passed": passed,
        "passed_active_only": active_passed,
        "passive_flagged": flagged,
        "outcomes": dict(sorted(reasons.items())),
    }


def describe_clip(clip: Clip, config: LivenessConfig | None = None) -> dict:
    events = clip_events(clip, config)
    by_kind = {k: [e.to_dict() for e in events if e.kind == k] for k in KINDS}
    passive = clip_passive(clip, config)
    return {
        "file": clip.path.name,
        "frames": clip.frames,
        "fps": round(clip.fps, 3),
        "duration_s": round(clip.duration, 3),
        "size": list(clip.size),
        "framing_crop": list(clip.crop) if clip.crop else None,
        "face_frames": clip.face_frames,
        "faces_max": max((o.faces for o in clip.observations), default=0),
        "events": {k: len(v) for k, v in by_kind.items()},
        "event_times": by_kind,
        "passive": passive.to_dict(),
        "analysis_s": round(clip.analysis_s, 2),
    }


def liveness_of_video(
    path: str | Path,
    challenges=None,
    *,
    start_s: float = 0.0,
    config: LivenessConfig | None = None,
) -> dict:
    """`kiosk bio liveness VIDEO`: the actions found, the passive check, and whether a
    challenge sequence (played from `start_s`, without looping) passes."""
    config = config or EVAL_CONFIG
    clip = analyse_clip(path, config=config)
    if clip.face_frames == 0:
        raise NoFace(f"no face found in {path}")
    out = describe_clip(clip, config)
    out["file"] = str(path)
    if challenges:
        r = replay(clip, tuple(challenges), start_s=start_s, config=config, loop=False)
        out["challenges"] = {
            "sequence": list(challenges),
            "start_s": start_s,
            "passed": r.passed,
            "reason": r.reason,
            "trace": r.trace,
            "contract": r.contract(),
        }
    return out


# -- a folder ------------------------------------------------------------------------------


def read_provenance(folder: str | Path) -> list[tuple[Path, str]]:
    folder = Path(folder)
    if not folder.is_dir():
        raise ImageMissing(f"no such folder: {folder}")
    tsv = folder / "PROVENANCE.tsv"
    if not tsv.is_file():
        raise FaceInputError(f"no PROVENANCE.tsv in {folder}", reason="missing")
    with tsv.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    if not rows or "file" not in rows[0] or "category" not in rows[0]:
        raise FaceInputError(f"{tsv} needs the columns file and category", reason="bad_input")
    out = []
    for row in rows:
        path = folder / row["file"]
        if path.suffix.lower() in VIDEO_SUFFIXES | IMAGE_SUFFIXES and path.is_file():
            out.append((path, (row["category"] or "unlabelled").strip()))
    if not out:
        raise FaceInputError(f"no readable clips listed in {tsv}", reason="missing")
    return out


def _rate(errors: int, trials: int) -> dict:
    return {
        "errors": errors,
        "trials": trials,
        "rate": round(errors / trials, 4) if trials else None,
        "upper95": round(clopper_pearson_upper(errors, trials), 4) if trials else None,
    }


def _one(args) -> dict:
    path, category, root, count, seed, config = args
    try:
        clip = analyse_clip(path, config=config)
    except FaceInputError as exc:
        return {"file": str(path.relative_to(root)), "category": category, "error": str(exc)}
    d = describe_clip(clip, config)
    d["file"] = str(path.relative_to(root))
    d["category"] = category
    if clip.face_frames:
        d["schedules"] = run_schedules(clip, count, seed, config)
    else:
        d["schedules"] = {"schedules": count, "passed": 0, "passed_active_only": 0,
                          "passive_flagged": 0, "outcomes": {"no_face": count}}  # fmt: skip
    return d


def liveness_eval(
    folder: str | Path,
    *,
    schedules_per_clip: int = 100,
    seed: int = 0,
    jobs: int = 1,
    config: LivenessConfig | None = None,
    only: list[str] | None = None,
) -> dict:
    start = time.perf_counter()
    folder = Path(folder)
    config = config or EVAL_CONFIG
    items = read_provenance(folder)
    if only:
        items = [(p, c) for p, c in items if any(s in str(p) for s in only)]
    work = [(p, c, folder, schedules_per_clip, seed, config) for p, c in items]
    if jobs > 1 and len(work) > 1:
        from concurrent.futures import ProcessPoolExecutor

        # the longest clips first, so the pool ends together
        work.sort(key=lambda w: -w[0].stat().st_size)
        with ProcessPoolExecutor(jobs) as pool:
            clips = list(pool.map(_one, work))
        order = {str(p.relative_to(folder)): i for i, (p, _) in enumerate(items)}
        clips.sort(key=lambda d: order.get(d["file"], 0))
    else:
        clips = [_one(w) for w in work]
    return summarise(clips, schedules_per_clip, seed, config, time.perf_counter() - start)


def summarise(clips: list[dict], count: int, seed: int, config, elapsed: float) -> dict:
    def group(cat: str) -> dict:
        cs = [d for d in clips if d["category"] == cat and "error" not in d]
        sched = sum(d["schedules"]["schedules"] for d in cs)
        passed = sum(d["schedules"]["passed"] for d in cs)
        active = sum(d["schedules"]["passed_active_only"] for d in cs)
        flagged = [d["file"] for d in cs if d["passive"]["flagged"]]
        windows = sum(d["schedules"]["passive_flagged"] for d in cs)
        return {
            "clips": len(cs),
            "errors": [d["file"] for d in clips if d["category"] == cat and "error" in d],
            "schedules_passed": _rate(passed, sched),
            "schedules_passed_active_only": _rate(active, sched),
            "clips_with_a_passing_schedule": sum(1 for d in cs if d["schedules"]["passed"]),
            "passive_flagged_clips": _rate(len(flagged), len(cs)),
            "passive_flagged_windows": _rate(windows, sched),
            "flagged": flagged,
            "events": {k: sum(d["events"][k] for d in cs) for k in KINDS},
        }

    categories = sorted({d["category"] for d in clips})
    genuine = group(GENUINE)
    attacks = {cat: group(cat) for cat in ATTACK_CATEGORIES}
    others = {cat: group(cat) for cat in categories if cat not in (GENUINE, *ATTACK_CATEGORIES)}
    return {
        "clips": len(clips),
        "schedules_per_clip": count,
        "seed": seed,
        "bpcer": {
            "category": GENUINE,
            **_rate(genuine["passive_flagged_clips"]["errors"], genuine["clips"]),
            "flagged": genuine["flagged"],
            "windows": genuine["passive_flagged_windows"],
            "events": genuine["events"],
        },
        "apcer": {
            cat: {
                **_rate(g["schedules_passed"]["errors"], g["schedules_passed"]["trials"]),
                "clips": g["clips"],
                "clips_with_a_passing_schedule": g["clips_with_a_passing_schedule"],
                "active_only": g["schedules_passed_active_only"],
                "passive_flagged_clips": g["passive_flagged_clips"],
            }
            for cat, g in attacks.items()
        },
        "genuine": genuine,
        "other_categories": others,
        "per_clip": clips,
        "config": {
            "challenges": config.challenges,
            "kinds": list(config.kinds),
            "require_turn": config.require_turn,
            "timeouts_s": dict(config.timeouts),
            "pad": dataclasses.asdict(config.pad),
            "turn_deg": config.turn.turn_deg,
            "blink": dataclasses.asdict(config.blink),
            "mouth_open_ratio": config.mouth.open_ratio,
            "same_face_max_distance": config.same_face_max_distance,
        },
        "elapsed_s": round(elapsed, 1),
    }


# -- blink detection against hand labels ------------------------------------------------------


def blink_agreement(
    events: list[Event], blinks: list, winks: list, fps: float, tolerance: int = 2
) -> dict:
    """Detected blinks against labelled closures (frame ranges [first, last]). A detection
    matches a label when its closure (from its first closed frame to the reopening frame)
    overlaps the label, give or take `tolerance` frames; each label matches at most one
    detection. Detections that match only a wink are counted apart."""
    dets = [e for e in events if e.kind == "blink"]
    spans = [(round(e.start * fps), round(e.t * fps)) for e in dets]

    def overlaps(span, label):
        return span[0] <= label[1] + tolerance and span[1] >= label[0] - tolerance

    used: set[int] = set()
    tp = 0
    for label in blinks:
        for k, span in enumerate(spans):
            if k not in used and overlaps(span, label):
                used.add(k)
                tp += 1
                break
    on_winks = sum(
        1 for k, span in enumerate(spans) if k not in used and any(overlaps(span, w) for w in winks)
    )
    fp = len(spans) - len(used) - on_winks
    return {
        "labelled": len(blinks),
        "detected": len(spans),
        "true_positives": tp,
        "false_positives": fp,
        "missed": len(blinks) - tp,
        "on_winks": on_winks,
    }


def precision_recall(rows: list[dict]) -> dict:
    tp = sum(r["true_positives"] for r in rows)
    fp = sum(r["false_positives"] for r in rows)
    fn = sum(r["missed"] for r in rows)
    return {
        "clips": len(rows),
        "labelled": tp + fn,
        "true_positives": tp,
        "false_positives": fp,
        "missed": fn,
        "on_winks": sum(r["on_winks"] for r in rows),
        "precision": round(tp / (tp + fp), 4) if tp + fp else None,
        "recall": round(tp / (tp + fn), 4) if tp + fn else None,
    }
