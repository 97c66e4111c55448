"""The back end failing during each API call of both journeys, through a real fault proxy.

Every case: a fresh kiosk (its own identity, client and outbox) plays a resident through the
journey while one call fails (tests/faults/proxy.py: down, slow past the read timeout, 500,
or answered by the back end and the answer lost), always or just once; then the proxy heals,
the outbox drains, and the back end is counted:

- the journey stops on the expected SAFE screen (tests/faults/harness.py says why each one
  is safe) and never in a busy state;
- nothing lost: a verification the resident was told is received (receipt or pending) is
  exactly one certification once the outbox has drained;
- nothing duplicated: no session with two receipts, no submission decided twice (decisions
  = distinct evidence packages = audit entries), never more decisions than captures; the
  audit chain verifies.
"""

from __future__ import annotations

import time

import pytest

from kiosk.api import contract as c
from kiosk.devices.sim_resident import ResidentScript
from kiosk.flow import events as ev
from kiosk.outbox import Outbox
from tests.conftest import persona
from tests.faults.harness import (
    ENQUIRY_OPS,
    OPS,
    SAFE,
    SLOW_S,
    VERIFY_OPS,
    Kiosk,
    records,
)

FAULTS = ("down", "slow", "500", "after_forward_drop")
PERSONA = {"verify": "demo-02", "enquiry": "demo-01"}  # due for certification / certified
IDEMPOTENT = {"identify", "evidence_key", "submit_evidence", "pension_summary", "payments"}


def _expected(journey: str, op: str, times: int | None) -> str:
    if times is not None and op in IDEMPOTENT:
        return "receipt" if journey == "verify" else "payments"  # a retry absorbs it
    if journey == "verify" and op == "submit_evidence":
        return "pending"  # sealed evidence kept in the outbox; the resident leaves with a JP-
    return "out_of_service"


ALWAYS = [
    (journey, op, fault, None)
    for journey, ops in (("verify", VERIFY_OPS), ("enquiry", ENQUIRY_OPS))
    for op in ops
    for fault in FAULTS
]
# Once: the calls of the verification, then the enquiry's own two.
ONCE = [
    ("verify" if op in VERIFY_OPS else "enquiry", op, fault, 1)
    for op in ENQUIRY_OPS
    for fault in FAULTS
]


def _id(case) -> str:
    journey, op, fault, times = case
    return f"{journey}-{op}-{fault}-{'always' if times is None else 'once'}"


def _play(stack, client, personas, tmp_path, journey, op, fault, times):
    method, path = OPS[op]
    rule = stack.proxy.add(fault, method, path, times=times, delay_s=SLOW_S)
    p = persona(personas, key=PERSONA[journey])
    box = Outbox(tmp_path / "outbox.sqlite3")
    k = Kiosk(client, ResidentScript(p["key"]), outbox=box)
    return rule, box, k, p


@pytest.mark.parametrize("case", ALWAYS + ONCE, ids=_id)
def test_fault_ends_safe_with_nothing_lost_or_duplicated(
    case, healthy, kiosk_client, identity, personas, tmp_path
):
    journey, op, _fault, times = case
    rule, box, k, p = _play(healthy, kiosk_client, personas, tmp_path, *case)
    want = _expected(journey, op, times)
    try:
        end = k.journey(p, "verify" if journey == "verify" else "enquiry")
        assert rule.hits >= 1, f"the fault never fired: {healthy.proxy.seen[-5:]}"
        assert end == want, (k.flow.visited, k.flow.messages)
        assert end in SAFE
        captures = k.resident.face_attempts + k.resident.finger_attempts
        if end == "out_of_service":
            assert k.flow.ctx.personal_values() == {}  # a full reset
            k.wait_for("attract")  # the back end answers its probe: the kiosk is back
        if end == "pending":
            pending = k.flow.ctx.pending_reference
            session_id = k.flow.ctx.session.session_id
            assert box.depth() == 1  # durable before the resident was told
            assert k.printer.documents[-1]["reference"] == pending
        if end == "receipt":
            reference = k.flow.ctx.decision.reference
            assert k.printer.documents[-1]["reference"] == reference
    finally:
        k.close()

    healthy.proxy.heal()
    healthy.proxy.wait_idle()  # a slow request still on its way has arrived
    if box.depth():
        result = box.drain(kiosk_client)
        assert (result.delivered, result.refused, result.deferred) == (1, 0, 0)
        assert box.drain(kiosk_client).delivered == 0
    assert box.depth() == 0
    box.close()

    rec = records(healthy.app, identity.kiosk_id)
    assert rec.chain_broken_at is None
    assert rec.duplicates() == []
    assert sum(rec.attempts.values()) <= captures  # never more decisions than captures
    if journey == "enquiry":
        assert rec.receipts == []  # an enquiry certifies nothing
    elif end in ("receipt", "pending"):
        [cert] = rec.certifications  # told received: exactly one certification
        if end == "receipt":
            assert cert.reference == reference
        else:
            assert cert.session_id == session_id
    else:
        assert rec.certifications == []  # told nothing: nothing certified
    assert len(k.printer.documents) <= 1


@pytest.mark.parametrize(
    "fault",
    [
        "down",
        "500",
        "slow",
        "after_forward_drop",
    ],
)
def test_pending_reference_resolves_after_the_outbox_drains(
    fault, healthy, kiosk_client, identity, personas, tmp_path
):
    """The resident leaves with a "received, pending" receipt naming JP-...: once the outbox
    has drained, that name must find the certification at the bureau."""
    _rule, box, k, p = _play(
        healthy, kiosk_client, personas, tmp_path, "verify", "submit_evidence", fault, None
    )
    try:
        assert k.journey(p) == "pending"
        pending = k.flow.ctx.pending_reference
    finally:
        k.close()
    healthy.proxy.heal()
    healthy.proxy.wait_idle()
    assert box.drain(kiosk_client).delivered == 1
    box.close()
    [cert] = records(healthy.app, identity.kiosk_id).certifications
    found = kiosk_client.receipt(pending)  # 404 (Rejected) when the name was not recorded
    assert found.reference == cert.reference
    assert found.status is c.ReceiptStatus.APPROVED


def test_whole_back_end_down_out_of_service_until_it_returns(
    healthy, kiosk_client, identity, personas
):
    """Everything down, the health probe included: the kiosk stays out of service, probing,
    and comes back to the attract screen by itself when the back end answers again."""
    rule = healthy.proxy.add("down")
    p = persona(personas, key="demo-02")
    k = Kiosk(kiosk_client, ResidentScript(p["key"]))
    try:
        assert k.journey(p) == "out_of_service"
        assert "error_network" in k.flow.messages
        probes_before = rule.hits
        deadline = time.monotonic() + 0.6
        while time.monotonic() < deadline:
            k.runner.pump(timeout=0.02)
        assert k.flow.state == "out_of_service"
        assert rule.hits > probes_before  # it kept probing
        healthy.proxy.heal()
        k.wait_for("attract", timeout=10)
        assert k.flow.ctx.personal_values() == {}
    finally:
        k.close()
    rec = records(healthy.app, identity.kiosk_id)
    assert rec.sessions == [] and rec.chain_broken_at is None


def test_lost_answer_then_retry_is_decided_once(healthy, kiosk_client, identity, personas):
    """The answer to the submission is lost once: the client sends the same package again
    under the same idempotency key and gets the first decision back; the back end decided
    once (the headline case idempotency keys exist for)."""
    method, path = OPS["submit_evidence"]
    rule = healthy.proxy.add("after_forward_drop", method, path, times=1)
    p = persona(personas, key="demo-02")
    k = Kiosk(kiosk_client, ResidentScript(p["key"]))
    try:
        assert k.journey(p) == "receipt"
        reference = k.flow.ctx.decision.reference
        k.do(ev.Tapped("done"))
    finally:
        k.close()
    sent = healthy.proxy.forwarded(method, path)
    assert rule.hits == 1 and [s.status for s in sent] == [200, 200]  # decided, then replayed
    rec = records(healthy.app, identity.kiosk_id)
    [cert] = rec.certifications
    assert cert.reference == reference
    assert sum(rec.attempts.values()) == 1 and rec.duplicates() == []


@pytest.mark.parametrize("minutes", [-10, +10])
def test_kiosk_clock_off_signed_calls_are_corrected(
    minutes, healthy, kiosk_client, identity, personas
):
    """The transport half of a wrong kiosk clock: the first signed call is refused as stale,
    the client learns the server's time from the answer and every call after it is
    accepted; the identification and the session work."""
    healthy.clock.offset = -minutes * 60.0  # the kiosk's clock `minutes` off the server's
    p = persona(personas, key="demo-02")
    k = Kiosk(kiosk_client, ResidentScript(p["key"]))
    try:
        k.journey(p)
    finally:
        k.close()
    identify = healthy.proxy.forwarded(*OPS["identify"])
    assert [s.status for s in identify] == [401, 200]  # stale, then corrected
    assert abs(kiosk_client.clock_offset.offset + minutes * 60.0) < 5
    assert [s.status for s in healthy.proxy.forwarded(*OPS["start_session"])] == [201]


@pytest.mark.parametrize("minutes", [-10, +10])
def test_kiosk_clock_off_by_ten_minutes_journey_completes(
    minutes, healthy, kiosk_client, identity, personas
):
    healthy.clock.offset = -minutes * 60.0
    p = persona(personas, key="demo-02")
    k = Kiosk(kiosk_client, ResidentScript(p["key"]))
    try:
        end = k.journey(p)
        assert end == "receipt", (k.flow.visited, k.flow.messages)
    finally:
        k.close()
    [cert] = records(healthy.app, identity.kiosk_id).certifications
    assert cert.reference == k.flow.ctx.decision.reference
