"""The real camera: OpenCV `VideoCapture` on a device index, a video file or a stream URL.

A background thread reads the device as fast as it delivers and keeps only the newest frame
(a USB camera's own buffer would otherwise hand the analysis stale frames). When the camera
stops delivering (unplugged, USB reset, stream dropped) the thread releases it and reopens
it with exponential backoff for as long as the driver is open; `health()` says RECONNECTING
and, once the reconnect budget is spent, FAILED, and returns to STREAMING by itself when
frames flow again (plugged back in). Video files are paced at the target rate and loop by
default, so a recorded clip behaves like a camera.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from drivers.camera.base import (
    Camera,
    CameraHealth,
    CameraInfo,
    CameraState,
    DeviceCancelled,
    DeviceError,
    DeviceErrorKind,
    DeviceUnavailable,
    Frame,
    HealthCallback,
    RateMeter,
    ReconnectPolicy,
    no_frame,
    not_open,
    redact,
)

log = logging.getLogger(__name__)

try:  # the kiosk depends on opencv-python-headless; a back-end-only install may not
    import cv2
except ImportError:  # pragma: no cover - exercised only where OpenCV is missing
    cv2 = None

# What a VideoCapture backend raises when its device misbehaves (cv2.error for most).
_BACKEND_ERRORS: tuple[type[BaseException], ...] = (OSError, RuntimeError, ValueError, TypeError)
if cv2 is not None:
    _BACKEND_ERRORS += (cv2.error,)

Source = int | str | os.PathLike
CaptureFactory = Callable[[int | str], Any]  # returns a VideoCapture-like object

# Consecutive failed `read()` calls that count as a lost camera (a single failed grab
# happens on healthy USB cameras now and then).
_FAILED_READS_FOR_LOSS = 3


def _normalise(source: Source) -> int | str:
    if isinstance(source, int):
        return source
    text = os.fspath(source)
    return int(text) if text.strip().isdigit() else text


def _is_url(source: int | str) -> bool:
    return isinstance(source, str) and "://" in source


class OpenCvCamera(Camera):
    """`VideoCapture` with latest-frame delivery and reconnection.

    - `source`: a device index (0, "0"), a video file path, or a URL (rtsp://, http://);
    - `resolution`, `fps`: what to ask the device for (it may deliver something else; see
      `info`); `fourcc` (e.g. "MJPG") lets USB cameras reach 30 fps at 1280x720;
    - `api`: an OpenCV backend id (cv2.CAP_V4L2, cv2.CAP_FFMPEG ...), default: any;
    - `loop`: video files start again at their end (otherwise the end is a lost camera);
    - `capture_factory`: builds the VideoCapture-like object (tests pass a fake device).
    """

    def __init__(
        self,
        source: Source = 0,
        *,
        resolution: tuple[int, int] = (640, 480),
        fps: float = 15.0,
        fourcc: str | None = None,
        api: int | None = None,
        open_timeout_s: float = 5.0,
        reconnect: ReconnectPolicy | None = None,
        loop: bool = True,
        on_health: HealthCallback | None = None,
        capture_factory: CaptureFactory | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.source = _normalise(source)
        self.resolution = (int(resolution[0]), int(resolution[1]))
        self._fps = float(fps)
        self.fourcc = fourcc
        self.api = api
        self.open_timeout_s = open_timeout_s
        self.policy = reconnect or ReconnectPolicy()
        self.loop = loop
        self.on_health = on_health
        self._factory = capture_factory
        self._clock = clock
        self._is_file = (
            isinstance(self.source, str) and not _is_url(self.source) and capture_factory is None
        )

        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._cap: Any = None
        self._info: CameraInfo | None = None
        self._state = CameraState.CLOSED
        self._latest: tuple[np.ndarray, int, float] | None = None
        self._delivered = -1
        self._seq = -1
        self._last_frame_t: float | None = None
        self._lost_at: float | None = None
        self._reconnects = 0
        self._last_error: str | None = None
        self._meter = RateMeter()

    # -- contract ---------------------------------------------------------------------

    @classmethod
    def is_usable(cls) -> bool:
        return cv2 is not None

    @property
    def target_fps(self) -> float:
        return self._fps

    def clock(self) -> float:
        return self._clock()

    @property
    def info(self) -> CameraInfo:
        if self._info is None:
            raise not_open(self.device)
        return self._info

    def open(self) -> CameraInfo:
        if cv2 is None and self._factory is None:
            raise DeviceUnavailable("OpenCV is not installed", device=self.device, reason="library")
        self.close()
        if self._is_file and not os.path.isfile(self.source):
            raise DeviceUnavailable(f"no such video file: {self.source}", device=self.device)
        try:
            cap = self._make_capture()
        except _BACKEND_ERRORS as exc:  # raising instead of reporting isOpened() = False
            raise DeviceUnavailable(
                f"cannot open {redact(self.source)}: {exc}", device=self.device
            ) from exc
        if cap is None or not cap.isOpened():
            self._release(cap)
            raise DeviceUnavailable(f"cannot open {redact(self.source)}", device=self.device)
        first = self._first_frame(cap)
        if first is None:
            self._release(cap)
            raise DeviceUnavailable(
                f"no frame from {redact(self.source)} within {self.open_timeout_s:g} s",
                device=self.device,
            )
        height, width = first.shape[:2]
        reported_fps = self._prop(cap, "CAP_PROP_FPS")
        self._info = CameraInfo(
            source=redact(self.source),
            backend=self._backend_name(cap),
            resolution=(int(width), int(height)),
            fps=float(reported_fps) if reported_fps and reported_fps > 0 else 0.0,
            details={"requested": {"resolution": self.resolution, "fps": self._fps}},
        )
        self._file_period = self._file_frame_period(reported_fps)
        self._stop.clear()
        with self._cond:
            self._cap = cap
            self._seq = -1
            self._delivered = -1
            self._latest = None
            self._reconnects = 0
            self._last_error = None
            self._lost_at = None
            self._publish_locked(first)
            self._state = CameraState.STREAMING
        self._thread = threading.Thread(target=self._run, name="camera-reader", daemon=True)
        self._thread.start()
        self._notify()
        return self._info

    def read(self, timeout: float = 1.0) -> Frame:
        deadline = self._clock() + max(0.0, timeout)
        with self._cond:
            if self._state is CameraState.CLOSED:
                raise not_open(self.device)
            while True:
                if self._state is CameraState.CLOSED:
                    raise DeviceCancelled("closed while reading", device=self.device)
                latest = self._latest
                if latest is not None and latest[1] > self._delivered:
                    image, seq, t = latest
                    self._delivered = seq
                    return Frame(image=image, seq=seq, timestamp=t)
                state = self._effective_state_locked(self._clock())
                if state is CameraState.FAILED:
                    kind = (
                        DeviceErrorKind.UNPLUGGED
                        if self._lost_at is not None
                        else DeviceErrorKind.TIMEOUT
                    )
                    raise DeviceError(kind, self._last_error or "no frames", device=self.device)
                remaining = deadline - self._clock()
                if remaining <= 0:
                    raise no_frame(self.device, f"state {state.name.lower()}")
                self._cond.wait(min(remaining, 0.1))

    def health(self) -> CameraHealth:
        with self._cond:
            now = self._clock()
            state = self._effective_state_locked(now)
            return CameraHealth(
                ok=state is CameraState.STREAMING,
                state=state,
                frames=self._seq + 1,
                reconnects=self._reconnects,
                last_frame_age_s=None if self._last_frame_t is None else now - self._last_frame_t,
                measured_fps=round(self._meter.rate(now), 2),
                last_error=self._last_error,
                details={
                    "source": redact(self.source),
                    "resolution": self._info.resolution if self._info else None,
                },
            )

    def close(self) -> None:
        self._stop.set()
        thread = self._thread
        with self._cond:
            was_open = self._state is not CameraState.CLOSED
            self._state = CameraState.CLOSED
            self._cond.notify_all()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=2.0)
        self._thread = None
        with self._cond:
            cap, self._cap = self._cap, None
        self._release(cap)
        if was_open:
            self._notify()

    # -- the reader thread ------------------------------------------------------------

    def _run(self) -> None:
        failures = 0
        attempt = 0
        due = self._clock()
        while not self._stop.is_set():
            cap = self._cap
            if cap is None:
                if self._stop.wait(self.policy.backoff(attempt)):
                    break
                attempt += 1
                cap = self._reopen()
                if cap is None:
                    self._check_budget()
                    continue
                with self._cond:
                    if self._stop.is_set():
                        self._release(cap)
                        break
                    self._cap = cap
                failures = 0
                due = self._clock()
            try:
                ok, image = cap.read()
            except _BACKEND_ERRORS as exc:  # cv2.error from a backend that lost its device
                ok, image = False, None
                self._last_error = f"read failed: {exc}"
            if ok and image is not None and getattr(image, "size", 0):
                failures = 0
                attempt = 0
                if self._file_period:
                    due += self._file_period
                    if self._stop.wait(max(0.0, due - self._clock())):
                        break
                    due = max(due, self._clock() - self._file_period)
                self._publish(image)
                continue
            failures += 1
            if (
                self._is_file
                and self.loop
                and failures < _FAILED_READS_FOR_LOSS
                and self._rewind(cap)
            ):
                continue  # the end of a video file: play it again
            if failures >= _FAILED_READS_FOR_LOSS:
                self._lose(cap, self._last_error or "the camera stopped delivering frames")
                failures = 0
        cap = self._cap
        self._cap = None
        self._release(cap)

    def _publish(self, image: np.ndarray) -> None:
        changed = False
        with self._cond:
            if self._state is CameraState.CLOSED:
                return
            if self._state is not CameraState.STREAMING:
                self._state = CameraState.STREAMING
                self._reconnects += 1
                self._lost_at = None
                changed = True
                log.info("camera %s is back", redact(self.source))
            self._publish_locked(image)
        if changed:
            self._notify()

    def _publish_locked(self, image: np.ndarray) -> None:
        if image.ndim == 2:
            image = np.dstack([image] * 3)
        elif image.shape[2] == 4:
            image = np.ascontiguousarray(image[:, :, :3])
        now = self._clock()
        self._seq += 1
        self._latest = (image, self._seq, now)
        self._last_frame_t = now
        self._meter.tick(now)
        self._cond.notify_all()

    def _lose(self, cap: Any, why: str) -> None:
        with self._cond:
            if self._state is CameraState.CLOSED:
                return
            self._cap = None
            self._last_error = why
            if self._lost_at is None:
                self._lost_at = self._clock()
            self._state = CameraState.RECONNECTING
            self._cond.notify_all()
        log.warning("camera %s lost: %s", redact(self.source), why)
        self._release(cap)
        self._notify()

    def _reopen(self) -> Any:
        try:
            cap = self._make_capture()
        except _BACKEND_ERRORS as exc:
            self._last_error = f"reopen failed: {exc}"
            return None
        if cap is None or not cap.isOpened():
            self._last_error = "reopen failed: the device is not there"
            self._release(cap)
            return None
        return cap

    def _check_budget(self) -> None:
        with self._cond:
            if self._state is CameraState.RECONNECTING and self._budget_spent_locked(self._clock()):
                self._state = CameraState.FAILED
                changed = True
            else:
                changed = False
            self._cond.notify_all()
        if changed:
            self._notify()

    def _budget_spent_locked(self, now: float) -> bool:
        since = self._lost_at if self._lost_at is not None else self._last_frame_t
        return since is not None and now - since >= self.policy.budget_s

    def _effective_state_locked(self, now: float) -> CameraState:
        """The state with a stalled `read()` taken into account: a backend can block in
        `read()` for seconds after an unplug, before it reports the failure."""
        state = self._state
        if state is CameraState.STREAMING and self._last_frame_t is not None:
            age = now - self._last_frame_t
            if age >= self.policy.budget_s:
                return CameraState.FAILED
            if age >= self.policy.stall_s:
                return CameraState.RECONNECTING
        if state is CameraState.RECONNECTING and self._budget_spent_locked(now):
            return CameraState.FAILED
        return state

    # -- helpers ----------------------------------------------------------------------

    def _make_capture(self) -> Any:
        if self._factory is not None:
            cap = self._factory(self.source)
        elif self.api is not None:
            cap = cv2.VideoCapture(self.source, self.api)
        else:
            cap = cv2.VideoCapture(self.source)
        if cap is not None and cap.isOpened() and not self._is_file:
            self._configure(cap)
        return cap

    def _configure(self, cap: Any) -> None:
        if cv2 is None:
            return
        try:
            if self.fourcc:
                cap.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter_fourcc(*self.fourcc[:4]))
            cap.set(cv2.CAP_PROP_FRAME_WIDTH, self.resolution[0])
            cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self.resolution[1])
            cap.set(cv2.CAP_PROP_FPS, self._fps)
            cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # not every backend honours it
        except _BACKEND_ERRORS as exc:  # a backend that rejects a property is still a camera
            log.info("camera %s ignores a setting: %s", redact(self.source), exc)

    def _first_frame(self, cap: Any) -> np.ndarray | None:
        start = self._clock()
        while self._clock() - start < self.open_timeout_s:
            try:
                ok, image = cap.read()
            except _BACKEND_ERRORS:
                ok, image = False, None
            if ok and image is not None and getattr(image, "size", 0):
                return image
            time.sleep(0.02)
        return None

    def _file_frame_period(self, reported_fps: float | None) -> float:
        if not self._is_file:
            return 0.0
        rate = self._fps
        if rate <= 0:
            rate = reported_fps if reported_fps and reported_fps > 0 else 25.0
        return 1.0 / rate

    def _rewind(self, cap: Any) -> bool:
        try:
            return bool(cap.set(cv2.CAP_PROP_POS_FRAMES, 0))
        except _BACKEND_ERRORS:
            return False

    @staticmethod
    def _prop(cap: Any, name: str) -> float | None:
        if cv2 is None:
            return None
        try:
            return float(cap.get(getattr(cv2, name)))
        except _BACKEND_ERRORS:
            return None

    @staticmethod
    def _backend_name(cap: Any) -> str:
        try:
            return str(cap.getBackendName())
        except (*_BACKEND_ERRORS, AttributeError):
            return "unknown"

    @staticmethod
    def _release(cap: Any) -> None:
        if cap is None:
            return
        try:
            cap.release()
        except _BACKEND_ERRORS as exc:
            log.debug("camera release failed: %s", exc)

    def _notify(self) -> None:
        if self.on_health is None:
            return
        try:
            self.on_health(self.health())
        except Exception:  # a broken callback must not stop the camera
            log.exception("camera health callback failed")
