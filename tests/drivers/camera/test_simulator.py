"""The simulator's fault switches and sources."""

from __future__ import annotations

import contextlib

import cv2
import numpy as np
import pytest

from drivers.camera.base import CAMERA_NO_FRAME, CameraState, ReconnectPolicy
from drivers.camera.simulator import SimFaults, SimulatedCamera
from drivers.errors import DeviceError, DeviceErrorKind, DeviceRetry, DeviceUnavailable
from tests.drivers.camera.conftest import scene, write_clip

FAST = ReconnectPolicy(budget_s=3.0)


def cam(**kw) -> SimulatedCamera:
    kw.setdefault("realtime", False)
    return SimulatedCamera(kw.pop("source", scene()), reconnect=FAST, **kw)


def test_missing_camera_is_unavailable_at_open():
    with pytest.raises(DeviceUnavailable):
        cam(faults=SimFaults(missing=True)).open()


def test_no_frames_is_a_retry_then_a_device_error():
    c = cam(faults=SimFaults(no_frames=True))
    with c:
        with pytest.raises(DeviceRetry) as retry:
            c.read(timeout=1)
        assert retry.value.reason == CAMERA_NO_FRAME
        assert c.health().state is CameraState.RECONNECTING
        with pytest.raises(DeviceError) as err:
            for _ in range(10):
                with contextlib.suppress(DeviceRetry):
                    c.read(timeout=1)
        assert err.value.kind is DeviceErrorKind.TIMEOUT
        assert c.health().state is CameraState.FAILED and not c.health().ok


def test_black_frames():
    with cam(faults=SimFaults(black=True)) as c:
        assert not c.read().image.any()


def test_unplug_at_frame_n_then_plugged_back():
    seen = []
    c = cam(faults=SimFaults(unplug_at=5, replug_after_s=2.0), on_health=seen.append)
    with c:
        assert [c.read().seq for _ in range(5)] == [0, 1, 2, 3, 4]
        with pytest.raises(DeviceRetry):
            c.read(timeout=1)
        assert c.health().state is CameraState.RECONNECTING
        frame = c.read(timeout=2)  # back within the wait
        assert frame.seq == 5
        health = c.health()
        assert health.ok and health.reconnects == 1
        c.read()  # and it stays plugged in
    states = [h.state for h in seen]
    assert states[:3] == [CameraState.STREAMING, CameraState.RECONNECTING, CameraState.STREAMING]


def test_unplugged_for_good_fails_as_unplugged():
    with cam(faults=SimFaults(unplug_at=2)) as c:
        c.read(), c.read()
        with pytest.raises(DeviceError) as err:
            while True:
                try:
                    c.read(timeout=1)
                except DeviceRetry:
                    continue
        assert err.value.kind is DeviceErrorKind.UNPLUGGED
        assert c.health().message_key == "camera_failed"


def test_two_faces_puts_the_centre_twice_mirrored():
    with cam(faults=SimFaults(two_faces=True)) as c:
        img = c.read().image
    left, right = img[:, :320], img[:, 320:]
    assert np.array_equal(left, right[:, ::-1])
    assert np.array_equal(left, scene()[:, 160:480])


def test_small_face_shrinks_the_scene_onto_a_wall():
    with cam(faults=SimFaults(small_face=True, small_scale=0.25)) as c:
        img = c.read().image
    assert (img[:100] == 118).all()  # wall above the shrunk scene
    assert img[240, 320].tolist() != [118, 118, 118]


def test_gain_and_blur():
    with cam(faults=SimFaults(gain=0.25, blur=3.0)) as c:
        img = c.read().image
    base = scene()
    assert img.mean() < base.mean() * 0.35
    sharp = cv2.Laplacian(cv2.cvtColor(base, cv2.COLOR_BGR2GRAY), cv2.CV_64F).var()
    soft = cv2.Laplacian(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY), cv2.CV_64F).var()
    assert soft < sharp / 20


def test_a_schedule_scripts_the_faults():
    c = cam(schedule={2: {"black": True}, 4: {"black": False}})
    with c:
        lit = [bool(c.read().image.any()) for _ in range(6)]
    assert lit == [True, True, False, False, True, True]


def test_image_folder_video_file_and_list_sources(tmp_path):
    folder = tmp_path / "pics"
    folder.mkdir()
    a = np.full((100, 100, 3), 10, np.uint8)
    b = np.full((100, 100, 3), 200, np.uint8)
    cv2.imwrite(str(folder / "a.png"), a)
    cv2.imwrite(str(folder / "b.png"), b)
    with cam(source=folder, resolution=(64, 48)) as c:
        means = [int(c.read().image.mean()) for _ in range(4)]
    assert means == [10, 200, 10, 200]
    with cam(source=[a, b], hold=2, resolution=(64, 48)) as c:
        means = [int(c.read().image.mean()) for _ in range(4)]
    assert means == [10, 10, 200, 200]
    clip = write_clip(tmp_path / "clip.avi", frames=5)
    with cam(source=clip) as c:
        frames = [c.read().image for _ in range(7)]
    assert frames[0].shape == (480, 640, 3)
    assert np.abs(frames[5].astype(int) - frames[0]).mean() < 3  # looped to the start


def test_bad_sources_are_unavailable(tmp_path):
    with pytest.raises(DeviceUnavailable):
        cam(source=tmp_path / "nothing.png").open()
    junk = tmp_path / "junk.png"
    junk.write_text("not a picture")
    with pytest.raises(DeviceUnavailable):
        cam(source=junk).open()
    with pytest.raises(DeviceUnavailable):
        cam(source=tmp_path).open()  # empty folder


def test_default_source_is_the_shipped_face():
    pytest.importorskip("skimage", reason="scikit-image ships the default face")
    with SimulatedCamera(realtime=False) as c:
        assert "astronaut" in c.info.source
        assert c.read().image.shape == (480, 640, 3)
