"""Reading pictures for the face pipeline, with one-line errors for bad input."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from biometrics.face.errors import ImageMissing, NotAnImage


def load_image(path: str | Path) -> np.ndarray:
    """A picture file as BGR uint8 (EXIF orientation applied).

    Raises `ImageMissing` (no such file) or `NotAnImage` (a file OpenCV cannot decode)."""
    p = Path(path)
    if not p.exists():
        raise ImageMissing(f"no such file: {p}")
    if not p.is_file():
        raise NotAnImage(f"not a picture file: {p}")
    data = np.fromfile(str(p), dtype=np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if image is None:
        raise NotAnImage(f"not a picture (cannot decode): {p}")
    return image


def to_rgb(bgr: np.ndarray) -> np.ndarray:
    if bgr.ndim == 2:
        return cv2.cvtColor(bgr, cv2.COLOR_GRAY2RGB)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
