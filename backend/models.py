"""The bureau's data, as the reference back end holds it (SQLAlchemy 2, declarative).

Schema changes go through Alembic (backend/migrations); a test checks that the migrations
and these declarations describe the same schema.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes in, aware UTC datetimes out, on SQLite as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None:
            if value.tzinfo is None:
                raise ValueError("naive datetime given to a UTC column")
            value = value.astimezone(dt.UTC)
        return value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value


class Pensioner(Base):
    __tablename__ = "pensioners"

    id: Mapped[int] = mapped_column(primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(64))
    name_en: Mapped[str] = mapped_column(String(128))
    date_of_birth: Mapped[dt.date] = mapped_column(Date)
    phone: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())

    documents: Mapped[list[IdentityDocument]] = relationship(back_populates="pensioner")
    account: Mapped[PensionAccount | None] = relationship(back_populates="pensioner")
    cycle: Mapped[CertificationCycle | None] = relationship(back_populates="pensioner")
    references: Mapped[list[EnrolledReference]] = relationship(back_populates="pensioner")


class IdentityDocument(Base):
    __tablename__ = "identity_documents"
    __table_args__ = (UniqueConstraint("doc_type", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    pensioner_id: Mapped[int] = mapped_column(ForeignKey("pensioners.id"), index=True)
    doc_type: Mapped[str] = mapped_column(String(32))
    number: Mapped[str] = mapped_column(String(32))

    pensioner: Mapped[Pensioner] = relationship(back_populates="documents")


class PensionAccount(Base):
    __tablename__ = "pension_accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    pensioner_id: Mapped[int] = mapped_column(ForeignKey("pensioners.id"), unique=True)
    status: Mapped[str] = mapped_column(String(16))
    monthly_amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    bank_name: Mapped[str] = mapped_column(String(64))
    # Only the last four digits are held here: the kiosk never needs more.
    bank_account_last4: Mapped[str] = mapped_column(String(4))
    opened_on: Mapped[dt.date] = mapped_column(Date)

    pensioner: Mapped[Pensioner] = relationship(back_populates="account")
    payments: Mapped[list[Payment]] = relationship(back_populates="account")


class Payment(Base):
    __tablename__ = "payments"
    __table_args__ = (UniqueConstraint("account_id", "period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("pension_accounts.id"), index=True)
    period: Mapped[str] = mapped_column(String(7))
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    paid_on: Mapped[dt.date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16))

    account: Mapped[PensionAccount] = relationship(back_populates="payments")


class CertificationCycle(Base):
    __tablename__ = "certification_cycles"

    id: Mapped[int] = mapped_column(primary_key=True)
    pensioner_id: Mapped[int] = mapped_column(ForeignKey("pensioners.id"), unique=True)
    last_certified_on: Mapped[dt.date | None] = mapped_column(Date)
    next_due_on: Mapped[dt.date] = mapped_column(Date)

    pensioner: Mapped[Pensioner] = relationship(back_populates="cycle")


class EnrolledReference(Base):
    """A reference as the bureau holds it: a face photo, a fingerprint image or ISO record."""

    __tablename__ = "enrolled_references"
    __table_args__ = (UniqueConstraint("pensioner_id", "modality", "finger_position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    pensioner_id: Mapped[int] = mapped_column(ForeignKey("pensioners.id"), index=True)
    modality: Mapped[str] = mapped_column(String(16))
    # ISO/IEC 19794-2 finger position (1..10) for fingerprints; 0 for a face.
    finger_position: Mapped[int] = mapped_column(Integer, default=0)
    source_format: Mapped[str] = mapped_column(String(32))  # jpeg, png, iso19794-2, sim-seed
    source_data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())

    pensioner: Mapped[Pensioner] = relationship(back_populates="references")
    templates: Mapped[list[ReferenceTemplate]] = relationship(back_populates="reference")


class ReferenceTemplate(Base):
    """A template derived from a reference, tagged with the extractor that made it, so that
    references can be derived again when the extractor changes."""

    __tablename__ = "reference_templates"
    __table_args__ = (UniqueConstraint("reference_id", "extractor", "extractor_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    reference_id: Mapped[int] = mapped_column(ForeignKey("enrolled_references.id"), index=True)
    extractor: Mapped[str] = mapped_column(String(64))
    extractor_version: Mapped[str] = mapped_column(String(32))
    template: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())

    reference: Mapped[EnrolledReference] = relationship(back_populates="templates")


class Kiosk(Base):
    __tablename__ = "kiosks"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    site: Mapped[str] = mapped_column(String(128))
    public_key: Mapped[str] = mapped_column(String(64))  # raw Ed25519 key, base64
    state: Mapped[str] = mapped_column(String(16))  # active, revoked
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)
    registered_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class Heartbeat(Base):
    __tablename__ = "heartbeats"

    id: Mapped[int] = mapped_column(primary_key=True)
    kiosk_id: Mapped[str] = mapped_column(ForeignKey("kiosks.id"), index=True)
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    payload: Mapped[dict] = mapped_column(JSON)


class RequestNonce(Base):
    """Nonces seen in signed requests, kept for twice the clock-skew window: a replay inside
    the window is caught here, one outside it is caught by its stale timestamp."""

    __tablename__ = "request_nonces"

    kiosk_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)


class RateEvent(Base):
    __tablename__ = "rate_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    bucket: Mapped[str] = mapped_column(String(128), index=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)


class SubjectToken(Base):
    __tablename__ = "subject_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    pensioner_id: Mapped[int] = mapped_column(ForeignKey("pensioners.id"))
    kiosk_id: Mapped[str] = mapped_column(ForeignKey("kiosks.id"))
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class VerificationSession(Base):
    __tablename__ = "verification_sessions"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    pensioner_id: Mapped[int] = mapped_column(ForeignKey("pensioners.id"), index=True)
    kiosk_id: Mapped[str] = mapped_column(ForeignKey("kiosks.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(16))
    server_nonce: Mapped[str] = mapped_column(String(64), unique=True)
    state: Mapped[str] = mapped_column(String(16))
    face_attempts_used: Mapped[int] = mapped_column(Integer, default=0)
    finger_attempts_used: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    passed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    attempts: Mapped[list[Attempt]] = relationship(back_populates="session")


class Attempt(Base):
    """One evidence submission and the machine's decision on it. The idempotency key is
    unique per kiosk: a retried submission finds its row and gets the same decision back."""

    __tablename__ = "attempts"
    __table_args__ = (UniqueConstraint("kiosk_id", "idempotency_key"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("verification_sessions.id"), index=True)
    kiosk_id: Mapped[str] = mapped_column(String(64))
    idempotency_key: Mapped[str] = mapped_column(String(128))
    request_sha256: Mapped[str] = mapped_column(String(64))
    modality: Mapped[str] = mapped_column(String(16))
    finger_position: Mapped[int | None] = mapped_column(Integer)
    simulated: Mapped[bool] = mapped_column(Boolean)
    distance: Mapped[float | None] = mapped_column(Float)
    score: Mapped[float | None] = mapped_column(Float)
    outcome: Mapped[str] = mapped_column(String(16))
    reason_code: Mapped[str] = mapped_column(String(32))
    decided_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    response: Mapped[dict] = mapped_column(JSON)

    session: Mapped[VerificationSession] = relationship(back_populates="attempts")


class SeenEvidence(Base):
    """Each evidence id is accepted once, whatever idempotency key it comes with."""

    __tablename__ = "seen_evidence"

    evidence_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kiosk_id: Mapped[str] = mapped_column(String(64))
    session_id: Mapped[str] = mapped_column(String(40), index=True)
    seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class Receipt(Base):
    """A record the resident keeps: a certification, a case sent to staff, an appointment."""

    __tablename__ = "receipts"

    reference: Mapped[str] = mapped_column(String(32), primary_key=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("verification_sessions.id"), unique=True)
    pensioner_id: Mapped[int] = mapped_column(ForeignKey("pensioners.id"), index=True)
    kiosk_id: Mapped[str] = mapped_column(ForeignKey("kiosks.id"))
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(24))
    issued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    # The name the resident was given at the kiosk while the back end was unreachable
    # (kiosk.api.contract.pending_reference of the evidence id); lookups answer to both.
    pending_reference: Mapped[str | None] = mapped_column(String(16), unique=True)


class AuditEntry(Base):
    """Append-only. Holds ids and reason codes, never biometric data or names."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(48))
    subject: Mapped[str | None] = mapped_column(String(80))
    detail: Mapped[dict] = mapped_column(JSON)
    # Unique: two writers racing for the same tail cannot both append (no fork).
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hash: Mapped[str] = mapped_column(String(64), unique=True)


# ---------------------------------------------------------------------------- staff consoles


class StaffUser(Base):
    """A member of the bureau's staff: reviewer, technician or admin (backend/staff)."""

    __tablename__ = "staff_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(32), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(160))  # scrypt, salted per user
    totp_secret: Mapped[str] = mapped_column(String(64))  # base32 (RFC 6238)
    totp_last_step: Mapped[int | None] = mapped_column(Integer)  # a code is accepted once
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    last_login_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class StaffSession(Base):
    """A signed-in browser: the cookie holds a random token, the table only its hash."""

    __tablename__ = "staff_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class CaseEvidence(Base):
    """What staff review sees of one evidence submission beyond the attempt's numbers: the
    liveness trace, the capture's quality and, when the evidence carries one, the best frame.
    Purged (`purged_at`) a configured number of days after the session's final decision."""

    __tablename__ = "case_evidence"

    attempt_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("verification_sessions.id"), index=True)
    modality: Mapped[str] = mapped_column(String(16))
    captured_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    quality: Mapped[float | None] = mapped_column(Float)
    liveness: Mapped[dict | None] = mapped_column(JSON)
    frame_format: Mapped[str | None] = mapped_column(String(16))
    frame_data: Mapped[bytes | None] = mapped_column(LargeBinary)
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    purged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class ReviewDecision(Base):
    """A reviewer's decision on a case sent to staff; one per receipt."""

    __tablename__ = "review_decisions"

    reference: Mapped[str] = mapped_column(ForeignKey("receipts.reference"), primary_key=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("verification_sessions.id"), index=True)
    decision: Mapped[str] = mapped_column(String(16))  # approved, rejected, appointment
    reason_code: Mapped[str] = mapped_column(String(32))
    note: Mapped[str] = mapped_column(String(500))
    staff_user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    decided_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)


class Notification(Base):
    """A message to a resident (an SMS), kept like an outbox: recorded with the decision,
    then handed to the configured notifier. Holds a masked number only."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    pensioner_id: Mapped[int] = mapped_column(ForeignKey("pensioners.id"), index=True)
    reference: Mapped[str | None] = mapped_column(String(32), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(32))
    recipient_masked: Mapped[str | None] = mapped_column(String(32))
    notifier: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))  # pending, sent, no_recipient, failed
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
