"""The quality gate on constructed bad frames: each gives its coaching key."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from biometrics.face import COACHING_KEYS, FaceAnalyzer, QualityGate
from biometrics.face.geometry import Landmarks
from biometrics.face.quality import blur_effect
from drivers.camera.simulator import SimFaults, SimulatedCamera
from tests.biometrics.face.conftest import shifted, zoomed


def coaching(frame: np.ndarray, frames: int = 4) -> list[str | None]:
    """The coaching key of each of a few analyses of the same frame (tracking included)."""
    analyzer = FaceAnalyzer()
    return [analyzer.process(frame).coaching for _ in range(frames)]


def only(keys: list[str | None]) -> str | None:
    assert len(set(keys)) == 1, keys
    return keys[0]


def test_a_good_frame_passes_with_a_score(default_face):
    a = FaceAnalyzer().process(default_face)
    assert a.quality.ok and a.coaching is None
    assert 0.5 < a.quality.score <= 1
    m = a.quality.measures
    assert 0.25 < m["face_ratio"] < 0.35 and abs(m["yaw_ratio"]) < 0.1
    assert a.landmarks is not None and a.landmarks.model == "68"


def test_keys_are_keys_not_sentences():
    assert all(k.startswith("face_") and " " not in k for k in COACHING_KEYS)
    assert len(COACHING_KEYS) == 10


@pytest.mark.parametrize(
    "faults,key",
    [
        (SimFaults(black=True), "face_none"),
        (SimFaults(two_faces=True), "face_several"),
        (SimFaults(small_face=True, small_scale=0.45), "face_too_far"),
        (SimFaults(gain=0.3), "face_too_dark"),
        (SimFaults(blur=2.5), "face_blurred"),
    ],
    ids=["black", "two_faces", "small", "dark", "blurred"],
)
def test_simulator_faults_give_their_key(default_face, faults, key):
    with SimulatedCamera(default_face, realtime=False, faults=faults) as cam:
        analyzer = FaceAnalyzer()
        keys = [analyzer.process(cam.read().image).coaching for _ in range(4)]
    assert only(keys) == key


def test_off_centre(default_face):
    assert only(coaching(shifted(default_face, 190, 0))) == "face_off_centre"
    assert only(coaching(shifted(default_face, 0, -150))) == "face_off_centre"


def test_too_close(default_face):
    assert only(coaching(zoomed(default_face, 2.1))) == "face_too_close"


def test_backlit(default_face):
    frame = default_face.astype(np.float32)
    mask = np.zeros(frame.shape[:2], np.float32)
    cv2.ellipse(mask, (322, 225), (110, 140), 0, 0, 360, 1.0, -1)
    mask = cv2.GaussianBlur(mask, (0, 0), 15)[..., None]
    # a bright window behind, the face in its shadow
    lit = mask * frame * 0.45 + (1 - mask) * np.clip(frame * 0.3 + 200, 0, 255)
    keys = coaching(lit.astype(np.uint8))
    assert only(keys) == "face_backlit"


def test_not_frontal_by_roll(default_face):
    m = cv2.getRotationMatrix2D((322, 225), -30, 1.0)
    tilted = cv2.warpAffine(default_face, m, (640, 480), borderMode=cv2.BORDER_REPLICATE)
    assert only(coaching(tilted)) == "face_not_frontal"


def test_eyes_closed_from_the_landmarks(default_face):
    """Closed eyes are hard to paint convincingly; give the gate landmarks whose eyelids
    meet and check the key and the measure."""
    a = FaceAnalyzer().process(default_face)
    points = a.landmarks.points.copy()
    for eye in (slice(36, 42), slice(42, 48)):
        pts = points[eye]
        pts[:, 1] = pts[:, 1].mean()  # upper and lower lids on one line
        points[eye] = pts
    closed = Landmarks(points)
    assert closed.eye_aspect_ratio < 0.05
    report = QualityGate().assess(default_face, [(a.primary.box, closed)])
    assert report.keys == ("face_eyes_closed",)
    # with 5 landmarks there is no eye measure and no such check
    report5 = QualityGate().assess(default_face, [(a.primary.box, Landmarks(closed.five()))])
    assert report5.ok and report5.measures["eye_aspect"] is None


def test_the_first_failing_check_is_the_primary_key(default_face):
    with SimulatedCamera(
        default_face, realtime=False, faults=SimFaults(two_faces=True, gain=0.3)
    ) as cam:
        a = FaceAnalyzer().process(cam.read().image)
    assert a.quality.keys[0] == "face_several" and "face_too_dark" in a.quality.keys


def test_blur_effect_orders_blur(default_face):
    gray = cv2.cvtColor(default_face, cv2.COLOR_BGR2GRAY)[150:330, 230:410]
    values = [blur_effect(cv2.GaussianBlur(gray, (0, 0), s) if s else gray) for s in (0, 1, 2, 4)]
    assert values == sorted(values) and values[0] < 0.6 < values[-1]


def test_evaluation_photos_pass_blur_light_and_pose(faces_dir):
    """Every identity photo with a face of a usable size passes the picture-quality checks
    (framing is not checked: these are not kiosk frames)."""
    from biometrics.face import find_faces, models
    from biometrics.face.images import load_image
    from biometrics.face.quality import measure

    gate = QualityGate()
    p68 = models.predictor("68")
    failed = []
    for path in sorted(p for p in faces_dir.glob("*/*") if not p.parent.name.startswith("_")):
        image = load_image(path)
        s = min(1.0, 800 / max(image.shape[:2]))
        small = cv2.resize(image, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
        gray = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
        boxes = find_faces(small)
        if not boxes or boxes[0].w / gray.shape[1] < 0.12:
            continue
        lm = Landmarks.from_dlib(p68(gray, boxes[0].to_dlib()))
        m = measure(gray, boxes[0], lm)
        c = gate.config
        bad = [
            name
            for name, fails in (
                ("blur", m["blur"] > c.max_blur),
                ("dark", m["face_mean"] < c.min_face_mean or m["face_p90"] < c.min_face_p90),
                ("yaw", abs(m["yaw_ratio"]) > c.max_yaw_ratio),
                ("eyes", m["eye_aspect"] < c.min_eye_aspect),
            )
            if fails
        ]
        if bad:
            failed.append((path.name, bad))
    assert not failed
