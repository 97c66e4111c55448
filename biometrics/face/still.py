"""Templates from still photos (reference photos, `kiosk bio face-compare` and `face-eval`).

Photos come in every size. The detector works on a copy scaled to at most `WORK_SIDE` px on
its longer side (HOG, upsampled once, then twice if nothing is found: faces down to about
20 px there); the largest face is taken; landmarks and the aligned chip come from the photo
at full resolution, so a small face keeps all its pixels.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import cv2
import numpy as np

from biometrics.face.detect import FaceDetector, to_gray
from biometrics.face.errors import NoFace
from biometrics.face.geometry import Box
from biometrics.face.images import load_image
from biometrics.face.template import FaceTemplate, TemplateExtractor

WORK_SIDE = 800
UPSAMPLES = (1, 2)  # HOG upsampling steps tried in turn until a face is found


@dataclass(frozen=True)
class StillResult:
    template: FaceTemplate
    box: Box
    faces: int
    ms: float


def find_faces(image_bgr: np.ndarray, work_side: int | None = None) -> list[Box]:
    """Face boxes in photo pixels, largest first."""
    gray = to_gray(image_bgr)
    h, w = gray.shape[:2]
    scale = min(1.0, (work_side or WORK_SIDE) / max(h, w))
    small = gray
    if scale < 1.0:
        small = cv2.resize(gray, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
    detector = FaceDetector(detect_width=small.shape[1])
    for upsample in UPSAMPLES:
        boxes = detector.detect(small, width=small.shape[1], upsample=upsample)
        if boxes:
            return [b.scaled(1.0 / scale) for b in boxes]
    return []


class StillTemplates:
    """One template per photo: the largest face, mirror-averaged."""

    def __init__(self, mirror: bool = True, extractor: TemplateExtractor | None = None):
        self.mirror = mirror
        self.extractor = extractor or TemplateExtractor()

    def from_image(self, image_bgr: np.ndarray, name: str = "image") -> StillResult:
        start = time.perf_counter()
        boxes = find_faces(image_bgr)
        if not boxes:
            raise NoFace(f"no face found in {name}")
        d = self.extractor.frame_descriptor(image_bgr, boxes[0], mirror=self.mirror)
        ms = (time.perf_counter() - start) * 1000
        template = self.extractor.from_descriptors(
            [d], mirror=self.mirror, source="still", faces=len(boxes)
        )
        return StillResult(template, boxes[0], len(boxes), ms)

    def from_path(self, path) -> StillResult:
        """Raises ImageMissing, NotAnImage or NoFace (one-line messages)."""
        return self.from_image(load_image(path), name=str(path))
