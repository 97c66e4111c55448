"""Evidence, decisions and the ladder, client <-> back end over real HTTP."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from backend import models as m
from kiosk.api import contract as c
from kiosk.api.errors import AuthRejected, NetworkError, Rejected
from kiosk.api.transport import RequestsTransport
from tests import sim_evidence as ev
from tests.conftest import identify, persona

MATCH, BORDERLINE, OTHER = 0.2, 0.5, 0.9


def test_approve_on_first_face_attempt(client, personas):
    p = persona(personas, certification="due")
    sess = identify(client, p)
    d = ev.submit(client, sess, ev.face(p["key"], MATCH))
    assert d.outcome is c.Outcome.APPROVED
    assert d.reason_code is c.ReasonCode.MATCH
    assert d.reference and d.reference.startswith("JM")
    r = client.receipt(d.reference)
    assert r.status is c.ReceiptStatus.APPROVED
    assert r.kind is c.ReceiptKind.CERTIFICATION
    assert r.kiosk_id == client.kiosk_id


def test_retry_then_approve(client, personas):
    p = persona(personas, certification="overdue")
    sess = identify(client, p)
    first = ev.submit(client, sess, ev.face(p["key"], OTHER, seed=1))
    assert first.outcome is c.Outcome.RETRY
    assert first.session.attempts_left.face == 2
    assert first.reference is None
    second = ev.submit(client, sess, ev.face(p["key"], MATCH, seed=2))
    assert second.outcome is c.Outcome.APPROVED


def test_three_face_failures_then_fingerprint(client, personas):
    p = persona(personas, certification="done", face=True)
    assert p["fingers"]
    sess = identify(client, p)
    outcomes = [ev.submit(client, sess, ev.face(p["key"], OTHER, seed=i)).outcome for i in range(3)]
    assert outcomes == [c.Outcome.RETRY, c.Outcome.RETRY, c.Outcome.NEXT_MODALITY]
    info = client.get_session(sess.session_id)
    assert info.next_modality is c.Modality.FINGERPRINT
    assert info.enrolled_fingers == sorted(p["fingers"])
    finger = p["fingers"][0]
    d = ev.submit(client, sess, ev.finger(p["key"], finger, 0.3))
    assert d.outcome is c.Outcome.APPROVED
    assert d.modality is c.Modality.FINGERPRINT


def test_liveness_failure_counts_as_an_attempt(client, personas):
    p = personas[0]
    sess = identify(client, p)
    d = ev.submit(client, sess, ev.face(p["key"], MATCH, live=False))
    assert d.outcome is c.Outcome.RETRY
    assert d.reason_code is c.ReasonCode.LIVENESS_FAILED
    d = ev.submit(client, sess, ev.face(p["key"], MATCH, faces_seen=2, seed=3))
    assert d.reason_code is c.ReasonCode.LIVENESS_FAILED


def test_borderline_goes_to_manual_review(client, personas):
    p = personas[0]
    sess = identify(client, p)
    d = ev.submit(client, sess, ev.face(p["key"], BORDERLINE))
    assert d.outcome is c.Outcome.MANUAL_REVIEW
    assert d.reason_code is c.ReasonCode.BORDERLINE
    assert client.receipt(d.reference).status is c.ReceiptStatus.PENDING_REVIEW
    with pytest.raises(Rejected) as e:
        ev.submit(client, sess, ev.face(p["key"], MATCH, seed=9))
    assert e.value.code == "session_closed"


def test_no_face_enrolled_starts_on_fingerprint(client, personas):
    p = persona(personas, face=False)
    sess = identify(client, p)
    assert sess.next_modality is c.Modality.FINGERPRINT
    assert sess.attempts_left.face == 0
    with pytest.raises(Rejected) as e:
        ev.submit(client, sess, ev.face(p["key"], MATCH))
    assert e.value.code in ("no_attempts_left", "modality_not_allowed")


def test_unenrolled_finger_refused(client, personas):
    p = persona(personas, face=False)
    sess = identify(client, p)
    unenrolled = next(f for f in range(1, 11) if f not in p["fingers"])
    with pytest.raises(Rejected) as e:
        ev.submit(client, sess, ev.finger(p["key"], unenrolled, 0.1))
    assert e.value.code == "finger_not_enrolled"


def test_no_fingerprint_enrolled_goes_to_review_after_faces(client, personas):
    p = persona(personas, fingers=[])
    sess = identify(client, p)
    outs = [ev.submit(client, sess, ev.face(p["key"], OTHER, seed=i)).outcome for i in range(3)]
    assert outs[-1] is c.Outcome.MANUAL_REVIEW


def test_enquiry_needs_a_passed_check(client, personas):
    p = persona(personas, certification="done")
    sess = identify(client, p, c.Purpose.ENQUIRY)
    with pytest.raises(Rejected) as e:
        client.pension_summary(sess.session_id)
    assert e.value.status == 403
    assert e.value.code == "biometric_check_required"
    d = ev.submit(client, sess, ev.face(p["key"], MATCH))
    assert d.outcome is c.Outcome.APPROVED
    assert d.reference is None  # an enquiry records no certification
    summary = client.pension_summary(sess.session_id)
    assert summary.monthly_amount == p["account"]["monthly_amount"]
    assert summary.bank_account_masked.endswith(p["account"]["account_last4"])
    assert summary.certification_status is c.CertificationStatus.DONE
    page1 = client.payments(sess.session_id)
    page2 = client.payments(sess.session_id, page=2)
    assert page1.total == 24 and len(page1.items) == 12 and len(page2.items) == 12
    periods = [x.period for x in page1.items + page2.items]
    assert periods == sorted(periods, reverse=True) and len(set(periods)) == 24


def test_enquiry_borderline_retries_instead_of_review(client, personas):
    p = personas[0]
    sess = identify(client, p, c.Purpose.ENQUIRY)
    d = ev.submit(client, sess, ev.face(p["key"], BORDERLINE))
    assert d.outcome is c.Outcome.RETRY


def test_certification_lifts_a_suspension(client, personas):
    p = persona(personas, certification="suspended")
    sess = identify(client, p, c.Purpose.ENQUIRY)
    ev.submit(client, sess, ev.face(p["key"], MATCH))
    before = client.pension_summary(sess.session_id)
    assert before.certification_status is c.CertificationStatus.SUSPENDED
    assert before.account_status is c.AccountStatus.SUSPENDED
    cert = identify(client, p)
    d = ev.submit(client, cert, ev.face(p["key"], MATCH, seed=5))
    assert d.outcome is c.Outcome.APPROVED
    again = identify(client, p, c.Purpose.ENQUIRY)
    ev.submit(client, again, ev.face(p["key"], MATCH, seed=6))
    after = client.pension_summary(again.session_id)
    assert after.certification_status is c.CertificationStatus.DONE
    assert after.account_status is c.AccountStatus.PAYING


def test_simulated_evidence_only_from_demo_kiosks(backend, clock, personas):
    from kiosk.api.client import KioskApiClient
    from tests.conftest import register_kiosk

    app, server = backend
    live = register_kiosk(app, clock, kiosk_id="HK-LIVE-01", demo=False)
    cl = KioskApiClient(server.url, live.kiosk_id, live.key, clock=clock.time, sleep=lambda s: None)
    p = personas[0]
    sess = identify(cl, p)
    with pytest.raises(AuthRejected) as e:
        ev.submit(cl, sess, ev.face(p["key"], MATCH))
    assert e.value.code == "simulated_evidence_forbidden"
    cl.close()


class LosesFirstAnswer(RequestsTransport):
    """Delivers the request, then loses the answer on the way back, once."""

    def __init__(self):
        super().__init__()
        self.lost = 0
        self.sent = 0

    def send(self, method, url, headers, body, timeout):
        raw = super().send(method, url, headers, body, timeout)
        if url.endswith("/evidence"):
            self.sent += 1
            if self.lost == 0:
                self.lost += 1
                raise NetworkError("connection reset after the request was processed")
        return raw


def _count(app, model, *where):
    with app.state.sessions() as db:
        return db.scalar(select(func.count()).select_from(model).where(*where))


def test_retry_after_lost_answer_returns_first_decision(backend, kiosk_identity, clock, personas):
    from kiosk.api.client import KioskApiClient

    app, server = backend
    transport = LosesFirstAnswer()
    cl = KioskApiClient(
        server.url,
        kiosk_identity.kiosk_id,
        kiosk_identity.key,
        transport=transport,
        clock=clock.time,
        sleep=lambda s: None,
    )
    p = persona(personas, certification="due")
    sess = identify(cl, p)
    evidence = ev.seal(cl, sess, ev.face(p["key"], MATCH))
    decision = cl.submit_evidence(sess.session_id, evidence, idempotency_key="ev-lost-answer-0001")
    assert transport.lost == 1 and transport.sent == 2
    assert decision.outcome is c.Outcome.APPROVED
    assert _count(app, m.Attempt, m.Attempt.session_id == sess.session_id) == 1
    assert _count(app, m.Receipt, m.Receipt.session_id == sess.session_id) == 1
    # And again, by hand, later: still the first decision, still one record.
    again = cl.submit_evidence(sess.session_id, evidence, idempotency_key="ev-lost-answer-0001")
    assert again == decision
    assert _count(app, m.Attempt, m.Attempt.session_id == sess.session_id) == 1
    assert _count(app, m.Receipt, m.Receipt.session_id == sess.session_id) == 1
    cl.close()


def test_same_key_different_evidence_conflicts(client, personas):
    p = personas[0]
    sess = identify(client, p)
    ev.submit(client, sess, ev.face(p["key"], OTHER, seed=1), idempotency_key="ev-conflict-0001")
    with pytest.raises(Rejected) as e:
        ev.submit(
            client, sess, ev.face(p["key"], OTHER, seed=2), idempotency_key="ev-conflict-0001"
        )
    assert e.value.status == 409
    assert e.value.code == "idempotency_conflict"


def test_sessions_are_private_to_their_kiosk(backend, client, clock, personas):
    from kiosk.api.client import KioskApiClient
    from tests.conftest import register_kiosk

    app, server = backend
    p = personas[0]
    sess = identify(client, p)
    other = register_kiosk(app, clock, kiosk_id="MO-OTHER-03")
    cl = KioskApiClient(
        server.url, other.kiosk_id, other.key, clock=clock.time, sleep=lambda s: None
    )
    with pytest.raises(Rejected) as e:
        cl.get_session(sess.session_id)
    assert e.value.status == 404
    cl.close()


def _captured_at(capture, when):
    return capture.model_copy(update={"captured_at": when})


def test_evidence_captured_after_the_session_expired_is_refused(client, personas, backend, clock):
    app, _ = backend
    p = personas[0]
    sess = identify(client, p)
    clock.advance(app.state.settings.session_ttl_s + app.state.settings.clock_skew_s + 1)
    assert client.get_session(sess.session_id).state is c.SessionState.EXPIRED
    late = _captured_at(ev.face(p["key"], MATCH), clock.now())
    with pytest.raises(Rejected) as e:
        ev.submit(client, sess, late)
    assert e.value.status == 410 and e.value.code == "evidence_expired"


def test_late_delivery_inside_the_validity_window_counts(client, personas, backend, clock):
    """An outbox that drains two hours later still delivers: what counts is when the
    evidence was captured (inside the session), not when it arrives."""
    p = persona(personas, certification="due")
    sess = identify(client, p)
    sealed = ev.seal(client, sess, _captured_at(ev.face(p["key"], MATCH), clock.now()))
    clock.advance(2 * 3600)
    d = client.submit_evidence(sess.session_id, sealed)
    assert d.outcome is c.Outcome.APPROVED


def test_delivery_after_the_validity_window_is_refused(client, personas, backend, clock):
    app, _ = backend
    p = personas[0]
    sess = identify(client, p)
    sealed = ev.seal(client, sess, _captured_at(ev.face(p["key"], MATCH), clock.now()))
    clock.advance(app.state.settings.evidence_validity_s + 60)
    with pytest.raises(Rejected) as e:
        client.submit_evidence(sess.session_id, sealed)
    assert e.value.code == "evidence_expired"


def _audited(app, reason):
    with app.state.sessions() as db:
        rows = db.scalars(select(m.AuditEntry).where(m.AuditEntry.action == "evidence_rejected"))
        return [r.detail["reason"] for r in rows if r.detail.get("reason") == reason]


def test_tampered_evidence_is_rejected_and_audited(client, personas, backend):
    import base64

    app, _ = backend
    p = personas[0]
    sess = identify(client, p)
    sealed = ev.seal(client, sess, ev.face(p["key"], MATCH))
    raw = bytearray(base64.b64decode(sealed.ciphertext))
    raw[100] ^= 0x01
    tampered = sealed.model_copy(update={"ciphertext": base64.b64encode(bytes(raw)).decode()})
    with pytest.raises(Rejected) as e:
        client.submit_evidence(sess.session_id, tampered)
    assert e.value.status == 422 and e.value.code == "evidence_invalid"
    assert _audited(app, "undecryptable") == ["undecryptable"]
    # The session is untouched: the genuine package still counts.
    assert client.submit_evidence(sess.session_id, sealed).outcome is c.Outcome.APPROVED


def test_replayed_evidence_is_rejected_and_audited(client, personas, backend):
    app, _ = backend
    p = personas[0]
    sess = identify(client, p)
    sealed = ev.seal(client, sess, ev.face(p["key"], OTHER))
    first = client.submit_evidence(sess.session_id, sealed, idempotency_key="ev-first-000001")
    assert first.outcome is c.Outcome.RETRY
    with pytest.raises(Rejected) as e:
        client.submit_evidence(sess.session_id, sealed, idempotency_key="ev-replay-00001")
    assert e.value.status == 409 and e.value.code == "evidence_replayed"
    assert _audited(app, "replayed") == ["replayed"]
    assert client.get_session(sess.session_id).attempts_left.face == 2


def test_evidence_for_another_session_is_rejected(client, personas, backend):
    app, _ = backend
    p = personas[0]
    one = identify(client, p)
    other = identify(client, p)
    sealed = ev.seal(client, one, ev.face(p["key"], MATCH))
    with pytest.raises(Rejected) as e:
        client.submit_evidence(other.session_id, sealed)
    assert e.value.code == "evidence_invalid"
    assert _audited(app, "binding") == ["binding"]


def test_evidence_signed_by_another_kiosk_is_rejected(backend, client, clock, personas):
    """A package sealed with another kiosk's key (but claiming this kiosk) fails its
    signature after decryption."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from kiosk.evidence import Sealer, key_from_api

    app, _ = backend
    p = personas[0]
    sess = identify(client, p)
    forger = Sealer(client.kiosk_id, Ed25519PrivateKey.generate(), key_from_api(client))
    forged = forger.seal(ev.face(p["key"], MATCH), sess.session_id, sess.server_nonce)
    with pytest.raises(Rejected) as e:
        client.submit_evidence(sess.session_id, forged)
    assert e.value.code == "evidence_invalid"
    assert _audited(app, "bad_signature") == ["bad_signature"]


def test_audit_chain_after_journeys(client, personas, backend):
    from backend.audit import verify_chain

    app, _ = backend
    p = personas[0]
    sess = identify(client, p)
    ev.submit(client, sess, ev.face(p["key"], MATCH))
    with app.state.sessions() as db:
        assert verify_chain(db) is None
        entries = db.scalars(select(m.AuditEntry)).all()
        assert {"identified", "session_started", "evidence_decided", "receipt_issued"} <= {
            e.action for e in entries
        }
        text = repr([(e.actor, e.action, e.subject, e.detail) for e in entries])
        for secret in (p["name_zh"], p["name_en"], p["documents"][0]["number"]):
            assert secret not in text
        # Tamper with one entry: verification names it.
        victim = entries[len(entries) // 2]
        victim.detail = {**victim.detail, "tampered": True}
        db.commit()
        assert verify_chain(db) == victim.id
