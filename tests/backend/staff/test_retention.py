"""Evidence purged a configured number of days after the final decision, in virtual time;
cases still waiting for a reviewer are kept; old heartbeats go."""

from __future__ import annotations

from sqlalchemy import func, select

from backend import models as m
from backend.staff import notify, retention, review
from tests import sim_evidence
from tests.backend.staff.conftest import add_staff, borderline_case, heartbeat
from tests.conftest import identify, persona


def _evidence(app, reference):
    with app.state.sessions() as db:
        sid = db.get(m.Receipt, reference).session_id
        return db.scalars(select(m.CaseEvidence).where(m.CaseEvidence.session_id == sid)).all()


def _run(app, clock):
    with app.state.sessions() as db:
        return retention.run(db, clock.now(), app.state.settings)


def test_evidence_is_purged_days_after_the_review_decision(backend, clock, client, personas):
    app, _server = backend
    days = app.state.settings.evidence_retention_days
    waiting = borderline_case(client, personas)
    decided = borderline_case(client, personas)
    with app.state.sessions() as db:
        sid = db.get(m.Receipt, decided).session_id
        row = db.scalar(select(m.CaseEvidence).where(m.CaseEvidence.session_id == sid))
        row.frame_format, row.frame_data = "jpeg", b"\xff\xd8\xff" + b"\x00" * 64
        db.commit()
    add_staff(app, clock, "rita", "reviewer")
    clock.advance(86400)  # decided a day after the capture
    with app.state.sessions() as db:
        rita = db.scalar(select(m.StaffUser).where(m.StaffUser.username == "rita"))
        review.decide(db, clock.now(), decided, rita, "approved", "same_person", "same face",
                      app.state.settings, notify.LogNotifier())  # fmt: skip
    clock.advance(days * 86400 - 60)  # not yet
    assert _run(app, clock).evidence_purged == 0
    assert all(e.liveness for e in _evidence(app, decided))
    clock.advance(120)
    assert _run(app, clock).evidence_purged == 1
    [purged] = _evidence(app, decided)
    assert purged.frame_data is None and purged.liveness is None and purged.purged_at
    # The case still waiting for a reviewer keeps its evidence however old.
    [kept] = _evidence(app, waiting)
    assert kept.liveness and kept.purged_at is None
    with app.state.sessions() as db:
        case = review.load_case(db, decided)
        assert not case.liveness_attempts and "purged" in " ".join(case.notes)
        actions = db.scalars(select(m.AuditEntry.action)).all()
        assert "retention_run" in actions
    assert _run(app, clock).evidence_purged == 0  # nothing twice


def test_machine_decided_sessions_are_purged_too(backend, clock, client, personas):
    app, _server = backend
    p = persona(personas, certification="due", face=True)
    info = identify(client, p)
    decision = sim_evidence.submit(client, info, sim_evidence.face(p["key"], 0.2))
    assert decision.outcome.value == "approved"
    clock.advance(app.state.settings.evidence_retention_days * 86400 + 1)
    assert _run(app, clock).evidence_purged == 1


def test_old_heartbeats_are_deleted(backend, clock, client):
    app, _server = backend
    heartbeat(client)
    clock.advance(app.state.settings.heartbeat_retention_days * 86400 + 1)
    heartbeat(client)
    assert _run(app, clock).heartbeats_deleted == 1
    with app.state.sessions() as db:
        assert db.scalar(select(func.count()).select_from(m.Heartbeat)) == 1


def test_final_decision_time_rules(backend, clock, client, personas):
    app, _server = backend
    waiting = borderline_case(client, personas)
    with app.state.sessions() as db:
        sess = db.get(m.VerificationSession, db.get(m.Receipt, waiting).session_id)
        assert retention.final_decision_at(db, sess) is None
        sess.state = "open"
        assert retention.final_decision_at(db, sess) == sess.expires_at
        db.rollback()
