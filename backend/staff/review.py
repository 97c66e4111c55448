"""The review console's data: the queue of cases sent to staff, a case with its evidence, and
the reviewer's decision, which reaches the resident (receipt lookup, a notification).

A case is a receipt of kind `manual_review` (backend/api.py issues it when the machine could
not decide: a borderline match, every rung used, evidence delivered after the resident left).
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend import audit
from backend import models as m
from backend.pension import mask_name_en, mask_name_zh
from backend.settings import BackendSettings
from backend.staff import notify
from backend.staff.evidence import FRAME_FORMATS
from kiosk.api.contract import ReceiptKind, ReceiptStatus, SessionState

PENDING = ReceiptStatus.PENDING_REVIEW.value

# decision -> (receipt status, session state or None to leave it, notification kind)
DECISIONS: dict[str, tuple[ReceiptStatus, SessionState | None, str]] = {
    "approved": (ReceiptStatus.APPROVED, SessionState.PASSED, notify.REVIEW_APPROVED),
    "rejected": (ReceiptStatus.REJECTED, None, notify.REVIEW_REJECTED),
    # The ladder's last rung: the resident is asked to come to an appointment in person.
    "appointment": (
        ReceiptStatus.APPOINTMENT_REQUESTED,
        SessionState.APPOINTMENT,
        notify.REVIEW_APPOINTMENT,
    ),
}
DECISION_LABELS = {
    "approved": "Approve: the same person, alive",
    "rejected": "Reject",
    "appointment": "Ask for an appointment in person",
}
REASONS = {
    "same_person": "Same person as the reference",
    "different_person": "Not the person of the reference",
    "poor_capture": "Capture too poor to decide",
    "liveness_doubt": "Liveness in doubt",
    "reference_unusable": "Reference unusable",
    "other": "Other (see the note)",
}
NOTE_MAX = 500


class CaseNotFound(LookupError):
    pass


class AlreadyDecided(Exception):
    pass


# --------------------------------------------------------------------------- queue


@dataclass(frozen=True)
class QueueItem:
    reference: str
    issued_at: dt.datetime
    age_s: float
    kiosk_id: str
    site: str
    masked_name_zh: str
    masked_name_en: str
    reason: str | None
    deferred: bool


def queue(db: Session, now: dt.datetime) -> list[QueueItem]:
    """Cases awaiting a decision, oldest first."""
    rows = db.execute(
        select(m.Receipt, m.Pensioner, m.Kiosk)
        .join(m.Pensioner, m.Pensioner.id == m.Receipt.pensioner_id)
        .join(m.Kiosk, m.Kiosk.id == m.Receipt.kiosk_id)
        .where(m.Receipt.kind == ReceiptKind.MANUAL_REVIEW.value, m.Receipt.status == PENDING)
        .order_by(m.Receipt.issued_at, m.Receipt.reference)
    ).all()
    out = []
    for receipt, person, kiosk in rows:
        last = db.scalar(
            select(m.Attempt)
            .where(m.Attempt.session_id == receipt.session_id)
            .order_by(m.Attempt.decided_at.desc())
            .limit(1)
        )
        out.append(
            QueueItem(
                reference=receipt.reference,
                issued_at=receipt.issued_at,
                age_s=max((now - receipt.issued_at).total_seconds(), 0.0),
                kiosk_id=kiosk.id,
                site=kiosk.site,
                masked_name_zh=mask_name_zh(person.name_zh),
                masked_name_en=mask_name_en(person.name_en),
                reason=last.reason_code if last else None,
                deferred=receipt.pending_reference is not None,
            )
        )
    return out


@dataclass(frozen=True)
class DecidedItem:
    reference: str
    decision: str
    reason_code: str
    decided_at: dt.datetime
    by: str


def recently_decided(db: Session, limit: int = 20) -> list[DecidedItem]:
    rows = db.execute(
        select(m.ReviewDecision, m.StaffUser.username)
        .join(m.StaffUser, m.StaffUser.id == m.ReviewDecision.staff_user_id)
        .order_by(m.ReviewDecision.decided_at.desc())
        .limit(limit)
    ).all()
    return [DecidedItem(d.reference, d.decision, d.reason_code, d.decided_at, u) for d, u in rows]


# --------------------------------------------------------------------------- a case


@dataclass(frozen=True)
class AttemptView:
    number: int
    attempt_id: str
    modality: str
    finger_position: int | None
    outcome: str
    reason: str
    distance: float | None
    score: float | None
    simulated: bool
    decided_at: dt.datetime
    quality: float | None
    liveness: dict | None
    has_frame: bool
    purged_at: dt.datetime | None


@dataclass(frozen=True)
class Case:
    receipt: m.Receipt
    session: m.VerificationSession
    site: str
    masked_name_zh: str
    masked_name_en: str
    attempts: list[AttemptView]
    frame_attempt: str | None  # the attempt whose best frame is shown
    reference_shown: bool
    reference_note: str | None  # why there is no reference photo
    decision: m.ReviewDecision | None
    decided_by: str | None
    notes: list[str] = field(default_factory=list)

    @property
    def pending(self) -> bool:
        return self.receipt.status == PENDING and self.decision is None

    @property
    def liveness_attempts(self) -> list[AttemptView]:
        return [a for a in self.attempts if a.liveness]


def _receipt(db: Session, reference: str) -> m.Receipt:
    row = db.get(m.Receipt, reference)
    if row is None or row.kind != ReceiptKind.MANUAL_REVIEW.value:
        raise CaseNotFound(reference)
    return row


def _face_reference(db: Session, pensioner_id: int) -> m.EnrolledReference | None:
    return db.scalar(
        select(m.EnrolledReference).where(
            m.EnrolledReference.pensioner_id == pensioner_id,
            m.EnrolledReference.modality == "face",
        )
    )


def load_case(db: Session, reference: str) -> Case:
    receipt = _receipt(db, reference)
    sess = db.get(m.VerificationSession, receipt.session_id)
    person = db.get(m.Pensioner, receipt.pensioner_id)
    kiosk = db.get(m.Kiosk, receipt.kiosk_id)
    attempts = db.scalars(
        select(m.Attempt).where(m.Attempt.session_id == sess.id).order_by(m.Attempt.decided_at)
    ).all()
    evidence = {
        e.attempt_id: e
        for e in db.scalars(select(m.CaseEvidence).where(m.CaseEvidence.session_id == sess.id))
    }
    views = []
    for i, a in enumerate(attempts, 1):
        e = evidence.get(a.id)
        views.append(
            AttemptView(
                number=i,
                attempt_id=a.id,
                modality=a.modality,
                finger_position=a.finger_position,
                outcome=a.outcome,
                reason=a.reason_code,
                distance=a.distance,
                score=a.score,
                simulated=a.simulated,
                decided_at=a.decided_at,
                quality=e.quality if e else None,
                liveness=e.liveness if e else None,
                has_frame=bool(e and e.frame_data),
                purged_at=e.purged_at if e else None,
            )
        )
    frames = [v.attempt_id for v in views if v.modality == "face" and v.has_frame]
    ref = _face_reference(db, receipt.pensioner_id)
    shown = ref is not None and reference_image(ref) is not None
    if ref is None:
        note = "No face reference is enrolled for this pensioner."
    elif ref.source_format == "sim-seed":
        note = "Simulated reference (demo data): there is no reference photo."
    elif not shown:
        note = f"The reference is stored as {ref.source_format}; it cannot be shown here."
    else:
        note = None
    decision = db.get(m.ReviewDecision, reference)
    by = db.get(m.StaffUser, decision.staff_user_id).username if decision else None
    notes = []
    if not frames:
        if any(v.purged_at for v in views):
            notes.append("The evidence of this case has been purged (retention).")
        else:
            notes.append(
                "No best frame: the evidence of this case carries the template and the "
                "liveness trace only."
            )
    return Case(
        receipt=receipt,
        session=sess,
        site=kiosk.site if kiosk else "",
        masked_name_zh=mask_name_zh(person.name_zh),
        masked_name_en=mask_name_en(person.name_en),
        attempts=views,
        frame_attempt=frames[-1] if frames else None,
        reference_shown=shown,
        reference_note=note,
        decision=decision,
        decided_by=by,
        notes=notes,
    )


def frame_image(db: Session, reference: str) -> tuple[str, bytes] | None:
    """The case's best frame (the last face attempt that carries one) as (mime, bytes)."""
    receipt = _receipt(db, reference)
    rows = db.scalars(
        select(m.CaseEvidence)
        .where(
            m.CaseEvidence.session_id == receipt.session_id,
            m.CaseEvidence.modality == "face",
            m.CaseEvidence.frame_data.is_not(None),
        )
        .order_by(m.CaseEvidence.captured_at.desc())
    ).all()
    for row in rows:
        if row.frame_format in FRAME_FORMATS:
            return FRAME_FORMATS[row.frame_format], row.frame_data
    return None


def reference_image(ref: m.EnrolledReference) -> tuple[str, bytes] | None:
    """The enrolled reference photo as a browser shows it, or None (a simulated reference,
    a format no browser shows and OpenCV cannot convert)."""
    fmt, data = ref.source_format, ref.source_data
    if fmt == "zip":  # several photos (backend/enrol.py): the first one
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                first = sorted(z.namelist())[0]
                data = z.read(first)
        except (zipfile.BadZipFile, IndexError, KeyError):
            return None
        fmt = {"jpg": "jpeg"}.get(first.rsplit(".", 1)[-1], first.rsplit(".", 1)[-1])
    if fmt in FRAME_FORMATS:
        return FRAME_FORMATS[fmt], data
    if fmt in ("tiff", "bmp", "pnm", "bin", "image"):
        try:
            import cv2
            import numpy as np
        except ImportError:
            return None
        image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
        if image is None:
            return None
        ok, png = cv2.imencode(".png", image)
        return ("image/png", png.tobytes()) if ok else None
    return None


def reference_photo(db: Session, reference: str) -> tuple[str, bytes] | None:
    receipt = _receipt(db, reference)
    ref = _face_reference(db, receipt.pensioner_id)
    return reference_image(ref) if ref is not None else None


# --------------------------------------------------------------------------- deciding


def validate(decision: str, reason_code: str, note: str) -> str | None:
    """What is wrong with a decision form, or None."""
    if decision not in DECISIONS:
        return "Choose a decision."
    if reason_code not in REASONS:
        return "Choose a reason."
    if len(note.strip()) < 3:
        return "Write a reason in the note (at least 3 characters)."
    if len(note) > NOTE_MAX:
        return f"The note has at most {NOTE_MAX} characters."
    return None


def decide(
    db: Session,
    now: dt.datetime,
    reference: str,
    user: m.StaffUser,
    decision: str,
    reason_code: str,
    note: str,
    s: BackendSettings,
    notifier: notify.Notifier,
) -> int:
    """Records the decision (committed) and returns the id of the notification to deliver.
    The receipt takes the final status, so receipt lookup shows it; an approval certifies
    the pensioner as a machine approval would."""
    from backend.api import _record_certification  # the kiosk API's own certification rule

    problem = validate(decision, reason_code, note)
    if problem:
        raise ValueError(problem)
    receipt = _receipt(db, reference)
    if receipt.status != PENDING or db.get(m.ReviewDecision, reference) is not None:
        raise AlreadyDecided(reference)
    status, state, kind = DECISIONS[decision]
    sess = db.get(m.VerificationSession, receipt.session_id)
    receipt.status = status.value
    if state is not None:
        sess.state = state.value
    if state is SessionState.PASSED:
        sess.passed_at = now
        _record_certification(db, receipt.pensioner_id, now, s)
    db.add(
        m.ReviewDecision(
            reference=reference,
            session_id=sess.id,
            decision=decision,
            reason_code=reason_code,
            note=note.strip(),
            staff_user_id=user.id,
            decided_at=now,
        )
    )
    person = db.get(m.Pensioner, receipt.pensioner_id)
    row = notify.record(db, now, notifier, person, kind, reference)
    audit.append(
        db,
        now,
        f"staff:{user.username}",
        "case_decided",
        f"receipt:{reference}",
        {"decision": decision, "reason": reason_code, "session": sess.id, "status": status.value},
    )
    try:
        db.flush()
        notification_id = row.id
        db.commit()
    except IntegrityError as exc:  # another reviewer's decision won the race
        db.rollback()
        raise AlreadyDecided(reference) from exc
    return notification_id


def audit_view(
    db: Session, now: dt.datetime, user: m.StaffUser, reference: str, what: str, session_id: str
) -> None:
    """Who saw which case (and which face), when (committed)."""
    audit.append(
        db,
        now,
        f"staff:{user.username}",
        what,
        f"receipt:{reference}",
        {"session": session_id, "role": user.role},
    )
    db.commit()


# --------------------------------------------------------------------------- liveness timeline


@dataclass(frozen=True)
class TimelineRow:
    kind: str
    passed: bool
    prompted_ms: int
    responded_ms: int | None
    x: float  # the bar from prompt to response, in SVG units
    width: float
    y: float
    reason: str | None = None  # why it failed
    started_ms: int | None = None  # when the answering action started
    started_x: float | None = None
    deadline_ms: int | None = None
    deadline_x: float | None = None
    measure: str | None = None  # what value and baseline measure
    value: float | None = None
    baseline: float | None = None


@dataclass(frozen=True)
class Timeline:
    rows: list[TimelineRow]
    ticks: list[tuple[float, str]]  # (x, label)
    height: float
    width: float
    label_w: float
    faces_seen_max: int | None
    same_face_distance: float | None
    # The optional fields of a live kiosk's trace (None from older kiosks and simulations).
    passed: bool | None = None
    reason: str | None = None
    duration_ms: int | None = None
    frames: int | None = None
    attack_score: float | None = None
    attack_cues: dict | None = None
    method_version: str | None = None


def timeline(trace: dict, width: float = 640, label_w: float = 110, row_h: float = 28) -> Timeline:
    """A liveness trace laid out for an inline SVG: one row per challenge, a bar from the
    prompt to the response (to the end of the axis when there was none), the start of the
    action and the deadline as marks when the trace has them."""
    challenges = trace.get("challenges") or []
    times = [1000, trace.get("duration_ms") or 0]
    for ch in challenges:
        times += [ch.get(k) or 0 for k in ("prompted_at_ms", "responded_at_ms", "deadline_ms")]
    span = (int(max(times) * 1.1) // 1000 + 1) * 1000
    plot = width - label_w - 20

    def x_of(ms: float | None) -> float | None:
        return None if ms is None else round(label_w + plot * ms / span, 1)

    rows = []
    for i, ch in enumerate(challenges):
        start = ch.get("prompted_at_ms") or 0
        stop = ch.get("responded_at_ms")
        x0, x1 = x_of(start), x_of(stop if stop is not None else span)
        rows.append(
            TimelineRow(
                kind=str(ch.get("kind")),
                passed=bool(ch.get("passed")),
                prompted_ms=start,
                responded_ms=stop,
                x=x0,
                width=round(max(x1 - x0, 2.0), 1),
                y=10 + i * row_h,
                reason=ch.get("reason"),
                started_ms=ch.get("started_at_ms"),
                started_x=x_of(ch.get("started_at_ms")),
                deadline_ms=ch.get("deadline_ms"),
                deadline_x=x_of(ch.get("deadline_ms")),
                measure=ch.get("measure"),
                value=ch.get("value"),
                baseline=ch.get("baseline"),
            )
        )
    step = 1000 if span <= 10_000 else 5000
    ticks = [(x_of(ms), f"{ms / 1000:g} s") for ms in range(0, span + 1, step)]
    return Timeline(
        rows=rows,
        ticks=ticks,
        height=10 + len(rows) * row_h + 30,
        width=width,
        label_w=label_w,
        faces_seen_max=trace.get("faces_seen_max"),
        same_face_distance=trace.get("same_face_distance"),
        passed=trace.get("passed"),
        reason=trace.get("reason"),
        duration_ms=trace.get("duration_ms"),
        frames=trace.get("frames"),
        attack_score=trace.get("attack_score"),
        attack_cues=trace.get("attack_cues"),
        method_version=trace.get("method_version"),
    )
