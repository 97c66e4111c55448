"""Liveness geometry: head pose per frame, and the flat-face measures of a head turn.

Head pose comes from `cv2.solvePnP` (SQPnP, a global solver) fitting a rigid 3D model of
the upper face to the landmarks: the eye corners and the nose (root, ridge, tip, base and
nostrils). The jaw, chin and mouth are left out on purpose: they move when the mouth opens
or the face smiles and would turn an expression into a pose change (with them, a resident
yawning read as a 20 degree turn on the evaluation clips). The model is a generic adult
face in millimetres (eye corners 90 mm apart, nose tip 32 mm in front of the outer eye
corners), not fitted to any data; liveness only uses pose *changes* against each person's
own frontal baseline, so a face shaped differently from the model shifts the baseline but
hardly the change. The camera is assumed to have a focal length of one frame width (a
typical 60-70 degree webcam); that assumption also cancels in changes.

Yaw sign: positive when the nose moves towards the right of the picture, which on an
unmirrored camera is the resident turning to their own left.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from biometrics.face.liveness.regions import Regions

# Rigid upper-face model (mm): x to the right of the picture, y up, z towards the camera.
POSE_MODEL: dict[str, tuple[tuple[float, float, float], ...]] = {
    "eye_l_outer": ((-45.0, 0.0, 0.0),),
    "eye_l_inner": ((-16.0, 0.0, 12.0),),
    "eye_r_inner": ((16.0, 0.0, 12.0),),
    "eye_r_outer": ((45.0, 0.0, 0.0),),
    "nose_root": ((0.0, 6.0, 17.0),),
    "nose_ridge": ((0.0, -8.0, 22.0), (0.0, -21.0, 27.0)),
    "nose_tip": ((0.0, -34.0, 32.0),),
    "nostril_l": ((-12.0, -40.0, 10.0),),
    "nose_base": ((0.0, -44.0, 20.0),),
    "nostril_r": ((12.0, -40.0, 10.0),),
}

# Points for the flat-face check (all of them move by one homography when a flat picture
# is moved, turned or tilted in front of the camera; a head's do not).
PLANE_REGIONS = (
    "eye_l_outer", "eye_l_inner", "eye_r_inner", "eye_r_outer",
    "nose_root", "nose_ridge", "nose_tip", "nostril_l", "nose_base", "nostril_r",
    "mouth_l", "mouth_r", "jaw",
)  # fmt: skip


@dataclass(frozen=True)
class HeadPose:
    yaw: float  # degrees, + = towards the right of the picture
    pitch: float  # degrees, + = looking up
    roll: float  # degrees, in the image plane


def head_pose(regions: Regions, frame_size: tuple[int, int]) -> HeadPose | None:
    """Head pose by solvePnP on the rigid upper-face points; None when the landmark model
    offers fewer than four of them or the solver fails. `frame_size` is (width, height)."""
    names = [n for n in POSE_MODEL if regions.has(n)]
    model = np.array([p for n in names for p in POSE_MODEL[n]], dtype=np.float64)
    image = regions.stack(names).astype(np.float64)
    if len(model) < 4:
        return None
    w, h = frame_size
    f = float(w)
    k = np.array([[f, 0.0, w / 2.0], [0.0, f, h / 2.0], [0.0, 0.0, 1.0]])
    flag = cv2.SOLVEPNP_SQPNP if len(model) >= 6 else cv2.SOLVEPNP_EPNP
    try:
        ok, rvec, _ = cv2.solvePnP(model, image, k, None, flags=flag)
    except cv2.error:
        return None
    if not ok:
        return None
    r, _ = cv2.Rodrigues(rvec)
    normal = r @ np.array([0.0, 0.0, 1.0])  # the face's forward direction, camera frame
    yaw = math.degrees(math.atan2(normal[0], -normal[2]))
    pitch = math.degrees(math.atan2(normal[1], -normal[2]))
    a, b = regions.eye_centres()
    roll = math.degrees(math.atan2(b[1] - a[1], b[0] - a[0]))
    return HeadPose(yaw, pitch, roll)


def plane_residual(before: Regions, after: Regions) -> float | None:
    """How badly one homography explains the landmark motion between two views: the RMS
    residual of the best homography from `before` to `after`, in interocular distances of
    `before`. A flat picture, however it is moved, turned or tilted, moves by a homography
    (residual = landmark noise, about 0.01-0.03); a real head turning by 15-25 degrees
    leaves 0.08-0.15 (the nose stands out of the plane of the eyes, the jaw line is a
    silhouette that slides over the head). None when a region is missing."""
    names = [n for n in PLANE_REGIONS if before.has(n) and after.has(n)]
    src = before.stack(names).astype(np.float64)
    dst = after.stack(names).astype(np.float64)
    if len(src) < 8:
        return None
    h, _ = cv2.findHomography(src, dst, 0)
    if h is None:
        return None
    fitted = cv2.perspectiveTransform(src.reshape(-1, 1, 2), h).reshape(-1, 2)
    rms = float(np.sqrt(((fitted - dst) ** 2).sum(axis=1).mean()))
    return rms / (before.interocular() or 1.0)


def foreshortening(before: Regions, after: Regions) -> float | None:
    """The width of the eye line relative to the face's height (the base of the nose's
    distance from the eye line) in `after`, over the same in `before`. A head turned by an
    angle a shows about cos(a); a flat picture turned far enough to fake that turn shows
    much less (a photo must be turned by about 45 degrees before solvePnP reads a 15 degree
    yaw from it, and cos 45 = 0.71). None when a region is missing."""
    need = ("eye_l_outer", "eye_r_outer", "nose_base")
    if not (before.has(*need) and after.has(*need)):
        return None

    def ratio(r: Regions) -> float:
        a, b = r.point("eye_l_outer"), r.point("eye_r_outer")
        line = b - a
        width = float(np.linalg.norm(line)) or 1.0
        rel = r.point("nose_base") - (a + b) / 2
        height = abs(float(line[0] * rel[1] - line[1] * rel[0])) / width  # across the eye line
        return width / (height or 1.0)

    return ratio(after) / (ratio(before) or 1.0)
