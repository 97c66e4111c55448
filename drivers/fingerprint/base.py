"""The fingerprint sensor contract: what every fingerprint driver (real or simulated) does.

The duties are written at each declaration, the way libfprint documents a driver's callbacks
in `fpi-device.h`: what the caller may assume, what the driver must guarantee, and which
error kind each failure becomes. A contract test suite (tests/drivers/test_fingerprint_contract.py)
checks every driver against these words, against the simulator by default and against real
hardware with `pytest -m hardware`.

Life cycle::

    sensor = SomeSensor(...)         # cheap: touches no hardware
    info = sensor.open()             # finds and configures the device -> SensorInfo
    shot = sensor.capture(timeout=10, progress=cb)   # -> Capture (image + quality)
    sensor.health()                  # -> Health, any time between captures
    sensor.close()                   # idempotent

Threads: `capture` blocks and runs on a worker thread; `cancel` may be called from any other
thread at any time (also before or after a capture, when it does nothing lasting). `open`,
`health` and `close` are not called concurrently with `capture` by the kiosk, but a driver
must not corrupt its line if they are: it serialises them with a lock.

Errors (drivers.errors): `DeviceRetry` (reason = a `RetryReason` message key: the resident
can fix it), `DeviceError` (kind = protocol / checksum / unplugged / timeout / hardware: the
device failed), `DeviceUnavailable` (missing at start), `DeviceCancelled` (cancel() was
called). A driver never lets another exception out of these methods (a pyserial or OS error
becomes a `DeviceError` or `DeviceUnavailable`); the one exception is an exception raised by
the caller's own progress callback, which propagates unchanged.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Self

import numpy as np

from drivers.errors import DeviceUnavailable


class RetryReason(StrEnum):
    """Why a capture must be repeated by the resident; each value is a message key."""

    NO_FINGER = "finger_no_finger"  # nothing on the glass within the capture timeout
    FINGER_MOVED = "finger_moved"  # the finger moved or lifted while the image was taken
    TOO_FEW_FEATURES = "finger_too_few_features"  # too little ridge area (tip only, too light)
    SMUDGED = "finger_smudged"  # smeared, wet or dirty: ridges not separable


class CaptureStage(StrEnum):
    """Where a capture is; each value is also the message key the screen shows."""

    WAITING = "finger_place"  # waiting for a finger on the sensor
    DETECTED = "finger_detected"  # a finger is on the glass, image taken
    TRANSFERRING = "finger_reading"  # the image is travelling from the device to the host
    DONE = "finger_done"  # the image is on the host


@dataclass(frozen=True)
class CaptureProgress:
    """One progress report. `done`/`total` are stage units (bytes while transferring).

    Over one capture the reported `fraction` never decreases, and a successful capture ends
    with exactly one report of stage DONE and fraction 1.0.
    """

    stage: CaptureStage
    fraction: float  # 0..1 over the whole capture
    done: int = 0
    total: int = 0

    @property
    def message_key(self) -> str:
        return self.stage.value


ProgressCallback = Callable[[CaptureProgress], None]


@dataclass(frozen=True)
class SensorInfo:
    """What `open()` learned about the device."""

    model: str  # e.g. "R30x (ZhianTec protocol)"
    width: int  # image width in pixels
    height: int  # image height in pixels
    dpi: int  # resolution of the images `capture` returns
    serial_number: str | None = None
    details: dict[str, Any] = field(default_factory=dict)  # driver specific (baud, system id ...)


@dataclass(frozen=True)
class Capture:
    """One captured finger image.

    `image` is a 2-D numpy uint8 array (height x width, 0 = black ridge, 255 = white
    background) at `SensorInfo.dpi`. `quality` is the device-level gate in 0..1 (share of the
    frame covered by usable ridges, as the driver can tell cheaply); it is not the biometric
    quality score of biometrics/, which the kiosk computes from the image.
    """

    image: np.ndarray
    quality: float
    duration_s: float = 0.0
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Health:
    """`ok` and a message key for the maintenance screen; `details` for `kiosk doctor`."""

    ok: bool
    message_key: str
    details: dict[str, Any] = field(default_factory=dict)


class FingerprintSensor(abc.ABC):
    """A fingerprint sensor. Subclasses implement the abstract methods below."""

    #: Short name used in errors and logs ("fingerprint").
    device = "fingerprint"

    @classmethod
    def is_usable(cls) -> bool:
        """Whether this driver can run here at all (its optional libraries import).

        Must not touch hardware and must not raise. The container asks this before
        constructing a real driver, so the kiosk starts without pyserial installed.
        """
        return True

    @abc.abstractmethod
    def open(self) -> SensorInfo:
        """Find the device, check it answers and configure it for capture.

        Duties: verify the device is the expected kind (handshake, password ...), bring the
        link to its fastest reliable setting, leave the device idle. Returns `SensorInfo`,
        also kept as `self.info`. Raises `DeviceUnavailable` when the device is absent,
        refuses, or its library is missing; never blocks longer than its configured open
        timeout. Calling `open` on an open sensor re-opens it.
        """

    @property
    @abc.abstractmethod
    def info(self) -> SensorInfo:
        """The `SensorInfo` of the last successful `open`; `DeviceUnavailable` before it."""

    @abc.abstractmethod
    def capture(self, *, timeout: float, progress: ProgressCallback | None = None) -> Capture:
        """Wait for a finger (at most `timeout` seconds), take an image and bring it home.

        Duties:
        - report progress through `progress` (if given) in the calling thread: WAITING first,
          then DETECTED, TRANSFERRING with bytes received / expected, and DONE at 1.0 last;
          the fraction never goes down;
        - no finger within `timeout` -> `DeviceRetry(RetryReason.NO_FINGER)`; a finger the
          device cannot image well -> `DeviceRetry` with the matching reason;
        - the device not answering a command in its own time -> `DeviceError(TIMEOUT)`,
          line closed -> `DeviceError(UNPLUGGED)`, corrupt packets -> `DeviceError(CHECKSUM)`
          or `DeviceError(PROTOCOL)`;
        - `cancel()` from another thread ends the capture within about a tenth of a second
          of waiting (or once the packet in flight is drained) with `DeviceCancelled`, and
          leaves the link usable for the next capture;
        - raises `DeviceUnavailable` when called before `open`.
        """

    @abc.abstractmethod
    def cancel(self) -> None:
        """Ask a running `capture` to stop. Thread-safe, never blocks, never raises.

        A cancel that arrives when no capture runs is forgotten: it does not cancel the next.
        """

    @abc.abstractmethod
    def health(self) -> Health:
        """A cheap liveness check (one round trip to the device). Never raises.

        While a capture runs it does not touch the line and reports the last known state.
        """

    @abc.abstractmethod
    def close(self) -> None:
        """Release the device and its port. Idempotent, never raises."""

    def __enter__(self) -> Self:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def not_open(device: str) -> DeviceUnavailable:
    """The error a driver raises when used before `open` (or after `close`)."""
    return DeviceUnavailable("not open", device=device, reason="not_open")
