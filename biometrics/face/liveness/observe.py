"""One camera frame as liveness sees it: an `Observation`.

`Observer.observe(analysis, frame)` turns the face analyzer's per-frame result (faces with
track ids and landmarks, the quality verdict) into the numbers the challenge detectors and
the passive check consume: eye and mouth openness, head pose, the passive cues of the frame
(every `pad_every`-th frame: they cost a few milliseconds), and a lazy template descriptor
of the face (computed only if the same-face check asks for it: ~60 ms).

Observations are plain data, so an evaluation can compute them once per clip and replay
them under many challenge schedules (biometrics/face/liveness/evaluation.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from biometrics.face.analyzer import FrameAnalysis
from biometrics.face.geometry import Box
from biometrics.face.liveness.pad import FrameCues, PadConfig, frame_cues
from biometrics.face.liveness.regions import Regions
from biometrics.face.liveness.signals import HeadPose, head_pose

DescriptorFn = Callable[[np.ndarray, Box], np.ndarray]


@dataclass(frozen=True, eq=False)
class Observation:
    index: int
    t: float  # seconds (the camera's clock)
    size: tuple[int, int]  # (width, height)
    faces: int
    track_id: int | None = None
    box: Box | None = None
    regions: Regions | None = None
    eyes: tuple[float, float] | None = None  # eye aspect ratios (image-left, image-right)
    mouth: float | None = None  # mouth aspect ratio
    pose: HeadPose | None = None
    quality_ok: bool = False
    quality_score: float = 0.0
    cues: FrameCues | None = None  # passive cues, on the frames where they were computed
    descriptor: Callable[[], np.ndarray] | None = field(default=None, repr=False)

    @property
    def ear(self) -> float | None:
        return None if self.eyes is None else (self.eyes[0] + self.eyes[1]) / 2

    @property
    def face(self) -> bool:
        return self.regions is not None


@dataclass
class Observer:
    """Makes observations from the analyzer's results. One per camera stream."""

    pad: PadConfig = field(default_factory=PadConfig)
    descriptor_fn: DescriptorFn | None = None  # default: TemplateExtractor().frame_descriptor

    def __post_init__(self):
        self._count = 0

    def observe(self, analysis: FrameAnalysis, frame: np.ndarray | None) -> Observation:
        index = self._count
        self._count += 1
        w, h = analysis.size
        face = analysis.primary
        if face is None:
            return Observation(index, analysis.timestamp, (w, h), 0)
        regions = Regions(face.landmarks)
        cues = None
        if frame is not None and self.pad.every > 0 and index % self.pad.every == 0:
            cues = frame_cues(frame, face.box, regions, self.pad)
        descriptor = None
        if frame is not None:
            fn = self.descriptor_fn or _default_descriptor()
            descriptor = _Lazy(fn, frame, face.box)
        return Observation(
            index=index,
            t=analysis.timestamp,
            size=(w, h),
            faces=len(analysis.faces),
            track_id=face.track_id,
            box=face.box,
            regions=regions,
            eyes=regions.eye_openness(),
            mouth=regions.mouth_openness(),
            pose=head_pose(regions, (w, h)),
            quality_ok=analysis.quality.ok,
            quality_score=analysis.quality.score,
            cues=cues,
            descriptor=descriptor,
        )


class _Lazy:
    """Computes a descriptor once, on first call (holds the frame until then)."""

    __slots__ = ("_box", "_fn", "_frame", "_value")

    def __init__(self, fn: DescriptorFn, frame: np.ndarray, box: Box):
        self._fn, self._frame, self._box = fn, frame, box
        self._value: np.ndarray | None = None

    def __call__(self) -> np.ndarray:
        if self._value is None:
            self._value = np.asarray(self._fn(self._frame, self._box), dtype=np.float64)
            self._frame = None
        return self._value


_EXTRACTOR: list = []


def _default_descriptor() -> DescriptorFn:
    if not _EXTRACTOR:
        from biometrics.face.template import TemplateExtractor

        _EXTRACTOR.append(TemplateExtractor())
    return _EXTRACTOR[0].frame_descriptor
