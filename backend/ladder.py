"""The fallback ladder as server policy: face -> fingerprint -> manual review -> appointment.

Pure functions over plain values: the API module feeds them the session's counters and the
comparison's result and stores what they return.
"""

from __future__ import annotations

from dataclasses import dataclass

from backend.settings import BackendSettings
from kiosk.api.contract import Modality, Outcome, Purpose, ReasonCode, SessionState


@dataclass(frozen=True)
class Rungs:
    face_enrolled: bool
    fingers_enrolled: bool
    face_used: int
    finger_used: int


def attempts_left(r: Rungs, s: BackendSettings) -> tuple[int, int]:
    face = s.face_attempts - r.face_used if r.face_enrolled else 0
    finger = s.finger_attempts - r.finger_used if r.fingers_enrolled else 0
    return max(face, 0), max(finger, 0)


def next_modality(r: Rungs, s: BackendSettings) -> Modality | None:
    face, finger = attempts_left(r, s)
    if face:
        return Modality.FACE
    if finger:
        return Modality.FINGERPRINT
    return None


def allowed_modalities(r: Rungs, s: BackendSettings) -> list[Modality]:
    """Face first; fingerprint once face is used up or not enrolled (the resident may also
    be moved to fingerprint by a decision)."""
    nxt = next_modality(r, s)
    return [nxt] if nxt else []


def exhausted(purpose: Purpose) -> tuple[Outcome, SessionState]:
    """Every rung used. A certification goes to staff review; an enquiry cannot wait for
    staff, so the resident is asked to book an appointment."""
    if purpose is Purpose.CERTIFICATION:
        return Outcome.MANUAL_REVIEW, SessionState.MANUAL_REVIEW
    return Outcome.APPOINTMENT, SessionState.APPOINTMENT


def decide(
    purpose: Purpose,
    modality: Modality,
    matched: bool,
    borderline: bool,
    liveness_ok: bool,
    after: Rungs,
    s: BackendSettings,
) -> tuple[Outcome, ReasonCode, SessionState]:
    """`after` counts this attempt as used."""
    if not liveness_ok:
        reason = ReasonCode.LIVENESS_FAILED
    elif matched:
        return Outcome.APPROVED, ReasonCode.MATCH, SessionState.PASSED
    elif borderline and purpose is Purpose.CERTIFICATION:
        return Outcome.MANUAL_REVIEW, ReasonCode.BORDERLINE, SessionState.MANUAL_REVIEW
    else:
        reason = ReasonCode.BORDERLINE if borderline else ReasonCode.NO_MATCH
    nxt = next_modality(after, s)
    if nxt is modality:
        return Outcome.RETRY, reason, SessionState.OPEN
    if nxt is not None:
        return Outcome.NEXT_MODALITY, reason, SessionState.OPEN
    outcome, state = exhausted(purpose)
    return outcome, ReasonCode.ATTEMPTS_EXHAUSTED, state
