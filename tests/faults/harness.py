"""The fault suite's kiosk: the real flow and runner, a simulated resident (or live device
ports), the real back end on loopback behind the fault proxy, and the checks every case ends
with (a safe screen; nothing lost; nothing duplicated).

SAFE screens, and why each is safe to end a fault on:

- `out_of_service`: the kiosk says it cannot serve, holds nothing personal (a full reset),
  and probes the back end to come back by itself; the resident was promised nothing.
- `notice`: a message and a "home" button: the resident is told and can act.
- `pending`: "received, not yet confirmed": only shown once the sealed evidence is durably in
  the outbox (the promise the outbox keeps).
- `receipt` (also with `receipt_printer_failed`: the reference number is on the screen),
  `staff_review`, `appointment`: the back end decided and said so.
- `summary`, `payments`: the enquiry answered.
- `doc_type`, `doc_number`: the resident can act (another way to identify, correct a number).

Not safe: every busy state (`identifying`, `starting`, `processing`, `printing`,
`face_capture`, `finger_capture`): a kiosk left there waits forever with the idle timer
paused.
"""

from __future__ import annotations

import datetime as dt
import itertools
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select

from backend import models as m
from backend.audit import verify_chain
from backend.clock import SystemClock
from kiosk.api import contract as c
from kiosk.api.client import KioskApiClient
from kiosk.config import KioskSettings
from kiosk.devices.sim_resident import ResidentScript, SimulatedResident
from kiosk.evidence import Sealer, key_from_api, key_from_api_cached
from kiosk.flow import effects as fx
from kiosk.flow import events as ev
from kiosk.flow.clock import ManualClock
from kiosk.flow.context import FlowSettings
from kiosk.flow.machine import BUSY, Flow
from kiosk.flow.runner import Devices, Runner

SAFE = frozenset(
    {
        "out_of_service",
        "notice",
        "pending",
        "receipt",
        "staff_review",
        "appointment",
        "summary",
        "payments",
        "doc_type",
        "doc_number",
    }
)
assert not SAFE & BUSY

# Where a journey stops: the resident has their answer, or the kiosk gave up.
TERMINAL = frozenset(
    {"out_of_service", "notice", "pending", "receipt", "staff_review", "appointment"}
)

# The product's settings for the client, with the suite's short timeouts.
RETRIES = KioskSettings.model_fields["retries"].default
CONNECT_TIMEOUT_S = 0.5
READ_TIMEOUT_S = 1.0
SLOW_S = READ_TIMEOUT_S + 0.4  # a slow answer comes this long after the request

API = c.API_PREFIX
SESSION = r"[0-9a-f-]{36}"

# Every API call of the two journeys: (client method, HTTP method, path regex).
OPS: dict[str, tuple[str, str]] = {
    "identify": ("POST", rf"{API}/identify"),
    "start_session": ("POST", rf"{API}/sessions"),
    "evidence_key": ("GET", rf"{API}/evidence-key"),
    "submit_evidence": ("POST", rf"{API}/sessions/{SESSION}/evidence"),
    "pension_summary": ("GET", rf"{API}/sessions/{SESSION}/pension"),
    "payments": ("GET", rf"{API}/sessions/{SESSION}/payments"),
}
VERIFY_OPS = ("identify", "start_session", "evidence_key", "submit_evidence")
ENQUIRY_OPS = (*VERIFY_OPS, "pension_summary", "payments")


class OffsetClock(SystemClock):
    """The back end's clock: real time plus `offset` seconds. A kiosk whose clock is 10
    minutes slow is a back end 10 minutes ahead of it: every kiosk-side clock (the client's,
    the capture's, the sealer's) is then off by the same amount, as on a real kiosk."""

    def __init__(self) -> None:
        self.offset = 0.0

    def time(self) -> float:
        return time.time() + self.offset


_ids = itertools.count(1)


def new_kiosk_id() -> str:
    return f"HK-FLT-{next(_ids):04d}"


def make_client(url: str, identity, **overrides) -> KioskApiClient:
    """The kiosk's client as the product builds it (retries from KioskSettings), with the
    suite's short timeouts. Backoff between retries is not waited for (the number of
    attempts is what the faults test, not the pause between them)."""
    kw = dict(
        connect_timeout=CONNECT_TIMEOUT_S,
        read_timeout=READ_TIMEOUT_S,
        retries=RETRIES,
        sleep=lambda s: None,
    )
    kw.update(overrides)
    return KioskApiClient(url, identity.kiosk_id, identity.key, **kw)


class RecordingFlow(Flow):
    """The flow, remembering every screen it went to and every message it showed."""

    def __init__(self, *args, **kwargs):
        self.visited: list[str] = []
        self.messages: list[str] = []
        super().__init__(*args, **kwargs)

    def go(self, state: str) -> None:
        self.visited.append(state)
        super().go(state)

    def show(self, key: str, **params) -> None:
        self.messages.append(key)
        super().show(key, **params)


class PaperRoll:
    """A printer port that keeps each document it printed."""

    def __init__(self) -> None:
        self.documents: list[dict] = []

    def print_document(self, document: dict) -> None:
        self.documents.append(document)


class Kiosk:
    """A headless kiosk: Flow + Runner on the given ports, sealing with the product's
    key source (the back end's evidence key, a copy kept at `key_copy`)."""

    def __init__(
        self,
        client,
        script: ResidentScript,
        *,
        outbox=None,
        printer=None,
        face=None,
        finger=None,
        qr=None,
        on_effect: Callable[[fx.Effect], None] | None = None,
        key_copy: Path | None = None,
        probe_interval_s: float = 0.05,
    ):
        self.client = client
        self.clock = ManualClock()
        self.flow = RecordingFlow(self.clock, FlowSettings(kiosk_id=client.kiosk_id))
        self.resident = SimulatedResident(script)
        self.printer = printer if printer is not None else PaperRoll()
        self.outbox = outbox
        self.effects: list[fx.Effect] = []

        def effect(e: fx.Effect) -> None:
            self.effects.append(e)
            if on_effect is not None:
                on_effect(e)

        key = key_from_api(client) if key_copy is None else key_from_api_cached(client, key_copy)
        # As kiosk/container.py wires it: evidence stamped in the back end's time.
        sealer = Sealer(
            client.kiosk_id, client._key, key, offset=lambda: client.clock_offset.offset
        )
        self.runner = Runner(
            self.flow,
            client,
            Devices(
                face or self.resident.face, finger or self.resident.finger, self.printer, qr=qr
            ),
            sealer,
            outbox=outbox,
            on_effect=effect,
            probe_interval_s=probe_interval_s,
        )
        self.runner.start()

    # -- driving ----------------------------------------------------------------------------

    def do(self, event: ev.Event) -> None:
        self.runner.dispatch(event)

    def resting(self) -> bool:
        return not self.flow.busy and self.flow.awaiting is None and self.runner.events.empty()

    def settle(self, timeout: float = 30.0) -> str:
        """Pumps until the kiosk waits for nobody but the resident; returns the state."""
        deadline = time.monotonic() + timeout
        while True:
            self.runner.pump(timeout=0.02)
            if self.resting():
                return self.flow.state
            assert time.monotonic() < deadline, (
                f"stuck in {self.flow.state} awaiting {self.flow.awaiting}: {self.flow.visited}"
            )

    def wait_for(self, states: str | Iterable[str], timeout: float = 20.0) -> str:
        states = {states} if isinstance(states, str) else set(states)
        deadline = time.monotonic() + timeout
        while self.flow.state not in states:
            assert time.monotonic() < deadline, (
                f"stuck in {self.flow.state}, wanted {states}: {self.flow.visited}"
            )
            self.runner.pump(timeout=0.02)
        return self.flow.state

    def journey(
        self, persona: dict, purpose: str = "verify", timeout: float = 60.0, finger: int = 0
    ) -> str:
        """Plays the resident through a whole journey; returns the first screen where it
        stops (TERMINAL, or `payments` for an enquiry). Never taps on from a stop."""
        doc = persona["documents"][0]
        fingers = persona.get("fingers") or [2]
        steps: dict[str, ev.Event] = {
            "attract": ev.Tapped("start"),
            "language": ev.Tapped("choose", "zh_Hant_HK"),
            "home": ev.Tapped(purpose),
            "doc_type": ev.Tapped("choose", doc["type"]),
            "doc_number": ev.DocumentEntered(doc["number"]),
            "birth_date": ev.BirthDateEntered(dt.date.fromisoformat(persona["date_of_birth"])),
            "confirm_name": ev.Tapped("yes"),
            "consent": ev.Tapped("agree"),
            "try_again": ev.Tapped("retry"),
            "switch_finger": ev.Tapped("continue"),
            "finger_choice": ev.Tapped("choose", str(fingers[finger])),
            "summary": ev.Tapped("payments"),
        }
        stops = TERMINAL | ({"payments"} if purpose == "enquiry" else set())
        deadline = time.monotonic() + timeout
        seen = len(self.flow.visited)
        taps: dict[str, int] = {}
        while True:
            self.settle(max(0.1, deadline - time.monotonic()))
            # A stop passed through on the way (out of service, then back to attract when
            # the probe answered) still ends the journey there.
            for state in self.flow.visited[seen:]:
                if state in stops:
                    return state
            seen = len(self.flow.visited)
            state = self.flow.state
            if state in stops:
                return state
            taps[state] = taps.get(state, 0) + 1
            assert taps[state] <= 4, f"the journey goes round in circles: {self.flow.visited}"
            assert state in steps, f"no step for {state}: {self.flow.visited}"
            self.do(steps[state])

    def close(self) -> None:
        self.runner.close()


# -- the back end's records -------------------------------------------------------------------


@dataclass
class Records:
    """What the back end holds for one kiosk's sessions."""

    sessions: list[str] = field(default_factory=list)
    receipts: list[m.Receipt] = field(default_factory=list)
    attempts: dict[str, int] = field(default_factory=dict)  # session -> decided submissions
    seen_evidence: dict[str, int] = field(default_factory=dict)  # session -> evidence ids
    decided_audits: dict[str, int] = field(default_factory=dict)  # session -> audit entries
    chain_broken_at: int | None = None

    @property
    def certifications(self) -> list[m.Receipt]:
        return [
            r
            for r in self.receipts
            if r.kind == c.ReceiptKind.CERTIFICATION.value
            and r.status == c.ReceiptStatus.APPROVED.value
        ]

    def duplicates(self) -> list[str]:
        """Sessions with more than one receipt, or with a submission decided twice (more
        decisions than distinct evidence packages, more audit entries than decisions)."""
        out = []
        for s in self.sessions:
            receipts = sum(1 for r in self.receipts if r.session_id == s)
            a, e, d = (
                self.attempts.get(s, 0),
                self.seen_evidence.get(s, 0),
                self.decided_audits.get(s, 0),
            )
            if receipts > 1 or a != e or d != a:
                out.append(f"{s}: receipts={receipts} attempts={a} evidence={e} audits={d}")
        return out


def records(app, kiosk_id: str) -> Records:
    with app.state.sessions() as db:
        sessions = list(
            db.scalars(
                select(m.VerificationSession.id).where(m.VerificationSession.kiosk_id == kiosk_id)
            )
        )
        receipts = list(db.scalars(select(m.Receipt).where(m.Receipt.kiosk_id == kiosk_id)))
        for r in receipts:
            db.expunge(r)

        def per_session(column, *where) -> dict[str, int]:
            rows = db.execute(select(column, func.count()).where(*where).group_by(column))
            return {k: n for k, n in rows}

        attempts = per_session(m.Attempt.session_id, m.Attempt.kiosk_id == kiosk_id)
        seen = per_session(m.SeenEvidence.session_id, m.SeenEvidence.kiosk_id == kiosk_id)
        audits = {
            subject.removeprefix("session:"): n
            for subject, n in db.execute(
                select(m.AuditEntry.subject, func.count())
                .where(
                    m.AuditEntry.action == "evidence_decided",
                    m.AuditEntry.actor == f"kiosk:{kiosk_id}",
                )
                .group_by(m.AuditEntry.subject)
            )
        }
        broken = verify_chain(db)
    return Records(sessions, receipts, attempts, seen, audits, broken)
