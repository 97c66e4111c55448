"""The kiosk API, /api/v1. Bodies are the contract's models (kiosk/api/contract.py)."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
import secrets
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Query, Request
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend import __version__, audit, ecard, ladder
from backend import models as m
from backend.auth import authenticate
from backend.pension import (
    certification_status,
    mask_account,
    mask_name_en,
    mask_name_zh,
    new_reference,
)
from backend.problems import ApiProblem
from backend.settings import BackendSettings
from backend.staff import evidence as case_evidence
from biometrics import simulated
from biometrics.compare import face_distance
from kiosk.api import contract as c
from kiosk.api import documents, sealing, signing
from kiosk.api.contract import ProblemCode

router = APIRouter(prefix=c.API_PREFIX)

Authenticated = Annotated[m.Kiosk, Depends(authenticate)]
IdempotencyKey = Annotated[
    str,
    Header(
        alias=c.H_IDEMPOTENCY_KEY,
        min_length=8,
        max_length=128,
        pattern=r"^[A-Za-z0-9_.:-]+$",
        description="Chosen by the kiosk per submission; a retry sends the same key and gets "
        "the same decision back",
    ),
]


def db_session(request: Request):
    with request.app.state.sessions() as db:
        yield db


DB = Annotated[Session, Depends(db_session)]

# Identifiers are checked by shape before they reach a query: a NUL byte or a slash never
# gets as far as the database (PostgreSQL refuses NUL in text with an error, not a miss).
SessionId = Annotated[
    str,
    Path(
        pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$",
        description="As returned by POST /sessions",
    ),
]
Reference = Annotated[
    str,
    Path(
        pattern=r"^(JM[0-9]{6}-[0-9A-HJKMNP-TV-Z]{8}|JP-[0-9A-HJKMNP-TV-Z]{10})$",
        description="Receipt reference, e.g. JM261128-7KQ4XW2M, or the pending reference "
        "a kiosk gave while offline, e.g. JP-4K9X2M7QAB",
    ),
]
Deferred = Annotated[
    str | None,
    Header(
        alias=c.H_DEFERRED,
        pattern=r"^[01]$",
        description="1: sent from the kiosk's outbox after the resident left",
    ),
]


def _settings(request: Request) -> BackendSettings:
    return request.app.state.settings


def _now(request: Request) -> dt.datetime:
    return request.app.state.clock.now()


def _sha(text_: str) -> str:
    return hashlib.sha256(text_.encode()).hexdigest()


# ---------------------------------------------------------------------------- health


@router.get("/health", response_model=c.Health, tags=["public"])
def health(request: Request, db: DB) -> c.Health:
    try:
        db.execute(text("SELECT 1"))
        database = "ok"
    except Exception:  # noqa: BLE001 - health reports a broken database, never raises
        database = "error"
    return c.Health(
        status="ok" if database == "ok" else "degraded",
        version=__version__,
        api_version=c.API_VERSION,
        database=database,
        server_time=request.app.state.clock.time(),
    )


# ---------------------------------------------------------------------------- identify


def _rate_count(db: Session, bucket: str, since: dt.datetime) -> int:
    return db.scalar(
        select(func.count())
        .select_from(m.RateEvent)
        .where(m.RateEvent.bucket == bucket, m.RateEvent.at >= since)
    )


@router.post(
    "/identify",
    response_model=c.IdentifyResponse,
    tags=["kiosk"],
    summary="Find a pensioner by document and birth date",
)
def identify(body: c.IdentifyRequest, kiosk: Authenticated, request: Request, db: DB):
    s = _settings(request)
    now = _now(request)
    since = now - dt.timedelta(seconds=s.identify_window_s)
    kiosk_bucket = f"identify:kiosk:{kiosk.id}"
    if _rate_count(db, kiosk_bucket, since) >= s.identify_limit_per_kiosk:
        raise ApiProblem(429, ProblemCode.RATE_LIMITED, retry_after_s=s.identify_window_s)
    db.add(m.RateEvent(bucket=kiosk_bucket, at=now))
    db.commit()

    try:
        parsed = documents.parse(body.document_type, body.document_number)
    except documents.DocumentError as exc:
        raise ApiProblem(422, ProblemCode.VALIDATION_FAILED, exc.key) from exc
    # Buckets are keyed by a hash: the rate table holds no document numbers.
    doc_bucket = "identify:doc:" + _sha(f"{parsed.doc_type}:{parsed.number}")
    if _rate_count(db, doc_bucket, since) >= s.identify_limit_per_document:
        raise ApiProblem(429, ProblemCode.RATE_LIMITED, retry_after_s=s.identify_window_s)

    doc = db.scalar(
        select(m.IdentityDocument).where(
            m.IdentityDocument.doc_type == parsed.doc_type.value,
            m.IdentityDocument.number == parsed.number,
        )
    )
    if doc is None or doc.pensioner.date_of_birth != body.date_of_birth:
        db.add(m.RateEvent(bucket=doc_bucket, at=now))
        audit.append(db, now, f"kiosk:{kiosk.id}", "identify_failed")
        db.commit()
        # One answer for "no such document" and "wrong birth date": no oracle for either.
        raise ApiProblem(404, ProblemCode.NOT_FOUND, "no pensioner with that document and date")

    token = secrets.token_urlsafe(32)
    expires = now + dt.timedelta(seconds=s.subject_token_ttl_s)
    db.add(
        m.SubjectToken(
            token_hash=_sha(token),
            pensioner_id=doc.pensioner_id,
            kiosk_id=kiosk.id,
            expires_at=expires,
        )
    )
    audit.append(db, now, f"kiosk:{kiosk.id}", "identified", f"pensioner:{doc.pensioner_id}")
    db.commit()
    p = doc.pensioner
    return c.IdentifyResponse(
        subject_token=token,
        masked_name_zh=mask_name_zh(p.name_zh),
        masked_name_en=mask_name_en(p.name_en),
        expires_at=expires,
    )


# ---------------------------------------------------------------------------- sessions


def _rungs(db: Session, sess: m.VerificationSession) -> ladder.Rungs:
    refs = db.scalars(
        select(m.EnrolledReference).where(m.EnrolledReference.pensioner_id == sess.pensioner_id)
    ).all()
    return ladder.Rungs(
        face_enrolled=any(r.modality == "face" for r in refs),
        fingers_enrolled=any(r.modality == "fingerprint" for r in refs),
        face_used=sess.face_attempts_used,
        finger_used=sess.finger_attempts_used,
    )


def _enrolled_fingers(db: Session, pensioner_id: int) -> list[int]:
    return sorted(
        db.scalars(
            select(m.EnrolledReference.finger_position).where(
                m.EnrolledReference.pensioner_id == pensioner_id,
                m.EnrolledReference.modality == "fingerprint",
            )
        ).all()
    )


def _session_info(
    db: Session, sess: m.VerificationSession, s: BackendSettings, now: dt.datetime
) -> c.SessionInfo:
    rungs = _rungs(db, sess)
    face_left, finger_left = ladder.attempts_left(rungs, s)
    state = c.SessionState(sess.state)
    if state is c.SessionState.OPEN and now >= sess.expires_at:
        state = c.SessionState.EXPIRED
    is_open = state is c.SessionState.OPEN
    return c.SessionInfo(
        session_id=sess.id,
        purpose=c.Purpose(sess.purpose),
        state=state,
        server_nonce=sess.server_nonce,
        expires_at=sess.expires_at,
        next_modality=ladder.next_modality(rungs, s) if is_open else None,
        allowed_modalities=ladder.allowed_modalities(rungs, s) if is_open else [],
        attempts_left=c.AttemptsLeft(face=face_left, fingerprint=finger_left),
        enrolled_fingers=_enrolled_fingers(db, sess.pensioner_id),
    )


def _own_session(db: Session, session_id: str, kiosk: m.Kiosk) -> m.VerificationSession:
    sess = db.get(m.VerificationSession, session_id)
    # Another kiosk's session is "not found", not "forbidden": ids are not confirmed.
    if sess is None or sess.kiosk_id != kiosk.id:
        raise ApiProblem(404, ProblemCode.NOT_FOUND, "no such session")
    return sess


@router.post(
    "/sessions",
    response_model=c.SessionInfo,
    status_code=201,
    tags=["kiosk"],
    summary="Start a verification session (enquiry or certification)",
)
def start_session(body: c.StartSessionRequest, kiosk: Authenticated, request: Request, db: DB):
    s = _settings(request)
    now = _now(request)
    tok = db.get(m.SubjectToken, _sha(body.subject_token))
    if tok is None or tok.kiosk_id != kiosk.id:
        raise ApiProblem(404, ProblemCode.NOT_FOUND, "unknown subject token")
    if tok.expires_at <= now:
        raise ApiProblem(410, ProblemCode.SESSION_EXPIRED, "subject token expired")
    sess = m.VerificationSession(
        id=str(uuid.uuid4()),
        pensioner_id=tok.pensioner_id,
        kiosk_id=kiosk.id,
        purpose=body.purpose.value,
        server_nonce=secrets.token_urlsafe(32),
        state=c.SessionState.OPEN.value,
        face_attempts_used=0,
        finger_attempts_used=0,
        created_at=now,
        expires_at=now + dt.timedelta(seconds=s.session_ttl_s),
    )
    db.add(sess)
    db.flush()
    info = _session_info(db, sess, s, now)
    if info.next_modality is None:
        # Nothing enrolled to compare with: straight to the last rung.
        _outcome, state = ladder.exhausted(body.purpose)
        sess.state = state.value
        info = _session_info(db, sess, s, now)
    audit.append(
        db,
        now,
        f"kiosk:{kiosk.id}",
        "session_started",
        f"session:{sess.id}",
        {"purpose": body.purpose.value, "state": sess.state},
    )
    db.commit()
    return info


@router.get("/sessions/{session_id}", response_model=c.SessionInfo, tags=["kiosk"])
def get_session(session_id: SessionId, kiosk: Authenticated, request: Request, db: DB):
    sess = _own_session(db, session_id, kiosk)
    return _session_info(db, sess, _settings(request), _now(request))


# ---------------------------------------------------------------------------- evidence


MAX_FINGER_MINUTIAE = 255  # what an ISO/IEC 19794-2 view holds; the extractor keeps 120


def _finger_template(raw: bytes, want: c.TemplateIn, what: str):
    """A `gabor-mcc` template (FingerTemplate.to_dict as JSON) checked to be one the matcher
    can take: of the evidence's extractor and version, 4..255 finite minutiae inside a
    plausible frame. Anything else is the 422 TEMPLATE_MISMATCH problem, never a 500."""
    import numpy as np

    from biometrics.fingerprint import FingerTemplate
    from biometrics.fingerprint.template import MIN_MINUTIAE

    def bad(reason: str) -> ApiProblem:
        return ApiProblem(422, ProblemCode.TEMPLATE_MISMATCH, f"{what}: {reason}")

    try:
        t = FingerTemplate.from_dict(json.loads(raw))
        mm = np.asarray(t.minutiae, dtype=np.float64)
    except (ValueError, TypeError, KeyError, IndexError, OverflowError, RecursionError) as exc:
        raise bad("unreadable fingerprint template") from exc
    if (t.extractor, str(t.version)) != (want.extractor, want.extractor_version):
        raise bad("fingerprint template of another extractor or version")
    if not (0 < t.width <= 4096 and 0 < t.height <= 4096):
        raise bad("implausible fingerprint frame")
    if not (100 <= t.dpi_x <= 2000 and 100 <= t.dpi_y <= 2000):
        raise bad("implausible fingerprint resolution")
    if not MIN_MINUTIAE <= len(mm) <= MAX_FINGER_MINUTIAE:
        raise bad(f"{len(mm)} minutiae (the matcher takes {MIN_MINUTIAE}..{MAX_FINGER_MINUTIAE})")
    x, y, _angle, kind, quality = mm.T
    if not (
        np.all(np.isfinite(mm))
        and np.all((x >= 0) & (x <= t.width + 1) & (y >= 0) & (y <= t.height + 1))
        and np.all(np.isin(kind, (0, 1, 2)))
        and np.all((quality >= 0) & (quality <= 1))
    ):
        raise bad("fingerprint minutiae out of range")
    return t


def _compare(
    db: Session, sess: m.VerificationSession, ev: c.EvidenceRequest, s: BackendSettings
) -> tuple[bool, bool, float | None, float | None]:
    """Returns (matched, borderline, distance, score) against the enrolled reference."""
    position = ev.finger_position if ev.modality is c.Modality.FINGERPRINT else 0
    ref = db.scalar(
        select(m.EnrolledReference).where(
            m.EnrolledReference.pensioner_id == sess.pensioner_id,
            m.EnrolledReference.modality == ev.modality.value,
            m.EnrolledReference.finger_position == position,
        )
    )
    if ref is None:
        code = (
            ProblemCode.FINGER_NOT_ENROLLED
            if ev.modality is c.Modality.FINGERPRINT
            else ProblemCode.MODALITY_NOT_ALLOWED
        )
        raise ApiProblem(422, code, "no enrolled reference for this capture")
    tpl = db.scalar(
        select(m.ReferenceTemplate).where(
            m.ReferenceTemplate.reference_id == ref.id,
            m.ReferenceTemplate.extractor == ev.template.extractor,
            m.ReferenceTemplate.extractor_version == ev.template.extractor_version,
        )
    )
    if tpl is None:
        raise ApiProblem(
            422,
            ProblemCode.TEMPLATE_MISMATCH,
            "no reference template for this extractor and version",
        )
    if ev.modality is c.Modality.FACE:
        if ev.template.vector is None:
            raise ApiProblem(422, ProblemCode.TEMPLATE_MISMATCH, "face evidence needs a vector")
        try:
            d = face_distance(ev.template.vector, json.loads(tpl.template))
        except ValueError as exc:
            raise ApiProblem(422, ProblemCode.TEMPLATE_MISMATCH, str(exc)) from exc
        return d <= s.face_match_distance, d <= s.face_borderline_distance, d, None
    if ev.template.data_b64 is None:
        raise ApiProblem(422, ProblemCode.TEMPLATE_MISMATCH, "fingerprint evidence needs data")
    try:
        data = base64.b64decode(ev.template.data_b64, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ApiProblem(422, ProblemCode.TEMPLATE_MISMATCH, "unreadable template") from exc
    if ev.template.extractor.startswith("sim-"):  # demo kiosks only (submit_evidence)
        try:
            score = simulated.finger_similarity(data, tpl.template)
        except ValueError as exc:
            raise ApiProblem(422, ProblemCode.TEMPLATE_MISMATCH, "unreadable template") from exc
        return score >= s.finger_match_score, False, None, score
    # The kiosk's extractor (biometrics/fingerprint, "gabor-mcc"), as backend/enrol.py stores
    # it: FingerTemplate.to_dict as JSON. Loaded here, not at start: it pulls in OpenCV.
    from biometrics.fingerprint import EXTRACTOR, compare

    if ev.template.extractor != EXTRACTOR:
        raise ApiProblem(
            422, ProblemCode.TEMPLATE_MISMATCH, "no fingerprint comparison for this extractor"
        )
    probe = _finger_template(data, ev.template, "evidence")
    reference = _finger_template(tpl.template, ev.template, "reference")
    score = compare(probe, reference, s.finger_match_threshold).score
    return score >= s.finger_match_threshold, False, None, score


def _liveness_ok(ev: c.EvidenceRequest, s: BackendSettings | None = None) -> bool:
    """Every challenge passed by one face; for a live (not simulated) trace also the
    kiosk's own verdict, the passive attack score within the server's limit, and times
    that make sense: each challenge prompted after the previous one was answered, answered
    after its prompt (the action starting in between), by its deadline and inside the
    capture. The optional fields are checked when present (older kiosks omit them)."""
    if ev.modality is not c.Modality.FACE:
        return True
    lv = ev.liveness
    if lv is None or not lv.challenges:
        return False
    if not (lv.faces_seen_max <= 1 and all(ch.passed for ch in lv.challenges)):
        return False
    if lv.simulated and ev.simulated:
        return True  # a demo kiosk's simulated resident: the rule above is all there is
    if lv.simulated or lv.passed is False:
        return False
    limit = (
        s.liveness_max_attack_score
        if s is not None
        else BackendSettings.model_fields["liveness_max_attack_score"].default
    )
    if lv.attack_score is not None and lv.attack_score > limit:
        return False
    end = lv.duration_ms
    previous = 0
    for ch in lv.challenges:
        answered = ch.responded_at_ms
        if answered is None or not previous <= ch.prompted_at_ms <= answered:
            return False
        started = ch.started_at_ms
        if started is not None and not ch.prompted_at_ms <= started <= answered:
            return False
        if ch.deadline_ms is not None and answered > ch.deadline_ms:
            return False
        if end is not None and answered > end:
            return False
        previous = answered
    return True


@router.post(
    "/sessions/{session_id}/evidence",
    response_model=c.Decision,
    tags=["kiosk"],
    summary="Submit biometric evidence; the server compares it and decides",
)
def submit_evidence(
    session_id: SessionId,
    sealed: c.SealedEvidence,
    idempotency_key: IdempotencyKey,
    kiosk: Authenticated,
    request: Request,
    db: DB,
    deferred: Deferred = None,
):
    s = _settings(request)
    now = _now(request)
    request_hash = hashlib.sha256(
        json.dumps(sealed.model_dump(mode="json"), sort_keys=True).encode() + session_id.encode()
    ).hexdigest()

    previous = db.scalar(
        select(m.Attempt).where(
            m.Attempt.kiosk_id == kiosk.id, m.Attempt.idempotency_key == idempotency_key
        )
    )
    if previous is not None:
        if previous.request_sha256 != request_hash:
            raise ApiProblem(409, ProblemCode.IDEMPOTENCY_CONFLICT)
        return previous.response

    sess = _own_session(db, session_id, kiosk)
    payload = _open_evidence(db, sealed, sess, kiosk, request, now)
    body = payload.capture
    if sess.state != c.SessionState.OPEN.value:
        raise ApiProblem(409, ProblemCode.SESSION_CLOSED)
    simulated_template = body.template.extractor.startswith("sim-")
    if (body.simulated or simulated_template) and not kiosk.is_demo:
        raise ApiProblem(403, ProblemCode.SIMULATED_EVIDENCE_FORBIDDEN)
    if simulated_template and not body.simulated:
        raise ApiProblem(422, ProblemCode.TEMPLATE_MISMATCH, "simulated template not marked")

    rungs = _rungs(db, sess)
    if ladder.next_modality(rungs, s) is not body.modality:
        face_left, finger_left = ladder.attempts_left(rungs, s)
        left = face_left if body.modality is c.Modality.FACE else finger_left
        code = ProblemCode.NO_ATTEMPTS_LEFT if left == 0 else ProblemCode.MODALITY_NOT_ALLOWED
        raise ApiProblem(409, code)
    if body.modality is c.Modality.FINGERPRINT and body.finger_position is None:
        raise ApiProblem(422, ProblemCode.VALIDATION_FAILED, "finger_position required")

    matched, borderline, distance, score = _compare(db, sess, body, s)
    live = _liveness_ok(body, s)
    if body.modality is c.Modality.FACE:
        sess.face_attempts_used += 1
    else:
        sess.finger_attempts_used += 1
    after = _rungs(db, sess)
    purpose = c.Purpose(sess.purpose)
    outcome, reason, state = ladder.decide(
        purpose, body.modality, matched, borderline, live, after, s
    )
    if deferred == "1" and state is c.SessionState.OPEN:
        # The resident has gone home with a pending receipt and cannot try again: what the
        # machine could not decide, staff decide.
        outcome, state = ladder.exhausted(purpose)
        reason = c.ReasonCode.DEFERRED
    sess.state = state.value
    if state is c.SessionState.PASSED:
        sess.passed_at = now

    reference = None
    if purpose is c.Purpose.CERTIFICATION and state is not c.SessionState.OPEN:
        # The pending name of the deciding evidence, whether it came from the outbox or live:
        # a live submission whose answer was lost leaves the resident holding that name
        # (the kiosk queued it), and the outbox's resend only returns this decision.
        pending = c.pending_reference(payload.evidence_id)
        reference = _issue_receipt(db, sess, kiosk, state, now, s, pending)

    db.add(
        m.SeenEvidence(
            evidence_id=payload.evidence_id, kiosk_id=kiosk.id, session_id=sess.id, seen_at=now
        )
    )
    attempt_id = str(uuid.uuid4())
    decision = c.Decision(
        decision_id=attempt_id,
        session_id=sess.id,
        modality=body.modality,
        outcome=outcome,
        reason_code=reason,
        session=_session_info(db, sess, s, now),
        reference=reference,
        decided_at=now,
        next_certification_due=_next_due(db, sess) if state is c.SessionState.PASSED else None,
    )
    response = decision.model_dump(mode="json")
    db.add(
        m.Attempt(
            id=attempt_id,
            session_id=sess.id,
            kiosk_id=kiosk.id,
            idempotency_key=idempotency_key,
            request_sha256=request_hash,
            modality=body.modality.value,
            finger_position=body.finger_position,
            simulated=body.simulated,
            distance=distance,
            score=score,
            outcome=outcome.value,
            reason_code=reason.value,
            decided_at=now,
            response=response,
        )
    )
    case_evidence.record(db, attempt_id, sess.id, body, now)  # what staff review looks at
    audit.append(
        db,
        now,
        f"kiosk:{kiosk.id}",
        "evidence_decided",
        f"session:{sess.id}",
        {
            "modality": body.modality.value,
            "outcome": outcome.value,
            "reason": reason.value,
            "simulated": body.simulated,
        },
    )
    try:
        db.commit()
    except IntegrityError:
        # The same key raced in on another connection and won: answer with its decision.
        db.rollback()
        previous = db.scalar(
            select(m.Attempt).where(
                m.Attempt.kiosk_id == kiosk.id, m.Attempt.idempotency_key == idempotency_key
            )
        )
        if previous is None:
            raise
        if previous.request_sha256 != request_hash:
            raise ApiProblem(409, ProblemCode.IDEMPOTENCY_CONFLICT) from None
        return previous.response
    return response


def _reject_evidence(
    db: Session,
    kiosk: m.Kiosk,
    sess: m.VerificationSession,
    now,
    status: int,
    code: ProblemCode,
    reason: str,
) -> ApiProblem:
    """Audits a refused package (committed even though the request fails) and returns the
    problem to raise."""
    db.rollback()
    audit.append(
        db, now, f"kiosk:{kiosk.id}", "evidence_rejected", f"session:{sess.id}", {"reason": reason}
    )
    db.commit()
    return ApiProblem(status, code, reason)


def _open_evidence(
    db: Session,
    sealed: c.SealedEvidence,
    sess: m.VerificationSession,
    kiosk: m.Kiosk,
    request: Request,
    now: dt.datetime,
) -> c.EvidencePayload:
    """Decrypts, verifies the device signature, and checks what binds the package to this
    session: kiosk, session, the session's server nonce, the validity window, first use."""
    s = _settings(request)
    try:
        payload = sealing.open_sealed(
            sealed,
            request.app.state.evidence_keys.private(),
            signing.load_public_key(kiosk.public_key),
        )
    except sealing.EvidenceInvalid as exc:
        raise _reject_evidence(
            db, kiosk, sess, now, 422, ProblemCode.EVIDENCE_INVALID, exc.reason
        ) from exc
    if payload.kiosk_id != kiosk.id or sealed.kiosk_id != kiosk.id or payload.session_id != sess.id:
        raise _reject_evidence(db, kiosk, sess, now, 422, ProblemCode.EVIDENCE_INVALID, "binding")
    if not secrets.compare_digest(payload.server_nonce, sess.server_nonce):
        raise _reject_evidence(db, kiosk, sess, now, 422, ProblemCode.EVIDENCE_INVALID, "nonce")
    captured = payload.capture.captured_at
    if captured.tzinfo is None:
        raise _reject_evidence(
            db, kiosk, sess, now, 422, ProblemCode.EVIDENCE_INVALID, "naive_time"
        )
    skew = dt.timedelta(seconds=s.clock_skew_s)
    if (
        captured > now + skew
        or now - captured > dt.timedelta(seconds=s.evidence_validity_s)
        or captured > sess.expires_at + skew
        or captured < sess.created_at - skew
    ):
        raise _reject_evidence(db, kiosk, sess, now, 410, ProblemCode.EVIDENCE_EXPIRED, "window")
    if db.get(m.SeenEvidence, payload.evidence_id) is not None:
        raise _reject_evidence(db, kiosk, sess, now, 409, ProblemCode.EVIDENCE_REPLAYED, "replayed")
    return payload


def _issue_receipt(
    db: Session,
    sess: m.VerificationSession,
    kiosk: m.Kiosk,
    state: c.SessionState,
    now: dt.datetime,
    s: BackendSettings,
    pending: str | None = None,
) -> str:
    kind, status = {
        c.SessionState.PASSED: (c.ReceiptKind.CERTIFICATION, c.ReceiptStatus.APPROVED),
        c.SessionState.MANUAL_REVIEW: (c.ReceiptKind.MANUAL_REVIEW, c.ReceiptStatus.PENDING_REVIEW),
        c.SessionState.APPOINTMENT: (
            c.ReceiptKind.APPOINTMENT,
            c.ReceiptStatus.APPOINTMENT_REQUESTED,
        ),
    }[state]
    reference = new_reference(now.date())
    db.add(
        m.Receipt(
            reference=reference,
            session_id=sess.id,
            pensioner_id=sess.pensioner_id,
            kiosk_id=kiosk.id,
            kind=kind.value,
            status=status.value,
            issued_at=now,
            pending_reference=pending,
        )
    )
    if status is c.ReceiptStatus.APPROVED:
        _record_certification(db, sess.pensioner_id, now, s)
    audit.append(
        db,
        now,
        f"kiosk:{kiosk.id}",
        "receipt_issued",
        f"receipt:{reference}",
        {"kind": kind.value, "status": status.value},
    )
    return reference


def _next_due(db: Session, sess: m.VerificationSession) -> dt.date | None:
    if c.Purpose(sess.purpose) is not c.Purpose.CERTIFICATION:
        return None
    return db.scalar(
        select(m.CertificationCycle.next_due_on).where(
            m.CertificationCycle.pensioner_id == sess.pensioner_id
        )
    )


def _record_certification(
    db: Session, pensioner_id: int, now: dt.datetime, s: BackendSettings
) -> None:
    today = now.date()
    cycle = db.scalar(
        select(m.CertificationCycle).where(m.CertificationCycle.pensioner_id == pensioner_id)
    )
    if cycle is None:
        cycle = m.CertificationCycle(pensioner_id=pensioner_id)
        db.add(cycle)
    cycle.last_certified_on = today
    cycle.next_due_on = today + dt.timedelta(days=s.certification_period_days)
    account = db.scalar(
        select(m.PensionAccount).where(m.PensionAccount.pensioner_id == pensioner_id)
    )
    if account is not None and account.status == c.AccountStatus.SUSPENDED.value:
        # Suspension here is for want of certification: certifying lifts it.
        account.status = c.AccountStatus.PAYING.value
        audit.append(db, now, "system", "payments_reinstated", f"pensioner:{pensioner_id}")


@router.get(
    "/evidence-key",
    response_model=c.EvidenceKey,
    tags=["kiosk"],
    summary="The key kiosks encrypt evidence to",
)
def evidence_key(kiosk: Authenticated, request: Request) -> c.EvidenceKey:
    public = request.app.state.evidence_keys.private().public_key()
    return c.EvidenceKey(
        key_id=sealing.key_id(public),
        public_key=sealing.x25519_public_b64(public),
        scheme=sealing.SCHEME,
    )


@router.get(
    "/ecard-keys",
    response_model=c.ECardKeys,
    tags=["kiosk"],
    summary="The keys residents' QR e-cards are signed with, and their validity",
)
def ecard_keys(kiosk: Authenticated, request: Request) -> c.ECardKeys:
    return ecard.keyring(request.app).public(_now(request))


# ---------------------------------------------------------------------------- pension


def _passed_session(
    db: Session, session_id: str, kiosk: m.Kiosk, now: dt.datetime
) -> m.VerificationSession:
    sess = _own_session(db, session_id, kiosk)
    if sess.state != c.SessionState.PASSED.value:
        raise ApiProblem(403, ProblemCode.BIOMETRIC_CHECK_REQUIRED)
    if now >= sess.expires_at:
        raise ApiProblem(410, ProblemCode.SESSION_EXPIRED)
    return sess


@router.get(
    "/sessions/{session_id}/pension",
    response_model=c.PensionSummary,
    tags=["kiosk"],
    summary="Pension summary; only after the session's biometric check passed",
)
def pension_summary(session_id: SessionId, kiosk: Authenticated, request: Request, db: DB):
    s = _settings(request)
    now = _now(request)
    sess = _passed_session(db, session_id, kiosk, now)
    account = db.scalar(
        select(m.PensionAccount).where(m.PensionAccount.pensioner_id == sess.pensioner_id)
    )
    cycle = db.scalar(
        select(m.CertificationCycle).where(m.CertificationCycle.pensioner_id == sess.pensioner_id)
    )
    if account is None or cycle is None:
        raise ApiProblem(404, ProblemCode.NOT_FOUND, "no pension account")
    audit.append(db, now, f"kiosk:{kiosk.id}", "pension_viewed", f"session:{sess.id}")
    db.commit()
    return c.PensionSummary(
        account_status=c.AccountStatus(account.status),
        monthly_amount=f"{account.monthly_amount:.2f}",
        currency="CNY",
        bank_name=account.bank_name,
        bank_account_masked=mask_account(account.bank_account_last4),
        certification_status=certification_status(
            cycle.next_due_on, cycle.last_certified_on, now.date(), s
        ),
        last_certified_on=cycle.last_certified_on,
        next_certification_due=cycle.next_due_on,
    )


@router.get(
    "/sessions/{session_id}/payments",
    response_model=c.PaymentPage,
    tags=["kiosk"],
    summary="Payments, newest first; only after the session's biometric check passed",
)
def payments(
    session_id: SessionId,
    kiosk: Authenticated,
    request: Request,
    db: DB,
    page: Annotated[int, Query(ge=1, le=1000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=24)] = 12,
):
    now = _now(request)
    sess = _passed_session(db, session_id, kiosk, now)
    account = db.scalar(
        select(m.PensionAccount).where(m.PensionAccount.pensioner_id == sess.pensioner_id)
    )
    if account is None:
        raise ApiProblem(404, ProblemCode.NOT_FOUND, "no pension account")
    total = db.scalar(
        select(func.count()).select_from(m.Payment).where(m.Payment.account_id == account.id)
    )
    rows = db.scalars(
        select(m.Payment)
        .where(m.Payment.account_id == account.id)
        .order_by(m.Payment.period.desc())
        .offset((page - 1) * page_size)
        .limit(page_size)
    ).all()
    return c.PaymentPage(
        items=[
            c.Payment(
                period=p.period,
                amount=f"{p.amount:.2f}",
                currency="CNY",
                paid_on=p.paid_on,
                status=c.PaymentStatus(p.status),
            )
            for p in rows
        ],
        page=page,
        page_size=page_size,
        total=total,
    )


# ---------------------------------------------------------------------------- receipts


@router.get("/receipts/{reference}", response_model=c.Receipt, tags=["kiosk"])
def receipt(reference: Reference, kiosk: Authenticated, request: Request, db: DB):
    row = db.get(m.Receipt, reference) or db.scalar(
        select(m.Receipt).where(m.Receipt.pending_reference == reference)
    )
    if row is None:
        raise ApiProblem(404, ProblemCode.NOT_FOUND, "no such receipt")
    issuer = db.get(m.Kiosk, row.kiosk_id)
    pensioner = db.get(m.Pensioner, row.pensioner_id)
    cycle = db.scalar(
        select(m.CertificationCycle).where(m.CertificationCycle.pensioner_id == row.pensioner_id)
    )
    return c.Receipt(
        reference=row.reference,
        kind=c.ReceiptKind(row.kind),
        status=c.ReceiptStatus(row.status),
        issued_at=row.issued_at,
        kiosk_id=row.kiosk_id,
        site=issuer.site if issuer else "",
        masked_name_zh=mask_name_zh(pensioner.name_zh),
        next_certification_due=cycle.next_due_on if cycle else None,
    )


# ---------------------------------------------------------------------------- heartbeat


@router.post("/heartbeat", response_model=c.HeartbeatResponse, tags=["kiosk"])
def heartbeat(body: c.HeartbeatRequest, kiosk: Authenticated, request: Request, db: DB):
    now = _now(request)
    db.add(m.Heartbeat(kiosk_id=kiosk.id, received_at=now, payload=body.model_dump(mode="json")))
    row = db.get(m.Kiosk, kiosk.id)
    row.last_seen_at = now
    db.commit()
    return c.HeartbeatResponse(
        server_time=request.app.state.clock.time(),
        next_heartbeat_s=_settings(request).heartbeat_interval_s,
    )
