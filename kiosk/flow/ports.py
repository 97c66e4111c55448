"""What the runner needs from the world, as protocols: the flow's side of each device.

Adapters in kiosk/devices turn a driver (or a simulator) into one of these. Errors come in
the two kinds the flow treats differently: the resident can fix it (coach, capture again),
or a device failed (out of service).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Protocol

from kiosk.api import contract as c

Progress = Callable[[str, float], None]  # (message key, fraction done 0..1)


class CaptureRetryError(Exception):
    def __init__(self, message_key: str):
        super().__init__(message_key)
        self.message_key = message_key


class DeviceFailure(Exception):
    def __init__(self, device: str, message_key: str):
        super().__init__(f"{device}: {message_key}")
        self.device = device
        self.message_key = message_key


class FaceCapturer(Protocol):
    def capture(
        self,
        server_nonce: str,
        challenges: tuple[str, ...],
        cancel: threading.Event,
        progress: Progress,
    ) -> c.EvidenceRequest: ...


class FingerCapturer(Protocol):
    def capture(
        self, server_nonce: str, finger_position: int, cancel: threading.Event, progress: Progress
    ) -> c.EvidenceRequest: ...


class QrScanner(Protocol):
    def scan(self, cancel: threading.Event) -> str | None:
        """The text of a QR code, or None when cancelled; DeviceFailure when the camera
        fails."""


class ReceiptPrinter(Protocol):
    def print_document(self, document: dict[str, Any]) -> None: ...


class Speaker(Protocol):
    def say(self, key: str, language: str) -> None: ...
