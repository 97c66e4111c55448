"""Streaming detectors of the challenge actions: blink, head turn, mouth opening.

Each detector eats `Observation`s in time order and returns an `Event` on the frame that
confirms an action. Every detector judges a person against their own recent neutral state,
not against population constants, wherever a person's anatomy varies:

- **blink**: eye aspect ratio (EAR) against the person's open-eye baseline (a high
  percentile of the last seconds' EAR while not blinking). Eyes count as closed below
  `close_ratio` x baseline and the blink ends when they are back above `reopen_ratio` x
  baseline within `max_closed_s`. Narrow, hooded or smiling eyes have a low baseline; the
  ratios still hold. On ten hand-labelled clips (tests/biometrics/face/blink_labels.json)
  blinks bottom out at 0.16-0.52 of the baseline and open eyes rarely dip below 0.6.
  A head turn or nod lowers the EAR too, so a "blink" during which the pose changed by more
  than `max_pose_change_deg` is not one.
- **turn**: solvePnP yaw against the person's frontal baseline (median yaw of recent
  near-frontal frames); a turn is a change of at least `turn_deg` held for `min_frames`.
- **mouth**: mouth aspect ratio (inner-lip gap over mouth width, a shape ratio that does not
  depend on the person's size) of at least `open_ratio`, and at least half of it above the
  person's recent resting value, held for `min_frames`. Talking rarely exceeds 0.5; a mouth
  opened on request reads 0.6-0.9 in the evaluation clips.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from biometrics.face.liveness.observe import Observation
from biometrics.face.liveness.regions import Regions

BLINK, TURN_LEFT, TURN_RIGHT, OPEN_MOUTH = "blink", "turn_left", "turn_right", "open_mouth"
KINDS = (BLINK, TURN_LEFT, TURN_RIGHT, OPEN_MOUTH)


@dataclass(frozen=True, eq=False)
class Event:
    kind: str
    start: float  # first frame past the detector's limit (seconds)
    t: float  # the frame that confirmed it (the response time)
    value: float  # blink: lowest openness / baseline; turn: yaw change (deg); mouth: ratio
    baseline: float | None
    index: int  # observation index of the confirming frame
    observation: Observation | None = field(default=None, repr=False)

    def to_dict(self) -> dict:
        return {
            "kind": self.kind,
            "t": round(self.t, 3),
            "start": round(self.start, 3),
            "value": round(float(self.value), 4),
            "baseline": None if self.baseline is None else round(float(self.baseline), 4),
        }


@dataclass(frozen=True)
class BlinkConfig:
    baseline_window_s: float = 2.0
    baseline_percentile: float = 80.0
    min_baseline_frames: int = 5
    close_ratio: float = 0.6
    reopen_ratio: float = 0.75
    max_closed_s: float = 2.0
    max_pose_change_deg: float = 10.0
    max_gap_s: float = 0.5  # a face missing this long during a closure cancels it


@dataclass(frozen=True)
class TurnConfig:
    turn_deg: float = 15.0
    min_frames: int = 2
    baseline_window_s: float = 3.0
    # A head has inertia: a quick turn is 100-200 degrees per second, so at 15 fps it shows
    # a few frames in between. A yaw that jumps faster than this between two frames (a
    # photo swapped for a turned one, a cut in a replayed clip) does not make a turn.
    max_speed_deg_s: float = 400.0
    mirrored: bool = False  # True when the camera's picture is mirrored (left <-> right)


@dataclass(frozen=True)
class MouthConfig:
    open_ratio: float = 0.5
    min_frames: int = 2
    baseline_window_s: float = 2.0


class BlinkDetector:
    def __init__(self, config: BlinkConfig | None = None):
        self.c = config or BlinkConfig()
        self._open: deque[tuple[float, float]] = deque()
        self._closed_at: float | None = None
        self._lowest = 1.0
        self._pose0 = None
        self._base = None
        self._last_t = None
        self._dead = False  # closure too long / turned: wait for the eyes to reopen

    @property
    def baseline(self) -> float | None:
        return self._base

    def update(self, o: Observation) -> Event | None:
        c = self.c
        ear = o.ear
        if ear is None:
            gap = o.t - self._last_t if self._last_t is not None else 0.0
            if self._closed_at is not None and gap > c.max_gap_s:
                self._closed_at, self._dead = None, False
            return None
        self._last_t = o.t
        base = self._baseline(o.t)
        if base is None or base <= 0:
            self._open.append((o.t, ear))
            return None
        ratio = ear / base
        if self._closed_at is None:
            if ratio < c.close_ratio:
                self._closed_at, self._lowest, self._pose0 = o.t, ratio, o.pose
                self._dead = False
                return None
            if ratio >= c.reopen_ratio:
                self._open.append((o.t, ear))
            return None
        # eyes closed
        self._lowest = min(self._lowest, ratio)
        if self._turned(o):
            self._dead = True
        if o.t - self._closed_at > c.max_closed_s:
            self._dead = True
        if ratio < c.reopen_ratio:
            return None
        start, dead = self._closed_at, self._dead
        self._closed_at, self._dead = None, False
        self._open.append((o.t, ear))
        if dead:
            return None
        return Event(BLINK, start, o.t, self._lowest, base, o.index, o)

    def _turned(self, o: Observation) -> bool:
        p0, p = self._pose0, o.pose
        if p0 is None or p is None:
            return False
        return (
            abs(p.yaw - p0.yaw) > self.c.max_pose_change_deg
            or abs(p.pitch - p0.pitch) > self.c.max_pose_change_deg
        )

    def _baseline(self, t: float) -> float | None:
        if self._closed_at is not None:
            return self._base  # frozen during a closure
        while self._open and self._open[0][0] < t - self.c.baseline_window_s:
            self._open.popleft()
        if len(self._open) < self.c.min_baseline_frames:
            return self._base
        values = np.fromiter((e for _, e in self._open), dtype=np.float64)
        self._base = float(np.percentile(values, self.c.baseline_percentile))
        return self._base


@dataclass(frozen=True, eq=False)
class Turn:
    """A finished head turn: the frontal frame before it and the frames turned past the
    limit, for the flat-face check."""

    kind: str
    reference: Regions
    reference_yaw: float
    frames: tuple[Observation, ...]

    @property
    def peak(self) -> Observation:
        return max(self.frames, key=lambda o: abs(o.pose.yaw - self.reference_yaw))

    @property
    def yaw_change(self) -> float:
        return self.peak.pose.yaw - self.reference_yaw


class TurnDetector:
    def __init__(self, config: TurnConfig | None = None):
        self.c = config or TurnConfig()
        self._neutral: deque[tuple[float, float]] = deque()
        self._base: float | None = None
        self._reference: tuple[Regions, float] | None = None
        self._run = 0
        self._side = 0
        self._start = 0.0
        self._fired = False
        self._frames: list[Observation] = []
        self._prev: tuple[float, float] | None = None
        self._jumped = False
        self.finished: list[Turn] = []  # turns that fired and ended (drained by the caller)

    @property
    def baseline(self) -> float | None:
        return self._base

    def signed(self, yaw: float) -> float:
        """Yaw change to the resident's own left (+) or right (-)."""
        d = yaw - (self._base or 0.0)
        return -d if self.c.mirrored else d

    def update(self, o: Observation) -> Event | None:
        c = self.c
        if o.pose is None:
            self._end_run()
            self._prev = None
            return None
        yaw = o.pose.yaw
        if self._base is None:
            self._base = yaw
        prev = self._prev
        if (
            prev is not None
            and o.t > prev[0]
            and abs(yaw - prev[1]) / (o.t - prev[0]) > (c.max_speed_deg_s)
        ):
            self._jumped = True
        self._prev = (o.t, yaw)
        d = self.signed(yaw)
        if abs(d) < c.turn_deg / 3:
            self._jumped = False  # back to frontal: the next turn starts clean
            self._neutral.append((o.t, yaw))
            while self._neutral and self._neutral[0][0] < o.t - c.baseline_window_s:
                self._neutral.popleft()
            self._base = float(np.median([y for _, y in self._neutral]))
            if o.regions is not None:
                self._reference = (o.regions, yaw)
        side = 1 if d >= c.turn_deg else -1 if d <= -c.turn_deg else 0
        if side == 0:
            if abs(d) < c.turn_deg / 2:
                self._end_run()
            return None
        if side != self._side:
            self._end_run()
            self._side, self._start = side, o.t
        self._run += 1
        if o.regions is not None and len(self._frames) < 60:
            self._frames.append(o)
        if self._fired or self._run < c.min_frames or self._jumped:
            return None
        self._fired = True
        kind = TURN_LEFT if side > 0 else TURN_RIGHT
        return Event(kind, self._start, o.t, d, self._base, o.index, o)

    def flush(self) -> None:
        """End the current turn (at the end of a session)."""
        self._end_run()

    def _end_run(self) -> None:
        if self._fired and self._frames and self._reference is not None:
            kind = TURN_LEFT if self._side > 0 else TURN_RIGHT
            ref, ref_yaw = self._reference
            self.finished.append(Turn(kind, ref, ref_yaw, tuple(self._frames)))
        self._run, self._side, self._fired, self._frames = 0, 0, False, []


class MouthDetector:
    def __init__(self, config: MouthConfig | None = None):
        self.c = config or MouthConfig()
        self._rest: deque[tuple[float, float]] = deque()
        self._run = 0
        self._start = 0.0
        self._fired = False
        self._peak = 0.0

    @property
    def baseline(self) -> float | None:
        return float(np.median([m for _, m in self._rest])) if self._rest else None

    def update(self, o: Observation) -> Event | None:
        c = self.c
        m = o.mouth
        if m is None:
            return None
        base = self.baseline or 0.0
        if m >= c.open_ratio and m - base >= c.open_ratio / 2:
            if self._run == 0:
                self._start, self._peak, self._fired = o.t, m, False
            self._run += 1
            self._peak = max(self._peak, m)
            if not self._fired and self._run >= c.min_frames:
                self._fired = True
                return Event(OPEN_MOUTH, self._start, o.t, self._peak, base, o.index, o)
            return None
        if m < 0.6 * c.open_ratio:
            self._run, self._fired = 0, False
        if m < c.open_ratio / 2:
            self._rest.append((o.t, m))
            while self._rest and self._rest[0][0] < o.t - c.baseline_window_s:
                self._rest.popleft()
        return None


@dataclass
class Detectors:
    """The three detectors run side by side over one stream of observations."""

    blink: BlinkDetector = field(default_factory=BlinkDetector)
    turn: TurnDetector = field(default_factory=TurnDetector)
    mouth: MouthDetector = field(default_factory=MouthDetector)

    def update(self, o: Observation) -> list[Event]:
        events = []
        for det in (self.blink, self.turn, self.mouth):
            e = det.update(o)
            if e is not None:
                events.append(e)
        return events


def find_events(observations, detectors: Detectors | None = None) -> list[Event]:
    """Every action in a sequence of observations (the `kiosk bio liveness` listing)."""
    detectors = detectors or Detectors()
    out: list[Event] = []
    for o in observations:
        out += detectors.update(o)
    return out
