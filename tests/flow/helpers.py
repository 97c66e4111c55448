"""Driving the flow by hand: fabricated answers in the contract's own models."""

from __future__ import annotations

import datetime as dt
import random

from kiosk.api import contract as c
from kiosk.flow import effects as fx
from kiosk.flow import events as ev
from kiosk.flow.clock import ManualClock
from kiosk.flow.context import FlowSettings
from kiosk.flow.machine import Flow

HKID = "A123456(3)"
DOB = dt.date(1946, 3, 12)
NOW = dt.datetime(2026, 11, 28, 10, 0, tzinfo=dt.UTC)


def session(
    next_modality=c.Modality.FACE, state=c.SessionState.OPEN, face=3, finger=3, fingers=(2, 7)
) -> c.SessionInfo:
    return c.SessionInfo(
        session_id="s-1",
        purpose=c.Purpose.CERTIFICATION,
        state=state,
        server_nonce="n" * 43,
        expires_at=NOW + dt.timedelta(minutes=30),
        next_modality=next_modality,
        allowed_modalities=[next_modality] if next_modality else [],
        attempts_left=c.AttemptsLeft(face=face, fingerprint=finger),
        enrolled_fingers=list(fingers),
    )


def decision(
    outcome: c.Outcome, modality=c.Modality.FACE, reference=None, sess: c.SessionInfo | None = None
) -> c.Decision:
    return c.Decision(
        decision_id="d-1",
        session_id="s-1",
        modality=modality,
        outcome=outcome,
        reason_code=c.ReasonCode.MATCH if outcome is c.Outcome.APPROVED else c.ReasonCode.NO_MATCH,
        session=sess or session(),
        reference=reference,
        decided_at=NOW,
    )


def summary() -> c.PensionSummary:
    return c.PensionSummary(
        account_status=c.AccountStatus.PAYING,
        monthly_amount="3120.50",
        currency="CNY",
        bank_name="中國銀行江門分行",
        bank_account_masked="**** **** 1234",
        certification_status=c.CertificationStatus.DONE,
        last_certified_on=dt.date(2026, 5, 1),
        next_certification_due=dt.date(2027, 5, 1),
    )


def new_flow(**settings) -> tuple[Flow, ManualClock]:
    clock = ManualClock()
    flow = Flow(clock, FlowSettings(**settings), rng=random.Random(7))
    flow.start()
    return flow, clock


def last(effects, kind):
    found = [e for e in effects if isinstance(e, kind)]
    assert found, f"no {kind.__name__} in {effects}"
    return found[-1]


def answer(flow: Flow, effects, result):
    """Answers the CallApi among `effects` with `result`."""
    call = last(effects, fx.CallApi)
    return flow.handle(ev.ApiDone(call.request_id, call.op, result))


def fail(flow: Flow, effects, kind="rejected", key="error_rejected", code=None):
    call = last(effects, fx.CallApi)
    return flow.handle(ev.ApiFailed(call.request_id, call.op, kind, key, code))


def to_state(state: str, purpose=c.Purpose.CERTIFICATION, **settings):
    """A flow brought to `state` by the resident's own steps; returns (flow, clock, effects)."""
    flow, clock = new_flow(**settings)
    path = [
        ev.Tapped("start"),
        ev.Tapped("choose", "zh_Hant_HK"),
        ev.Tapped("verify" if purpose is c.Purpose.CERTIFICATION else "enquiry"),
        ev.Tapped("choose", "hkid"),
        ev.DocumentEntered(HKID),
        ev.BirthDateEntered(DOB),
    ]
    effects = []
    for e in path:
        if flow.state == state:
            return flow, clock, effects
        effects = flow.handle(e)
    if flow.state == state:
        return flow, clock, effects
    effects = answer(
        flow,
        effects,
        c.IdentifyResponse(
            subject_token="t", masked_name_zh="陳*文", masked_name_en="CHAN T** M**", expires_at=NOW
        ),
    )
    if flow.state == state:
        return flow, clock, effects
    effects = flow.handle(ev.Tapped("yes"))
    if flow.state == state:
        return flow, clock, effects
    effects = flow.handle(ev.Tapped("agree"))
    if flow.state == state:
        return flow, clock, effects
    effects = answer(flow, effects, session())
    if flow.state == state:
        return flow, clock, effects
    raise AssertionError(f"cannot reach {state} (stopped at {flow.state})")


def capture_done(flow: Flow, effects, evidence="evidence"):
    cap = (
        last(effects, fx.CaptureFace)
        if flow.state == "face_capture"
        else last(effects, fx.CaptureFinger)
    )
    kind = ev.FaceCaptured if flow.state == "face_capture" else ev.FingerCaptured
    return flow.handle(kind(cap.request_id, evidence))
