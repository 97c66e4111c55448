"""The reader contract: what every QR / barcode reader (real or simulated) does.

A reader turns one scan into its text: the QR code a resident holds up to the camera
(`camera_qr.py`), or what a USB keyboard-wedge scanner types (`wedge.py`). It does not know
what the text means: the kiosk checks it (an e-card: kiosk/api/ecard.py), so a forged or
damaged payload is the kiosk's message, not a reader error.

The duties are written at each declaration. The contract test suite
(tests/drivers/reader/test_contract.py) checks every reader against these words: the
simulator, the wedge reader fed scripted key events, and the camera reader on a simulated
camera; a real scanner with `pytest -m hardware`.

Life cycle::

    reader = SomeReader(...)             # cheap: touches no hardware
    info = reader.open()                 # -> ReaderInfo; DeviceUnavailable when missing
    scan = reader.read(timeout=1.0)      # -> Scan, or None when nothing was scanned in time
    reader.cancel()                      # any thread: a waiting `read` raises DeviceCancelled
    reader.clear()                       # forget scans not yet read (a new resident starts)
    reader.health()                      # -> ReaderHealth, any time, any thread, never raises
    reader.close()                       # idempotent; a waiting `read` raises DeviceCancelled

Threads: `read` is called from one consumer thread; `cancel`, `clear`, `health` and `close`
from any thread at any time. A waiting `read` ends within about a tenth of a second of
`cancel`/`close`.

Readers that are handed scans (a wedge scanner types whenever it likes, the simulator) keep
the ones made while nobody is reading (the few newest, for at most `max_age_s`) for the next
`read`, so a scan between two reads of a polling loop is not lost. The camera reader looks
only while it reads, and reports a code once while it stays in view.

Errors (drivers.errors):
- `DeviceRetry(READER_UNREADABLE)`: something was scanned but could not be read (a garbled
  or cut-off scanner burst; a QR code in view that does not decode for a while: glare,
  blur, too far). The resident can fix it: the kiosk asks to scan again.
- `DeviceError`: the reader failed while in use (`UNPLUGGED`: the scanner or camera went
  away; `TIMEOUT`: the camera stopped delivering). Out-of-service path for scanning: the
  kiosk offers the keypad instead.
- `DeviceUnavailable`: missing at start (no such device, library missing), or the reader is
  used before `open` / after `close`.
- `DeviceCancelled`: `cancel()` or `close()` was called while `read` waited.
A reader never lets another exception out of these methods.

Nothing to read within the timeout is not an error: `read` returns None.
"""

from __future__ import annotations

import abc
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Self

from drivers.errors import (
    DeviceCancelled,
    DeviceError,
    DeviceErrorKind,
    DeviceRetry,
    DeviceUnavailable,
)

__all__ = [
    "READER_UNREADABLE",
    "DeviceCancelled",
    "DeviceError",
    "DeviceErrorKind",
    "DeviceRetry",
    "DeviceUnavailable",
    "Reader",
    "ReaderHealth",
    "ReaderInfo",
    "ReaderState",
    "Scan",
    "not_open",
    "unreadable",
]

#: The retry reason of a scan that could not be read (a message key).
READER_UNREADABLE = "reader_unreadable"


class ReaderState(StrEnum):
    """Where a reader is. Each value is also the message key of its health report."""

    CLOSED = "reader_closed"  # before open / after close
    READY = "reader_ok"  # waiting for scans
    FAILED = "reader_failed"  # the device went away (read: DeviceError)


@dataclass(frozen=True)
class Scan:
    """The text of one scan, exactly as read (a wedge scanner's terminator removed).

    `source` names the reader kind ("wedge", "camera", "simulator"); `timestamp` is the
    reader's clock (monotonic seconds) when the scan was complete."""

    text: str
    source: str
    timestamp: float
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ReaderInfo:
    """What `open()` found."""

    kind: str  # "wedge", "camera", "simulator"
    source: str  # a device path, the camera's source, "keyboard" ...
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ReaderHealth:
    """`ok` and a message key for the maintenance screen; the rest for `kiosk doctor`."""

    ok: bool
    state: ReaderState
    scans: int = 0  # scans delivered since open
    unreadable: int = 0  # scans that could not be read since open
    last_scan_age_s: float | None = None  # None before the first scan
    last_error: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def message_key(self) -> str:
        return self.state.value


class Reader(abc.ABC):
    """A reader. Subclasses implement the abstract methods below."""

    #: Short name used in errors and logs.
    device = "reader"

    #: Scans older than this when read are dropped (the resident has moved on).
    max_age_s: float = 30.0

    @classmethod
    def is_usable(cls) -> bool:
        """Whether this reader can run here at all (its libraries import). Never raises,
        never touches hardware."""
        return True

    @abc.abstractmethod
    def open(self) -> ReaderInfo:
        """Find the device and get ready to read. `DeviceUnavailable` when it is missing.
        Opening an open reader reopens it (pending scans are dropped). Returns `ReaderInfo`
        (also `self.info`)."""

    @property
    @abc.abstractmethod
    def info(self) -> ReaderInfo:
        """The `ReaderInfo` of the last successful `open`; `DeviceUnavailable` before it."""

    @abc.abstractmethod
    def read(self, timeout: float = 1.0) -> Scan | None:
        """The next scan, waiting at most `timeout` seconds; None when nothing was scanned.

        Duties: return each scan once, oldest pending first (readers that keep scans: drop
        those older than `max_age_s`); an unreadable scan ->
        `DeviceRetry(READER_UNREADABLE)` (once per such scan); the device gone ->
        `DeviceError`; before `open` / after `close` -> `DeviceUnavailable`;
        `cancel()`/`close()` from another thread -> `DeviceCancelled`.
        """

    @abc.abstractmethod
    def cancel(self) -> None:
        """End a `read` that is waiting now (it raises `DeviceCancelled`). A `read` that
        starts afterwards waits as usual. Never raises."""

    @abc.abstractmethod
    def clear(self) -> None:
        """Forget the scans (and unreadable scans) not read yet, and what was already
        reported (the camera reader then reports a code still in view again). Never
        raises."""

    @abc.abstractmethod
    def health(self) -> ReaderHealth:
        """The current state. Cheap, never blocks on the device, never raises."""

    @abc.abstractmethod
    def close(self) -> None:
        """Stop reading and release the device. Idempotent, never raises."""

    # -- shared behaviour -------------------------------------------------------------

    def clock(self) -> float:
        """The reader's clock for timestamps (monotonic seconds). Simulators and tests
        inject their own."""
        return time.monotonic()

    def scans(self, timeout: float = 1.0) -> Iterator[Scan]:
        """Scans until `close()` or `cancel()`: each item is a `read(timeout)` that found one
        (timeouts are skipped). `DeviceRetry` and `DeviceError` propagate as `read` raises
        them; cancellation and closing end the iteration quietly."""
        while True:
            try:
                scan = self.read(timeout)
            except DeviceCancelled:
                return
            except DeviceUnavailable:
                if self.health().state is ReaderState.CLOSED:
                    return
                raise
            if scan is not None:
                yield scan

    def __enter__(self) -> Self:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def not_open(device: str) -> DeviceUnavailable:
    """The error a reader raises when used before `open` (or after `close`)."""
    return DeviceUnavailable("not open", device=device, reason="not_open")


def unreadable(device: str, detail: str = "") -> DeviceRetry:
    """The retry a reader raises for a scan it could not read."""
    return DeviceRetry(READER_UNREADABLE, detail, device=device)
