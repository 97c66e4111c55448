"""Fingerprint-like images made with numpy alone, so the simulator serves something ridge-like
on a fresh clone where no evaluation data exists (no dataset image ships in the repository).

The method is the classic one of synthetic fingerprint generators (SFinGe and its followers):
an orientation field from one core and one delta (a loop), then random noise grown into
ridges by repeated oriented band-pass filtering at the ridge frequency of a 500 dpi sensor
(about 9 px a ridge). Minutiae appear by themselves where ridge flows meet. Each impression
of a finger is a shifted crop of the finger's master pattern, with its own pressure and
noise. Deterministic for a given (finger, impression).
"""

from __future__ import annotations

import functools

import numpy as np

N_ORIENTATIONS = 16


def _orientation_field(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """Ridge direction (radians, modulo pi) at each pixel: one core above one delta."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    cx = w * rng.uniform(0.42, 0.58)
    cy = h * rng.uniform(0.35, 0.45)
    dx = cx + w * rng.uniform(-0.25, 0.25)
    dy = cy + h * rng.uniform(0.35, 0.45)
    core = np.arctan2(y - cy, x - cx)
    delta = np.arctan2(y - dy, x - dx)
    tilt = rng.uniform(-0.25, 0.25)
    return (0.5 * (core - delta) + tilt) % np.pi


def _kernel_bank(h: int, w: int, period: float) -> np.ndarray:
    """FFTs of oriented even Gabor filters, one per orientation bin, at image size."""
    size = 25
    r = size // 2
    yy, xx = np.mgrid[-r : r + 1, -r : r + 1].astype(np.float64)
    sigma = period * 0.55
    envelope = np.exp(-(xx**2 + yy**2) / (2 * sigma**2))
    bank = []
    for k in range(N_ORIENTATIONS):
        theta = np.pi * k / N_ORIENTATIONS  # ridge direction; the wave runs across it
        across = -xx * np.sin(theta) + yy * np.cos(theta)
        g = envelope * np.cos(2 * np.pi * across / period)
        g -= g.mean()
        pad = np.zeros((h, w))
        pad[:size, :size] = g
        pad = np.roll(pad, (-r, -r), axis=(0, 1))  # centre the kernel at the origin
        bank.append(np.fft.rfft2(pad))
    return np.stack(bank)


@functools.lru_cache(maxsize=16)
def _master(finger: int, h: int, w: int, period: float) -> np.ndarray:
    """The finger's ridge pattern in -1..1 (1 = ridge), larger than one impression."""
    rng = np.random.default_rng(1_000_003 * finger + 17)
    theta = _orientation_field(h, w, rng)
    bins = np.arange(N_ORIENTATIONS) * np.pi / N_ORIENTATIONS
    diff = np.angle(np.exp(2j * (theta[None] - bins[:, None, None]))) / 2
    weights = np.clip(np.cos(2 * diff), 0, None) ** 8
    weights /= weights.sum(axis=0, keepdims=True)
    bank = _kernel_bank(h, w, period)
    img = rng.standard_normal((h, w))
    for _ in range(7):
        spectrum = np.fft.rfft2(img)
        filtered = np.fft.irfft2(bank * spectrum[None], s=(h, w))
        img = (weights * filtered).sum(axis=0)
        img = np.tanh(3.0 * img / (img.std() + 1e-9))
    return img.astype(np.float32)


def synthetic_fingerprint(
    finger: int = 0,
    impression: int = 0,
    *,
    width: int = 256,
    height: int = 288,
    period: float = 9.0,
) -> np.ndarray:
    """A `height` x `width` uint8 image: dark ridges on a white background, an elliptic finger
    area slightly off-centre. The same `finger` gives overlapping impressions."""
    margin = 24
    mh, mw = height + 2 * margin, width + 2 * margin
    ridges = _master(finger, mh, mw, period)
    rng = np.random.default_rng((finger << 16) ^ (impression * 7919 + 1))
    oy, ox = (int(v) for v in rng.integers(0, 2 * margin + 1, size=2))
    crop = ridges[oy : oy + height, ox : ox + width]

    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    cy = height * (0.5 + rng.uniform(-0.05, 0.05))
    cx = width * (0.5 + rng.uniform(-0.05, 0.05))
    ry, rx = height * rng.uniform(0.40, 0.47), width * rng.uniform(0.36, 0.44)
    d = np.sqrt(((y - cy) / ry) ** 2 + ((x - cx) / rx) ** 2)
    mask = np.clip((1.0 - d) / 0.08, 0.0, 1.0)  # soft edge

    pressure = rng.uniform(0.75, 0.95)
    ink = (0.5 + 0.5 * crop) * pressure * mask  # 0 white .. ~1 black
    ink += rng.normal(0.0, 0.04, size=ink.shape) * mask
    out = 255.0 * (1.0 - np.clip(ink, 0.0, 1.0))
    return np.clip(out, 0, 255).astype(np.uint8)
