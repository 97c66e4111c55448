"""The append-only audit log, hash-chained: each entry's hash covers the previous one, so an
edited or deleted row breaks the chain at a place `kiosk-backend audit-verify` reports.

Entries hold ids, actions and reason codes; never biometric data, names or document numbers.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.models import AuditEntry

GENESIS = "0" * 64


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
    """Adds an entry in the caller's transaction. The chain's tail is read under a row lock
    where the database has one (PostgreSQL) so two writers cannot fork it."""
    detail = detail or {}
    tail = db.execute(
        select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1).with_for_update()
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
