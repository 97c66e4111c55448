"""Whole journeys: the flow and its runner, simulated devices, the real back end over HTTP."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from sqlalchemy import func, select

from backend import models as m
from kiosk.api import contract as c
from kiosk.devices.sim_resident import (
    BORDERLINE,
    MATCH,
    STRANGER,
    ResidentScript,
    SimulatedResident,
)
from kiosk.evidence import Sealer, key_from_api
from kiosk.flow import events as ev
from kiosk.flow.clock import ManualClock
from kiosk.flow.context import FlowSettings
from kiosk.flow.machine import Flow
from kiosk.flow.ports import DeviceFailure
from kiosk.flow.runner import Devices, Runner
from tests.conftest import persona


class PaperRoll:
    """The printer port, keeping each document; `paper_out` makes it fail like a printer."""

    def __init__(self):
        self.documents = []
        self.paper_out = False

    def print_document(self, document):
        if self.paper_out:
            raise DeviceFailure("printer", "printer_paper_out")
        self.documents.append(document)


class Kiosk:
    def __init__(self, client, script: ResidentScript, outbox=None):
        self.clock = ManualClock()
        self.flow = Flow(self.clock, FlowSettings(kiosk_id=client.kiosk_id))
        self.resident = SimulatedResident(script)
        self.printer = PaperRoll()
        self.runner = Runner(
            self.flow,
            client,
            Devices(self.resident.face, self.resident.finger, self.printer),
            Sealer(
                client.kiosk_id,
                client._key,
                key_from_api(client),
                offset=lambda: client.clock_offset.offset,
            ),
            outbox=outbox,
            probe_interval_s=0.05,
        )
        self.runner.start()

    def do(self, event, until: str | set[str] | None = None, timeout: float = 20):
        self.runner.dispatch(event)
        if until:
            self.wait(until, timeout)

    def wait(self, states, timeout: float = 20):
        states = {states} if isinstance(states, str) else states
        deadline = time.monotonic() + timeout
        while self.flow.state not in states:
            assert time.monotonic() < deadline, f"stuck in {self.flow.state}, wanted {states}"
            self.runner.pump(timeout=0.05)

    def identify(self, p, purpose="verify"):
        doc = p["documents"][0]
        self.do(ev.Tapped("start"))
        self.do(ev.Tapped("choose", "zh_Hant_HK"))
        self.do(ev.Tapped(purpose))
        self.do(ev.Tapped("choose", doc["type"]))
        self.do(ev.DocumentEntered(doc["number"]))
        self.do(
            ev.BirthDateEntered(dt.date.fromisoformat(p["date_of_birth"])), until="confirm_name"
        )
        assert self.flow.ctx.masked_name_zh[0] == p["name_zh"][0]
        self.do(ev.Tapped("yes"))
        self.do(
            ev.Tapped("agree"),
            until={
                "face_capture",
                "finger_choice",
                "processing",
                "try_again",
                "printing",
                "receipt",
            },
        )

    def close(self):
        self.runner.close()


@pytest.fixture
def kiosk_for(client):
    made = []

    def make(script):
        k = Kiosk(client, script)
        made.append(k)
        return k

    yield make
    for k in made:
        k.close()


def _receipts(app, reference):
    with app.state.sessions() as db:
        return db.scalar(
            select(func.count()).select_from(m.Receipt).where(m.Receipt.reference == reference)
        )


def test_verify_approve(kiosk_for, personas, backend, client):
    p = persona(personas, certification="due")
    k = kiosk_for(ResidentScript(p["key"], face=[MATCH]))
    k.identify(p)
    k.wait("receipt")
    ref = k.flow.ctx.decision.reference
    assert ref and k.flow.ctx.printed is True
    assert k.printer.documents[-1]["reference"] == ref
    assert client.receipt(ref).status is c.ReceiptStatus.APPROVED
    assert _receipts(backend[0], ref) == 1
    k.do(ev.Tapped("done"))
    assert k.flow.state == "attract" and k.flow.ctx.personal_values() == {}


def test_verify_face_retry_then_approve(kiosk_for, personas):
    p = persona(personas, certification="overdue")
    k = kiosk_for(ResidentScript(p["key"], face=[STRANGER, MATCH]))
    k.identify(p)
    k.wait("try_again")
    k.do(ev.Tapped("retry"), until="receipt")
    assert k.resident.face_attempts == 2


def test_verify_finger_fallback(kiosk_for, personas):
    p = persona(personas, certification="done", face=True)
    k = kiosk_for(ResidentScript(p["key"], face=[STRANGER], finger=[MATCH]))
    k.identify(p)
    for _ in range(2):
        k.wait("try_again")
        k.do(ev.Tapped("retry"))
    k.wait("switch_finger")
    k.do(ev.Tapped("continue"))
    assert k.flow.state == "finger_choice"
    k.do(ev.Tapped("choose", p["fingers"][0]), until="receipt")
    assert k.flow.ctx.decision.modality is c.Modality.FINGERPRINT
    assert k.resident.face_attempts == 3 and k.resident.finger_attempts == 1


def test_verify_manual_review(kiosk_for, personas, client):
    p = persona(personas, certification="due")
    k = kiosk_for(ResidentScript(p["key"], face=[BORDERLINE]))
    k.identify(p)
    k.wait("staff_review")
    ref = k.flow.ctx.decision.reference
    assert client.receipt(ref).status is c.ReceiptStatus.PENDING_REVIEW
    k.do(ev.Tapped("print"), until="receipt")
    assert k.printer.documents[-1]["outcome"] == "manual_review"


def test_enquiry(kiosk_for, personas):
    p = persona(personas, certification="done")
    k = kiosk_for(ResidentScript(p["key"]))
    k.identify(p, purpose="enquiry")
    k.wait("summary")
    assert k.flow.ctx.summary.monthly_amount == p["account"]["monthly_amount"]
    k.do(ev.Tapped("payments"), until="payments")
    assert k.flow.ctx.payments.total == 24
    k.do(ev.Tapped("next"))
    k.wait("payments")
    k.do(ev.Tapped("back"))
    k.do(ev.Tapped("print"), until="receipt")
    assert k.printer.documents[-1]["kind"] == "statement"


def test_paper_out_shows_reference(kiosk_for, personas):
    p = persona(personas, certification="due")
    k = kiosk_for(ResidentScript(p["key"]))
    k.printer.paper_out = True
    k.identify(p)
    k.wait("receipt")
    assert k.flow.ctx.printed is False
    assert k.flow.ctx.decision.reference
    assert k.flow.ctx.message_key == "receipt_printer_failed"


def test_backend_down_then_up(backend_settings, clock, personas):
    from kiosk.api.client import KioskApiClient
    from tests.conftest import _start, register_kiosk

    app, server = _start(backend_settings, clock)
    ident = register_kiosk(app, clock)
    port = server.port
    cl = KioskApiClient(
        server.url,
        ident.kiosk_id,
        ident.key,
        clock=clock.time,
        sleep=lambda s: None,
        retries=0,
        read_timeout=2,
        connect_timeout=1,
    )
    p = personas[0]
    k = Kiosk(cl, ResidentScript(p["key"]))
    try:
        server.stop()
        doc = p["documents"][0]
        for e in (
            ev.Tapped("start"),
            ev.Tapped("choose", "en"),
            ev.Tapped("verify"),
            ev.Tapped("choose", doc["type"]),
            ev.DocumentEntered(doc["number"]),
        ):
            k.do(e)
        k.do(ev.BirthDateEntered(dt.date.fromisoformat(p["date_of_birth"])), until="out_of_service")
        assert k.flow.ctx.personal_values() == {}
        from backend.server import BackgroundServer

        again = BackgroundServer(app, port=port).start()
        try:
            k.wait("attract")
        finally:
            again.stop()
    finally:
        k.close()
        cl.close()


class DropsEvidence:
    """The real client, except that evidence never arrives (the link to Jiangmen is down)."""

    def __init__(self, client):
        self._client = client
        self.down = True

    def __getattr__(self, name):
        return getattr(self._client, name)

    def submit_evidence(self, *args, **kwargs):
        if self.down:
            from kiosk.api.errors import NetworkError

            raise NetworkError("link down")
        return self._client.submit_evidence(*args, **kwargs)


def test_backend_down_at_submission_gives_pending_receipt_then_drains_once(
    client, personas, backend, tmp_path
):
    from kiosk.outbox import Outbox

    app, _ = backend
    p = persona(personas, certification="overdue")
    link = DropsEvidence(client)
    box = Outbox(tmp_path / "outbox.sqlite3")
    k = Kiosk(link, ResidentScript(p["key"]), outbox=box)
    try:
        k.identify(p)
        k.wait("pending")
        pending = k.flow.ctx.pending_reference
        assert pending and pending.startswith("JP-")
        assert k.printer.documents[-1]["outcome"] == "pending"
        assert k.printer.documents[-1]["reference"] == pending
        assert box.depth() == 1
        link.down = False
        assert box.drain(link).delivered == 1
        assert box.drain(link).delivered == 0
        assert client.receipt(pending).status is c.ReceiptStatus.APPROVED
        with app.state.sessions() as db:
            n = db.scalar(
                select(func.count())
                .select_from(m.Receipt)
                .where(m.Receipt.pending_reference == pending)
            )
            decided = db.scalar(
                select(func.count())
                .select_from(m.AuditEntry)
                .where(m.AuditEntry.action == "evidence_decided")
            )
        assert n == 1 and decided == 1
    finally:
        k.close()
        box.close()
