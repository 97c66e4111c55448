"""Faces for the tests: the shipped default face (scikit-image's public-domain astronaut
portrait, always there once the project's dependencies are installed) and the evaluation
photos in ../shared/data/faces when present (KIOSK_EVAL_DATA overrides ../shared/data)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from drivers.eval_data import eval_data_root


def eval_data() -> Path:
    return eval_data_root()


@pytest.fixture(scope="session")
def faces_dir() -> Path:
    path = eval_data() / "faces"
    if not path.is_dir():
        pytest.skip(f"evaluation photos not found at {path} (set KIOSK_EVAL_DATA)")
    return path


@pytest.fixture(scope="session")
def default_face():
    """The default face as the simulator shows it: a 640x480 BGR kiosk frame."""
    from drivers.camera.sources import SourceMissing, cover
    from drivers.camera.sources import default_face as source

    try:
        src = source()
    except SourceMissing as exc:
        pytest.skip(f"{exc} (it is a project dependency)")
    return cover(src.image, (640, 480), src.crop)


@pytest.fixture(scope="session")
def default_face_path():
    from drivers.camera.sources import SourceMissing, default_face_path

    try:
        return default_face_path()
    except SourceMissing as exc:
        pytest.skip(f"{exc} (it is a project dependency)")


def shifted(frame: np.ndarray, dx: int, dy: int, fill: int = 118) -> np.ndarray:
    """The frame moved by (dx, dy), the uncovered border filled with a wall grey."""
    m = np.float32([[1, 0, dx], [0, 1, dy]])
    h, w = frame.shape[:2]
    return cv2.warpAffine(
        frame, m, (w, h), borderMode=cv2.BORDER_CONSTANT, borderValue=(fill, fill, fill)
    )


def zoomed(frame: np.ndarray, factor: float, centre=(320, 223)) -> np.ndarray:
    """The frame magnified around `centre` (the default face's centre)."""
    m = cv2.getRotationMatrix2D(centre, 0, factor)
    m[0, 2] += 320 - centre[0]
    m[1, 2] += 240 - centre[1]
    h, w = frame.shape[:2]
    return cv2.warpAffine(frame, m, (w, h), borderMode=cv2.BORDER_REPLICATE)
