"""Minutia Cylinder-Code (MCC): a local descriptor of each minutia's neighbourhood that is
invariant to translation and rotation, and tolerant of skin distortion and of small
errors in the minutiae.

Cappelli, Ferrara and Maltoni, "Minutia Cylinder-Code: a new representation and matching
technique for fingerprint recognition", IEEE TPAMI 32(12), 2010. Written here from the
paper's equations; the parameters are the paper's (500 dpi).

A cylinder sits on a minutia, turned to its direction: NS x NS spatial cells of a disc of
radius R, times ND directional cells. A cell holds how much the neighbouring minutiae near
it (Gaussian in space) have the cell's direction relative to the centre minutia (Gaussian
in angle), through a sigmoid. A cell is "valid" inside the disc and near the print (within
OMEGA of the minutiae's convex hull), so a cylinder at the print's edge is compared only
where both prints have skin.

Two cylinders compare by 1 - |a - b| / (|a| + |b|) over the cells valid in both (the
paper's normalised Euclidean similarity), and only when enough cells are shared and the
two minutiae's directions are within pi/2 (the descriptor is rotation invariant, the
minutiae directions still carry information).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
from scipy.special import erf

R = 70.0  # cylinder radius (pixels at 500 dpi)
NS = 16  # spatial cells along a side
ND = 6  # directional cells
SIGMA_S = 28.0 / 3.0  # spatial Gaussian
SIGMA_D = 2.0 * math.pi / 9.0  # directional Gaussian
MU_PSI = 0.01  # sigmoid of a cell's sum
TAU_PSI = 400.0
OMEGA = 50.0  # a cell is valid within this distance of the minutiae's convex hull
MIN_VALID_CELLS = 0.75  # share of the disc's cells valid for the cylinder to be usable
MIN_NEIGHBOURS = 2  # minutiae within R + 3 sigma_s for the cylinder to be usable
MIN_SHARED_CELLS = 0.6  # share of the disc's cells valid in both for a comparison
MAX_DIRECTION_DIFF = math.pi / 2

DELTA_S = 2.0 * R / NS
DELTA_D = 2.0 * math.pi / ND
_IJ = np.arange(NS) - (NS - 1) / 2.0
_GI, _GJ = np.meshgrid(_IJ, _IJ, indexing="ij")
CELL_OFFSETS = np.stack([_GI.ravel(), _GJ.ravel()], axis=1) * DELTA_S  # (NS*NS, 2)
IN_DISC = np.hypot(CELL_OFFSETS[:, 0], CELL_OFFSETS[:, 1]) <= R
DISC_CELLS = int(IN_DISC.sum())
CELL_ANGLES = -math.pi + (np.arange(ND) + 0.5) * DELTA_D
N_CELLS = NS * NS * ND


def angle_diff(a, b):
    """a - b wrapped into [-pi, pi)."""
    return np.mod(np.asarray(a) - np.asarray(b) + np.pi, 2 * np.pi) - np.pi


@dataclass(frozen=True)
class Cylinders:
    """One row per minutia: cell values (0 where invalid), the valid-cell mask, whether
    the cylinder is usable, and the minutiae (x, y, angle) it was built from."""

    values: np.ndarray  # (N, N_CELLS) float32
    valid: np.ndarray  # (N, N_CELLS) float32, 1 valid / 0 invalid
    usable: np.ndarray  # (N,) bool
    minutiae: np.ndarray  # (N, 3) float64

    def __len__(self) -> int:
        return len(self.usable)


def _hull_distance_ok(xy: np.ndarray, points: np.ndarray, omega: float) -> np.ndarray:
    """Points inside the convex hull of `xy` or within `omega` of it."""
    if len(xy) < 3:
        return np.ones(len(points), bool)
    hull = cv2.convexHull(xy.astype(np.float32))[:, 0, :].astype(np.float64)
    if len(hull) < 3:
        return np.ones(len(points), bool)
    a = hull
    ab = np.roll(hull, -1, axis=0) - a
    rel = points[:, None, :] - a[None]
    cross = ab[None, :, 0] * rel[..., 1] - ab[None, :, 1] * rel[..., 0]
    inside = np.all(cross >= 0, axis=1) | np.all(cross <= 0, axis=1)
    t = np.clip((rel * ab[None]).sum(-1) / np.maximum((ab * ab).sum(-1), 1e-9), 0, 1)
    proj = a[None] + t[..., None] * ab[None]
    d = np.hypot(points[:, None, 0] - proj[..., 0], points[:, None, 1] - proj[..., 1]).min(1)
    return inside | (d <= omega)


def _directional_weights(alpha: np.ndarray) -> np.ndarray:
    """The Gaussian of sigma_d integrated over a directional cell centred at `alpha`."""
    k = 1.0 / (SIGMA_D * math.sqrt(2.0))
    return 0.5 * (erf((alpha + DELTA_D / 2) * k) - erf((alpha - DELTA_D / 2) * k))


def build(minutiae: np.ndarray) -> Cylinders:
    """Cylinders of (x, y, angle) minutiae at 500 dpi (image frame)."""
    m = np.asarray(minutiae, dtype=np.float64)[:, :3].reshape(-1, 3)
    n = len(m)
    if n == 0:
        empty = np.zeros((0, N_CELLS), np.float32)
        return Cylinders(empty, empty.copy(), np.zeros(0, bool), m)
    x, y, t = m[:, 0], m[:, 1], m[:, 2]
    c, s = np.cos(t), np.sin(t)
    ox, oy = CELL_OFFSETS[:, 0], CELL_OFFSETS[:, 1]
    px = x[:, None] + c[:, None] * ox[None] - s[:, None] * oy[None]  # (N, NS*NS)
    py = y[:, None] + s[:, None] * ox[None] + c[:, None] * oy[None]
    pts = np.stack([px.ravel(), py.ravel()], axis=1)
    cell_ok = _hull_distance_ok(m[:, :2], pts, OMEGA).reshape(n, -1) & IN_DISC[None]

    # spatial contributions of every other minutia to every cell
    d2 = (px[:, :, None] - x[None, None, :]) ** 2 + (py[:, :, None] - y[None, None, :]) ** 2
    gs = np.exp(-d2 / (2 * SIGMA_S**2)) / (SIGMA_S * math.sqrt(2 * math.pi))
    gs[d2 > (3 * SIGMA_S) ** 2] = 0.0
    gs[np.arange(n), :, np.arange(n)] = 0.0
    # directional contributions: the neighbour's direction relative to the centre's
    rel = angle_diff(t[:, None], t[None, :])  # (N, N)
    gd = _directional_weights(angle_diff(CELL_ANGLES[None, None, :], rel[:, :, None]))
    total = np.einsum("mcn,mnk->mck", gs, gd)  # (N, cells, ND)
    values = 1.0 / (1.0 + np.exp(-TAU_PSI * (total - MU_PSI)))
    valid = np.repeat(cell_ok[:, :, None], ND, axis=2)
    values = np.where(valid, values, 0.0).reshape(n, -1).astype(np.float32)

    dist = np.hypot(x[:, None] - x[None, :], y[:, None] - y[None, :])
    neighbours = (dist <= R + 3 * SIGMA_S).sum(axis=1) - 1
    usable = (cell_ok.sum(axis=1) >= MIN_VALID_CELLS * DISC_CELLS) & (neighbours >= MIN_NEIGHBOURS)
    return Cylinders(values, valid.reshape(n, -1).astype(np.float32), usable, m)


def local_similarity(a: Cylinders, b: Cylinders) -> np.ndarray:
    """(len(a), len(b)) similarities in 0..1 (0 = not comparable)."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)))
    va, ma = a.values, a.valid
    vb, mb = b.values, b.valid
    aa = (va * va) @ mb.T  # |a restricted to cells valid in b|^2
    bb = ma @ (vb * vb).T
    ab = va @ vb.T
    shared = ma @ mb.T
    na = np.sqrt(np.maximum(aa, 0))
    nb = np.sqrt(np.maximum(bb, 0))
    diff = np.sqrt(np.maximum(aa + bb - 2 * ab, 0))
    den = na + nb
    sim = np.where(den > 0, 1.0 - diff / np.maximum(den, 1e-9), 0.0).astype(np.float64)
    sim[shared < MIN_SHARED_CELLS * DISC_CELLS * ND] = 0.0
    dirs = np.abs(angle_diff(a.minutiae[:, 2][:, None], b.minutiae[:, 2][None, :]))
    sim[dirs > MAX_DIRECTION_DIFF] = 0.0
    sim[~a.usable, :] = 0.0
    sim[:, ~b.usable] = 0.0
    return np.clip(sim, 0.0, 1.0)
