"""Pictures the simulated camera can show without any data beside the checkout.

The default face is the portrait of astronaut Eileen Collins that scikit-image ships as
`skimage/data/astronaut.png` (NASA photograph; scikit-image's docstring: "No known copyright
restrictions, released into the public domain"). It is read from the installed package's
files (scikit-image itself is not imported), so nothing is copied into this repository.
Evaluation photos (../shared/data) are never the default: a fresh clone does not have them.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np

try:
    import cv2
except ImportError:  # pragma: no cover
    cv2 = None

DEFAULT_FACE_PACKAGE = "scikit-image"
DEFAULT_FACE_LICENCE = (
    "NASA photograph of Eileen Collins shipped by scikit-image as skimage/data/astronaut.png; "
    "public domain (no known copyright restrictions)"
)


@dataclass(frozen=True)
class SourceImage:
    """A still picture to show, with the part of it that fills the frame.

    `crop` (x, y, width, height) in source pixels, or None for the whole picture; the crop is
    scaled to cover the camera's frame (centre-cropped to its aspect ratio).
    """

    image: np.ndarray  # H x W x 3 uint8 BGR
    crop: tuple[int, int, int, int] | None = None
    name: str = ""


class SourceMissing(LookupError):
    """The default face cannot be found (scikit-image not installed)."""


def default_face_path() -> Path:
    """Where the installed scikit-image keeps astronaut.png; `SourceMissing` if absent."""
    spec = importlib.util.find_spec("skimage")
    if spec is None or not spec.submodule_search_locations:
        raise SourceMissing(
            f"the default face ships with {DEFAULT_FACE_PACKAGE}, which is not installed"
        )
    for folder in spec.submodule_search_locations:
        path = Path(folder) / "data" / "astronaut.png"
        if path.is_file():
            return path
    raise SourceMissing(f"{DEFAULT_FACE_PACKAGE} is installed without data/astronaut.png")


def default_face() -> SourceImage:
    """The default face, cropped so that it looks like a resident at a kiosk's camera: the
    face about a quarter of the frame's width, centred, eyes a little above the middle."""
    path = default_face_path()
    image = _read(path)
    # Face box in the 512x512 original (dlib HOG): x 182..269, y 83..170.
    return SourceImage(image=image, crop=(58, 14, 335, 251), name="astronaut")


def read_image(path: str | Path) -> np.ndarray:
    """A picture file as BGR uint8; `ValueError` when it is not a picture."""
    return _read(Path(path))


def _read(path: Path) -> np.ndarray:
    if cv2 is None:  # pragma: no cover
        raise SourceMissing("OpenCV is not installed")
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError(f"not a picture OpenCV can read: {path}")
    return image


def cover(image: np.ndarray, size: tuple[int, int], crop=None) -> np.ndarray:
    """`image` (or its `crop`) scaled to cover `size` (width, height), centre-cropped."""
    if crop is not None:
        x, y, w, h = crop
        image = image[max(0, y) : y + h, max(0, x) : x + w]
    width, height = size
    ih, iw = image.shape[:2]
    scale = max(width / iw, height / ih)
    nw, nh = max(width, round(iw * scale)), max(height, round(ih * scale))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    resized = cv2.resize(image, (nw, nh), interpolation=interp)
    x0 = (nw - width) // 2
    y0 = (nh - height) // 2
    return np.ascontiguousarray(resized[y0 : y0 + height, x0 : x0 + width])
