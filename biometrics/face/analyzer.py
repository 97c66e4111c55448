"""The per-frame analysis loop: faces (tracked), landmarks, quality and coaching.

`FaceAnalyzer.process(frame, timestamp)` returns a `FrameAnalysis` for every camera frame.
It carries the landmarks of every face with its track id, so the liveness module (eye and
mouth aspect ratios, head pose, same face throughout) consumes the same per-frame results
as the quality gate and the best-frame selection, without detecting again.

Cost on a 2-core kiosk PC at 640x480 (bench/face.py): a HOG detection on a 426 px copy every
third frame, two landmark fits per face per frame, the quality measures on the face patch.
Templates are not made here: they cost ~60 ms per frame and are made only from the best
frames (biometrics.face.selection).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from biometrics.face.detect import DetectorConfig, FaceTracker, TrackedFace, to_gray
from biometrics.face.geometry import Landmarks
from biometrics.face.quality import QualityConfig, QualityGate, QualityReport


@dataclass(frozen=True)
class FrameAnalysis:
    index: int  # frames processed by this analyzer
    timestamp: float  # the frame's timestamp (camera clock), seconds
    size: tuple[int, int]  # (width, height)
    faces: tuple[TrackedFace, ...]  # largest first
    quality: QualityReport

    @property
    def primary(self) -> TrackedFace | None:
        """The face being verified: the largest one."""
        return self.faces[0] if self.faces else None

    @property
    def landmarks(self) -> Landmarks | None:
        return self.faces[0].landmarks if self.faces else None

    @property
    def coaching(self) -> str | None:
        """The one message key to show and speak now, or None when the frame is good."""
        return self.quality.primary


@dataclass
class FaceAnalyzer:
    """One per camera stream (it tracks faces across frames). Not thread-safe."""

    detector: DetectorConfig = field(default_factory=DetectorConfig)
    quality: QualityConfig = field(default_factory=QualityConfig)

    def __post_init__(self):
        self.tracker = FaceTracker(self.detector)
        self.gate = QualityGate(self.quality)
        self._index = -1

    def reset(self) -> None:
        """Forget tracked faces (a new resident, a new session)."""
        self.tracker.reset()

    def process(self, frame: np.ndarray, timestamp: float = 0.0) -> FrameAnalysis:
        """Analyse one BGR frame (H x W x 3 uint8)."""
        self._index += 1
        gray = to_gray(frame)
        faces = tuple(self.tracker.update(gray))
        report = self.gate.assess(gray, faces)
        h, w = gray.shape[:2]
        return FrameAnalysis(self._index, timestamp, (w, h), faces, report)
