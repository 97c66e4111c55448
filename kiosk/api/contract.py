"""The kiosk API contract: the one definition of every request and response body.

The reference back end serves these models (FastAPI turns them into the OpenAPI document
committed at docs/api/openapi.json) and the kiosk's client parses responses into them, so
the two sides cannot drift apart. Nothing here imports kivy, requests or the back end.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

API_PREFIX = "/api/v1"
API_VERSION = "1.0.0"

PROBLEM_CONTENT_TYPE = "application/problem+json"

# Headers of the transport signature (see kiosk/api/signing.py).
H_KIOSK_ID = "X-Kiosk-Id"
H_TIMESTAMP = "X-Kiosk-Timestamp"
H_NONCE = "X-Kiosk-Nonce"
H_SIGNATURE = "X-Kiosk-Signature"
H_SERVER_TIME = "X-Server-Time"
H_IDEMPOTENCY_KEY = "Idempotency-Key"
H_DEFERRED = "X-Kiosk-Deferred"  # "1": sent from the outbox, the resident has left


class _Model(BaseModel):
    # Unknown fields are an error (a typo must not pass silently; both sides share this file,
    # so a field the other side does not know is drift).
    model_config = ConfigDict(extra="forbid", frozen=True)


# Request values are taken as the JSON Schema says, not as pydantic's lax mode would coerce
# them: `false` is not an integer, `"7"` is not a number, `0` is not a date. (The server
# validates parsed JSON in Python mode, where dates arrive as strings, so strictness is set
# per type rather than for whole models.)
def _iso_text(value):
    if isinstance(value, (str, dt.date)):
        return value
    raise ValueError("expected an ISO 8601 string")


SInt = Annotated[int, Field(strict=True)]
SFloat = Annotated[float, Field(strict=True)]
SBool = Annotated[bool, Field(strict=True)]
Timestamp = Annotated[dt.datetime, BeforeValidator(_iso_text)]
Day = Annotated[dt.date, BeforeValidator(_iso_text)]


class ProblemCode(enum.StrEnum):
    """Stable error codes carried in problem+json bodies. The kiosk maps them to message keys."""

    UNAUTHENTICATED = "unauthenticated"
    UNKNOWN_DEVICE = "unknown_device"
    DEVICE_REVOKED = "device_revoked"
    BAD_SIGNATURE = "bad_signature"
    STALE_TIMESTAMP = "stale_timestamp"
    REPLAYED_NONCE = "replayed_nonce"
    VALIDATION_FAILED = "validation_failed"
    NOT_FOUND = "not_found"
    RATE_LIMITED = "rate_limited"
    SESSION_EXPIRED = "session_expired"
    SESSION_CLOSED = "session_closed"
    BIOMETRIC_CHECK_REQUIRED = "biometric_check_required"
    SIMULATED_EVIDENCE_FORBIDDEN = "simulated_evidence_forbidden"
    MODALITY_NOT_ALLOWED = "modality_not_allowed"
    FINGER_NOT_ENROLLED = "finger_not_enrolled"
    NO_ATTEMPTS_LEFT = "no_attempts_left"
    IDEMPOTENCY_KEY_REQUIRED = "idempotency_key_required"
    IDEMPOTENCY_CONFLICT = "idempotency_conflict"
    TEMPLATE_MISMATCH = "template_mismatch"
    EVIDENCE_INVALID = "evidence_invalid"
    EVIDENCE_EXPIRED = "evidence_expired"
    EVIDENCE_REPLAYED = "evidence_replayed"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    INTERNAL_ERROR = "internal_error"


class Problem(BaseModel):
    """RFC 9457 problem details, with a stable `code`."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(description="URI naming the problem type: urn:jiangmen-kiosk:problem:<code>")
    title: str
    status: int
    code: ProblemCode
    detail: str | None = None
    server_time: float | None = Field(
        default=None, description="Server clock (Unix seconds) for clock-offset correction"
    )
    retry_after_s: int | None = None


# ---------------------------------------------------------------------------- identity


class DocumentType(enum.StrEnum):
    HKID = "hkid"  # Hong Kong identity card
    MACAU_ID = "macau_id"  # Macau resident identity card (BIR)
    PRC_ID = "prc_id"  # PRC resident ID, incl. HK/Macau residents' residence permit (810000/820000)
    HOME_RETURN_PERMIT = "home_return_permit"  # Mainland travel permit for HK and Macau residents


DocumentNumber = Annotated[str, StringConstraints(min_length=1, max_length=32)]


class IdentifyRequest(_Model):
    document_type: DocumentType
    document_number: DocumentNumber = Field(
        description="As printed, normalised by the kiosk: upper case, no spaces; check digit "
        "in brackets for HKID and Macau ID, e.g. A123456(3), 1234567(8)"
    )
    date_of_birth: Day


class IdentifyResponse(_Model):
    subject_token: str = Field(description="Opaque, short-lived; names the pensioner to this kiosk")
    masked_name_zh: str = Field(description="e.g. 陳*明")
    masked_name_en: str = Field(description="e.g. CHAN T** M***")
    expires_at: dt.datetime


# ---------------------------------------------------------------------------- sessions


class Purpose(enum.StrEnum):
    ENQUIRY = "enquiry"  # pension query: biometric check, no certification recorded
    CERTIFICATION = "certification"  # annual entitlement verification (proof of life)


class Modality(enum.StrEnum):
    FACE = "face"
    FINGERPRINT = "fingerprint"


class SessionState(enum.StrEnum):
    OPEN = "open"  # waiting for evidence
    PASSED = "passed"  # biometric check passed
    MANUAL_REVIEW = "manual_review"  # staff will decide
    APPOINTMENT = "appointment"  # every rung used: the resident is asked to book an appointment
    EXPIRED = "expired"


class StartSessionRequest(_Model):
    subject_token: str = Field(min_length=1, max_length=128)
    purpose: Purpose


class AttemptsLeft(_Model):
    face: int = Field(ge=0)
    fingerprint: int = Field(ge=0)


class SessionInfo(_Model):
    session_id: str
    purpose: Purpose
    state: SessionState
    server_nonce: str = Field(description="Binds evidence to this session (base64url, 32 bytes)")
    expires_at: dt.datetime
    next_modality: Modality | None = Field(
        description="The rung of the ladder the kiosk should capture next; null when none"
    )
    allowed_modalities: list[Modality]
    attempts_left: AttemptsLeft
    enrolled_fingers: list[int] = Field(
        description="ISO/IEC 19794-2 finger positions with an enrolled reference (1..10)"
    )


# ---------------------------------------------------------------------------- evidence

Vector128 = Annotated[list[SFloat], Field(min_length=128, max_length=128)]


class TemplateIn(_Model):
    extractor: str = Field(
        min_length=1, max_length=64, description="e.g. dlib-resnet-128 or sim-face"
    )
    extractor_version: str = Field(min_length=1, max_length=32)
    vector: Vector128 | None = Field(default=None, description="Face templates")
    data_b64: str | None = Field(
        default=None, max_length=200_000, description="Fingerprint templates (record bytes)"
    )


LivenessReason = Annotated[str, StringConstraints(pattern=r"^[a-z_]{1,32}$")]


class LivenessChallenge(_Model):
    """One challenge of the active liveness check. Times are milliseconds from the first
    frame the check analysed. The fields after `passed` came later: optional, so older
    kiosks and simulated evidence still validate."""

    kind: Literal["blink", "turn_left", "turn_right", "open_mouth"]
    prompted_at_ms: SInt = Field(ge=0)
    responded_at_ms: SInt | None = Field(default=None, ge=0)
    passed: SBool
    reason: LivenessReason | None = Field(
        default=None,
        description="Why it failed: challenge_timeout, wrong_action, ended, not_reached ... "
        "(null when it passed)",
    )
    started_at_ms: SInt | None = Field(
        default=None, ge=0, description="When the answering action started"
    )
    deadline_ms: SInt | None = Field(default=None, ge=0, description="The challenge's deadline")
    measure: str | None = Field(
        default=None, max_length=100, description="What `value` and `baseline` measure"
    )
    value: SFloat | None = Field(
        default=None, description="The action's measured value (e.g. yaw change, degrees)"
    )
    baseline: SFloat | None = Field(
        default=None, description="The person's own neutral value it was judged against"
    )


class LivenessTrace(_Model):
    challenges: list[LivenessChallenge] = Field(max_length=8)
    same_face_distance: SFloat | None = Field(default=None, ge=0)
    faces_seen_max: SInt = Field(ge=0, le=16)
    simulated: SBool = False
    # Optional (added with the live face pipeline): the session's verdict, the passive
    # presentation-attack check and the method, for the server's policy and staff review.
    passed: SBool | None = Field(
        default=None, description="The kiosk's verdict on the active challenges"
    )
    reason: LivenessReason | None = Field(
        default=None, description="Why the check failed (null when it passed)"
    )
    duration_ms: SInt | None = Field(
        default=None, ge=0, description="From the first to the last frame the check analysed"
    )
    frames: SInt | None = Field(default=None, ge=0, description="Frames the check analysed")
    attack_score: SFloat | None = Field(
        default=None,
        ge=0,
        le=1,
        description="Passive presentation-attack score, 0..1 (the largest cue score); the "
        "server's policy holds the limit",
    )
    attack_cues: dict[Annotated[str, StringConstraints(max_length=32)], SFloat] | None = Field(
        default=None, max_length=8, description="Each passive cue's score, 0..1"
    )
    method_version: str | None = Field(
        default=None, max_length=32, description="Version of the liveness method"
    )


# 96 KB of JPEG as base64: a face crop at 480 px, quality 85, is about 25-45 KB.
BEST_FRAME_MAX_B64 = 131_072


class EvidenceRequest(_Model):
    modality: Modality
    captured_at: Timestamp
    simulated: SBool = Field(
        description="Produced by a simulated device. Only kiosks registered as demo kiosks "
        "may submit it."
    )
    template: TemplateIn
    finger_position: SInt | None = Field(default=None, ge=1, le=10)
    quality: SFloat | None = Field(default=None, ge=0, le=1)
    liveness: LivenessTrace | None = None
    best_frame_jpeg_b64: str | None = Field(
        default=None,
        max_length=BEST_FRAME_MAX_B64,
        pattern=r"^[A-Za-z0-9+/]*={0,2}$",
        description="The best face frame as a JPEG (the face with a margin, at most 480 px "
        "wide), for staff review of an undecided case; kept by the back end only until its "
        "retention job purges it",
    )
    finger_image_png_b64: str | None = Field(
        default=None,
        max_length=BEST_FRAME_MAX_B64,
        pattern=r"^[A-Za-z0-9+/]*={0,2}$",
        description="The fingerprint image as a greyscale PNG, for staff review of an "
        "undecided case; purged with the best frame",
    )


_UUID = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
_B64 = r"^[A-Za-z0-9+/]*={0,2}$"


class EvidencePayload(_Model):
    """What the device key signs: the capture bound to one session of one kiosk."""

    evidence_id: str = Field(pattern=_UUID, description="Unique per capture; accepted once")
    kiosk_id: str = Field(max_length=64)
    session_id: str = Field(pattern=_UUID)
    server_nonce: str = Field(max_length=64, description="The session's nonce, from the server")
    sealed_at: Timestamp
    capture: EvidenceRequest


class SealedEvidence(_Model):
    """Evidence signed by the device key and encrypted to the back end's evidence key
    (kiosk/api/sealing.py). Only the back end can open it."""

    version: Literal[1]
    evidence_id: str = Field(pattern=_UUID)
    kiosk_id: str = Field(max_length=64)
    key_id: str = Field(pattern=r"^[0-9a-f]{16}$", description="Which back-end key it is for")
    ephemeral_key: str = Field(min_length=44, max_length=44, pattern=_B64)
    nonce: str = Field(min_length=16, max_length=16, pattern=_B64)
    ciphertext: str = Field(min_length=24, max_length=5_000_000, pattern=_B64)


class EvidenceKey(_Model):
    key_id: str
    public_key: str = Field(description="X25519, raw 32 bytes, base64")
    scheme: str


# ---------------------------------------------------------------------------- e-card


class ECardKey(_Model):
    """A public key the bureau signs e-cards with (the format: kiosk/api/ecard.py)."""

    key_id: str = Field(
        pattern=r"^[0-9a-f]{16}$", description="SHA-256 of the raw public key, first 8 bytes, hex"
    )
    public_key: str = Field(description="Ed25519, raw 32 bytes, base64")
    valid_from: dt.datetime = Field(description="Cards issued before this are refused")
    valid_until: dt.datetime | None = Field(
        description="Cards issued at or after this are refused (the key was retired; the "
        "cards it issued before stay valid until they expire); null: the key still issues"
    )


class ECardKeys(_Model):
    format: str = Field(description="The e-card format these keys sign, e.g. JMEC1")
    keys: list[ECardKey] = Field(
        description="Every key whose cards are honoured; a revoked key is not listed"
    )


class Outcome(enum.StrEnum):
    APPROVED = "approved"
    RETRY = "retry"  # same modality, attempts left
    NEXT_MODALITY = "next_modality"  # move to the next rung (face -> fingerprint)
    MANUAL_REVIEW = "manual_review"
    APPOINTMENT = "appointment"


class ReasonCode(enum.StrEnum):
    DEFERRED = "deferred"  # delivered from an outbox: the resident could not try again
    MATCH = "match"
    NO_MATCH = "no_match"
    BORDERLINE = "borderline"
    LIVENESS_FAILED = "liveness_failed"
    NO_REFERENCE = "no_reference"
    EXTRACTOR_MISMATCH = "extractor_mismatch"
    ATTEMPTS_EXHAUSTED = "attempts_exhausted"


class Decision(_Model):
    decision_id: str
    session_id: str
    modality: Modality
    outcome: Outcome
    reason_code: ReasonCode
    session: SessionInfo
    reference: str | None = Field(
        description="Receipt reference, when the session produced a record the resident keeps"
    )
    decided_at: dt.datetime
    next_certification_due: Day | None = Field(
        default=None,
        description="When the resident's next verification is due, once this one certified "
        "them (printed on the receipt)",
    )


# ---------------------------------------------------------------------------- pension


class AccountStatus(enum.StrEnum):
    PAYING = "paying"
    SUSPENDED = "suspended"
    TERMINATED = "terminated"


class CertificationStatus(enum.StrEnum):
    DONE = "done"  # certified for the current cycle
    DUE = "due"  # inside the window before next_due
    OVERDUE = "overdue"  # past next_due, before suspension
    SUSPENDED = "suspended"  # payments suspended for want of certification


Money = Annotated[str, StringConstraints(pattern=r"^-?\d+\.\d{2}$")]


class PensionSummary(_Model):
    account_status: AccountStatus
    monthly_amount: Money = Field(description="Decimal string, two places")
    currency: Literal["CNY"]
    bank_name: str
    bank_account_masked: str = Field(description="e.g. **** **** 1234")
    certification_status: CertificationStatus
    last_certified_on: dt.date | None
    next_certification_due: dt.date


class PaymentStatus(enum.StrEnum):
    PAID = "paid"
    WITHHELD = "withheld"


class Payment(_Model):
    period: str = Field(pattern=r"^\d{4}-\d{2}$")
    amount: Money
    currency: Literal["CNY"]
    paid_on: dt.date | None
    status: PaymentStatus


class PaymentPage(_Model):
    items: list[Payment]
    page: int = Field(ge=1)
    page_size: int = Field(ge=1)
    total: int = Field(ge=0)


# ---------------------------------------------------------------------------- receipts


class ReceiptKind(enum.StrEnum):
    CERTIFICATION = "certification"
    MANUAL_REVIEW = "manual_review"
    APPOINTMENT = "appointment"


class ReceiptStatus(enum.StrEnum):
    APPROVED = "approved"
    PENDING_REVIEW = "pending_review"
    REJECTED = "rejected"
    APPOINTMENT_REQUESTED = "appointment_requested"


def pending_reference(evidence_id: str) -> str:
    """The reference a resident gets when the kiosk could not reach the back end: derived
    from the evidence id, so the back end gives the receipt the same name when the outbox
    delivers it (receipt lookup answers to both)."""
    digest = hashlib.sha256(evidence_id.encode()).digest()
    n = int.from_bytes(digest[:8], "big")
    alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    tail = "".join(alphabet[(n >> (5 * i)) & 31] for i in range(10))
    return f"JP-{tail}"


class Receipt(_Model):
    reference: str
    kind: ReceiptKind
    status: ReceiptStatus
    issued_at: dt.datetime
    kiosk_id: str
    site: str
    masked_name_zh: str
    next_certification_due: dt.date | None


# ---------------------------------------------------------------------------- heartbeat


class DeviceState(enum.StrEnum):
    OK = "ok"
    DEGRADED = "degraded"
    ERROR = "error"
    MISSING = "missing"


class DeviceReport(_Model):
    state: DeviceState
    detail: str | None = Field(default=None, max_length=200)


class HeartbeatRequest(_Model):
    app_version: str = Field(max_length=40)
    devices: dict[Annotated[str, StringConstraints(max_length=32)], DeviceReport] = Field(
        max_length=16
    )
    outbox_depth: SInt = Field(ge=0)
    outbox_oldest_at: Timestamp | None = None
    free_disk_mb: SInt = Field(ge=0)
    last_errors: list[Annotated[str, StringConstraints(max_length=200)]] = Field(
        default_factory=list, max_length=10
    )


class HeartbeatResponse(_Model):
    server_time: float
    next_heartbeat_s: int


class Health(_Model):
    status: Literal["ok", "degraded"]
    version: str
    api_version: str
    database: Literal["ok", "error"]
    server_time: float
