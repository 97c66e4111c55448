"""Events: what happened. The UI, the runner and the clock produce them; the flow consumes."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any


class Event:
    """Base class; `touch` says whether the resident caused it (it restarts the idle timer)."""

    touch = False


@dataclass(frozen=True)
class Tapped(Event):
    """A button: `action` names it within the current screen (see machine.NAV)."""

    action: str
    value: Any = None
    touch = True


@dataclass(frozen=True)
class Touched(Event):
    """Any touch that is not a button (scrolling, typing on the keypad)."""

    touch = True


@dataclass(frozen=True)
class DocumentEntered(Event):
    number: str
    touch = True


@dataclass(frozen=True)
class BirthDateEntered(Event):
    date: dt.date
    touch = True


@dataclass(frozen=True)
class QrScanned(Event):
    """Text read from a QR code: by the camera while the scan screen is shown (`request_id`
    of its ScanQr), or by a keyboard-wedge scanner at any time (no request id)."""

    payload: str
    request_id: int | None = None


@dataclass(frozen=True)
class Tick(Event):
    """Time passes: the runner sends one every half second or so (virtual time in tests)."""


@dataclass(frozen=True)
class ApiDone(Event):
    request_id: int
    op: str
    result: Any


@dataclass(frozen=True)
class ApiFailed(Event):
    request_id: int
    op: str
    kind: str  # network | timeout | rejected | server | contract
    message_key: str
    code: str | None = None  # the back end's problem code, when it sent one


@dataclass(frozen=True)
class FaceCaptured(Event):
    request_id: int
    evidence: Any  # kiosk.api.contract.EvidenceRequest


@dataclass(frozen=True)
class FingerCaptured(Event):
    request_id: int
    evidence: Any


@dataclass(frozen=True)
class CaptureRetry(Event):
    """The resident can fix it (no face, centre your finger ...): coach and capture again."""

    request_id: int
    message_key: str


@dataclass(frozen=True)
class DeviceFailed(Event):
    """A device failed (unplugged, protocol error): the out-of-service path."""

    device: str
    message_key: str
    request_id: int | None = None


@dataclass(frozen=True)
class PrintDone(Event):
    request_id: int
    ok: bool
    message_key: str | None = None


@dataclass(frozen=True)
class BackendUp(Event):
    """The runner's health probe reached the back end again."""


@dataclass(frozen=True)
class BackendDown(Event):
    """The heartbeat found the back end unreachable (a message key says how)."""

    message_key: str


# ---------------------------------------------------------------------------- maintenance
# (kiosk/flow/maintenance.py)


@dataclass(frozen=True)
class PinEntered(Event):
    """The technician confirmed a PIN on the maintenance keypad."""

    pin: str = field(repr=False)
    touch = True


@dataclass(frozen=True)
class PinChecked(Event):
    request_id: int
    ok: bool


@dataclass(frozen=True)
class MaintenanceDone(Event):
    request_id: int
    op: str
    result: Any


@dataclass(frozen=True)
class MaintenanceFailed(Event):
    request_id: int
    op: str
    detail: str  # one line for the technician: an exception's type, never personal data


@dataclass(frozen=True)
class EvidenceQueued(Event):
    """The outbox's answer to QueueEvidence: `ok` once the evidence is durably stored."""

    request_id: int
    ok: bool
