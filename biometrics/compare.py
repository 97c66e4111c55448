"""1:1 comparison of templates. Thresholds are policy and live on the back end."""

from __future__ import annotations

import numpy as np

FACE_DIM = 128


def face_distance(a, b) -> float:
    """Euclidean distance between two 128-d face templates (dlib's measure)."""
    va = np.asarray(a, dtype=np.float64)
    vb = np.asarray(b, dtype=np.float64)
    if va.shape != (FACE_DIM,) or vb.shape != (FACE_DIM,):
        raise ValueError("a face template has 128 values")
    d = float(np.linalg.norm(va - vb))
    if not np.isfinite(d):
        raise ValueError("face template holds non-finite values")
    return d
