"""Face detection (dlib HOG on a downscaled frame) and tracking between detections.

HOG finds faces of about 70 px and up in the image it is given. On a 640x480 frame scaled
to 426 px wide, that is faces of about 105 px (a resident within about 80 cm of a kiosk's
webcam) for ~6 ms instead of ~14 ms at full size. When nothing is found, every few frames a
full-resolution pass looks for smaller faces, so a resident standing too far away is told
to come closer rather than that no face is seen.

Between detections each face is tracked by its landmarks: the shape predictor, run in the
previous box, shows how the face moved and grew; the box follows, and the landmarks are
fitted again in the moved box. A detection every `redetect_every` frames corrects any drift,
finds new faces (a second person) and ends tracks whose face has gone. Tracks keep an id,
so the liveness module can check that the same face stays in front of the camera.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from biometrics.face import models
from biometrics.face.geometry import Box, Landmarks


@dataclass(frozen=True)
class DetectorConfig:
    detect_width: int = 426  # HOG input width (frames wider than this are scaled down)
    upsample: int = 0  # HOG upsampling of that input (each step: 2x smaller faces, ~4x time)
    redetect_every: int = 3  # frames between detections while faces are tracked
    far_pass_every: int = 4  # with no face: a full-resolution pass every Nth frame
    miss_grace: int = 1  # detections a tracked face may miss before its track ends
    landmarks: str = "68"  # "68" (eyes, mouth: liveness) or "5" (unrestricted licence)
    match_iou: float = 0.3  # a detection continues a track when their boxes overlap this much


@dataclass(frozen=True)
class TrackedFace:
    """One face in one frame."""

    track_id: int
    box: Box  # in frame pixels (the detector's box convention)
    landmarks: Landmarks
    detected: bool  # True: the box comes from this frame's detection; False: tracked
    age: int  # frames since the track started


def to_gray(frame: np.ndarray) -> np.ndarray:
    """BGR (or gray) uint8 frame -> contiguous gray uint8."""
    if frame.ndim == 2:
        return np.ascontiguousarray(frame)
    return cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)


class FaceDetector:
    """HOG detection at a chosen working width; boxes come back in frame pixels."""

    def __init__(self, detect_width: int = 426, upsample: int = 0):
        self.detect_width = detect_width
        self.upsample = upsample

    def detect(self, gray: np.ndarray, *, width: int | None = None, upsample=None) -> list[Box]:
        target = width or self.detect_width
        h, w = gray.shape[:2]
        scale = min(1.0, target / w)
        small = gray
        if scale < 1.0:
            size = (round(w * scale), round(h * scale))
            small = cv2.resize(gray, size, interpolation=cv2.INTER_AREA)
        up = self.upsample if upsample is None else upsample
        rects = models.detector()(small, up)
        boxes = [Box.from_dlib(r, 1.0 / scale) for r in rects]
        return sorted(boxes, key=lambda b: -b.area)


@dataclass
class _Track:
    track_id: int
    box: Box
    landmarks: Landmarks
    age: int = 0
    misses: int = 0


def _spread(points: np.ndarray) -> float:
    return float(np.sqrt(((points - points.mean(axis=0)) ** 2).sum(axis=1).mean())) or 1.0


@dataclass
class FaceTracker:
    """Detect every few frames, track by landmarks in between. Not thread-safe: one tracker
    per camera stream."""

    config: DetectorConfig = field(default_factory=DetectorConfig)

    def __post_init__(self):
        self.detector = FaceDetector(self.config.detect_width, self.config.upsample)
        self.predictor = models.predictor(self.config.landmarks)
        self._tracks: list[_Track] = []
        self._next_id = 1
        self._frame = -1
        self._since_detection = 0
        self.detections_run = 0  # for benchmarks

    def reset(self) -> None:
        self._tracks = []
        self._since_detection = 0

    def landmarks(self, gray: np.ndarray, box: Box) -> Landmarks:
        return Landmarks.from_dlib(self.predictor(gray, box.to_dlib()))

    def update(self, frame: np.ndarray) -> list[TrackedFace]:
        """The faces in this frame, largest first."""
        gray = to_gray(frame)
        self._frame += 1
        self._since_detection += 1
        detect_now = not self._tracks or self._since_detection >= self.config.redetect_every
        detected_ids: set[int] = set()
        if detect_now:
            self._since_detection = 0
            self.detections_run += 1
            boxes = self.detector.detect(gray)
            if not boxes and not self._tracks and self._frame % self.config.far_pass_every == 0:
                boxes = self.detector.detect(gray, width=gray.shape[1])
            detected_ids = self._associate(gray, boxes)
        for track in self._tracks:
            if track.track_id not in detected_ids:
                self._follow(gray, track)
            track.age += 1
        h, w = gray.shape[:2]
        self._tracks = [t for t in self._tracks if t.box.inside_fraction(w, h) > 0.3]
        faces = [
            TrackedFace(t.track_id, t.box, t.landmarks, t.track_id in detected_ids, t.age)
            for t in self._tracks
        ]
        return sorted(faces, key=lambda f: -f.box.area)

    def _associate(self, gray: np.ndarray, boxes: list[Box]) -> set[int]:
        matched: set[int] = set()
        unclaimed = list(self._tracks)
        for box in boxes:
            best = max(unclaimed, key=lambda t: t.box.iou(box), default=None)
            if best is not None and best.box.iou(box) >= self.config.match_iou:
                unclaimed.remove(best)
                best.box = box
                best.misses = 0
                best.landmarks = self.landmarks(gray, box)
                matched.add(best.track_id)
            else:
                track = _Track(self._next_id, box, self.landmarks(gray, box))
                self._next_id += 1
                self._tracks.append(track)
                matched.add(track.track_id)
        for track in unclaimed:
            track.misses += 1
        self._tracks = [t for t in self._tracks if t.misses <= self.config.miss_grace]
        return matched

    def _follow(self, gray: np.ndarray, track: _Track) -> None:
        previous = track.landmarks.points
        probe = self.landmarks(gray, track.box).points
        shift = probe.mean(axis=0) - previous.mean(axis=0)
        zoom = _spread(probe) / _spread(previous)
        zoom = float(np.clip(zoom, 0.8, 1.25))
        track.box = track.box.moved(float(shift[0]), float(shift[1]), zoom)
        track.landmarks = self.landmarks(gray, track.box)
