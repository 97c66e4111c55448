"""The camera contract: what every camera driver (real or simulated) does.

The duties are written at each declaration: what the caller may assume, what the driver must
guarantee, and which error kind each failure becomes. The contract test suite
(tests/drivers/camera/test_contract.py) checks every driver against these words: against the
simulator and a recorded video file by default, and against a real camera with
`pytest -m hardware` (KIOSK_TEST_CAMERA=0 or a path / URL).

Life cycle::

    cam = SomeCamera(source, resolution=(640, 480), fps=15)   # cheap: touches no hardware
    info = cam.open()                     # finds the device, negotiates -> CameraInfo
    for frame in cam.frames(timeout=2):   # paced at the target rate, newest frame first
        ...
    cam.health()                          # -> CameraHealth, any time, from any thread
    cam.close()                           # idempotent

Frames are numpy uint8 arrays, height x width x 3, **BGR** (OpenCV's order), C-contiguous,
owned by the caller (a driver never writes into a frame it has handed out).

Threads: `read`/`frames` are called from one consumer thread; `health` and `close` may be
called from any thread at any time, and `close` ends a blocked `read` within a tenth of a
second or so (it then raises `DeviceCancelled`).

Errors (drivers.errors):
- `DeviceRetry(CAMERA_NO_FRAME)`: no new frame within the caller's timeout while the camera is
  believed to work or is being reopened (a slow frame, a cable being re-seated). The caller
  simply reads again; `health()` says whether the driver is reconnecting.
- `DeviceError(UNPLUGGED or TIMEOUT)`: the camera stopped delivering and did not come back
  within the driver's reconnect budget (out-of-service path). The driver keeps trying in
  the background after that: once frames flow again, `health().ok` is true and `read`
  works without a new `open`.
- `DeviceUnavailable`: missing at start (no such device index, path or URL, nothing could be
  decoded from it, library missing), or the camera is used before `open` / after `close`.
- `DeviceCancelled`: `close()` was called while `read` waited.
A driver never lets another exception out of these methods.

Progress is reported through the optional `on_health` callback (called from the driver's
thread on every state change), never by importing the UI.
"""

from __future__ import annotations

import abc
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Self

import numpy as np

from drivers.errors import (
    DeviceCancelled,
    DeviceError,
    DeviceErrorKind,
    DeviceRetry,
    DeviceUnavailable,
)

__all__ = [
    "CAMERA_NO_FRAME",
    "Camera",
    "CameraHealth",
    "CameraInfo",
    "CameraState",
    "DeviceCancelled",
    "DeviceError",
    "DeviceErrorKind",
    "DeviceRetry",
    "DeviceUnavailable",
    "Frame",
    "HealthCallback",
    "ReconnectPolicy",
]

#: The retry reason of a read that found no new frame in time (a message key).
CAMERA_NO_FRAME = "camera_no_frame"


class CameraState(StrEnum):
    """Where a camera is. Each value is also the message key of its health report."""

    CLOSED = "camera_closed"  # before open / after close
    STREAMING = "camera_ok"  # frames are arriving
    RECONNECTING = "camera_reconnecting"  # frames stopped; reopening with backoff (read: retry)
    FAILED = "camera_failed"  # reconnect budget spent (read: DeviceError); still retrying


@dataclass(frozen=True)
class Frame:
    """One picture from the camera.

    `seq` counts the frames the device produced since `open` (gaps = frames the consumer
    skipped because it was slower than the camera: `read` always returns the newest one).
    `timestamp` is the driver's clock (seconds, monotonic) when the frame arrived.
    """

    image: np.ndarray  # H x W x 3, uint8, BGR
    seq: int
    timestamp: float

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) in pixels."""
        return int(self.image.shape[1]), int(self.image.shape[0])


@dataclass(frozen=True)
class CameraInfo:
    """What `open()` negotiated. A device may not honour the requested size or rate:
    `resolution` and `fps` are what it actually delivers (fps 0.0 when it does not say)."""

    source: str  # "0", a path or a URL (credentials removed)
    backend: str  # "V4L2", "FFMPEG", "simulator" ...
    resolution: tuple[int, int]  # (width, height)
    fps: float
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CameraHealth:
    """`ok` and a message key for the maintenance screen; the rest for `kiosk doctor`."""

    ok: bool
    state: CameraState
    frames: int = 0  # frames produced since open
    reconnects: int = 0  # successful reopen after a loss
    last_frame_age_s: float | None = None  # None before the first frame
    measured_fps: float = 0.0  # over the last couple of seconds
    last_error: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def message_key(self) -> str:
        return self.state.value


HealthCallback = Callable[[CameraHealth], None]


@dataclass(frozen=True)
class ReconnectPolicy:
    """How a driver notices a lost camera and how hard it tries to get it back.

    - `stall_s`: no frame for this long while streaming counts as a loss;
    - reopen attempts wait `initial_backoff_s`, doubling up to `max_backoff_s`, for ever;
    - after `budget_s` without frames the state is FAILED (`read` raises `DeviceError`),
      so the kiosk can show out-of-service; a later success returns to STREAMING.
    """

    stall_s: float = 2.0
    initial_backoff_s: float = 0.25
    max_backoff_s: float = 4.0
    budget_s: float = 15.0

    def backoff(self, attempt: int) -> float:
        """Delay before reopen attempt number `attempt` (0-based)."""
        return min(self.max_backoff_s, self.initial_backoff_s * (2 ** min(attempt, 30)))


class Camera(abc.ABC):
    """A camera. Subclasses implement the abstract methods below."""

    #: Short name used in errors and logs.
    device = "camera"

    @classmethod
    def is_usable(cls) -> bool:
        """Whether this driver can run here at all (its libraries import). Never raises,
        never touches hardware."""
        return True

    @abc.abstractmethod
    def open(self) -> CameraInfo:
        """Find the camera, ask for the configured resolution and rate, and see a first frame.

        Duties: give up within the driver's open timeout; raise `DeviceUnavailable` when the
        source does not exist, cannot be opened, or delivers no decodable frame in that time.
        Returns `CameraInfo` with what the device actually delivers (also `self.info`).
        Opening an open camera reopens it. After `open`, frames are being produced (by a
        background thread for a real device), so `read` soon has one.
        """

    @property
    @abc.abstractmethod
    def info(self) -> CameraInfo:
        """The `CameraInfo` of the last successful `open`; `DeviceUnavailable` before it."""

    @abc.abstractmethod
    def read(self, timeout: float = 1.0) -> Frame:
        """The newest frame the consumer has not seen yet, waiting at most `timeout` seconds.

        Duties: never return the same frame twice (`seq` strictly increases); skip frames the
        consumer was too slow for (latest-frame semantics: analysis never lags the scene);
        no new frame in time -> `DeviceRetry(CAMERA_NO_FRAME)`; the reconnect budget spent
        -> `DeviceError`; before `open` / after `close` -> `DeviceUnavailable`; `close()`
        from another thread -> `DeviceCancelled`.
        """

    @abc.abstractmethod
    def health(self) -> CameraHealth:
        """The current state. Cheap, never blocks on the device, never raises."""

    @abc.abstractmethod
    def close(self) -> None:
        """Stop producing frames and release the device. Idempotent, never raises."""

    # -- shared behaviour -------------------------------------------------------------

    def clock(self) -> float:
        """The driver's clock for timestamps and pacing (monotonic seconds). Injected by
        subclasses that take a `clock`; tests run simulators in virtual time."""
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)

    def frames(self, timeout: float = 1.0, *, fps: float | None = None) -> Iterator[Frame]:
        """Frames paced at `fps` (default: the camera's target rate), until `close()`.

        Each item is a `read(timeout)`: errors propagate as `read` raises them, except that
        `close()` ends the iteration quietly. When the consumer is slower than the rate, no
        sleep happens and frames are skipped (never queued).
        """
        rate = fps or self.target_fps
        period = 1.0 / rate if rate and rate > 0 else 0.0
        due = self.clock()
        while True:
            try:
                frame = self.read(timeout)
            except DeviceCancelled:
                return
            except DeviceUnavailable:
                if self.health().state is CameraState.CLOSED:
                    return
                raise
            yield frame
            if period:
                due += period
                now = self.clock()
                if due < now - period:  # fell behind: do not try to catch up
                    due = now
                self.sleep(due - now)

    @property
    def target_fps(self) -> float:
        """The rate `frames()` paces at by default (the configured rate)."""
        return 15.0

    def __enter__(self) -> Self:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def no_frame(device: str, detail: str = "") -> DeviceRetry:
    """The retry a driver raises when no new frame arrived within the read timeout."""
    return DeviceRetry(CAMERA_NO_FRAME, detail, device=device)


def not_open(device: str) -> DeviceUnavailable:
    """The error a driver raises when used before `open` (or after `close`)."""
    return DeviceUnavailable("not open", device=device, reason="not_open")


def redact(source: object) -> str:
    """A source for logs and health: a URL loses its user:password part."""
    text = str(source)
    if "://" in text and "@" in text.split("://", 1)[1].split("/", 1)[0]:
        scheme, rest = text.split("://", 1)
        host = rest.split("@", 1)[1]
        return f"{scheme}://***@{host}"
    return text


class RateMeter:
    """Frames per second over a sliding window (for health)."""

    def __init__(self, window_s: float = 2.0):
        self.window_s = window_s
        self._times: list[float] = []

    def tick(self, t: float) -> None:
        self._times.append(t)
        cut = t - self.window_s
        while self._times and self._times[0] < cut:
            self._times.pop(0)

    def rate(self, now: float) -> float:
        times = [t for t in self._times if t >= now - self.window_s]
        if len(times) < 2:
            return 0.0
        span = times[-1] - times[0]
        return (len(times) - 1) / span if span > 0 else 0.0
