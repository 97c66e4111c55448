"""The append-only audit log, hash-chained: each entry's hash covers the previous one, so an
edited or deleted row breaks the chain at a place `kiosk-backend audit-verify` reports.

Entries hold ids, actions and reason codes; never biometric data, names or document numbers.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from backend.models import AuditEntry

GENESIS = "0" * 64
_LOCK_KEY = 0x4A4D_4155_4449_54  # "JMAUDIT"


def _digest(prev: str, at: dt.datetime, actor: str, action: str, subject, detail) -> str:
    canonical = json.dumps(
        [prev, at.astimezone(dt.UTC).isoformat(), actor, action, subject, detail],
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def append(
    db: Session,
    at: dt.datetime,
    actor: str,
    action: str,
    subject: str | None = None,
    detail: dict | None = None,
) -> AuditEntry:
    """Adds an entry in the caller's transaction. Writers are serialised so two cannot read the
    same tail: on PostgreSQL by a transaction-scoped advisory lock taken before the tail is
    read (a row lock on the old tail would not show a writer the row just committed before
    it); on SQLite every transaction already holds the write lock from BEGIN (backend/db.py).
    """
    detail = detail or {}
    if db.get_bind().dialect.name == "postgresql":
        db.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
    tail = db.execute(
        select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1)
    ).scalar_one_or_none()
    prev = tail.hash if tail else GENESIS
    at = at.astimezone(dt.UTC)
    entry = AuditEntry(
        at=at,
        actor=actor,
        action=action,
        subject=subject,
        detail=detail,
        prev_hash=prev,
        hash=_digest(prev, at, actor, action, subject, detail),
    )
    db.add(entry)
    db.flush()
    return entry


def verify_chain(db: Session) -> int | None:
    """Returns the id of the first entry whose link is broken, or None when the chain holds."""
    prev = GENESIS
    for entry in db.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars():
        expected = _digest(prev, entry.at, entry.actor, entry.action, entry.subject, entry.detail)
        if entry.prev_hash != prev or entry.hash != expected:
            return entry.id
        prev = entry.hash
    return None
