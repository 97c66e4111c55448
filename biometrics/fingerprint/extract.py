"""From a fingerprint image to a template: load, resample to 500 dpi, ridge maps, minutiae.

    template = extract(image)                 # 2-D uint8, dark ridges on light background
    template = load_template("101_1.png")     # an image file (PNG, TIFF, BMP, ...)
    template = load_template("101_1.iso")     # or an ISO/IEC 19794-2 record
    analysis = analyze(image)                 # template + quality report, one pass

Deterministic: the same image gives the same template, bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from biometrics.fingerprint.enhance import RidgeMaps, ridge_maps
from biometrics.fingerprint.errors import ImageMissing, NotAnImage
from biometrics.fingerprint.minutiae import extract_minutiae
from biometrics.fingerprint.template import (
    CANONICAL_DPI,
    EXTRACTOR,
    EXTRACTOR_VERSION,
    SOURCE_IMAGE,
    FingerTemplate,
    read_iso,
)

MAX_MINUTIAE = 120  # the best by quality are kept beyond this
MIN_SIDE = 64  # pixels at 500 dpi: smaller is not a fingerprint image
RESAMPLE_TOLERANCE = 0.08  # resolutions within 8 % of 500 dpi are used as they are
ISO_SUFFIXES = (".iso", ".ist", ".fmr")


@dataclass(frozen=True)
class Analysis:
    template: FingerTemplate
    maps: RidgeMaps  # at the working resolution (500 dpi)
    scale: float  # working pixels per input pixel


def load_image(path: str | Path) -> np.ndarray:
    """A fingerprint image file as 2-D uint8 (16-bit images are scaled to 8 bits)."""
    p = Path(path)
    if not p.exists():
        raise ImageMissing(f"no such file: {p}")
    if not p.is_file():
        raise NotAnImage(f"not an image file: {p}")
    data = np.fromfile(str(p), dtype=np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_ANYDEPTH | cv2.IMREAD_ANYCOLOR) if data.size else None
    if image is None:
        raise NotAnImage(f"not an image (cannot decode): {p}")
    return as_gray(image, str(p))


def as_gray(image, what: str = "image") -> np.ndarray:
    """2-D uint8 from a grey, BGR or BGRA array of uint8/uint16/float (0..1 or 0..255)."""
    a = np.asarray(image)
    if a.ndim == 3 and a.shape[2] in (3, 4):
        a = cv2.cvtColor(a, cv2.COLOR_BGRA2GRAY if a.shape[2] == 4 else cv2.COLOR_BGR2GRAY)
    elif a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if a.ndim != 2 or a.size == 0:
        raise NotAnImage(f"{what}: not a 2-D picture (shape {a.shape})")
    if a.dtype == np.uint8:
        return np.ascontiguousarray(a)
    if a.dtype == np.uint16:
        return (a >> 8).astype(np.uint8)
    if np.issubdtype(a.dtype, np.floating) or np.issubdtype(a.dtype, np.integer):
        f = a.astype(np.float64)
        if not np.all(np.isfinite(f)):
            raise NotAnImage(f"{what}: holds non-finite values")
        if f.max() <= 1.0:
            f = f * 255.0
        return np.clip(np.round(f), 0, 255).astype(np.uint8)
    raise NotAnImage(f"{what}: unsupported pixel type {a.dtype}")


def analyze(image, dpi: float = CANONICAL_DPI) -> Analysis:
    """Ridge maps and template of one image, at `dpi` (pixels per inch)."""
    gray = as_gray(image)
    if not (np.isfinite(dpi) and 100 <= dpi <= 2000):
        raise NotAnImage(f"implausible resolution {dpi} dpi")
    scale = CANONICAL_DPI / dpi
    if abs(scale - 1.0) <= RESAMPLE_TOLERANCE:
        scale = 1.0
    work = gray
    if scale != 1.0:
        size = (max(1, round(gray.shape[1] * scale)), max(1, round(gray.shape[0] * scale)))
        work = cv2.resize(
            gray, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
        )
    if min(work.shape) < MIN_SIDE:
        raise NotAnImage(
            f"image too small for a fingerprint: {gray.shape[1]}x{gray.shape[0]} px "
            f"at {dpi:g} dpi (at least {MIN_SIDE} px at 500 dpi a side)"
        )
    maps = ridge_maps(work)
    m = extract_minutiae(maps)
    if len(m) > MAX_MINUTIAE:
        keep = np.sort(np.argsort(-m[:, 4], kind="stable")[:MAX_MINUTIAE])
        m = m[keep]
    if scale != 1.0:
        m = m.copy()
        m[:, :2] /= scale
    working_dpi = dpi if scale != 1.0 else CANONICAL_DPI
    template = FingerTemplate(
        minutiae=m,
        width=int(gray.shape[1]),
        height=int(gray.shape[0]),
        dpi_x=float(working_dpi),
        dpi_y=float(working_dpi),
        source=SOURCE_IMAGE,
        extractor=EXTRACTOR,
        version=EXTRACTOR_VERSION,
    )
    return Analysis(template=template, maps=maps, scale=scale)


def extract(image, dpi: float = CANONICAL_DPI) -> FingerTemplate:
    return analyze(image, dpi).template


def load_template(path: str | Path, dpi: float = CANONICAL_DPI) -> FingerTemplate:
    """A template from an image file, or from an ISO/IEC 19794-2 record (by its suffix, or
    by its first bytes "FMR\\0")."""
    p = Path(path)
    if not p.exists():
        raise ImageMissing(f"no such file: {p}")
    if p.suffix.lower() in ISO_SUFFIXES:
        return read_iso(p)
    if p.is_file():
        with p.open("rb") as f:
            if f.read(4) == b"FMR\x00":
                return read_iso(p)
    return extract(load_image(p), dpi)
