"""The liveness session's rules, on synthetic observations (no pictures): challenges count
only after their prompt and in order, each has its own deadline, one face throughout, the
same face throughout, and the passive check decides too. The trace maps onto the contract."""

from __future__ import annotations

import dataclasses
import math
import random

import numpy as np
import pytest

from biometrics.face.geometry import Box
from biometrics.face.liveness import (
    KINDS,
    LivenessConfig,
    LivenessSession,
    Observation,
    draw_challenges,
    head_pose,
)
from biometrics.face.liveness.pad import FrameCues
from biometrics.face.liveness.regions import Regions
from tests.biometrics.face.liveness_scenes import landmarks_of

FPS = 15.0
ME = np.eye(128)[0]
SOMEONE_ELSE = np.eye(128)[1]


@pytest.fixture(scope="module")
def face_points(default_face) -> np.ndarray:
    return landmarks_of(default_face)


def _depth(points: np.ndarray) -> np.ndarray:
    from tests.biometrics.face.liveness_scenes import _depth68

    mm = float(np.linalg.norm(points[42:48].mean(0) - points[36:42].mean(0))) / 63.0
    return _depth68() * mm


class Person:
    """Landmarks of a synthetic resident: eyes, mouth and head turn set per frame."""

    def __init__(self, points: np.ndarray):
        self.p = points
        self.z = _depth(points)

    def points(self, eyes=0.0, mouth=0.0, turn=0.0) -> np.ndarray:
        d = self.p.copy()
        for up, lo in ((37, 41), (38, 40), (43, 47), (44, 46)):
            d[up] = d[up] + eyes * 0.9 * (self.p[lo] - self.p[up])
        gap = mouth * 0.45 * float(np.linalg.norm(self.p[54] - self.p[48]))
        for i in (55, 56, 57, 58, 59, 65, 66, 67, 6, 7, 8, 9, 10):
            d[i] = d[i] + [0, gap]
        if turn:
            th = math.radians(turn)
            cx = self.p[27:36].mean(0)[0]
            d[:, 0] = cx + (d[:, 0] - cx) * math.cos(th) + self.z * math.sin(th)
        return d


def observation(i, points, *, faces=1, track=1, who=ME, cues=None, good=True) -> Observation:
    r = Regions(points)
    box = Box(float(points[:, 0].min()), float(points[:, 1].min()), 180.0, 180.0)
    vec = np.asarray(who, dtype=np.float64)
    return Observation(
        index=i,
        t=i / FPS,
        size=(640, 480),
        faces=faces,
        track_id=track,
        box=box,
        regions=r,
        eyes=r.eye_openness(),
        mouth=r.mouth_openness(),
        pose=head_pose(r, (640, 480)),
        quality_ok=good,
        quality_score=0.8 if good else 0.0,
        cues=cues,
        descriptor=lambda: vec,
    )


def no_face(i) -> Observation:
    return Observation(index=i, t=i / FPS, size=(640, 480), faces=0)


def blink():
    return [dict(eyes=e) for e in (0.5, 1.0, 1.0, 0.5)]


def turn(side):
    s = 1 if side == "turn_left" else -1
    return [dict(turn=s * a) for a in (8, 16, 24, 26, 26, 26, 26, 18, 10, 4)]


def mouth():
    return [dict(mouth=m) for m in (0.5, 1.0, 1.0, 1.0, 1.0, 0.5)]


ACT = {"blink": blink, "turn_left": lambda: turn("turn_left"),
       "turn_right": lambda: turn("turn_right"), "open_mouth": mouth}  # fmt: skip


def run(session, person, script, **kw):
    """Feed a script (a list of pose dicts, or callables producing observations) until the
    session ends; returns the result."""
    for i, step in enumerate(script):
        o = step(i) if callable(step) else observation(i, person.points(**step), **kw)
        session.step(o)
        if session.done:
            break
    return session.result()


class Resident:
    """Answers each prompt after a short reaction time, as a live resident would."""

    def __init__(self, person, react_s=0.6, extra=None):
        self.person, self.react, self.extra = person, react_s, extra or {}

    def script(self, session, seconds=40.0):
        pending: list[dict] = []
        answered: set[int] = set()
        current, prompted_at = None, 0.0
        for i in range(int(seconds * FPS)):
            t = i / FPS
            st = session.status(t)
            if st.state == "challenge":
                if current != st.index:
                    current, prompted_at = st.index, t
                ready = t - prompted_at >= self.react
                if st.index not in answered and not pending and ready:
                    answered.add(st.index)
                    pending = ACT[st.challenge]()
            pose = pending.pop(0) if pending else {}
            pose = {**pose, **self.extra.get(i, {})}
            yield observation(i, self.person.points(**pose))


def live(session, person, **kw):
    res = Resident(person, **kw)
    for o in res.script(session):
        session.step(o)
        if session.done:
            break
    return session.result()


# -- the rules ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "seq",
    [("blink", "turn_left"), ("turn_right", "open_mouth"), ("open_mouth", "turn_left"),
     ("turn_left", "turn_right")],
)  # fmt: skip
def test_a_resident_who_answers_each_prompt_passes(face_points, seq):
    person = Person(face_points)
    result = live(LivenessSession(seq), person)
    assert result.passed, result.trace
    t = result.trace
    assert [c["kind"] for c in t["challenges"]] == list(seq)
    for c in t["challenges"]:
        assert c["passed"] and c["responded_at_ms"] > c["prompted_at_ms"]
        assert c["responded_at_ms"] <= c["deadline_ms"]
        assert c["signal"]["value"] is not None
    assert t["faces_seen_max"] == 1
    assert t["same_face_distance"] == pytest.approx(0.0, abs=1e-6)
    assert t["passive"]["flagged"] is False
    # prompts come in order, each after the previous answer
    times = [c["prompted_at_ms"] for c in t["challenges"]]
    assert times == sorted(times)
    assert times[1] >= t["challenges"][0]["responded_at_ms"]


def test_the_trace_maps_onto_the_contract(face_points):
    from kiosk.api import contract as c

    result = live(LivenessSession(("blink", "turn_left")), Person(face_points))
    trace = c.LivenessTrace.model_validate(result.contract())
    assert [ch.kind for ch in trace.challenges] == ["blink", "turn_left"]
    assert all(ch.passed for ch in trace.challenges)
    assert trace.faces_seen_max == 1 and trace.same_face_distance == pytest.approx(0.0)
    failed = run(LivenessSession(("blink", "turn_left")), Person(face_points), [{}] * 200)
    trace = c.LivenessTrace.model_validate(failed.contract(simulated=True))
    assert not any(ch.passed for ch in trace.challenges) and trace.simulated


def test_an_action_before_its_prompt_does_not_count(face_points):
    person = Person(face_points)
    # blinks all through the settle time, then stares
    script = [{}] * 5 + blink() + [{}] * 2 + blink() + [{}] * 150
    result = run(LivenessSession(("blink", "turn_left")), person, script)
    assert not result.passed and result.reason == "challenge_timeout"
    assert result.trace["challenges"][0]["reason"] == "challenge_timeout"


def test_an_action_too_soon_after_the_prompt_is_not_an_answer(face_points):
    person = Person(face_points)
    cfg = LivenessConfig(min_reaction_s=0.5)
    session = LivenessSession(("blink", "turn_left"), cfg)
    res = Resident(person, react_s=0.1)
    for o in res.script(session, seconds=10):
        session.step(o)
        if session.done:
            break
    assert session.result().trace["challenges"][0]["passed"] is False


def test_a_deliberate_action_out_of_order_fails(face_points):
    """A replay cannot know the order: a head turn while a blink is asked for fails."""
    person = Person(face_points)
    script = [{}] * 20 + turn("turn_left") + [{}] * 10 + blink() + [{}] * 100
    wrong = run(LivenessSession(("blink", "turn_left")), person, script)
    assert not wrong.passed and wrong.reason == "wrong_action"
    right = run(LivenessSession(("turn_left", "blink")), person, script)
    assert right.passed, right.trace


def test_blinks_are_never_a_wrong_action(face_points):
    person = Person(face_points)
    extra = {i: dict(eyes=1.0) for i in (30, 31, 60, 61)}  # spontaneous blinks
    result = live(LivenessSession(("turn_left", "open_mouth")), person, extra=extra)
    assert result.passed, result.trace


def test_each_challenge_has_its_own_deadline(face_points):
    person = Person(face_points)
    cfg = LivenessConfig(timeouts={"blink": 2.0, "turn_left": 5.0, "turn_right": 5.0,
                                   "open_mouth": 5.0})  # fmt: skip
    session = LivenessSession(("turn_left", "blink"), cfg)
    live_too_slow = Resident(person, react_s=2.5)  # answers the blink after its deadline
    for o in live_too_slow.script(session, seconds=20):
        session.step(o)
        if session.done:
            break
    t = session.result().trace
    assert t["challenges"][0]["passed"] is True  # 5 s was enough for the turn
    blink_ch = t["challenges"][1]
    assert blink_ch["passed"] is False and blink_ch["reason"] == "challenge_timeout"
    assert blink_ch["deadline_ms"] - blink_ch["prompted_at_ms"] == 2000


def test_a_second_face_at_any_time_fails(face_points):
    person = Person(face_points)
    session = LivenessSession(("blink", "turn_left"))
    res = Resident(person)
    for o in res.script(session):
        if o.index == 40:
            o = dataclasses.replace(o, faces=2)
        session.step(o)
        if session.done:
            break
    r = session.result()
    assert not r.passed and r.reason == "several_faces" and r.trace["faces_seen_max"] == 2


def test_losing_the_face_fails(face_points):
    person = Person(face_points)
    script = [{}] * 20 + [no_face] * 40 + [{}] * 100
    r = run(LivenessSession(("blink", "turn_left")), person, script)
    assert not r.passed and r.reason == "face_lost"


def test_another_face_answering_a_challenge_fails(face_points):
    """Identity swap: the face that answers is not the face that started."""
    person = Person(face_points)
    session = LivenessSession(("blink", "turn_left"))
    for i, step in enumerate([{}] * 20 + blink() + [{}] * 30):
        session.step(observation(i, person.points(**step), who=SOMEONE_ELSE if i >= 20 else ME))
        if session.done:
            break
    r = session.result()
    assert not r.passed and r.reason == "face_changed"
    assert r.trace["same_face_distance"] > LivenessConfig().same_face_max_distance


def test_two_people_taking_turns_while_it_settles_fail(face_points):
    """Photos of two people swapped every few frames: the reference would be a mix."""
    person = Person(face_points)
    session = LivenessSession(("blink", "turn_left"))
    for i in range(60):
        who = ME if (i // 4) % 2 == 0 else SOMEONE_ELSE
        session.step(observation(i, person.points(), who=who))
        if session.done:
            break
    r = session.result()
    assert r.reason == "face_changed"
    assert r.trace["identity_checks"][0]["why"] == "reference_frames"


def test_a_new_face_track_is_checked(face_points):
    person = Person(face_points)
    session = LivenessSession(("blink", "turn_left"))
    for i in range(60):
        other = i >= 30
        o = observation(i, person.points(), track=2 if other else 1,
                        who=SOMEONE_ELSE if other else ME)  # fmt: skip
        session.step(o)
        if session.done:
            break
    r = session.result()
    assert r.reason == "face_changed"
    assert any(c["why"] == "new_track" for c in r.trace["identity_checks"])


def test_a_flagged_passive_check_fails_an_otherwise_perfect_session(face_points):
    person = Person(face_points)
    phone_edges = FrameCues(border=0.8, border_found=True, glare=0.0, moire=2.0)
    session = LivenessSession(("blink", "turn_left"))
    res = Resident(person)
    for o in res.script(session):
        session.step(dataclasses.replace(o, cues=phone_edges))
        if session.done:
            break
    r = session.result()
    assert not r.passed and r.reason == "presentation_attack"
    assert all(c["passed"] for c in r.trace["challenges"])  # the challenges themselves passed
    assert not any(c["passed"] for c in r.contract()["challenges"])  # the back end refuses
    assert r.trace["passive"]["scores"]["border"] == 1.0


def test_a_quiet_face_never_passes_and_never_blocks(face_points):
    r = run(LivenessSession(("blink", "turn_left")), Person(face_points), [{}] * 400)
    assert not r.passed and r.reason == "challenge_timeout"
    assert r.trace["frames"] < 400  # ended at the first deadline


def test_no_face_at_all(face_points):
    r = run(LivenessSession(("blink", "turn_left")), Person(face_points), [no_face] * 300)
    assert not r.passed and r.reason == "no_good_face"


# -- drawing challenges -------------------------------------------------------------------------


def test_challenges_are_random_distinct_and_include_a_turn_by_default():
    rng = random.Random(4)
    seqs = [draw_challenges(rng=rng) for _ in range(400)]
    assert all(len(s) == 2 and len(set(s)) == 2 for s in seqs)
    assert all({"turn_left", "turn_right"} & set(s) for s in seqs)
    assert len(set(seqs)) == 10  # every ordered pair with a turn
    assert draw_challenges() in {*seqs}  # the system's randomness by default


def test_challenges_are_configurable():
    three = {draw_challenges(LivenessConfig(challenges=3), random.Random(i)) for i in range(50)}
    assert all(len(s) == 3 and len(set(s)) == 3 and set(s) <= set(KINDS) for s in three)
    cfg = LivenessConfig(require_turn=False)
    seqs = {draw_challenges(cfg, random.Random(i)) for i in range(200)}
    assert len(seqs) == 12  # every ordered pair
    assert ("blink", "open_mouth") in seqs
    only = LivenessConfig(challenges=1, kinds=("blink",), require_turn=False)
    assert draw_challenges(only) == ("blink",)
    with pytest.raises(ValueError):
        draw_challenges(LivenessConfig(challenges=5))
    with pytest.raises(ValueError):
        LivenessSession(("wink",))


def test_status_prompts_with_message_keys(face_points):
    person = Person(face_points)
    session = LivenessSession(("open_mouth", "turn_right"))
    seen = []
    res = Resident(person)
    for o in res.script(session):
        st = session.step(o)
        seen.append(st.prompt)
        if st.done:
            break
    keys = [k for k in dict.fromkeys(seen) if k]
    assert keys == ["liveness_hold_still", "liveness_open_mouth", "liveness_turn_right"]
