"""Simulated evidence as a demo kiosk would submit it (kiosk/devices/sim_resident.py)."""

from __future__ import annotations

import numpy as np

from kiosk.api import contract as c
from kiosk.devices import sim_resident


def face(
    persona_key: str, noise: float, *, seed: int = 1, live: bool = True, faces_seen: int = 1
) -> c.EvidenceRequest:
    return sim_resident.face_evidence(
        persona_key, noise, np.random.default_rng(seed), live=live, faces_seen=faces_seen
    )


def finger(persona_key: str, position: int, noise: float, *, seed: int = 1) -> c.EvidenceRequest:
    return sim_resident.finger_evidence(persona_key, position, noise, np.random.default_rng(seed))
