"""A simulated resident in front of simulated devices: who they are and how each attempt
goes. Their captures are simulated templates (biometrics/simulated.py), marked simulated in
the evidence, which only demo kiosks may submit.

The script is a list of noise values, one per attempt: 0.2 is a clear match, 0.5 a borderline
one, 0.9 someone else. When the list runs out the last value repeats.
"""

from __future__ import annotations

import base64
import datetime as dt
import threading
from dataclasses import dataclass, field

import numpy as np

from biometrics import simulated
from kiosk.api import contract as c
from kiosk.flow.context import CHALLENGE_PROMPTS
from kiosk.flow.ports import CaptureRetryError, Progress

MATCH, BORDERLINE, STRANGER = 0.2, 0.5, 0.9


@dataclass
class ResidentScript:
    persona_key: str
    face: list[float] = field(default_factory=lambda: [MATCH])
    finger: list[float] = field(default_factory=lambda: [MATCH])
    live: bool = True
    coaching: list[str] = field(default_factory=list)  # retry keys before the first capture
    seed: int = 0


def face_evidence(
    persona_key: str,
    noise: float,
    rng: np.random.Generator,
    challenges=("blink", "turn_left"),
    live: bool = True,
    faces_seen: int = 1,
) -> c.EvidenceRequest:
    vector = simulated.face_vector(persona_key, noise, rng)
    trace = c.LivenessTrace(
        challenges=[
            c.LivenessChallenge(
                kind=k,
                prompted_at_ms=1500 * i,
                responded_at_ms=1500 * i + 900,
                passed=live or i > 0,
            )
            for i, k in enumerate(challenges)
        ],
        same_face_distance=0.1,
        faces_seen_max=faces_seen,
        simulated=True,
    )
    return c.EvidenceRequest(
        modality=c.Modality.FACE,
        captured_at=dt.datetime.now(dt.UTC),
        simulated=True,
        template=c.TemplateIn(
            extractor=simulated.FACE_EXTRACTOR, extractor_version=simulated.VERSION, vector=vector
        ),
        quality=0.9,
        liveness=trace,
    )


def finger_evidence(
    persona_key: str, position: int, noise: float, rng: np.random.Generator
) -> c.EvidenceRequest:
    data = simulated.finger_template(persona_key, position, noise, rng)
    return c.EvidenceRequest(
        modality=c.Modality.FINGERPRINT,
        captured_at=dt.datetime.now(dt.UTC),
        simulated=True,
        template=c.TemplateIn(
            extractor=simulated.FINGER_EXTRACTOR,
            extractor_version=simulated.VERSION,
            data_b64=base64.b64encode(data).decode(),
        ),
        finger_position=position,
        quality=0.8,
    )


class SimulatedResident:
    """Plays a script; `face` and `finger` are the flow's capture ports."""

    def __init__(self, script: ResidentScript):
        self.script = script
        self.rng = np.random.default_rng(script.seed)
        self._lock = threading.Lock()
        self.face_attempts = 0
        self.finger_attempts = 0
        self._coaching = list(script.coaching)
        self.face = _Port(self._capture_face)
        self.finger = _Port(self._capture_finger)

    def _next(self, values: list[float], n: int) -> float:
        return values[min(n, len(values) - 1)]

    def _capture_face(
        self, server_nonce, challenges, cancel: threading.Event, progress: Progress
    ) -> c.EvidenceRequest:
        with self._lock:
            if self._coaching:
                raise CaptureRetryError(self._coaching.pop(0))
            noise = self._next(self.script.face, self.face_attempts)
            self.face_attempts += 1
        for i, kind in enumerate(challenges):
            progress(CHALLENGE_PROMPTS[kind], (i + 1) / len(challenges))
        return face_evidence(self.script.persona_key, noise, self.rng, challenges, self.script.live)

    def _capture_finger(
        self, server_nonce, position, cancel: threading.Event, progress: Progress
    ) -> c.EvidenceRequest:
        with self._lock:
            noise = self._next(self.script.finger, self.finger_attempts)
            self.finger_attempts += 1
        progress("finger_uploading", 1.0)
        return finger_evidence(self.script.persona_key, position, noise, self.rng)


class _Port:
    def __init__(self, fn):
        self._fn = fn

    def capture(self, *args):
        return self._fn(*args)
