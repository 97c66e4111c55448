"""Face boxes and landmarks: plain numbers that the quality gate, the tracker and the
liveness signals share."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# The 68-point indices that correspond to dlib's 5-point model, in its order:
# outer/inner corner of the image-right eye, outer/inner corner of the image-left eye, the
# base of the nose.
FIVE_FROM_68 = (45, 42, 36, 39, 33)

# 68-point regions (iBUG 300-W layout).
JAW = slice(0, 17)
RIGHT_BROW, LEFT_BROW = slice(17, 22), slice(22, 27)
NOSE = slice(27, 36)
EYE_A, EYE_B = slice(36, 42), slice(42, 48)  # image-left eye, image-right eye
MOUTH_OUTER, MOUTH_INNER = slice(48, 60), slice(60, 68)


@dataclass(frozen=True)
class Box:
    """An axis-aligned face box in frame pixels (floats; x, y = top-left corner)."""

    x: float
    y: float
    w: float
    h: float

    @classmethod
    def from_dlib(cls, rect, scale: float = 1.0) -> Box:
        return cls(
            rect.left() * scale,
            rect.top() * scale,
            (rect.right() - rect.left() + 1) * scale,
            (rect.bottom() - rect.top() + 1) * scale,
        )

    def to_dlib(self):
        import dlib

        return dlib.rectangle(
            round(self.x), round(self.y), round(self.x + self.w - 1), round(self.y + self.h - 1)
        )

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2

    @property
    def area(self) -> float:
        return max(0.0, self.w) * max(0.0, self.h)

    def scaled(self, s: float) -> Box:
        return Box(self.x * s, self.y * s, self.w * s, self.h * s)

    def moved(self, dx: float, dy: float, zoom: float = 1.0) -> Box:
        """Shifted by (dx, dy) and resized by `zoom` around its centre."""
        w, h = self.w * zoom, self.h * zoom
        return Box(self.cx + dx - w / 2, self.cy + dy - h / 2, w, h)

    def grown(self, factor: float) -> Box:
        return self.moved(0, 0, factor)

    def iou(self, other: Box) -> float:
        x0, y0 = max(self.x, other.x), max(self.y, other.y)
        x1 = min(self.x + self.w, other.x + other.w)
        y1 = min(self.y + self.h, other.y + other.h)
        inter = max(0.0, x1 - x0) * max(0.0, y1 - y0)
        union = self.area + other.area - inter
        return inter / union if union > 0 else 0.0

    def clipped(self, width: int, height: int) -> tuple[int, int, int, int]:
        """(x0, y0, x1, y1) integer slice bounds inside a width x height frame."""
        x0 = int(max(0, math.floor(self.x)))
        y0 = int(max(0, math.floor(self.y)))
        x1 = int(min(width, math.ceil(self.x + self.w)))
        y1 = int(min(height, math.ceil(self.y + self.h)))
        return x0, y0, max(x0, x1), max(y0, y1)

    def inside_fraction(self, width: int, height: int) -> float:
        """The share of the box that lies inside the frame."""
        x0, y0, x1, y1 = self.clipped(width, height)
        return ((x1 - x0) * (y1 - y0)) / self.area if self.area > 0 else 0.0


@dataclass(frozen=True)
class Landmarks:
    """Landmark points of one face in frame pixels: 68 (iBUG layout) or 5 (dlib's).

    The measures below work with either model where they can (eye centres, roll, yaw and
    pitch proxies) and return None where they need the 68 points (eye and mouth openness).
    """

    points: np.ndarray  # N x 2 float32

    @classmethod
    def from_dlib(cls, shape) -> Landmarks:
        pts = np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float32)
        return cls(pts)

    @property
    def model(self) -> str:
        return "68" if len(self.points) == 68 else "5"

    def five(self) -> np.ndarray:
        """The 5-point layout (5 x 2), from either model."""
        return self.points if len(self.points) == 5 else self.points[list(FIVE_FROM_68)]

    @property
    def eye_centres(self) -> tuple[np.ndarray, np.ndarray]:
        """(image-left eye, image-right eye) centres."""
        if len(self.points) == 68:
            return self.points[EYE_A].mean(axis=0), self.points[EYE_B].mean(axis=0)
        p = self.points
        return (p[2] + p[3]) / 2, (p[0] + p[1]) / 2

    @property
    def nose(self) -> np.ndarray:
        return self.five()[4]

    @property
    def interocular(self) -> float:
        a, b = self.eye_centres
        return float(np.linalg.norm(b - a))

    @property
    def centre(self) -> np.ndarray:
        return self.points.mean(axis=0)

    @property
    def roll_deg(self) -> float:
        """Head tilt in the image plane (degrees, positive = clockwise in the image)."""
        a, b = self.eye_centres
        return float(math.degrees(math.atan2(b[1] - a[1], b[0] - a[0])))

    def _in_eye_frame(self, point: np.ndarray) -> tuple[float, float]:
        """`point` relative to the eyes' midpoint, in units of the interocular distance,
        along the eye line (u) and perpendicular to it (v, downwards)."""
        a, b = self.eye_centres
        d = b - a
        iod = float(np.linalg.norm(d)) or 1.0
        ux, uy = d / iod
        rel = point - (a + b) / 2
        return float((rel[0] * ux + rel[1] * uy) / iod), float((-rel[0] * uy + rel[1] * ux) / iod)

    @property
    def yaw_ratio(self) -> float:
        """Sideways offset of the base of the nose from the eyes' midpoint, in interocular
        distances: about 0 facing the camera, growing with the head turn (sign = direction
        in the image). A cheap frontal check; liveness estimates yaw with solvePnP."""
        return self._in_eye_frame(self.nose)[0]

    @property
    def pitch_ratio(self) -> float:
        """Drop of the base of the nose below the eye line, in interocular distances (about
        0.6-0.8 facing the camera; smaller when looking up or the head is tipped back)."""
        return self._in_eye_frame(self.nose)[1]

    @property
    def eye_aspect_ratio(self) -> float | None:
        """Mean eye aspect ratio (Soukupová & Čech 2016) of both eyes; None with 5 points.
        About 0.25-0.35 open, below ~0.15 closed (persons differ: liveness uses each
        person's own open-eye baseline)."""
        if len(self.points) != 68:
            return None
        return (_ear(self.points[EYE_A]) + _ear(self.points[EYE_B])) / 2

    @property
    def mouth_aspect_ratio(self) -> float | None:
        """Inner-lip opening over mouth width; None with 5 points. ~0 closed, >0.3 open."""
        if len(self.points) != 68:
            return None
        p = self.points
        width = float(np.linalg.norm(p[64] - p[60])) or 1.0
        gap = (
            np.linalg.norm(p[61] - p[67])
            + np.linalg.norm(p[62] - p[66])
            + np.linalg.norm(p[63] - p[65])
        ) / 3
        return float(gap / width)


def _ear(eye: np.ndarray) -> float:
    a = np.linalg.norm(eye[1] - eye[5])
    b = np.linalg.norm(eye[2] - eye[4])
    c = np.linalg.norm(eye[0] - eye[3]) or 1.0
    return float((a + b) / (2 * c))
