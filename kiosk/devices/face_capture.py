"""The live face capture: camera frames -> quality coaching -> active liveness -> template
-> evidence. The flow's `FaceCapturer` port on a real (or a simulated) camera.

    capturer = LiveFaceCapturer(preview)        # the preview's feed: the camera opens once
    evidence = capturer.capture(nonce, ("blink", "turn_left"), cancel, progress)

One capture, on the runner's worker thread:

1. Frames come from the preview feed (kiosk/devices/preview.py `next_frame`), never from the
   camera itself: the preview keeps showing the resident while the capture analyses the
   newest frame whenever it is free, at most `max_fps` frames per second of camera time.
   Frames larger than `analysis_size` are scaled down first (the quality limits, the
   passive cues and the liveness detectors were tuned on 640x480 frames; HOG detection
   then runs on a smaller copy still, biometrics/face/detect.py).
2. Each frame goes through the face analyzer (faces, landmarks, quality), the liveness
   observer and the liveness session (biometrics/face/liveness/session.py), in the camera's
   time, so the challenge deadlines are LivenessConfig's whatever the analysis rate.
   `progress(key, fraction)` tells the screen what to say: the quality coaching key of the
   moment while the session settles (face_too_dark, face_too_far ...; "hold still" when the
   frame is good), then each challenge's prompt (kiosk.flow.context.CHALLENGE_PROMPTS).
   Frames that pass the quality gate are offered to the best-frame selection.
3. When every challenge is answered: a template from the best frames (biometrics/face/
   selection.py, template.py) and the liveness trace, with the passive attack score, as a
   `contract.EvidenceRequest` (not simulated).

The kiosk does not judge the passive presentation-attack score: it reports it, and the back
end's policy (`liveness_max_attack_score`) decides, so a flagged attempt is counted and can
be reviewed instead of being retried at the kiosk for ever. Everything else the resident can
put right is a `CaptureRetryError` with the message key to coach with: no (good) face within
the settle time, a challenge not answered in time (or answered with another action), the
face lost, several faces, another face. A camera that gives no frame for `stall_s` seconds
is a `DeviceFailure("camera", "camera_no_frame")`. A set `cancel` ends the capture within a
frame's analysis (`CaptureCancelled`, which the runner drops).

Cost, measured on the 2-core development VM (Xeon, shared with other work, load 5-8): one
analysed frame (480x360 to 640x480, a 140-200 px face) costs 14-15 ms of CPU (30 ms of wall
time under that load); with a 30 fps camera the capture analysed about three frames in four
(~20 fps) in real time, every frame when idle. The template from three best frames costs
about 300 ms of CPU (~600 ms wall under load). `last_stats` reports these figures for every
capture. A faster rate matters: a short action (a mouth opened for 70 ms) can fall between
analysed frames.

Privacy: frames and templates live in memory for the length of one capture; nothing
biometric is written, logged or kept on the capturer (`last_stats` holds counts and
timings only). The best frame leaves as a JPEG of the face (`best_frame_jpeg`) inside the
evidence, sealed like the template, for staff review of an undecided case.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import cv2
import numpy as np

from kiosk.api import contract as c
from kiosk.devices.preview import PreviewFeed
from kiosk.flow.context import CHALLENGE_PROMPTS
from kiosk.flow.ports import CaptureRetryError, DeviceFailure, Progress

log = logging.getLogger(__name__)

HOLD_STILL = "liveness_hold_still"
LIVENESS_FAILED = "liveness_failed"
NO_FACE = "face_none"
NO_FRAMES = "camera_no_frame"
METHOD = "biometrics.face.liveness"


class CaptureCancelled(CaptureRetryError):
    """The flow cancelled the capture (the runner drops whatever a cancelled capture ends
    with)."""

    def __init__(self):
        super().__init__("face_capture.cancel")


def kiosk_liveness_config(**changes):
    """LivenessConfig as the kiosk runs it: the library's defaults, except that the passive
    check never fails the session here (its score goes into the trace; the back end holds
    the limit)."""
    from biometrics.face.liveness import LivenessConfig

    base = LivenessConfig()
    pad = dataclasses.replace(base.pad, decision=math.inf)
    return dataclasses.replace(base, pad=pad, **changes)


@dataclass
class CaptureConfig:
    liveness: object = field(default_factory=kiosk_liveness_config)  # a LivenessConfig
    max_fps: float = 30.0  # frames analysed per second of camera time, at most
    analysis_size: tuple[int, int] = (640, 480)  # larger frames are scaled down to fit
    stall_s: float = 6.0  # no new frame for this long (wall clock): the camera failed
    best_frames: int = 3  # frames averaged into the template
    coach_hold_s: float = 0.3  # a coaching key must hold this long before it is shown
    max_wall_s: float = 120.0  # a capture never runs longer than this (wall clock)


class LiveFaceCapturer:
    """The FaceCapturer port over a PreviewFeed. One capture at a time."""

    def __init__(
        self,
        feed: PreviewFeed,
        config: CaptureConfig | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ):
        self.feed = feed
        self.config = config or CaptureConfig()
        self._clock = clock
        self._now = now
        self._lock = threading.Lock()
        self._extractor = None
        # Counts and timings of the last capture (nothing biometric): frames analysed,
        # seconds, analysis rate, template time, outcome.
        self.last_stats: dict = {}

    def warm(self) -> None:
        """Load the models now (about a second) rather than at the first capture."""
        from biometrics.face import models

        with self._lock:
            self._template_extractor()
        models.detector()
        models.predictor("68")  # the analyzer's landmarks (eyes and mouth: liveness)

    def _template_extractor(self):
        if self._extractor is None:
            from biometrics.face import TemplateExtractor

            self._extractor = TemplateExtractor()
        return self._extractor

    # ------------------------------------------------------------------ the port

    def capture(
        self,
        server_nonce: str,
        challenges: tuple[str, ...],
        cancel: threading.Event,
        progress: Progress,
    ) -> c.EvidenceRequest:
        unknown = [k for k in challenges if k not in CHALLENGE_PROMPTS]
        if unknown or not challenges:
            raise ValueError(f"unknown challenges: {unknown or 'none'}")
        with self._lock:
            run = _Capture(self, tuple(challenges), cancel, progress)
            try:
                return run.run()
            finally:
                self.last_stats = stats = run.stats()
                run.forget()
                log.info(
                    "face capture: %s, %d frames analysed in %.1f s",
                    stats["outcome"],
                    stats["frames_analysed"],
                    stats["wall_s"],
                )


class _Capture:
    """One capture's state (all of it dropped when the capture ends)."""

    def __init__(self, owner: LiveFaceCapturer, challenges, cancel, progress):
        from biometrics.face import BestFrames, FaceAnalyzer
        from biometrics.face.liveness import LivenessSession, Observer

        self.owner = owner
        self.cfg = owner.config
        self.challenges = challenges
        self.cancel = cancel
        self._progress = progress
        self.extractor = owner._template_extractor()
        self.analyzer = FaceAnalyzer()
        lv = self.cfg.liveness
        self.observer = Observer(pad=lv.pad, descriptor_fn=self.extractor.frame_descriptor)
        self.session = LivenessSession(challenges, lv)
        self.best = BestFrames(keep=self.cfg.best_frames)
        self.shown: tuple[str, float] | None = None
        self.coach_key: str | None = None
        self.coach_since: float | None = None
        self.last_coaching: str | None = None
        self.faces_seen = False
        self.first_t: float | None = None
        self.last_t: float | None = None
        self.frames_seen = 0
        self.frames_analysed = 0
        self.analysis_s = 0.0
        self.analysis_cpu_s = 0.0  # this thread's CPU time (the wall time includes waiting)
        self.template_ms: float | None = None
        self.outcome = "running"
        self.started = owner._clock()

    # -- the loop --------------------------------------------------------------------------

    def run(self) -> c.EvidenceRequest:
        clock, cfg = self.owner._clock, self.cfg
        period = 1.0 / cfg.max_fps if cfg.max_fps > 0 else 0.0
        after = 0
        last_new = clock()
        next_t: float | None = None
        self.report(HOLD_STILL, 0.0)
        while not self.session.done:
            if self.cancel.is_set():
                self.outcome = "cancelled"
                raise CaptureCancelled()
            now = clock()
            if now - self.started > cfg.max_wall_s:
                self.outcome = "too_long"
                raise CaptureRetryError(LIVENESS_FAILED)
            item = self.owner.feed.next_frame(after, timeout=min(0.1, cfg.stall_s))
            if item is None:
                if clock() - last_new > cfg.stall_s:
                    self.outcome = "no_frames"
                    raise DeviceFailure("camera", NO_FRAMES)
                continue
            after, last_new = item.seq, clock()
            self.frames_seen += 1
            if next_t is not None and item.timestamp < next_t:
                continue  # faster than the analysis rate: skip it
            next_t = item.timestamp + period - 1e-6
            self.step(item.image, item.timestamp)
            del item
        return self.finish()

    def step(self, image: np.ndarray, t: float) -> None:
        start, cpu = time.perf_counter(), time.thread_time()
        frame = _fit(image, self.cfg.analysis_size)
        analysis = self.analyzer.process(frame, t)
        observation = self.observer.observe(analysis, frame)
        status = self.session.step(observation)
        if (
            status.state == "settle"
            and self.first_t is not None
            and t - self.first_t > self.cfg.liveness.settle_timeout_s
        ):
            # No good face in time. (The session has the same rule, but it measures from
            # `t0 or t`, which never fires for a camera whose clock starts at 0.0.)
            self.session.finish()
            status = self.session.status(t)
        self.best.offer(frame, analysis)
        self.analysis_s += time.perf_counter() - start
        self.analysis_cpu_s += time.thread_time() - cpu
        self.frames_analysed += 1
        if self.first_t is None:
            self.first_t = t
        self.last_t = t
        if analysis.faces:
            self.faces_seen = True
        if analysis.coaching is not None:
            self.last_coaching = analysis.coaching
        self.guide(status, analysis.coaching, t)

    def guide(self, status, coaching: str | None, t: float) -> None:
        """What the screen says now: coaching while settling, then the prompts."""
        n = len(self.challenges)
        if status.state == "settle":
            key = coaching or HOLD_STILL
            if key != self.coach_key:
                self.coach_key, self.coach_since = key, t
            since = t if self.coach_since is None else self.coach_since
            held = t - since >= self.cfg.coach_hold_s
            if self.shown is None or held:
                self.report(key, 0.0)
        elif status.state == "challenge" and status.challenge is not None:
            self.report(CHALLENGE_PROMPTS[status.challenge], status.index / n)
        elif status.state == "gap":
            self.report(HOLD_STILL, (status.index + 1) / n)
        elif status.state == "finish":
            self.report(HOLD_STILL, 1.0)

    def report(self, key: str, fraction: float) -> None:
        shown = (key, round(min(1.0, max(0.0, fraction)), 3))
        if shown != self.shown:
            self.shown = shown
            self._progress(*shown)

    # -- the end ---------------------------------------------------------------------------

    def finish(self) -> c.EvidenceRequest:
        from biometrics.face.liveness import session as lv

        result = self.session.result()
        if not result.passed:
            self.outcome = result.reason or "failed"
            raise CaptureRetryError(self.retry_key(result.reason))
        if self.cancel.is_set():
            self.outcome = "cancelled"
            raise CaptureCancelled()
        kept = self.best.frames
        if not kept:
            self.outcome = "no_good_frame"
            raise CaptureRetryError(self.last_coaching or NO_FACE)
        start = time.perf_counter()
        template = self.extractor.from_frames((k.frame, k.box) for k in kept)
        self.template_ms = (time.perf_counter() - start) * 1000
        quality = float(np.mean([k.score for k in kept]))
        best = max(kept, key=lambda k: k.score)
        frame_b64 = best_frame_jpeg(best.frame, best.box)
        del kept, best
        trace = liveness_trace(result.trace, self.duration_ms(), lv.VERSION)
        self.outcome = "passed"
        return c.EvidenceRequest(
            modality=c.Modality.FACE,
            captured_at=self.owner._now(),
            simulated=False,
            template=c.TemplateIn(
                extractor=template.extractor,
                extractor_version=template.version,
                vector=[float(x) for x in template.vector],
            ),
            quality=round(min(1.0, max(0.0, quality)), 4),
            liveness=trace,
            best_frame_jpeg_b64=frame_b64,
        )

    def retry_key(self, reason: str | None) -> str:
        from biometrics.face.liveness import session as lv

        if reason == lv.R_NO_FACE:
            return (self.last_coaching or NO_FACE) if self.faces_seen else NO_FACE
        return {
            lv.R_FACES: "face_several",
            lv.R_LOST: "face_lost",
            lv.R_CHANGED: "face_changed",
        }.get(reason or "", LIVENESS_FAILED)

    def duration_ms(self) -> int:
        if self.first_t is None or self.last_t is None:
            return 0
        return max(0, round((self.last_t - self.first_t) * 1000))

    def stats(self) -> dict:
        wall = self.owner._clock() - self.started
        return {
            "outcome": self.outcome,
            "challenges": list(self.challenges),
            "frames_seen": self.frames_seen,
            "frames_analysed": self.frames_analysed,
            "camera_s": round((self.last_t or 0.0) - (self.first_t or 0.0), 3),
            "wall_s": round(wall, 3),
            "analysis_ms_per_frame": (
                round(1000 * self.analysis_s / self.frames_analysed, 1)
                if self.frames_analysed
                else None
            ),
            "analysis_cpu_ms_per_frame": (
                round(1000 * self.analysis_cpu_s / self.frames_analysed, 1)
                if self.frames_analysed
                else None
            ),
            "analysis_fps_max": (
                round(self.frames_analysed / self.analysis_s, 1) if self.analysis_s > 0 else None
            ),
            "template_ms": None if self.template_ms is None else round(self.template_ms, 1),
        }

    def forget(self) -> None:
        """Drop every frame, landmark and descriptor of the capture."""
        self.best.reset()
        self.session = self.observer = self.analyzer = None


def _fit(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    h, w = image.shape[:2]
    s = min(size[0] / w, size[1] / h, 1.0)
    if s >= 1.0:
        return image
    return cv2.resize(image, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA)


def liveness_trace(trace: dict, duration_ms: int, version: str) -> c.LivenessTrace:
    """A liveness session's trace (LivenessResult.trace) in the contract's shape, with the
    optional fields: each challenge's reason, action start, deadline, measure, value and
    baseline; the session's verdict, duration, passive attack score and cues, method."""
    passed = bool(trace.get("passed"))
    challenges = []
    for ch in trace["challenges"]:
        signal = ch.get("signal") or {}
        challenges.append(
            c.LivenessChallenge(
                kind=ch["kind"],
                prompted_at_ms=int(ch.get("prompted_at_ms") or 0),
                responded_at_ms=ch.get("responded_at_ms"),
                passed=bool(ch.get("passed") and passed),
                reason=ch.get("reason"),
                started_at_ms=signal.get("started_ms"),
                deadline_ms=ch.get("deadline_ms"),
                measure=signal.get("measure"),
                value=_finite(signal.get("value")),
                baseline=_finite(signal.get("baseline")),
            )
        )
    passive = trace.get("passive") or {}
    cues = {str(k)[:32]: _unit(v) for k, v in (passive.get("scores") or {}).items()}
    cues = {k: v for k, v in cues.items() if v is not None}
    score = _unit(passive.get("attack_score"))
    return c.LivenessTrace(
        challenges=challenges,
        same_face_distance=_finite(trace.get("same_face_distance")),
        faces_seen_max=min(16, int(trace.get("faces_seen_max") or 0)),
        simulated=False,
        passed=passed,
        reason=trace.get("reason"),
        duration_ms=duration_ms,
        frames=int(trace.get("frames") or 0),
        attack_score=score,
        attack_cues=dict(list(cues.items())[:8]) or None,
        method_version=f"{METHOD} {version}"[:32],
    )


def _finite(v) -> float | None:
    if v is None:
        return None
    v = float(v)
    return v if math.isfinite(v) else None


def _unit(v) -> float | None:
    v = _finite(v)
    return None if v is None else min(1.0, max(0.0, v))


def best_frame_jpeg(frame: np.ndarray, box, width: int = 480, quality: int = 85) -> str | None:
    """The face with a margin of half its size, at most `width` px wide, as base64 JPEG for
    staff review (encrypted with the rest of the evidence); None if it cannot be encoded."""
    import base64

    import cv2

    h, w = frame.shape[:2]
    mx, my = box.w * 0.5, box.h * 0.5
    x0, y0 = max(0, int(box.x - mx)), max(0, int(box.y - my))
    x1, y1 = min(w, int(box.x + box.w + mx)), min(h, int(box.y + box.h + my))
    crop = frame[y0:y1, x0:x1]
    if crop.size == 0:
        return None
    if crop.shape[1] > width:
        scale = width / crop.shape[1]
        crop = cv2.resize(crop, (width, max(1, round(crop.shape[0] * scale))), cv2.INTER_AREA)
    ok, jpeg = cv2.imencode(".jpg", crop, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        return None
    text = base64.b64encode(jpeg.tobytes()).decode("ascii")
    return text if len(text) <= c.BEST_FRAME_MAX_B64 else None
