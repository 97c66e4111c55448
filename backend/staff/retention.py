"""Retention: evidence is purged `evidence_retention_days` after the session's final decision,
heartbeats are deleted after `heartbeat_retention_days`. Run by `kiosk-backend retention run`
(e.g. daily from cron or a systemd timer); reads the injected clock, so tests move time.

The final decision of a session is the reviewer's decision when staff decided it; otherwise
the machine's last decision once the session is closed (passed, appointment); a session left
open is final when it expires. A case still waiting for a reviewer is never purged.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from backend import audit
from backend import models as m
from backend.settings import BackendSettings
from kiosk.api.contract import SessionState


@dataclass(frozen=True)
class RetentionReport:
    evidence_purged: int
    heartbeats_deleted: int


def final_decision_at(db: Session, sess: m.VerificationSession) -> dt.datetime | None:
    """When the session's outcome became final, or None while it is not."""
    receipt = db.scalar(select(m.Receipt).where(m.Receipt.session_id == sess.id))
    if receipt is not None:
        decision = db.get(m.ReviewDecision, receipt.reference)
        if decision is not None:
            return decision.decided_at
    if sess.state in (SessionState.PASSED.value, SessionState.APPOINTMENT.value):
        return db.scalar(
            select(func.max(m.Attempt.decided_at)).where(m.Attempt.session_id == sess.id)
        )
    if sess.state == SessionState.OPEN.value:
        return sess.expires_at
    return None  # manual review, not decided yet


def purge_evidence(db: Session, now: dt.datetime, s: BackendSettings) -> int:
    """Empties the frames and liveness traces of sessions decided more than the retention
    period ago (the row stays, marked purged). Returns how many evidence rows were purged."""
    cutoff = now - dt.timedelta(days=s.evidence_retention_days)
    session_ids = db.scalars(
        select(m.CaseEvidence.session_id).where(m.CaseEvidence.purged_at.is_(None)).distinct()
    ).all()
    purged = 0
    for session_id in session_ids:
        sess = db.get(m.VerificationSession, session_id)
        final = final_decision_at(db, sess) if sess else None
        if final is None or final > cutoff:
            continue
        for row in db.scalars(
            select(m.CaseEvidence).where(
                m.CaseEvidence.session_id == session_id, m.CaseEvidence.purged_at.is_(None)
            )
        ):
            row.frame_data = None
            row.frame_format = None
            row.liveness = None
            row.purged_at = now
            purged += 1
    return purged


def delete_heartbeats(db: Session, now: dt.datetime, s: BackendSettings) -> int:
    cutoff = now - dt.timedelta(days=s.heartbeat_retention_days)
    result = db.execute(delete(m.Heartbeat).where(m.Heartbeat.received_at < cutoff))
    return result.rowcount or 0


def run(db: Session, now: dt.datetime, s: BackendSettings) -> RetentionReport:
    """One retention pass (committed, audited)."""
    report = RetentionReport(purge_evidence(db, now, s), delete_heartbeats(db, now, s))
    if report.evidence_purged or report.heartbeats_deleted:
        audit.append(
            db,
            now,
            "system:retention",
            "retention_run",
            None,
            {
                "evidence_purged": report.evidence_purged,
                "heartbeats_deleted": report.heartbeats_deleted,
                "evidence_retention_days": s.evidence_retention_days,
            },
        )
    db.commit()
    return report
