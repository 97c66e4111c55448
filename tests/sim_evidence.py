"""Simulated evidence as a demo kiosk would submit it (kiosk/devices/sim_resident.py), sealed
by the kiosk's own sealer (kiosk/evidence.py)."""

from __future__ import annotations

import numpy as np

from kiosk.api import contract as c
from kiosk.devices import sim_resident
from kiosk.evidence import Sealer, key_from_api

_SEALERS: dict[int, Sealer] = {}


def face(
    persona_key: str, noise: float, *, seed: int = 1, live: bool = True, faces_seen: int = 1
) -> c.EvidenceRequest:
    return sim_resident.face_evidence(
        persona_key, noise, np.random.default_rng(seed), live=live, faces_seen=faces_seen
    )


def finger(persona_key: str, position: int, noise: float, *, seed: int = 1) -> c.EvidenceRequest:
    return sim_resident.finger_evidence(persona_key, position, noise, np.random.default_rng(seed))


def sealer(client) -> Sealer:
    if id(client) not in _SEALERS:
        _SEALERS[id(client)] = Sealer(client.kiosk_id, client._key, key_from_api(client))
    return _SEALERS[id(client)]


def seal(client, session: c.SessionInfo, capture: c.EvidenceRequest) -> c.SealedEvidence:
    return sealer(client).seal(capture, session.session_id, session.server_nonce)


def submit(
    client, session: c.SessionInfo, capture: c.EvidenceRequest, idempotency_key: str | None = None
) -> c.Decision:
    return client.submit_evidence(
        session.session_id, seal(client, session, capture), idempotency_key=idempotency_key
    )
