"""The camera contract (drivers/camera/base.py), run against every driver in conftest."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from drivers.camera.base import CAMERA_NO_FRAME, CameraHealth, CameraInfo, CameraState, Frame
from drivers.errors import DeviceRetry, DeviceUnavailable


def test_open_reports_what_it_delivers(make_camera):
    cam = make_camera()
    info = cam.open()
    assert isinstance(info, CameraInfo) and cam.info == info
    frame = cam.read(timeout=2)
    assert isinstance(frame, Frame)
    assert frame.image.dtype == np.uint8 and frame.image.ndim == 3 and frame.image.shape[2] == 3
    assert frame.size == info.resolution
    assert frame.image.flags["C_CONTIGUOUS"]


def test_used_before_open_or_after_close_is_unavailable(make_camera):
    cam = make_camera()
    with pytest.raises(DeviceUnavailable):
        cam.read(timeout=0.1)
    with pytest.raises(DeviceUnavailable):
        _ = cam.info
    assert cam.health().state is CameraState.CLOSED and not cam.health().ok
    cam.open()
    cam.close()
    cam.close()  # idempotent
    with pytest.raises(DeviceUnavailable):
        cam.read(timeout=0.1)
    assert cam.health().state is CameraState.CLOSED


def test_frames_are_new_each_time(make_camera):
    cam = make_camera()
    with cam:
        frames = [cam.read(timeout=2) for _ in range(6)]
    seqs = [f.seq for f in frames]
    assert seqs == sorted(set(seqs)), seqs
    stamps = [f.timestamp for f in frames]
    assert stamps == sorted(stamps)


def test_frames_are_paced_at_the_target_rate(make_camera):
    cam = make_camera(fps=20.0)
    with cam:
        start = cam.clock()
        got = []
        for frame in cam.frames(timeout=2):
            got.append(frame)
            if len(got) == 11:
                break
        elapsed = cam.clock() - start
    # 10 periods of 1/20 s after the first frame; generous upper bound for a loaded machine
    assert 0.4 <= elapsed <= 1.5, elapsed


def test_health_while_streaming(make_camera):
    seen: list[CameraHealth] = []
    cam = make_camera(on_health=seen.append)
    with cam:
        for _ in range(3):
            cam.read(timeout=2)
        health = cam.health()
        assert health.ok and health.state is CameraState.STREAMING
        assert health.message_key == "camera_ok"
        assert health.frames >= 3 and health.last_frame_age_s is not None
    assert seen and seen[0].state is CameraState.STREAMING
    assert seen[-1].state is CameraState.CLOSED


def test_reopen_after_close(make_camera):
    cam = make_camera()
    with cam:
        cam.read(timeout=2)
    with cam:
        assert cam.read(timeout=2).image.size


def test_close_from_another_thread_ends_frames(make_camera):
    cam = make_camera(fps=10.0)
    cam.open()
    got = []

    def consume():
        for frame in cam.frames(timeout=2):
            got.append(frame.seq)

    worker = threading.Thread(target=consume)
    worker.start()
    deadline = time.monotonic() + 5
    while not got and time.monotonic() < deadline:
        time.sleep(0.01)
    cam.close()
    worker.join(timeout=3)
    assert not worker.is_alive() and got


def test_no_frame_in_time_is_a_retry_not_an_error(make_camera):
    """A read with a tiny timeout either gets a frame or raises the retry kind."""
    cam = make_camera()
    with cam:
        cam.read(timeout=2)
        try:
            cam.read(timeout=0.0)
        except DeviceRetry as exc:
            assert exc.reason == CAMERA_NO_FRAME
