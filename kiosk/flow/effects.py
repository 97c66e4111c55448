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
    """Keep sealed evidence in the outbox until the back end acknowledges it."""

    session_id: str
    evidence: Any  # kiosk.api.contract.SealedEvidence
    idempotency_key: str


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
