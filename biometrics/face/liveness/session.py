"""Active liveness: a random sequence of challenges, answered in order, by one live face.

    session = LivenessSession()                 # draws the challenges (default: 2)
    observer = Observer()
    for frame in camera.frames():
        a = analyzer.process(frame.image, frame.timestamp)
        status = session.step(observer.observe(a, frame.image))
        show_and_say(status.prompt)             # a message key, e.g. "liveness_blink"
        if status.done:
            break
    result = session.result()                   # .passed, .reason, .trace (dict)

The session, in the camera's time (frame timestamps; tests run it in virtual time):

1. **settle**: one face for `settle_s`; the identity reference is the mean template
   descriptor of up to `reference_frames` of its frames that pass the quality gate, and the
   detectors learn the person's open-eye, frontal-pose and resting-mouth baselines.
2. **challenge i**: the prompt is issued on a frame (`prompted_at`); the challenge passes
   when its action *starts* at least `min_reaction_s` after the prompt and is confirmed
   before its deadline (`timeouts`). An action started before the prompt does not count, so
   the resident has to do it again. With `fail_on_wrong_action`, a deliberate action of
   another kind (a head turn, a wide-open mouth; never a blink, people blink all the time)
   started after the prompt fails the challenge: a replayed clip cannot know the order.
   Between challenges, the next prompt waits `gap_s` and for the face to come back to its
   neutral pose (at most `neutral_timeout_s`).
3. **finish**: the next good frame after the last answer is the last frame checked.

Throughout: more than `max_faces` faces on any frame fails the session; no face for
`face_lost_s` fails it; the identity is checked (template distance to the reference below
`same_face_max_distance`) on the frame that answered each challenge, on the first good
frame of every new face track, on frames where the face's rigid shape jumps (a photo
swapped for another), and on the last good frame. The passive cues run on every
`pad.every`-th frame and on every head turn; a flagged passive check fails the session.

Failure reasons (`LivenessResult.reason`): challenge_timeout, wrong_action, several_faces,
face_lost, face_changed, presentation_attack, no_good_face, ended (the frames stopped).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

import numpy as np

from biometrics.face.compare import DEFAULT_THRESHOLD
from biometrics.face.liveness.events import (
    BLINK,
    KINDS,
    OPEN_MOUTH,
    TURN_LEFT,
    TURN_RIGHT,
    BlinkConfig,
    BlinkDetector,
    Event,
    MouthConfig,
    MouthDetector,
    TurnConfig,
    TurnDetector,
)
from biometrics.face.liveness.observe import Observation
from biometrics.face.liveness.pad import PadAccumulator, PadConfig, flat_check
from biometrics.face.template import NORM

# The method's version, in every trace: a change to a detector, a cue or a default limit is a
# new version (the back end's policy may depend on it).
VERSION = "1.0"

TURNS = (TURN_LEFT, TURN_RIGHT)
DELIBERATE = (TURN_LEFT, TURN_RIGHT, OPEN_MOUTH)

# Message keys (the UI speaks and shows them; kiosk/flow/context.py maps kinds the same way).
PROMPTS = {k: f"liveness_{k}" for k in KINDS}
SETTLE_KEY = "liveness_hold_still"

# Reason codes of a failed session (stable strings, for logs and the review console).
R_TIMEOUT = "challenge_timeout"
R_WRONG = "wrong_action"
R_FACES = "several_faces"
R_LOST = "face_lost"
R_CHANGED = "face_changed"
R_ATTACK = "presentation_attack"
R_NO_FACE = "no_good_face"
R_ENDED = "ended"  # the frames stopped (a clip ran out) before the challenge's deadline


@dataclass(frozen=True)
class LivenessConfig:
    challenges: int = 2
    kinds: tuple[str, ...] = KINDS
    # At least one head turn in every sequence: the flat-face check needs one, and a printed
    # or on-screen photo cannot fake one. Costs little randomness (10 of 12 ordered pairs).
    require_turn: bool = True
    settle_s: float = 0.8
    # Identity reference and checks only on frames that pass the quality gate. The clip
    # evaluation turns it off: it measures liveness, not the quality gate (a blurred replay
    # that the gate alone would stop still has to fail liveness).
    require_good_frames: bool = True
    settle_timeout_s: float = 15.0
    timeouts: dict[str, float] = field(
        default_factory=lambda: {BLINK: 6.0, TURN_LEFT: 6.0, TURN_RIGHT: 6.0, OPEN_MOUTH: 6.0}
    )
    min_reaction_s: float = 0.15
    gap_s: float = 0.5
    neutral_timeout_s: float = 2.5
    fail_on_wrong_action: bool = True
    max_faces: int = 1
    face_lost_s: float = 1.5
    # Template distance between the reference (the mean of up to `reference_frames` settle
    # frames) and any checked frame: dlib's own 1:1 operating point (compare.py), not fitted
    # here. Single frames of one person vary more than one might think (a grimace, a smile,
    # eyes screwed shut: up to 0.55-0.63 between two frames of one evaluation clip), which
    # is why the reference is a mean and the bound is not tighter; different people sit
    # well above it (the identity-swap attacks of the test suite: 0.7 and more).
    same_face_max_distance: float = DEFAULT_THRESHOLD
    reference_frames: int = 3
    # The reference frames must show one person (photos of two people swapped while the
    # session settles would otherwise make a reference halfway between them). Two single
    # frames differ more than a frame and a mean: within one person the evaluation clips
    # reach 0.63 between two frames (a small blurred face, a grimace); two different people
    # are mostly 0.8 and more (the swap attack of the tests: 0.89).
    reference_max_spread: float = 0.75
    shape_jump: float = 0.06  # rigid-landmark jump (interocular distances) that triggers a check
    identity_check_every_s: float = 1.0  # at most one triggered check per this interval
    blink: BlinkConfig = field(default_factory=BlinkConfig)
    turn: TurnConfig = field(default_factory=TurnConfig)
    mouth: MouthConfig = field(default_factory=MouthConfig)
    pad: PadConfig = field(default_factory=PadConfig)


def draw_challenges(
    config: LivenessConfig | None = None, rng: random.Random | None = None
) -> tuple[str, ...]:
    """A random sequence of distinct challenge kinds (system randomness by default)."""
    c = config or LivenessConfig()
    rng = rng or random.SystemRandom()
    kinds = list(dict.fromkeys(c.kinds))
    if c.challenges > len(kinds):
        raise ValueError(f"{c.challenges} distinct challenges from {len(kinds)} kinds")
    for _ in range(1000):
        seq = tuple(rng.sample(kinds, c.challenges))
        if not c.require_turn or any(k in TURNS for k in seq) or not set(TURNS) & set(kinds):
            return seq
    raise ValueError("no sequence satisfies the configuration")  # pragma: no cover


@dataclass
class ChallengeRecord:
    kind: str
    prompted_at: float
    deadline: float
    responded_at: float | None = None
    passed: bool = False
    reason: str | None = None
    event: Event | None = None

    def to_dict(self, t0: float) -> dict:
        d = {
            "kind": self.kind,
            "prompted_at_ms": _ms(self.prompted_at - t0),
            "responded_at_ms": None if self.responded_at is None else _ms(self.responded_at - t0),
            "passed": self.passed,
            "reason": self.reason,
            "deadline_ms": _ms(self.deadline - t0),
        }
        if self.event is not None:
            e = self.event
            d["signal"] = {
                "started_ms": _ms(e.start - t0),
                "value": round(float(e.value), 4),
                "baseline": None if e.baseline is None else round(float(e.baseline), 4),
                "measure": _MEASURES[e.kind],
            }
        return d


_MEASURES = {
    BLINK: "lowest eye openness / open-eye baseline",
    TURN_LEFT: "yaw change from the frontal baseline, degrees (+ = own left)",
    TURN_RIGHT: "yaw change from the frontal baseline, degrees (+ = own left)",
    OPEN_MOUTH: "mouth aspect ratio at its widest",
}


def _ms(seconds: float) -> int:
    return max(0, round(seconds * 1000))


@dataclass(frozen=True)
class LivenessStatus:
    state: str  # "settle" | "challenge" | "gap" | "finish" | "done"
    prompt: str | None  # message key to show and speak now
    challenge: str | None  # the kind being asked for
    index: int  # challenge number (0-based)
    remaining_s: float | None  # until the current challenge's deadline
    done: bool
    passed: bool | None  # when done


@dataclass(frozen=True)
class LivenessResult:
    passed: bool
    reason: str | None
    trace: dict  # full trace (JSON-ready)

    def contract(self, simulated: bool = False) -> dict:
        """The trace in the shape of kiosk.api.contract.LivenessTrace (plain data: the
        biometrics package does not import the kiosk). The contract has no session-level
        verdict yet, so a session that failed for a reason no challenge carries (a passive
        attack score, a changed face) marks every challenge failed: the back end's rule
        (every challenge passed, one face) then refuses it as it should."""
        ok = self.passed
        return {
            "challenges": [
                {
                    "kind": c["kind"],
                    "prompted_at_ms": c["prompted_at_ms"],
                    "responded_at_ms": c["responded_at_ms"],
                    "passed": bool(c["passed"] and ok),
                }
                for c in self.trace["challenges"]
            ],
            "same_face_distance": self.trace["same_face_distance"],
            "faces_seen_max": self.trace["faces_seen_max"],
            "simulated": simulated,
        }


class LivenessSession:
    """One liveness check. Feed it observations in time order with `step`."""

    def __init__(
        self,
        challenges: tuple[str, ...] | list[str] | None = None,
        config: LivenessConfig | None = None,
        rng: random.Random | None = None,
    ):
        self.config = c = config or LivenessConfig()
        seq = tuple(challenges) if challenges is not None else draw_challenges(c, rng)
        unknown = [k for k in seq if k not in KINDS]
        if unknown or not seq:
            raise ValueError(f"unknown challenge kinds: {unknown or 'none given'}")
        self.sequence = seq
        self.blink = BlinkDetector(c.blink)
        self.turn = TurnDetector(c.turn)
        self.mouth = MouthDetector(c.mouth)
        self.pad = PadAccumulator(c.pad)
        self.records: list[ChallengeRecord] = []
        self.state = "settle"
        self.t0: float | None = None
        self._settle_from: float | None = None
        self._candidates: list[Observation] = []
        self._reference: np.ndarray | None = None
        self._reference_t: float | None = None
        self._distances: list[tuple[float, float, str]] = []  # (t, distance, why)
        self._faces_max = 0
        self._last_face_t: float | None = None
        self._track: int | None = None
        self._check_new_track = False
        self._last_shape: np.ndarray | None = None
        self._last_check_t = -math.inf
        self._gap_from = 0.0
        self._done_reason: str | None = None
        self._passed: bool | None = None
        self._frames = 0
        self._events: list[Event] = []
        self._baselines: dict[str, float | None] = {}

    # -- public -----------------------------------------------------------------------------

    @property
    def done(self) -> bool:
        return self._passed is not None

    def step(self, o: Observation) -> LivenessStatus:
        if self.done:
            return self.status(o.t)
        if self.t0 is None:
            self.t0 = o.t
        self._frames += 1
        self._watch(o)
        if not self.done:
            events = self._detect(o)
            self._advance(o, events)
        return self.status(o.t)

    def status(self, now: float) -> LivenessStatus:
        i = len(self.records) - 1
        cur = self.records[-1] if self.records and self.state == "challenge" else None
        prompt = None
        if self.state == "settle":
            prompt = SETTLE_KEY
        elif cur is not None:
            prompt = PROMPTS[cur.kind]
        return LivenessStatus(
            state="done" if self.done else self.state,
            prompt=None if self.done else prompt,
            challenge=cur.kind if cur else None,
            index=max(0, i),
            remaining_s=None if cur is None else max(0.0, cur.deadline - now),
            done=self.done,
            passed=self._passed,
        )

    def finish(self) -> None:
        """End the session now (the camera stopped): whatever is pending fails."""
        if self.done:
            return
        if self.state == "settle":
            self._fail(R_NO_FACE)
        elif self.state == "challenge":
            # step() fails a challenge at its deadline: one still pending when the frames
            # stop was cut short
            self.records[-1].reason = R_ENDED
            self._fail(R_ENDED)
        else:
            self._conclude()

    def result(self) -> LivenessResult:
        if not self.done:
            self.finish()
        t0 = self.t0 or 0.0
        self.turn.flush()
        self._drain_turns()
        dists = [d for _, d, _ in self._distances]
        trace = {
            "version": VERSION,
            "passed": bool(self._passed),
            "reason": self._done_reason,
            "sequence": list(self.sequence),
            "challenges": [r.to_dict(t0) for r in self.records]
            + [
                {
                    "kind": k,
                    "prompted_at_ms": None,
                    "responded_at_ms": None,
                    "passed": False,
                    "reason": "not_reached",
                }
                for k in self.sequence[len(self.records) :]
            ],
            "same_face_distance": round(max(dists), 4) if dists else None,
            "identity_checks": [
                {"at_ms": _ms(t - t0), "distance": round(d, 4), "why": why}
                for t, d, why in self._distances
            ],
            "faces_seen_max": self._faces_max,
            "passive": self.pad.to_dict(),
            "baselines": {k: _round(v) for k, v in self._baselines.items()},
            "frames": self._frames,
            "config": {
                "same_face_max_distance": self.config.same_face_max_distance,
                "turn_deg": self.config.turn.turn_deg,
                "blink_close_ratio": self.config.blink.close_ratio,
                "mouth_open_ratio": self.config.mouth.open_ratio,
            },
        }
        # The contract's not_reached challenges carry no prompt time: report them at 0 ms.
        for ch in trace["challenges"]:
            if ch["prompted_at_ms"] is None:
                ch["prompted_at_ms"] = 0
        return LivenessResult(bool(self._passed), self._done_reason, trace)

    # -- every frame ------------------------------------------------------------------------

    def _watch(self, o: Observation) -> None:
        c = self.config
        self._faces_max = max(self._faces_max, o.faces)
        self.pad.add(o.cues)
        if o.faces > c.max_faces:
            self._fail(R_FACES)
            return
        if not o.face:
            gone = self._last_face_t is not None and o.t - self._last_face_t > c.face_lost_s
            if gone and self.state != "settle":
                self._fail(R_LOST)
            return
        self._last_face_t = o.t
        if self._track is not None and o.track_id != self._track:
            self._check_new_track = True
        self._track = o.track_id
        if self._reference is None:
            return
        shape = _rigid_shape(o)
        jumped = (
            shape is not None
            and self._last_shape is not None
            and float(np.sqrt(((shape - self._last_shape) ** 2).sum(axis=1).mean())) > c.shape_jump
        )
        self._last_shape = shape
        if (self._check_new_track and self._usable(o)) or (
            jumped and o.t - self._last_check_t >= c.identity_check_every_s
        ):
            self._check_new_track = False
            self._identity(o, "new_track" if not jumped else "shape_jump")

    def _identity(self, o: Observation, why: str) -> None:
        if self._reference is None or o.descriptor is None:
            return
        self._last_check_t = o.t
        # on dlib's scale, like compare()
        d = float(np.linalg.norm(_unit(o.descriptor()) - self._reference)) * NORM
        self._distances.append((o.t, d, why))
        if d > self.config.same_face_max_distance:
            self._fail(R_CHANGED)

    def _detect(self, o: Observation) -> list[Event]:
        events = []
        for det in (self.blink, self.turn, self.mouth):
            e = det.update(o)
            if e is not None:
                events.append(e)
        self._drain_turns()
        self._events += events
        return events

    def _drain_turns(self) -> None:
        while self.turn.finished:
            t = self.turn.finished.pop(0)
            self.pad.add_turn(flat_check(t))

    # -- the sequence ----------------------------------------------------------------------------

    def _advance(self, o: Observation, events: list[Event]) -> None:
        c = self.config
        if self.state == "settle":
            if not (o.face and o.faces == 1):
                self._settle_from, self._candidates = None, []
                if o.t - (o.t if self.t0 is None else self.t0) > c.settle_timeout_s:
                    self._fail(R_NO_FACE)
                return
            if self._settle_from is None:
                self._settle_from = o.t
            if self._usable(o) and o.descriptor is not None:
                self._candidates = [*self._candidates[-39:], o]
            ready = (
                o.t - self._settle_from >= c.settle_s
                and self.blink.baseline is not None
                and bool(self._candidates)
            )
            if ready:
                self._set_reference()
                if self.done:
                    return
                self._last_shape = _rigid_shape(o)
                self._track = o.track_id
                self._check_new_track = False
                self._snapshot_baselines()
                self._prompt(o.t)
            elif o.t - (o.t if self.t0 is None else self.t0) > c.settle_timeout_s:
                self._fail(R_NO_FACE)
            return
        if self.state == "gap":
            ready = o.t - self._gap_from >= c.gap_s and self._neutral(o)
            if ready or o.t - self._gap_from >= c.neutral_timeout_s:
                self._prompt(o.t)
            return
        if self.state == "challenge":
            cur = self.records[-1]
            for e in events:
                if e.start < cur.prompted_at + c.min_reaction_s:
                    continue  # started before the prompt (or too soon to be an answer)
                if e.kind == cur.kind:
                    cur.responded_at, cur.passed, cur.event = e.t, True, e
                    if e.observation is not None:
                        self._identity(e.observation, f"answer_{e.kind}")
                    if self.done:
                        return
                    if len(self.records) == len(self.sequence):
                        self.state = "finish"
                    else:
                        self.state, self._gap_from = "gap", o.t
                    return
                if c.fail_on_wrong_action and e.kind in DELIBERATE:
                    cur.reason, cur.event, cur.responded_at = R_WRONG, e, e.t
                    self._fail(R_WRONG)
                    return
            if o.t > cur.deadline:
                cur.reason = R_TIMEOUT
                self._fail(R_TIMEOUT)
            return
        if self.state == "finish":
            if o.faces == 1 and self._usable(o):
                self._identity(o, "last_frame")
                if not self.done:
                    self._conclude()
            elif o.t - self.records[-1].responded_at > c.neutral_timeout_s:
                self._conclude()

    def _set_reference(self) -> None:
        """The mean descriptor of the best settle frames, spread over the settle time."""
        cands = self._candidates
        k = max(1, self.config.reference_frames)
        ranked = sorted(cands, key=lambda o: (o.quality_ok, o.quality_score), reverse=True)
        pool = [o for o in ranked if o.quality_ok == ranked[0].quality_ok]
        pool.sort(key=lambda o: o.t)
        picks = [pool[round(i * (len(pool) - 1) / max(1, k - 1))] for i in range(min(k, len(pool)))]
        picks = list({id(o): o for o in picks}.values())
        vectors = [_unit(o.descriptor()) for o in picks]
        self._reference = _unit(np.sum(vectors, axis=0))
        self._reference_t = picks[0].t
        self._candidates = []
        # the reference frames must show one person (photos swapped while settling)
        spread = max(
            (float(np.linalg.norm(a - b)) * NORM for i, a in enumerate(vectors)
             for b in vectors[i + 1 :]),
            default=0.0,
        )  # fmt: skip
        if len(vectors) > 1:
            self._distances.append((picks[-1].t, spread, "reference_frames"))
            if spread > self.config.reference_max_spread:
                self._fail(R_CHANGED)

    def _usable(self, o: Observation) -> bool:
        """A frame good enough for an identity check."""
        return o.face and (o.quality_ok or not self.config.require_good_frames)

    def _neutral(self, o: Observation) -> bool:
        if not o.face or o.pose is None:
            return False
        turned = abs(self.turn.signed(o.pose.yaw)) >= self.config.turn.turn_deg / 2
        mouth = o.mouth is not None and o.mouth >= self.config.mouth.open_ratio / 2
        return not turned and not mouth

    def _prompt(self, t: float) -> None:
        kind = self.sequence[len(self.records)]
        self.records.append(ChallengeRecord(kind, t, t + self.config.timeouts.get(kind, 6.0)))
        self.state = "challenge"

    def _snapshot_baselines(self) -> None:
        self._baselines = {
            "eye_openness": self.blink.baseline,
            "yaw_deg": self.turn.baseline,
            "mouth": self.mouth.baseline,
        }

    def _conclude(self) -> None:
        self.turn.flush()
        self._drain_turns()
        if self.pad.flagged():
            self._fail(R_ATTACK)
            return
        if not all(r.passed for r in self.records) or len(self.records) < len(self.sequence):
            self._fail(R_TIMEOUT)
            return
        self._passed = True
        self.state = "done"

    def _fail(self, reason: str) -> None:
        if self._passed is None:
            self._passed = False
            self._done_reason = reason
            self.state = "done"


def _round(v: float | None) -> float | None:
    return None if v is None else round(float(v), 4)


def _unit(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, dtype=np.float64)
    n = float(np.linalg.norm(v))
    return v / n if n > 0 else v


_RIGID = ("eye_l_outer", "eye_l_inner", "eye_r_inner", "eye_r_outer", "nose_root", "nose_base")


def _rigid_shape(o: Observation) -> np.ndarray | None:
    """The rigid landmarks in a face-centred frame: eye midpoint at 0, eye line along x,
    interocular distance 1 (a similarity-normalised shape)."""
    r = o.regions
    if r is None or not r.has(*_RIGID):
        return None
    pts = r.stack(_RIGID)
    a, b = r.eye_centres()
    d = b - a
    iod = float(np.linalg.norm(d)) or 1.0
    cos, sin = d / iod
    rel = pts - (a + b) / 2
    along = rel[:, 0] * cos + rel[:, 1] * sin
    across = -rel[:, 0] * sin + rel[:, 1] * cos
    return np.stack([along, across], 1) / iod
