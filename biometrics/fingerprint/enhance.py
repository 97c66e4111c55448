"""Ridge maps of a fingerprint image: foreground mask, orientation field, ridge period, and a
contextually filtered (Gabor) image in which ridges are positive and valleys negative.

All angles are in the image frame (x to the right, y down), in radians, measured from the
+x axis towards +y. A ridge orientation is modulo pi. Images are taken to be about 500 dpi
(FVC, ISO/IEC 19794-4 "500 ppi" class); other resolutions are resampled first by the
extractor.

Method, in order (each a classic step of the literature, written for numpy/OpenCV speed):
1. foreground: the local mean of the gradient magnitude over a fraction of its 95th
   percentile, cleaned by morphology, largest component, holes filled;
2. orientation: the gradient structure tensor averaged over a Gaussian window, then the
   doubled-angle vector field smoothed again with the coherence as weight, so that noisy
   blocks borrow their direction from clear neighbours;
3. ridge period: the "x-signature" (grey levels summed along the ridges in an oriented
   window) of blocks on a grid, its spectral peak, median-filtered and interpolated;
4. enhancement: even Gabor filters tuned to the local orientation and period, each computed
   as two separable convolutions (an isotropic Gaussian envelope makes cos(ax + by) split
   into cos(ax)cos(by) - sin(ax)sin(by)), the response at each pixel taken from the filter
   of its orientation and period bin.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import cv2
import numpy as np

N_ORIENTATIONS = 16
PERIOD_MIN, PERIOD_MAX = 4.5, 16.0
PERIOD_BINS = np.geomspace(PERIOD_MIN, PERIOD_MAX, 12)
DEFAULT_PERIOD = 9.0
CONF_MIN = 0.5


@dataclass(frozen=True)
class RidgeMaps:
    """What the extractor and the quality score need from one image."""

    mask: np.ndarray  # bool, foreground (finger)
    orientation: np.ndarray  # float32, ridge direction in [0, pi)
    coherence: np.ndarray  # float32, 0 (isotropic) .. 1 (perfectly oriented)
    period: np.ndarray  # float32, ridge period in pixels
    enhanced: np.ndarray  # float32, Gabor response: ridges > 0, valleys < 0, about unit scale
    normalized: np.ndarray  # float32, the input with local mean 0 and unit contrast
    clarity: np.ndarray  # float32, 0..1: how well the local ridge model explains the image


def _blur(a: np.ndarray, sigma: float) -> np.ndarray:
    return cv2.GaussianBlur(a, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)


def _largest_component(mask: np.ndarray) -> np.ndarray:
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    if n <= 1:
        return np.zeros(mask.shape, bool)
    best = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    return labels == best


def _fill_holes(mask: np.ndarray) -> np.ndarray:
    inv = (~mask).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(inv, connectivity=4)
    h, w = mask.shape
    out = mask.copy()
    for k in range(1, n):
        x, y, bw, bh = stats[k, :4]
        if x > 0 and y > 0 and x + bw < w and y + bh < h:
            out[labels == k] = True
    return out


def segment(gray: np.ndarray) -> np.ndarray:
    """Foreground mask (bool): where ridges make a strong local gradient."""
    f = gray.astype(np.float32)
    gx = cv2.Sobel(f, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(f, cv2.CV_32F, 0, 1, ksize=3)
    mag = cv2.magnitude(gx, gy)
    avg = _blur(mag, 4.5)
    ref = float(np.percentile(mag, 95))
    if ref <= 1e-3:
        return np.zeros(gray.shape, bool)
    mask = (avg > 0.2 * ref).astype(np.uint8)
    k3 = np.ones((3, 3), np.uint8)
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, k3, iterations=6)
    mask = _fill_holes(_largest_component(mask))
    mask = cv2.morphologyEx(
        mask.astype(np.uint8), cv2.MORPH_OPEN, k3, iterations=10, borderValue=0
    ).astype(bool)
    return _largest_component(mask)


def normalize(gray: np.ndarray, mask: np.ndarray, sigma: float = 12.0) -> np.ndarray:
    """Local mean removed and local contrast equalised (ridges dark -> negative)."""
    f = gray.astype(np.float32)
    mean = _blur(f, sigma)
    d = f - mean
    sd = np.sqrt(_blur(d * d, sigma)) + 1e-3
    ref = float(np.median(sd[mask])) if mask.any() else float(np.median(sd))
    return d / np.maximum(sd, 0.25 * ref)


def orientation_field(
    norm: np.ndarray, mask: np.ndarray, sigma: float = 5.0, smooth: float = 9.0
) -> tuple[np.ndarray, np.ndarray]:
    """(ridge orientation in [0, pi), coherence in 0..1)."""
    g = _blur(norm, 1.0)
    gx = cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=3)
    m = mask.astype(np.float32)
    gxx = _blur(gx * gx * m, sigma)
    gyy = _blur(gy * gy * m, sigma)
    gxy = _blur(gx * gy * m, sigma)
    num = 2 * gxy
    den = gxx - gyy
    energy = gxx + gyy + 1e-6
    coh = np.sqrt(num * num + den * den) / energy
    # the doubled-angle vector, weighted by its own reliability, smoothed again
    c2 = _blur(den, smooth)
    s2 = _blur(num, smooth)
    grad_dir = 0.5 * np.arctan2(s2, c2)
    theta = np.mod(grad_dir + np.pi / 2, np.pi).astype(np.float32)
    coh_s = np.sqrt(c2 * c2 + s2 * s2) / (_blur(energy, smooth) + 1e-6)
    return theta, np.clip(0.5 * (coh + coh_s), 0, 1).astype(np.float32)


def ridge_period(
    norm: np.ndarray, mask: np.ndarray, theta: np.ndarray, step: int = 12
) -> np.ndarray:
    """Ridge period (pixels) at every pixel, from oriented x-signatures on a grid."""
    h, w = norm.shape
    ys = np.arange(step // 2, h, step)
    xs = np.arange(step // 2, w, step)
    gy, gx = np.meshgrid(ys, xs, indexing="ij")
    inside = mask[gy, gx]
    cy, cx = gy[inside].astype(np.float32), gx[inside].astype(np.float32)
    grid = np.full(gy.shape, np.nan, np.float32)
    if len(cy) == 0:
        return np.full((h, w), DEFAULT_PERIOD, np.float32)
    t = theta[gy[inside], gx[inside]]
    along = np.stack([np.cos(t), np.sin(t)], 1)  # along the ridges
    normal = np.stack([-np.sin(t), np.cos(t)], 1)  # across them
    length, width = 48, 15
    u = np.arange(length, dtype=np.float32) - (length - 1) / 2  # across
    v = np.arange(width, dtype=np.float32) - (width - 1) / 2  # along
    px = cx[:, None, None] + u[None, :, None] * normal[:, 0, None, None]
    px = px + v[None, None, :] * along[:, 0, None, None]
    py = cy[:, None, None] + u[None, :, None] * normal[:, 1, None, None]
    py = py + v[None, None, :] * along[:, 1, None, None]
    n = len(cy)
    samples = cv2.remap(
        norm,
        px.reshape(n, length * width).astype(np.float32),
        py.reshape(n, length * width).astype(np.float32),
        cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REFLECT,
    ).reshape(n, length, width)
    sig = samples.mean(axis=2)
    sig = sig - sig.mean(axis=1, keepdims=True)
    sig = sig * np.hanning(length)[None, :]
    nfft = 512
    spec = np.abs(np.fft.rfft(sig, n=nfft, axis=1))
    freqs = np.arange(spec.shape[1]) / nfft
    band = (freqs >= 1 / PERIOD_MAX) & (freqs <= 1 / PERIOD_MIN)
    idx = np.flatnonzero(band)
    sub = spec[:, idx]
    k = np.argmax(sub, axis=1)
    fpk = freqs[idx[k]]
    power = spec * spec
    near = (freqs[None, :] >= 0.8 * fpk[:, None]) & (freqs[None, :] <= 1.2 * fpk[:, None])
    conf = (power * near).sum(axis=1) / (power[:, 2:].sum(axis=1) + 1e-9)
    period = 1.0 / fpk
    good = conf > CONF_MIN
    vals = np.where(good, period, np.nan).astype(np.float32)
    grid[inside] = vals
    valid = np.isfinite(grid)
    fill = float(np.nanmedian(grid)) if valid.any() else DEFAULT_PERIOD
    filled = np.where(valid, grid, fill).astype(np.float32)
    # median over 3x3 blocks, then a smooth surface (valid blocks weighted)
    med = cv2.medianBlur(filled, 3) if min(filled.shape) >= 3 else filled
    wgt = _blur(valid.astype(np.float32), 1.0) + 1e-3
    smooth = _blur(np.where(valid, med, 0).astype(np.float32), 1.0) / wgt
    smooth = np.where(wgt > 0.05, smooth, fill).astype(np.float32)
    out = cv2.resize(smooth, (len(xs) * step, len(ys) * step), interpolation=cv2.INTER_LINEAR)
    out = out[:h, :w]
    if out.shape != (h, w):
        out = cv2.resize(smooth, (w, h), interpolation=cv2.INTER_LINEAR)
    return np.clip(out, PERIOD_MIN, PERIOD_MAX).astype(np.float32)


@functools.lru_cache(maxsize=512)
def _separable_gabor(period: float, angle: float) -> tuple[np.ndarray, ...]:
    """1-D kernels (kx_cos, ky_cos, kx_sin, ky_sin): the even Gabor filter whose wave runs
    along `angle` (the ridge normal) with wavelength `period` is
    sep(kx_cos, ky_cos) - sep(kx_sin, ky_sin)."""
    sigma = 0.5 * period
    r = math.ceil(2.5 * sigma)
    t = np.arange(-r, r + 1, dtype=np.float64)
    env = np.exp(-(t * t) / (2 * sigma * sigma))
    a = 2 * math.pi * math.cos(angle) / period
    b = 2 * math.pi * math.sin(angle) / period
    kx_c, kx_s = env * np.cos(a * t), env * np.sin(a * t)
    ky_c, ky_s = env * np.cos(b * t), env * np.sin(b * t)
    # unit energy of the 2-D kernel, zero mean
    k2 = np.outer(ky_c, kx_c) - np.outer(ky_s, kx_s)
    dc = k2.mean()
    scale = 1.0 / math.sqrt(((k2 - dc) ** 2).sum())
    return tuple(
        k.astype(np.float32) for k in (kx_c * scale, ky_c, kx_s * scale, ky_s, np.float32(dc))
    )


def gabor_enhance(
    norm: np.ndarray, mask: np.ndarray, theta: np.ndarray, period: np.ndarray
) -> np.ndarray:
    """The response of each pixel's own (orientation, period) Gabor filter; ridges > 0."""
    src = -norm  # ridges are dark: make them positive
    o_bin = np.round(theta / (np.pi / N_ORIENTATIONS)).astype(np.int32) % N_ORIENTATIONS
    logp = np.log(PERIOD_BINS)
    p_idx = np.abs(np.log(period)[..., None] - logp[None, None, :]).argmin(axis=2)
    out = np.zeros(norm.shape, np.float32)
    key = p_idx * N_ORIENTATIONS + o_bin
    used = np.unique(key[mask]) if mask.any() else np.array([], np.int64)
    for k in used:
        pb, ob = divmod(int(k), N_ORIENTATIONS)
        angle = ob * np.pi / N_ORIENTATIONS + np.pi / 2  # the wave runs across the ridges
        kx_c, ky_c, kx_s, ky_s, _dc = _separable_gabor(float(PERIOD_BINS[pb]), float(angle))
        resp = cv2.sepFilter2D(src, cv2.CV_32F, kx_c, ky_c, borderType=cv2.BORDER_REFLECT)
        resp -= cv2.sepFilter2D(src, cv2.CV_32F, kx_s, ky_s, borderType=cv2.BORDER_REFLECT)
        sel = key == k
        out[sel] = resp[sel]
    return out


def ridge_maps(gray: np.ndarray) -> RidgeMaps:
    mask = segment(gray)
    norm = normalize(gray, mask)
    theta, coh = orientation_field(norm, mask)
    period = ridge_period(norm, mask, theta)
    enhanced = gabor_enhance(norm, mask, theta, period)
    return RidgeMaps(mask, theta, coh, period, enhanced, norm, clarity(norm, enhanced, mask))


def clarity(norm: np.ndarray, enhanced: np.ndarray, mask: np.ndarray, sigma: float = 8.0):
    """Local normalised correlation between the image and its ridge model (the Gabor
    response): near 1 on clean parallel ridges, near 0 on smudges, creases and noise."""
    e = enhanced
    n = -norm
    m = mask.astype(np.float32)
    num = _blur(e * n * m, sigma)
    den = np.sqrt(_blur(e * e * m, sigma) * _blur(n * n * m, sigma)) + 1e-6
    return np.clip(num / den, 0, 1).astype(np.float32)
