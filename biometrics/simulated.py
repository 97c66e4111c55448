"""Simulated templates for demo kiosks, marked as such wherever they travel.

A demo pensioner's simulated face or finger is a fixed point derived from a persona key; a
simulated capture is that point plus noise. The back end compares them with the same
distance it uses for real templates, so the decision path is real and only the capture is
simulated. Extractor names start with "sim-" and the back end accepts them only from
kiosks registered as demo kiosks.
"""

from __future__ import annotations

import hashlib

import numpy as np

FACE_EXTRACTOR = "sim-face"
FINGER_EXTRACTOR = "sim-finger"
VERSION = "1"
FACE_DIM = 128
FINGER_DIM = 64

# Scale so that two different simulated people sit about 0.9 apart (dlib's 128-d embeddings
# of different people are typically 0.7 to 1.0 apart, the same person under 0.45).
_FACE_SCALE = 0.9 / np.sqrt(2.0)


def _unit(key: str, dim: int) -> np.ndarray:
    seed = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big")
    v = np.random.default_rng(seed).standard_normal(dim)
    return v / np.linalg.norm(v)


def face_vector(
    key: str, noise: float = 0.0, rng: np.random.Generator | None = None
) -> list[float]:
    """The enrolled face of persona `key`; with `noise`, a capture of it that lies about
    `noise` away from the reference (0.2: a clear match, 0.5: borderline, 0.8: someone else)."""
    v = _unit("face:" + key, FACE_DIM) * _FACE_SCALE
    if noise:
        rng = rng or np.random.default_rng()
        d = rng.standard_normal(FACE_DIM)
        v = v + d / np.linalg.norm(d) * noise
    return [float(x) for x in v]


def finger_template(
    key: str, finger: int, noise: float = 0.0, rng: np.random.Generator | None = None
) -> bytes:
    v = _unit(f"finger:{key}:{finger}", FINGER_DIM)
    if noise:
        rng = rng or np.random.default_rng()
        d = rng.standard_normal(FINGER_DIM)
        v = v + d / np.linalg.norm(d) * noise
    return v.astype("<f4").tobytes()


def finger_similarity(a: bytes, b: bytes) -> float:
    """Cosine similarity of two simulated finger templates, clipped to 0..1."""
    va = np.frombuffer(a, dtype="<f4")
    vb = np.frombuffer(b, dtype="<f4")
    if va.shape != (FINGER_DIM,) or vb.shape != (FINGER_DIM,):
        raise ValueError("not a simulated finger template")
    na, nb = np.linalg.norm(va), np.linalg.norm(vb)
    if not np.isfinite(na) or not np.isfinite(nb) or na == 0 or nb == 0:
        raise ValueError("degenerate simulated finger template")
    return float(np.clip(np.dot(va, vb) / (na * nb), 0.0, 1.0))
