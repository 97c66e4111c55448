"""Effects: what the flow asks the world to do. The runner performs them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class Effect:
    pass


@dataclass(frozen=True)
class CallApi(Effect):
    request_id: int
    op: str  # a KioskApiClient method name
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)


@dataclass(frozen=True)
class StartCamera(Effect):
    pass


@dataclass(frozen=True)
class StopCamera(Effect):
    pass


@dataclass(frozen=True)
class CaptureFace(Effect):
    request_id: int
    session_id: str
    server_nonce: str
    challenges: tuple[str, ...]


@dataclass(frozen=True)
class CaptureFinger(Effect):
    request_id: int
    session_id: str
    server_nonce: str
    finger_position: int


@dataclass(frozen=True)
class QueueEvidence(Effect):
    """Keep sealed evidence in the outbox until the back end acknowledges it; answered by
    EvidenceQueued(request_id) once it is durably stored (or could not be)."""

    session_id: str
    evidence: Any  # kiosk.api.contract.SealedEvidence
    idempotency_key: str
    request_id: int = 0


@dataclass(frozen=True)
class CancelCapture(Effect):
    pass


@dataclass(frozen=True)
class PrintReceipt(Effect):
    request_id: int
    document: dict[str, Any]


@dataclass(frozen=True)
class Speak(Effect):
    """Message keys only: personal data is never spoken through the loudspeaker."""

    key: str
    language: str


@dataclass(frozen=True)
class ShowMessage(Effect):
    key: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ClearPersonalData(Effect):
    """Every screen must forget what it showed (names, amounts, numbers, frames)."""


@dataclass(frozen=True)
class ProbeBackend(Effect):
    """Out of service: keep checking and send BackendUp when it answers."""


@dataclass(frozen=True)
class ScanQr(Effect):
    """Look for a QR code (camera and reader) until one is read or the scan is cancelled
    (CancelCapture); the answer is QrScanned(request_id) or DeviceFailed."""

    request_id: int


# ---------------------------------------------------------------------------- maintenance
# (kiosk/flow/maintenance.py)


@dataclass(frozen=True)
class CheckPin(Effect):
    """Check a technician PIN against its stored hash (slow on purpose: a worker thread);
    the answer is PinChecked(request_id, ok). Neither value is ever logged or shown."""

    request_id: int
    pin: str = field(repr=False)
    stored: str = field(repr=False)


@dataclass(frozen=True)
class MaintenanceTask(Effect):
    """A maintenance screen's work (a diagnostic, the outbox drain, a page of the log ...),
    done by the runner's maintenance service; the answer is MaintenanceDone or
    MaintenanceFailed."""

    request_id: int
    op: str
    kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Audit(Effect):
    """A technician's action, for the maintenance audit log (never anything personal)."""

    action: str
    result: str = ""


@dataclass(frozen=True)
class RestartApp(Effect):
    """Stop the app with this exit code; the kiosk's service manager starts it again."""

    exit_code: int


@dataclass(frozen=True)
class SpeakPrivately(Effect):
    """Read the resident's own pension summary aloud through the handset (never the
    loudspeaker); only emitted on a kiosk that has one."""

    summary: Any  # kiosk.api.contract.PensionSummary
    language: str
