"""The outbox: sealed evidence kept while the back end is down, delivered exactly once."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import func, select

from backend import models as m
from backend.server import BackgroundServer
from kiosk.api import contract as c
from kiosk.api.client import KioskApiClient
from kiosk.api.errors import NetworkError
from kiosk.outbox import Outbox
from tests import sim_evidence as ev
from tests.conftest import identify, persona


def _count(app, model, *where):
    with app.state.sessions() as db:
        return db.scalar(select(func.count()).select_from(model).where(*where))


@pytest.fixture
def outbox(tmp_path, clock):
    box = Outbox(tmp_path / "outbox.sqlite3", clock=clock.time, backoff_s=1)
    yield box
    box.close()


def test_down_then_up_delivers_exactly_once(backend, kiosk_identity, clock, personas, outbox):
    app, server = backend
    port = server.port
    cl = KioskApiClient(
        server.url,
        kiosk_identity.kiosk_id,
        kiosk_identity.key,
        clock=clock.time,
        sleep=lambda s: None,
        retries=0,
        connect_timeout=1,
    )
    p = persona(personas, certification="due")
    sess = identify(cl, p)
    sealed = ev.seal(cl, sess, ev.face(p["key"], 0.2))
    server.stop()
    with pytest.raises(NetworkError):
        cl.submit_evidence(sess.session_id, sealed, idempotency_key="ev-offline-000001")
    outbox.put(sess.session_id, sealed, "ev-offline-000001")
    outbox.put(sess.session_id, sealed, "ev-offline-000001")  # the same evidence: one entry
    assert outbox.depth() == 1

    down = outbox.drain(cl)
    assert (down.delivered, down.deferred) == (0, 1) and outbox.depth() == 1
    assert outbox.drain(cl).deferred == 0  # backing off: not due yet

    again = BackgroundServer(app, port=port).start()
    try:
        clock.advance(5)
        up = outbox.drain(cl)
        assert (up.delivered, up.refused) == (1, 0)
        assert outbox.depth() == 0
        assert _count(app, m.Attempt, m.Attempt.session_id == sess.session_id) == 1
        assert _count(app, m.AuditEntry, m.AuditEntry.action == "evidence_decided") == 1
        ref = c.pending_reference(sealed.evidence_id)
        receipt = cl.receipt(ref)  # the name the resident was given works
        assert receipt.status is c.ReceiptStatus.APPROVED
        # Draining again sends nothing, and re-sending by hand records nothing new.
        assert outbox.drain(cl) == type(up)()
        cl.submit_evidence(
            sess.session_id, sealed, idempotency_key="ev-offline-000001", deferred=True
        )
        assert _count(app, m.Attempt, m.Attempt.session_id == sess.session_id) == 1
    finally:
        again.stop()
        cl.close()


def test_deferred_non_match_goes_to_staff(client, personas, outbox, clock):
    """The resident left with a pending receipt: a 'try again' becomes a staff review."""
    p = personas[0]
    sess = identify(client, p)
    outbox.put(sess.session_id, ev.seal(client, sess, ev.face(p["key"], 0.9)), "ev-def-0000001")
    assert outbox.drain(client).delivered == 1
    info = client.get_session(sess.session_id)
    assert info.state is c.SessionState.MANUAL_REVIEW


def test_refused_entries_leave_the_queue(client, personas, outbox, tmp_path):
    p = personas[0]
    sess = identify(client, p)
    sealed = ev.seal(client, sess, ev.face(p["key"], 0.2))
    client.submit_evidence(sess.session_id, sealed, idempotency_key="ev-first-0000001")
    outbox.put(sess.session_id, sealed, "ev-other-0000001")  # replayed under a new key
    r = outbox.drain(client)
    assert (r.delivered, r.refused) == (0, 1) and outbox.depth() == 0


def test_survives_reopen_and_holds_only_ciphertext(client, personas, tmp_path, clock):
    p = personas[0]
    sess = identify(client, p)
    capture = ev.face(p["key"], 0.2)
    sealed = ev.seal(client, sess, capture)
    path = tmp_path / "box.sqlite3"
    box = Outbox(path, clock=clock.time)
    box.put(sess.session_id, sealed, "ev-reopen-000001")
    box.close()
    box = Outbox(path, clock=clock.time)
    assert box.depth() == 1
    assert box.due()[0].sealed == sealed
    box.close()
    raw = b"".join(f.read_bytes() for f in tmp_path.glob("box.sqlite3*"))
    probe = repr(capture.template.vector[0]).encode()
    assert probe not in raw  # no template value in clear, in the file or its WAL


def test_deleted_entries_are_overwritten(client, personas, tmp_path, clock):
    p = personas[0]
    sess = identify(client, p)
    sealed = ev.seal(client, sess, ev.face(p["key"], 0.2))
    path = tmp_path / "box.sqlite3"
    box = Outbox(path, clock=clock.time)
    box.put(sess.session_id, sealed, "ev-delete-000001")
    assert box.drain(client).delivered == 1
    box.close()
    con = sqlite3.connect(path)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    raw = path.read_bytes()
    assert sealed.ciphertext[:40].encode() not in raw
