"""Cameras under the contract: the simulator (virtual and real time), the OpenCV driver on
a recorded video file, and a real camera with `-m hardware` (KIOSK_TEST_CAMERA=0, a path or
a URL)."""

from __future__ import annotations

import os

import cv2
import numpy as np
import pytest

from drivers.camera.opencv import OpenCvCamera
from drivers.camera.simulator import SimulatedCamera
from drivers.camera.sources import SourceMissing, cover, default_face


def scene(size=(640, 480)) -> np.ndarray:
    """The default face if scikit-image is installed, else a synthetic test card."""
    try:
        src = default_face()
        return cover(src.image, size, src.crop)
    except SourceMissing:
        w, h = size
        card = np.zeros((h, w, 3), np.uint8)
        card[:, :, 0] = np.linspace(0, 255, w, dtype=np.uint8)[None, :]
        card[:, :, 1] = np.linspace(0, 255, h, dtype=np.uint8)[:, None]
        return card


def write_clip(path, frames=20, size=(320, 240), fps=20.0) -> str:
    """A short MJPG clip: the scene drifting sideways, each frame numbered in a corner."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, size)
    assert writer.isOpened()
    base = scene(size)
    for i in range(frames):
        img = np.roll(base, 2 * i, axis=1).copy()
        cv2.putText(img, str(i), (5, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 2)
        writer.write(img)
    writer.release()
    return str(path)


DRIVERS = [
    "simulator",
    "simulator-realtime",
    "opencv-file",
    pytest.param("hardware", marks=pytest.mark.hardware),
]


@pytest.fixture(params=DRIVERS)
def make_camera(request, tmp_path):
    """A factory of unopened cameras of one kind (the contract runs against each)."""
    kind = request.param
    made = []

    def factory(**kw):
        if kind == "simulator":
            cam = SimulatedCamera(scene(), realtime=False, **kw)
        elif kind == "simulator-realtime":
            cam = SimulatedCamera(scene(), realtime=True, fps=kw.pop("fps", 30.0), **kw)
        elif kind == "opencv-file":
            clip = tmp_path / "clip.avi"
            if not clip.exists():
                write_clip(clip)
            cam = OpenCvCamera(str(clip), fps=kw.pop("fps", 30.0), **kw)
        else:
            source = os.environ.get("KIOSK_TEST_CAMERA")
            if not source:
                pytest.skip("set KIOSK_TEST_CAMERA to a device index, path or URL")
            cam = OpenCvCamera(source, **kw)
        made.append(cam)
        return cam

    factory.kind = kind
    yield factory
    for cam in made:
        cam.close()
