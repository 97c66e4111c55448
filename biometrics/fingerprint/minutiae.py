"""Minutiae from ridge maps: binarise the Gabor response, thin it, find ridge endings and
bifurcations by their crossing number, drop the false ones, give each a direction and a
quality.

A minutia is a row (x, y, angle, kind, quality): image pixels, the angle in radians in the
image frame (x right, y down, from +x towards +y, 0..2 pi), `kind` 1 = ridge ending,
2 = bifurcation (the ISO/IEC 19794-2 codes), quality 0..1.

Direction convention: a ridge ending points along its ridge, from the ending into the
ridge; a bifurcation points into the valley between its two branches (the valley "ends" at
it). That is the convention of the ISO/IEC 19794-2 records in the evaluation set (made by a
commercial SDK): turning either kind by pi makes our minutiae stop matching them. A ridge
ending seen in the valley image is a bifurcation with the same direction, and the other way
round, so a minutia whose type the sensor got wrong still has the right direction.

False minutiae (the usual structural rules): any within a band of the foreground's border or
the image's; two ridge endings facing each other across a short gap (a broken ridge); pairs
closer than a ridge period (spurs, bridges, holes, short ridge pieces).
"""

from __future__ import annotations

import cv2
import numpy as np
from skimage.morphology import skeletonize

from biometrics.fingerprint.enhance import RidgeMaps

RIDGE_ENDING = 1
BIFURCATION = 2

BORDER_PX = 10  # minutiae closer than this to the foreground's edge are dropped
CLOSE_PERIODS = 0.3  # two minutiae closer than this (in ridge periods) are both dropped
GAP_PERIODS = 2.0  # two endings facing each other across a gap this short: a broken ridge
MIN_AREA = 25  # ridge specks and valley holes smaller than this (pixels) are cleaned
# weights of the 8 neighbours, clockwise from the top-left (a 3x3 code, 0..255)
_NEIGHBOUR_WEIGHTS = np.array([[1, 2, 4], [128, 0, 8], [64, 32, 16]], np.float32)


def _crossing_lut() -> np.ndarray:
    lut = np.zeros(256, np.uint8)
    for code in range(256):
        bits = [(code >> i) & 1 for i in range(8)]  # clockwise order
        lut[code] = sum(bits[i] and not bits[(i + 1) % 8] for i in range(8))
    return lut


_CN_LUT = _crossing_lut()


def _clean_binary(ridges: np.ndarray, min_area: int) -> np.ndarray:
    """Remove ridge specks and fill valley pin-holes smaller than `min_area` pixels."""
    out = ridges.copy()
    for value in (True, False):
        comp = (out == value).astype(np.uint8)
        _n, labels, stats, _ = cv2.connectedComponentsWithStats(comp, connectivity=8)
        small = np.flatnonzero(stats[:, cv2.CC_STAT_AREA] < min_area)
        small = small[small > 0]
        if len(small):
            out[np.isin(labels, small)] = not value
    return out


def _candidates(skel: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    code = cv2.filter2D(
        skel.astype(np.float32), -1, _NEIGHBOUR_WEIGHTS, borderType=cv2.BORDER_CONSTANT
    )
    cn = _CN_LUT[np.clip(code, 0, 255).astype(np.uint8)]
    cn[~skel] = 0
    ys, xs = np.nonzero((cn == 1) | (cn == 3))
    kinds = np.where(cn[ys, xs] == 1, RIDGE_ENDING, BIFURCATION)
    return xs, ys, kinds


def _sample(img: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    h, w = img.shape
    xi = np.clip(np.round(x).astype(np.int32), 0, w - 1)
    yi = np.clip(np.round(y).astype(np.int32), 0, h - 1)
    return img[yi, xi]


def _directions(maps: RidgeMaps, xs, ys, kinds) -> np.ndarray:
    """Angle 0..2pi: the local ridge orientation, turned to face the ridge body (endings) or
    the valley body (bifurcations)."""
    theta = maps.orientation[ys, xs].astype(np.float64)
    period = maps.period[ys, xs].astype(np.float64)
    ux, uy = np.cos(theta), np.sin(theta)
    plus = np.zeros(len(xs))
    for f in (0.4, 0.6, 0.8, 1.0):
        d = f * period
        plus += _sample(maps.enhanced, xs + d * ux, ys + d * uy)
        plus -= _sample(maps.enhanced, xs - d * ux, ys - d * uy)
    # endings: the ridge (positive response) lies ahead; bifurcations: the valley does
    forward = np.where(kinds == RIDGE_ENDING, plus > 0, plus < 0)
    return np.mod(np.where(forward, theta, theta + np.pi), 2 * np.pi)


def _remove_false(x, y, ang, kind, period) -> np.ndarray:
    """Indices of minutiae that survive the structural rules."""
    n = len(x)
    keep = np.ones(n, bool)
    if n < 2:
        return keep
    dx = x[:, None] - x[None, :]
    dy = y[:, None] - y[None, :]
    dist = np.hypot(dx, dy)
    np.fill_diagonal(dist, np.inf)
    p = 0.5 * (period[:, None] + period[None, :])
    # anything closer than ~0.75 of a ridge period: spurs, bridges, holes, short pieces
    close = dist < CLOSE_PERIODS * p
    # broken ridges: two endings facing each other, the gap along the ridge
    both_end = (kind[:, None] == RIDGE_ENDING) & (kind[None, :] == RIDGE_ENDING)
    dang = np.abs(np.angle(np.exp(1j * (ang[:, None] - ang[None, :]))))
    facing = dang > np.radians(135)
    link = np.arctan2(dy, dx)  # from j to i
    along = np.abs(np.sin(link - ang[:, None])) < np.sin(np.radians(35))
    broken = both_end & facing & along & (dist < GAP_PERIODS * p)
    bad = close | broken
    keep &= ~bad.any(axis=1)
    return keep


def extract_minutiae(maps: RidgeMaps) -> np.ndarray:
    """(N, 5) float64 rows of x, y, angle, kind, quality."""
    mask = maps.mask
    if not mask.any():
        return np.zeros((0, 5))
    ridges = (maps.enhanced > 0) & mask
    ridges = _clean_binary(ridges, MIN_AREA)
    skel = skeletonize(ridges)
    xs, ys, kinds = _candidates(skel)
    inner = cv2.distanceTransform(np.pad(mask, 1).astype(np.uint8), cv2.DIST_L2, 5)[1:-1, 1:-1]
    ok = inner[ys, xs] > BORDER_PX
    xs, ys, kinds = xs[ok], ys[ok], kinds[ok]
    if len(xs) == 0:
        return np.zeros((0, 5))
    ang = _directions(maps, xs, ys, kinds)
    period = maps.period[ys, xs].astype(np.float64)
    keep = _remove_false(xs.astype(np.float64), ys.astype(np.float64), ang, kinds, period)
    xs, ys, kinds, ang = xs[keep], ys[keep], kinds[keep], ang[keep]
    coh = maps.coherence[ys, xs]
    edge = np.clip((inner[ys, xs] - BORDER_PX) / 20.0, 0, 1)
    quality = np.clip(coh, 0, 1) * (0.5 + 0.5 * edge)
    return np.stack(
        [xs.astype(np.float64), ys.astype(np.float64), ang, kinds.astype(np.float64), quality],
        axis=1,
    )
