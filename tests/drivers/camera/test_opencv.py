"""The OpenCV driver: sources it refuses, and recovery when the camera is unplugged and
plugged back (a fake VideoCapture stands in for the USB device)."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from drivers.camera.base import CameraState, ReconnectPolicy, redact
from drivers.camera.opencv import OpenCvCamera
from drivers.errors import DeviceError, DeviceErrorKind, DeviceRetry, DeviceUnavailable

QUICK = ReconnectPolicy(stall_s=0.3, initial_backoff_s=0.02, max_backoff_s=0.05, budget_s=0.6)


class FakeUsbCamera:
    """A device that can be unplugged and plugged back: while unplugged, open captures fail
    to open and open ones fail to read (what V4L2 does after a USB disconnect)."""

    def __init__(self):
        self.plugged = True
        self.opened = 0
        self.lock = threading.Lock()
        self.count = 0

    def factory(self, source):
        self.opened += 1
        return _FakeCapture(self)


class _FakeCapture:
    def __init__(self, dev):
        self.dev = dev
        self.alive = dev.plugged

    def isOpened(self):
        return self.alive

    def read(self):
        time.sleep(0.005)
        if not (self.alive and self.dev.plugged):
            self.alive = False
            return False, None
        with self.dev.lock:
            self.dev.count += 1
            n = self.dev.count
        return True, np.full((48, 64, 3), n % 256, np.uint8)

    def set(self, prop, value):
        return True

    def get(self, prop):
        return 0.0

    def getBackendName(self):
        return "FAKE"

    def release(self):
        self.alive = False


def wait_for(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return False


def test_unplugged_and_plugged_back_recovers_without_reopen():
    dev = FakeUsbCamera()
    states = []
    cam = OpenCvCamera(
        0, capture_factory=dev.factory, reconnect=QUICK, on_health=lambda h: states.append(h.state)
    )
    with cam:
        assert cam.info.backend == "FAKE" and cam.info.resolution == (64, 48)
        cam.read(timeout=1)
        dev.plugged = False
        assert wait_for(lambda: cam.health().state is CameraState.RECONNECTING)
        with pytest.raises(DeviceRetry):
            cam.read(timeout=0.1)
        dev.plugged = True
        assert wait_for(lambda: cam.health().ok)
        assert cam.read(timeout=1).image.size
        assert cam.health().reconnects == 1
    assert dev.opened >= 2
    assert CameraState.RECONNECTING in states and states[-1] is CameraState.CLOSED


def test_gone_for_longer_than_the_budget_is_a_device_error_and_still_recovers():
    dev = FakeUsbCamera()
    with OpenCvCamera(0, capture_factory=dev.factory, reconnect=QUICK) as cam:
        cam.read(timeout=1)
        dev.plugged = False
        assert wait_for(lambda: cam.health().state is CameraState.FAILED)
        with pytest.raises(DeviceError) as err:
            cam.read(timeout=0.1)
        assert err.value.kind is DeviceErrorKind.UNPLUGGED
        dev.plugged = True  # a technician re-seats the cable: no restart needed
        assert wait_for(lambda: cam.health().ok)
        cam.read(timeout=1)


def test_missing_sources_are_unavailable(tmp_path):
    with pytest.raises(DeviceUnavailable):
        OpenCvCamera(tmp_path / "none.avi").open()
    junk = tmp_path / "junk.avi"
    junk.write_bytes(b"not a video at all")
    with pytest.raises(DeviceUnavailable):
        OpenCvCamera(junk, open_timeout_s=0.5).open()
    dev = FakeUsbCamera()
    dev.plugged = False
    with pytest.raises(DeviceUnavailable):
        OpenCvCamera(0, capture_factory=dev.factory).open()


def test_a_device_index_that_is_not_there(tmp_path):
    with pytest.raises(DeviceUnavailable):
        OpenCvCamera(97, open_timeout_s=0.5).open()


def test_url_credentials_never_reach_health_or_info():
    assert redact("rtsp://admin:secret@10.0.0.5/stream") == "rtsp://***@10.0.0.5/stream"
    cam = OpenCvCamera("rtsp://admin:secret@cam.invalid/stream")
    assert "secret" not in str(cam.health())
