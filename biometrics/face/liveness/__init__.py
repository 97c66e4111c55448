"""Liveness: active challenges (blink, head turns, mouth) answered in order by one live face,
and a passive presentation-attack check from classical cues. See session.py for the
sequence, events.py for the detectors, pad.py for the passive cues, regions.py for the one
place that knows a landmark model's numbering, evaluation.py for clips and schedules."""

from biometrics.face.liveness.events import (
    BLINK,
    KINDS,
    OPEN_MOUTH,
    TURN_LEFT,
    TURN_RIGHT,
    BlinkConfig,
    Detectors,
    Event,
    MouthConfig,
    TurnConfig,
    find_events,
)
from biometrics.face.liveness.observe import Observation, Observer
from biometrics.face.liveness.pad import PadAccumulator, PadConfig
from biometrics.face.liveness.regions import Regions
from biometrics.face.liveness.session import (
    PROMPTS,
    LivenessConfig,
    LivenessResult,
    LivenessSession,
    LivenessStatus,
    draw_challenges,
)
from biometrics.face.liveness.signals import HeadPose, head_pose

__all__ = [
    "BLINK",
    "KINDS",
    "OPEN_MOUTH",
    "PROMPTS",
    "TURN_LEFT",
    "TURN_RIGHT",
    "BlinkConfig",
    "Detectors",
    "Event",
    "HeadPose",
    "LivenessConfig",
    "LivenessResult",
    "LivenessSession",
    "LivenessStatus",
    "MouthConfig",
    "Observation",
    "Observer",
    "PadAccumulator",
    "PadConfig",
    "Regions",
    "TurnConfig",
    "draw_challenges",
    "find_events",
    "head_pose",
]
