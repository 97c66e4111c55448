"""Face templates: 128 numbers from dlib's ResNet, with the extractor that made them.

Recipe (chosen by measurement on ../shared/data/faces, 61 photos of 15 identities, 120
genuine and 1710 impostor pairs; d' is the separation of the two distance distributions):

| recipe | d' | ms per photo (encoder only) |
| --- | --- | --- |
| one descriptor, as face_recognition does | 6.86 | 59 |
| 68-point alignment instead of 5-point | 6.85 | 71 |
| CLAHE contrast equalisation of the chip | 6.25 | 71 |
| descriptor averaged with its mirror image | 6.91 | 123 |
| 10 random jitters (dlib's option) | 6.93 | 632 |
| each descriptor L2-normalised | 6.88 | 59 |
| L2-normalised, averaged with the mirror image | **7.02** | 122 |
| + two chip paddings (0.2, 0.3) | 7.02 | 272 |

So a template is: 5-point alignment into a 150 px chip (padding 0.25, what the network was
trained with), a descriptor for the chip and (for still photos) for its mirror image, each
scaled to unit length, averaged over chips and over frames, scaled to unit length again and
multiplied by `NORM` (1.456, the median length of dlib descriptors on those photos, a
label-free constant) so distances stay on dlib's familiar scale, where 0.6 is its published
operating point. From a camera, the average runs over several good frames instead (natural
variation that mirror and jitter only imitate), one descriptor each.

Templates carry `extractor` and `version`: two templates compare only when both match.
A change to the network, the alignment or the normalisation is a new version, and stored
references must be re-derived from their photos.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from biometrics.face import models
from biometrics.face.errors import FaceInputError
from biometrics.face.geometry import Box
from biometrics.face.images import to_rgb

EXTRACTOR = "dlib-resnet-128"
EXTRACTOR_VERSION = "1.0+5pt-chip150-pad0.25-l2x1.456"
DIM = 128
NORM = 1.456
CHIP_SIZE = 150
CHIP_PADDING = 0.25


@dataclass(frozen=True)
class FaceTemplate:
    """A 128-d face template. `meta` records how it was made (frames, mirror, dlib build)."""

    vector: np.ndarray  # (128,) float32
    extractor: str = EXTRACTOR
    version: str = EXTRACTOR_VERSION
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        v = np.asarray(self.vector, dtype=np.float32).reshape(-1)
        if v.shape != (DIM,) or not np.all(np.isfinite(v)):
            raise ValueError("a face template holds 128 finite values")
        object.__setattr__(self, "vector", v)

    def compatible(self, other: FaceTemplate) -> bool:
        return (self.extractor, self.version) == (other.extractor, other.version)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the vector as base64 of little-endian float32."""
        return {
            "extractor": self.extractor,
            "version": self.version,
            "dim": DIM,
            "vector": base64.b64encode(self.vector.astype("<f4").tobytes()).decode("ascii"),
            "meta": dict(self.meta),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FaceTemplate:
        raw = base64.b64decode(data["vector"], validate=True)
        if len(raw) != DIM * 4:
            raise ValueError("a face template vector is 128 float32 values")
        return cls(
            np.frombuffer(raw, dtype="<f4").copy(),
            extractor=str(data["extractor"]),
            version=str(data["version"]),
            meta=dict(data.get("meta") or {}),
        )


def _unit(v: np.ndarray) -> np.ndarray:
    n = float(np.linalg.norm(v))
    return v / n if n > 0 else v


class TemplateExtractor:
    """Descriptors and templates. Thread-safe for use from one worker at a time per
    instance (dlib's network objects are not re-entrant)."""

    def __init__(self):
        self._encoder = models.encoder()
        self._shape5 = models.predictor("5")

    def chip(self, rgb: np.ndarray, box: Box) -> np.ndarray:
        """The aligned 150x150 RGB chip of the face in `box` (5-point alignment)."""
        import dlib

        shape = self._shape5(rgb, box.to_dlib())
        return dlib.get_face_chip(rgb, shape, CHIP_SIZE, CHIP_PADDING)

    def descriptor(self, chip: np.ndarray) -> np.ndarray:
        """The raw 128-d descriptor of one aligned chip."""
        return np.asarray(self._encoder.compute_face_descriptor(chip), dtype=np.float64)

    def frame_descriptor(self, frame_bgr: np.ndarray, box: Box, *, mirror: bool = False):
        """The unit-length descriptor of the face in `box` (BGR frame): one per frame."""
        chip = self.chip(to_rgb(frame_bgr), box)
        d = _unit(self.descriptor(chip))
        if mirror:
            d = _unit(d + _unit(self.descriptor(np.ascontiguousarray(chip[:, ::-1]))))
        return d

    def from_descriptors(self, descriptors: Iterable[np.ndarray], **meta) -> FaceTemplate:
        ds = [np.asarray(d, dtype=np.float64) for d in descriptors]
        if not ds:
            raise FaceInputError("no face to make a template from", reason="no_face")
        v = _unit(np.sum([_unit(d) for d in ds], axis=0)) * NORM
        meta.setdefault("frames", len(ds))
        meta.setdefault("dlib", models.dlib_version())
        return FaceTemplate(v.astype(np.float32), meta=meta)

    def from_frames(self, frames: Iterable[tuple[np.ndarray, Box]], *, mirror: bool = False):
        """A template from several (frame, face box) pairs, e.g. the best frames of a
        capture (biometrics.face.selection)."""
        start = time.perf_counter()
        ds = [self.frame_descriptor(f, b, mirror=mirror) for f, b in frames]
        ms = (time.perf_counter() - start) * 1000
        return self.from_descriptors(ds, mirror=mirror, source="frames", ms=round(ms, 1))
