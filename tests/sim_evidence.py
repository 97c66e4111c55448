"""Simulated evidence as a demo kiosk would submit it (biometrics/simulated.py)."""

from __future__ import annotations

import base64
import datetime as dt

import numpy as np

from biometrics import simulated
from kiosk.api import contract as c


def face(
    persona_key: str, noise: float, *, seed: int = 1, live: bool = True, faces_seen: int = 1
) -> c.EvidenceRequest:
    rng = np.random.default_rng(seed)
    return c.EvidenceRequest(
        modality=c.Modality.FACE,
        captured_at=dt.datetime.now(dt.UTC),
        simulated=True,
        template=c.TemplateIn(
            extractor=simulated.FACE_EXTRACTOR,
            extractor_version=simulated.VERSION,
            vector=simulated.face_vector(persona_key, noise, rng),
        ),
        quality=0.9,
        liveness=c.LivenessTrace(
            challenges=[
                c.LivenessChallenge(
                    kind="blink", prompted_at_ms=0, responded_at_ms=900, passed=live
                ),
                c.LivenessChallenge(
                    kind="turn_left", prompted_at_ms=1000, responded_at_ms=2100, passed=True
                ),
            ],
            same_face_distance=0.12,
            faces_seen_max=faces_seen,
            simulated=True,
        ),
    )


def finger(persona_key: str, position: int, noise: float, *, seed: int = 1) -> c.EvidenceRequest:
    rng = np.random.default_rng(seed)
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
