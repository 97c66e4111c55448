"""Named facial regions: the only place in liveness that knows a landmark model's numbering.

Liveness asks for points by name ("nose_tip", "eye_l_outer", "mouth_inner" ...), never by
index, so a landmark model with a permissive licence can replace dlib's 68-point model
(trained on iBUG 300-W, non-commercial terms: see biometrics/face/models.py) by adding one
table here. A model that lacks a region simply does not offer it (`has`): the 5-point model
gives eye corners and the base of the nose, enough for head pose and tracking but not for
eye or mouth openness, so blink and mouth challenges are then unavailable.

Sides are image sides: "l" is the left of the picture as the camera sees it (the resident's
right eye on an unmirrored camera).
"""

from __future__ import annotations

import numpy as np

from biometrics.face.geometry import Landmarks

# iBUG 300-W 68-point layout (dlib's shape_predictor_68_face_landmarks).
_IBUG68: dict[str, tuple[int, ...]] = {
    "jaw": tuple(range(0, 17)),
    "chin": (8,),
    # eye contours in eye-aspect-ratio order: corner, upper lid x2, corner, lower lid x2
    "eye_l": (36, 37, 38, 39, 40, 41),
    "eye_r": (45, 44, 43, 42, 47, 46),
    "eye_l_outer": (36,),
    "eye_l_inner": (39,),
    "eye_r_inner": (42,),
    "eye_r_outer": (45,),
    "nose_root": (27,),
    "nose_ridge": (28, 29),
    "nose_tip": (30,),
    "nostril_l": (31,),
    "nose_base": (33,),
    "nostril_r": (35,),
    "mouth_l": (48,),
    "mouth_r": (54,),
    # inner lip contour: corner, upper x3, corner, lower x3 (clockwise from the image-left)
    "mouth_inner": (60, 61, 62, 63, 64, 65, 66, 67),
}

# dlib's 5-point model (shape_predictor_5_face_landmarks, CC0).
_DLIB5: dict[str, tuple[int, ...]] = {
    "eye_r_outer": (0,),
    "eye_r_inner": (1,),
    "eye_l_outer": (2,),
    "eye_l_inner": (3,),
    "nose_base": (4,),
}

_LAYOUTS = {68: _IBUG68, 5: _DLIB5}


class Regions:
    """Named access to one face's landmarks (frame pixels)."""

    __slots__ = ("_pts", "_table")

    def __init__(self, landmarks: Landmarks | np.ndarray):
        pts = landmarks.points if isinstance(landmarks, Landmarks) else np.asarray(landmarks)
        table = _LAYOUTS.get(len(pts))
        if table is None:
            raise ValueError(f"no region table for a {len(pts)}-point landmark model")
        self._pts = np.asarray(pts, dtype=np.float64)
        self._table = table

    def has(self, *names: str) -> bool:
        return all(n in self._table for n in names)

    def get(self, name: str) -> np.ndarray:
        """The region's points (k x 2); KeyError when the model lacks it."""
        return self._pts[list(self._table[name])]

    def point(self, name: str) -> np.ndarray:
        """A one-point region (or a region's mean) as (2,)."""
        return self.get(name).mean(axis=0)

    def stack(self, names) -> np.ndarray:
        """Several regions' points stacked in the order of `names` (n x 2)."""
        return np.concatenate([self.get(n) for n in names], axis=0)

    # -- measures shared by the detectors ---------------------------------------------

    def eye_centres(self) -> tuple[np.ndarray, np.ndarray]:
        if self.has("eye_l", "eye_r"):
            return self.point("eye_l"), self.point("eye_r")
        left = (self.point("eye_l_outer") + self.point("eye_l_inner")) / 2
        right = (self.point("eye_r_outer") + self.point("eye_r_inner")) / 2
        return left, right

    def interocular(self) -> float:
        a, b = self.eye_centres()
        return float(np.linalg.norm(b - a))

    def eye_openness(self) -> tuple[float, float] | None:
        """(image-left, image-right) eye aspect ratio (Soukupová & Čech 2016), or None."""
        if not self.has("eye_l", "eye_r"):
            return None
        return _ear(self.get("eye_l")), _ear(self.get("eye_r"))

    def mouth_openness(self) -> float | None:
        """Inner-lip gap over inner mouth width (mean of three vertical gaps); None when
        the model has no inner lip contour."""
        if not self.has("mouth_inner"):
            return None
        m = self.get("mouth_inner")
        width = float(np.linalg.norm(m[4] - m[0])) or 1.0
        gap = (
            np.linalg.norm(m[1] - m[7]) + np.linalg.norm(m[2] - m[6]) + np.linalg.norm(m[3] - m[5])
        ) / 3
        return float(gap / width)


def _ear(eye: np.ndarray) -> float:
    a = np.linalg.norm(eye[1] - eye[5])
    b = np.linalg.norm(eye[2] - eye[4])
    c = np.linalg.norm(eye[0] - eye[3]) or 1.0
    return float((a + b) / (2 * c))
