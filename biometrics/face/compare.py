"""1:1 comparison of two face templates: a distance, a score and a decision.

The decision threshold is policy (the back end holds it in its settings); `DEFAULT_THRESHOLD`
is the library's documented default operating point: dlib's published 0.6 for its descriptor
distance (99.38 % on LFW), kept on the same scale by the template's normalisation
(biometrics/face/template.py). It was not fitted to the evaluation photos.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from biometrics.face.errors import IncompatibleTemplates
from biometrics.face.template import DIM, FaceTemplate

DEFAULT_THRESHOLD = 0.6
SCORE_SLOPE = 0.05  # distance units per e-fold of the score's odds


@dataclass(frozen=True)
class Comparison:
    distance: float
    score: float  # 0..1, 0.5 at the default threshold
    match: bool
    threshold: float

    def to_dict(self) -> dict:
        return {
            "distance": round(self.distance, 6),
            "score": round(self.score, 6),
            "match": self.match,
            "threshold": self.threshold,
        }


def score(distance: float) -> float:
    """A monotone map of the distance to 0..1: 0.5 at the default threshold, ~0.99 at a
    typical genuine distance (0.36), ~0.006 at a typical impostor one (0.86). It is not a
    probability; decisions use the distance and a threshold."""
    z = (distance - DEFAULT_THRESHOLD) / SCORE_SLOPE
    if z > 50:
        return 0.0
    return 1.0 / (1.0 + math.exp(z))


def distance(a: FaceTemplate | np.ndarray, b: FaceTemplate | np.ndarray) -> float:
    if isinstance(a, FaceTemplate) and isinstance(b, FaceTemplate) and not a.compatible(b):
        raise IncompatibleTemplates(
            f"templates from {a.extractor} {a.version} and {b.extractor} {b.version} "
            "cannot be compared: re-derive the older one"
        )
    va = np.asarray(a.vector if isinstance(a, FaceTemplate) else a, dtype=np.float64)
    vb = np.asarray(b.vector if isinstance(b, FaceTemplate) else b, dtype=np.float64)
    if va.shape != (DIM,) or vb.shape != (DIM,):
        raise ValueError("a face template has 128 values")
    return float(np.linalg.norm(va - vb))


def compare(a, b, threshold: float = DEFAULT_THRESHOLD) -> Comparison:
    d = distance(a, b)
    return Comparison(distance=d, score=score(d), match=d <= threshold, threshold=threshold)
