"""face_recognition used the way its README shows: the reference point our pipeline is
measured against (`kiosk bio face-eval --baseline default`, bench/face.py).

    image = face_recognition.load_image_file(path)
    encoding = face_recognition.face_encodings(image)[0]     # HOG, upsample 1, 1 jitter
    face_recognition.compare_faces([known], encoding)        # tolerance 0.6

Importing face_recognition loads all of its models (about a second).
"""

from __future__ import annotations

import time

import numpy as np

from biometrics.face.errors import ImageMissing, NoFace, NotAnImage

TOLERANCE = 0.6
NAME = "face_recognition README (HOG upsample 1, one encoding, tolerance 0.6)"


def _fr():
    import face_recognition

    return face_recognition


def encode_path(path) -> tuple[np.ndarray, float]:
    """(encoding, milliseconds for the encoding step) of the first face in a photo."""
    from pathlib import Path

    p = Path(path)
    if not p.is_file():
        raise ImageMissing(f"no such file: {p}")
    fr = _fr()
    try:
        image = fr.load_image_file(str(p))
    except Exception as exc:  # PIL.UnidentifiedImageError and friends
        raise NotAnImage(f"not a picture (cannot decode): {p}") from exc
    start = time.perf_counter()
    encodings = fr.face_encodings(image)
    ms = (time.perf_counter() - start) * 1000
    if not encodings:
        raise NoFace(f"no face found in {p}")
    return np.asarray(encodings[0], dtype=np.float64), ms


def naive_frame(rgb: np.ndarray) -> list[np.ndarray]:
    """The naive per-frame loop: detect with upsample 1 and encode every face."""
    fr = _fr()
    locations = fr.face_locations(rgb, number_of_times_to_upsample=1)
    return fr.face_encodings(rgb, known_face_locations=locations)
