"""The NIST baseline: mindtct (minutiae) + bozorth3 (matcher), NBIS's reference pair, through
the PyPI `afis` package's ctypes binding to its vendored NBIS C sources (`libafis_lfs`).

The library is not in afis's wheel: it is built from the afis source distribution
(`make -C native install` in the unpacked sdist, then the package installed from that
folder), or pointed to by the AFIS_LFS_LIB environment variable. Without it the baseline
raises `BaselineUnavailable` with that instruction.

bozorth3's score is an integer, higher = more alike; NIST's customary threshold is 40.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from biometrics.fingerprint.errors import BaselineUnavailable, NoFeatures

NAME = "nbis"
DESCRIPTION = "NIST NBIS mindtct + bozorth3 (afis native library)"
BOZORTH_THRESHOLD = 40

_HINT = (
    "the NIST baseline needs the `afis` package with its native library libafis_lfs: "
    "pip download --no-binary :all: --no-deps afis, unpack, `make -C native install`, "
    "pip install the unpacked folder (or set AFIS_LFS_LIB to the built .so)"
)


def _loader():
    try:
        from afis._native import loader
    except ImportError as exc:
        raise BaselineUnavailable(f"{_HINT} ({exc})") from exc
    if not loader.available():
        raise BaselineUnavailable(_HINT)
    return loader


def available() -> bool:
    try:
        _loader()
    except BaselineUnavailable:
        return False
    return True


@dataclass(frozen=True)
class NbisTemplate:
    minutiae: np.ndarray  # afis layout: x, y, theta, kind, reliability
    width: int
    height: int

    def __len__(self) -> int:
        return len(self.minutiae)


def extract(gray: np.ndarray, dpi: float = 500.0) -> NbisTemplate:
    loader = _loader()
    img = np.ascontiguousarray(gray, dtype=np.uint8)
    try:
        m, _meta = loader.mindtct_extract(img, ppi=float(dpi))
    except (RuntimeError, ValueError) as exc:
        raise NoFeatures(f"mindtct failed: {exc}") from exc
    return NbisTemplate(np.asarray(m, dtype=np.float64), int(img.shape[1]), int(img.shape[0]))


def score(a: NbisTemplate, b: NbisTemplate) -> int:
    loader = _loader()
    return int(
        loader.bozorth3_match(
            a.minutiae,
            b.minutiae,
            height_a=a.height,
            height_b=b.height,
            width_a=a.width,
            width_b=b.width,
        )
    )
