"""The attack suite: presentation attacks built from still photos, shown to the liveness
check through the camera simulator in virtual time. Every attack must fail.

- a static photo;
- a photo moved, rotated, scaled and turned in front of the camera (also a careful attacker
  who turns it exactly as the two turn challenges ask);
- a photo shown on a phone (a screen-like border, with and without reflections and the
  screen's pixel grid), even one replaying a clip that performs the challenges;
- two photos of different people alternating (identity swap);
- a replayed clip that performs actions in an order the session did not ask for.

Beside them, controls: the same synthetic performance answering the prompts passes, so the
checks reject attacks for what they are, not everything. The photos: the simulator's default
face (scikit-image's public-domain astronaut, always there) and, for the identity swap, two
identities from ../shared/data/faces (skipped with a reason when absent).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from biometrics.face import FaceAnalyzer
from biometrics.face.liveness import LivenessConfig, LivenessSession, Observer
from drivers.camera.simulator import SimulatedCamera
from tests.biometrics.face.liveness_scenes import Performer, kiosk_frame, phone, plane_view

FPS = 15.0


def present(frames, challenges, *, config=None, max_s=30.0):
    """Show `frames` (looping, 15 fps, virtual time) to a fresh liveness session."""
    config = config or LivenessConfig()
    analyzer = FaceAnalyzer()
    observer = Observer(pad=config.pad)
    session = LivenessSession(challenges, config)
    with SimulatedCamera(list(frames), realtime=False, fps=FPS) as cam:
        for frame in cam.frames():
            a = analyzer.process(frame.image, frame.timestamp)
            session.step(observer.observe(a, frame.image))
            if session.done or frame.timestamp > max_s:
                break
    return session.result()


def answer_prompts(performer, challenges, *, config=None, react_s=0.7, max_s=30.0):
    """A resident who watches the prompts and performs each one (fed frame by frame in
    virtual time: a recorded source cannot react, so this one bypasses the simulator)."""
    config = config or LivenessConfig()
    analyzer, observer = FaceAnalyzer(), Observer(pad=config.pad)
    session = LivenessSession(challenges, config)
    pending: list[np.ndarray] = []
    answered, current, since = set(), None, 0.0
    for i in range(int(max_s * FPS)):
        t = i / FPS
        st = session.status(t)
        if st.state == "challenge":
            if current != st.index:
                current, since = st.index, t
            if st.index not in answered and not pending and t - since >= react_s:
                answered.add(st.index)
                pending = performer.act(st.challenge)
        image = pending.pop(0) if pending else performer.pose()
        session.step(observer.observe(analyzer.process(image, t), image))
        if session.done:
            break
    return session.result()


def ramp(a, b, n):
    return list(np.linspace(a, b, n))


@pytest.fixture(scope="module")
def performer(default_face) -> Performer:
    return Performer(default_face)


@pytest.fixture(scope="module")
def recorded_clip(performer):
    """A clip of the performer turning to their left, then blinking (15 fps)."""
    p = performer
    return p.neutral(1.5) + p.act("turn_left") + p.neutral(1.0) + p.act("blink") + p.neutral(2.5)


# -- controls ------------------------------------------------------------------------------------


# (the synthetic face turns convincingly to its left only: warped further to its right, the
# landmark model loses it; live turns both ways are in test_liveness_session.py)
@pytest.mark.parametrize("seq", [("turn_left", "blink"), ("open_mouth", "turn_left")])
def test_control_a_face_that_answers_the_prompts_passes(performer, seq):
    r = answer_prompts(performer, seq)
    assert r.passed, r.trace
    assert r.trace["passive"]["attack_score"] < 0.5
    assert r.trace["same_face_distance"] < LivenessConfig().same_face_max_distance


# -- the attacks ---------------------------------------------------------------------------


@pytest.mark.parametrize("seq", [("blink", "turn_left"), ("turn_right", "open_mouth")])
def test_a_static_photo_fails(default_face, seq):
    r = present([default_face], seq)
    assert not r.passed
    assert r.reason == "challenge_timeout"
    assert not any(c["passed"] for c in r.trace["challenges"])


def _handheld(photo, seconds=16.0):
    """A photo waved about: shifted, rolled, scaled, turned and tilted (perspective)."""
    frames = []
    for k in range(int(seconds * FPS)):
        s = k / FPS
        frames.append(
            plane_view(
                photo,
                yaw=50 * math.sin(1.3 * s),
                pitch=10 * math.sin(0.7 * s),
                roll=12 * math.sin(0.9 * s),
                scale=1 + 0.15 * math.sin(0.5 * s),
                shift=(30 * math.sin(s), 15 * math.cos(1.1 * s)),
            )
        )
    return frames


@pytest.mark.parametrize("seq", [("turn_left", "blink"), ("open_mouth", "turn_right")])
def test_a_photo_moved_rotated_and_scaled_fails(default_face, seq):
    r = present(_handheld(default_face), seq)
    assert not r.passed, r.trace


def _two_turns(photo, angle, view=plane_view):
    """A careful attacker: holds the photo still, turns it one way as far as it takes to
    read as a head turn, back, then the other way, back."""
    yaws = ([0] * 22 + ramp(0, angle, 9) + [angle] * 8 + ramp(angle, 0, 9) + [0] * 15
            + ramp(0, -angle, 9) + [-angle] * 8 + ramp(-angle, 0, 9) + [0] * 30)  # fmt: skip
    return [view(photo, yaw=y) for y in yaws]


@pytest.mark.parametrize("seq", [("turn_left", "turn_right"), ("turn_right", "turn_left")])
def test_a_photo_turned_for_both_turn_challenges_fails(default_face, seq):
    r = present(_two_turns(default_face, 50), seq)
    assert not r.passed, r.trace
    if all(c["passed"] for c in r.trace["challenges"]):
        # the turns fooled the challenge detectors: the flat-face check must catch them
        assert r.reason == "presentation_attack"
        assert r.trace["passive"]["scores"]["flat"] >= 0.5


def test_a_photo_on_a_phone_fails(default_face):
    frames = [
        phone(default_face, shift=(6 * math.sin(k / 7), 4 * math.cos(k / 5))) for k in range(60)
    ]
    r = present(frames, ("blink", "turn_left"))
    assert not r.passed
    assert r.trace["passive"]["scores"]["border"] >= 0.5  # the phone's edges are seen


def test_a_phone_with_reflections_and_a_pixel_grid_is_seen(default_face):
    frames = [
        phone(default_face, shift=(5 * math.sin(k / 7), 0.0), glare=True, pixels=True)
        for k in range(30)
    ]
    r = present(frames, ("blink", "turn_left"), max_s=4.0)
    assert not r.passed
    scores = r.trace["passive"]["scores"]
    assert scores["glare"] >= 0.5 and scores["moire"] >= 0.5, scores


def test_a_phone_replaying_a_clip_in_the_right_order_fails(recorded_clip):
    """The strongest replay: a clip that happens to answer in the asked order, shown on a
    phone. The challenges pass; the phone's border gives it away."""
    frames = [
        phone(f, shift=(4 * math.sin(k / 7), 3 * math.cos(k / 5)))
        for k, f in enumerate(recorded_clip)
    ]
    r = present(frames, ("turn_left", "blink"))
    assert not r.passed
    assert r.reason == "presentation_attack"
    assert all(c["passed"] for c in r.trace["challenges"])
    assert r.trace["passive"]["scores"]["border"] >= 0.5


def test_a_phone_turned_for_both_turn_challenges_fails(default_face):
    frames = _two_turns(default_face, 45, view=phone)
    for seq in (("turn_left", "turn_right"), ("turn_right", "turn_left")):
        r = present(frames, seq)
        assert not r.passed, r.trace


@pytest.mark.parametrize(
    "seq", [("blink", "turn_left"), ("open_mouth", "turn_left"), ("turn_right", "blink")]
)
def test_a_replayed_clip_answering_the_wrong_order_fails(recorded_clip, seq):
    r = present(recorded_clip, seq)
    assert not r.passed
    assert r.reason in ("wrong_action", "challenge_timeout")


def test_control_the_replayed_clip_in_its_own_order_passes(recorded_clip):
    """The clip is a convincing performance: fed straight into the camera in the order it
    was recorded, it passes. What defeats a replay is the random order (10 orders with a
    turn: the clip's own comes up 1 time in 10, and the clip must also start at the right
    moment) and, shown on a screen, the passive check. A clip injected behind the camera
    in the right order is beyond what liveness can see: that needs a trusted camera."""
    r = present(recorded_clip, ("turn_left", "blink"))
    assert r.passed, r.trace


# -- identity swap (two people: evaluation photos) -------------------------------------------------


@pytest.fixture(scope="module")
def two_people(faces_dir):
    import cv2

    picks = []
    for name, photo in (("obama", "obama.jpg"), ("biden", "biden.jpg")):
        path = faces_dir / name / photo
        if not path.is_file():
            pytest.skip(f"evaluation photo {path} not found")
        picks.append(kiosk_frame(cv2.imread(str(path))))
    return picks


def test_two_photos_alternating_fail(two_people):
    a, b = two_people
    frames = ([a] * 6 + [b] * 6) * 20
    for seq in (("blink", "turn_left"), ("turn_right", "open_mouth")):
        r = present(frames, seq)
        assert not r.passed, r.trace
        assert r.reason == "face_changed"


def test_another_person_answering_the_challenges_fails(two_people):
    """Photo A holds still while the session learns who it is; then B performs the
    challenges (the swap happens between prompts, where an attacker would do it)."""
    a, b = two_people
    pa, pb = Performer(a), Performer(b)
    clip = pa.neutral(1.4) + pb.neutral(0.3) + pb.act("turn_left") + pb.neutral(1.0)
    clip += pb.act("blink") + pb.neutral(2.0)
    r = present(clip, ("turn_left", "blink"))
    assert not r.passed
    assert r.reason == "face_changed"
    assert r.trace["same_face_distance"] > LivenessConfig().same_face_max_distance
