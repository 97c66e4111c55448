"""Detection on a downscaled frame, tracking between detections, per-frame landmarks."""

from __future__ import annotations

import numpy as np

from biometrics.face import DetectorConfig, FaceAnalyzer, FaceDetector
from drivers.camera.simulator import SimulatedCamera
from tests.biometrics.face.conftest import shifted


def test_detection_works_on_the_downscaled_frame(default_face):
    import cv2

    gray = cv2.cvtColor(default_face, cv2.COLOR_BGR2GRAY)
    boxes = FaceDetector(detect_width=426).detect(gray)
    assert len(boxes) == 1
    b = boxes[0]
    assert 150 < b.w < 210 and abs(b.cx - 320) < 30  # in full-frame pixels


def test_a_moving_face_is_tracked_between_detections(default_face):
    frames = [shifted(default_face, dx, dx // 3) for dx in range(-60, 61, 4)]
    analyzer = FaceAnalyzer(DetectorConfig(redetect_every=3))
    results = [analyzer.process(f, i / 15) for i, f in enumerate(frames)]
    assert all(len(r.faces) == 1 for r in results)
    assert len({r.primary.track_id for r in results}) == 1  # one face, one track
    tracked = [r for r in results if not r.primary.detected]
    assert len(tracked) >= len(results) // 2  # most frames need no detection
    assert analyzer.tracker.detections_run <= len(results) // 3 + 1
    # the tracked box follows the face: its centre moves with the shift
    for dx, r in zip(range(-60, 61, 4), results, strict=True):
        assert abs(r.primary.box.cx - (320 + dx)) < 20, (dx, r.primary.box)
        nose = r.landmarks.nose
        assert abs(nose[0] - (318 + dx)) < 12


def test_landmarks_are_there_for_every_frame_for_liveness(default_face):
    analyzer = FaceAnalyzer()
    for i in range(5):
        a = analyzer.process(default_face, i / 15)
        lm = a.landmarks
        assert lm.points.shape == (68, 2)
        assert 0.2 < lm.eye_aspect_ratio < 0.45
        assert lm.mouth_aspect_ratio is not None
        assert a.timestamp == i / 15


def test_five_point_mode(default_face):
    a = FaceAnalyzer(DetectorConfig(landmarks="5")).process(default_face)
    assert a.landmarks.points.shape == (5, 2) and a.quality.ok
    assert a.quality.measures["eye_aspect"] is None


def test_a_second_face_is_seen_at_the_next_detection(default_face):
    with SimulatedCamera(default_face, realtime=False, schedule={4: {"two_faces": True}}) as cam:
        analyzer = FaceAnalyzer(DetectorConfig(redetect_every=3))
        keys = [analyzer.process(cam.read().image).coaching for _ in range(10)]
    assert keys[:4] == [None] * 4
    first = keys.index("face_several")
    assert 4 <= first <= 4 + 3 and set(keys[first:]) == {"face_several"}


def test_a_face_that_leaves_ends_its_track(default_face):
    analyzer = FaceAnalyzer(DetectorConfig(redetect_every=2, miss_grace=1))
    for _ in range(3):
        analyzer.process(default_face)
    blank = np.full_like(default_face, 118)
    keys = [analyzer.process(blank).coaching for _ in range(8)]
    assert keys[-1] == "face_none"
