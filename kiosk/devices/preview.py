"""The camera preview feed: frames read on a worker thread, the newest one kept for the UI.

Opening a camera and waiting for its frames can block for seconds (a USB camera waking up, an
unplugged one timing out); none of that may happen on the Kivy thread. The flow's StartCamera
and StopCamera effects switch the feed on and off; the UI takes `latest()` on each frame it
draws and never waits. A camera that fails is retried after a pause while the feed is on;
the capture pipeline, not the preview, decides what a failure means for the resident.

The face capture (kiosk/devices/face_capture.py) reads the same feed: `next_frame(after)`
waits for a frame newer than the one it analysed last and returns it with the feed's own
sequence number (counting every frame read since the feed was made, across camera reopens)
and the camera's timestamp. A slow consumer simply gets the newest frame. With
`lockstep=True` (tests on a virtual-time simulator, whose `read` never waits) the worker
hands over every frame: it reads the next one only once `next_frame` has taken the last.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

import numpy as np

from drivers.camera.base import Camera

log = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class FeedFrame:
    """One frame of the feed: `seq` counts the feed's frames (1, 2, ...; never reset while
    the feed lives), `timestamp` is the camera's clock (seconds)."""

    image: np.ndarray
    seq: int
    timestamp: float


class PreviewFeed:
    def __init__(self, camera: Camera, retry_s: float = 2.0, *, lockstep: bool = False):
        self.camera = camera
        self.retry_s = retry_s
        self.lockstep = lockstep
        self._on = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._new = threading.Condition(self._lock)
        self._frame: np.ndarray | None = None
        self._stamp = 0.0
        self._seq = 0
        self._taken = 0  # lockstep: the newest seq next_frame handed out
        self.frames_read = 0
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._on.set()
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="camera-preview", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Preview off: the camera is closed and the last frame forgotten."""
        self._on.clear()
        with self._lock:
            self._frame = None
            self._new.notify_all()

    @property
    def running(self) -> bool:
        """Switched on (frames may still be on their way)."""
        return self._on.is_set() and not self._stop.is_set()

    def close(self) -> None:
        self._stop.set()
        self._on.set()  # wake the thread so it can leave
        with self._lock:
            self._new.notify_all()  # a lockstep worker waiting for its frame to be taken
        if self._thread is not None:
            self._thread.join(timeout=5)
        with self._lock:
            self._frame = None

    def latest(self) -> np.ndarray | None:
        with self._lock:
            return self._frame

    def next_frame(self, after: int = 0, timeout: float = 0.1) -> FeedFrame | None:
        """The newest frame whose `seq` is above `after`, waiting up to `timeout` seconds
        for one; None when none came (the feed is off, the camera silent). Never holds the
        camera: it only waits for the worker's next frame."""
        with self._new:
            if not self._new.wait_for(
                lambda: self._frame is not None and self._seq > after, timeout=max(0.0, timeout)
            ):
                return None
            self._taken = self._seq
            self._new.notify_all()  # lockstep: the worker may read the next frame
            return FeedFrame(self._frame, self._seq, self._stamp)

    def _run(self) -> None:
        opened = False
        while not self._stop.is_set():
            if not self._on.is_set():
                if opened:
                    self._close_camera()
                    opened = False
                self._on.wait(0.5)
                continue
            try:
                if not opened:
                    self.camera.open()
                    opened = True
                frame = self.camera.read(timeout=1.0)
            except Exception as exc:  # noqa: BLE001 - the preview shows nothing and tries again
                log.warning("camera preview: %s", type(exc).__name__)
                if opened:
                    self._close_camera()
                    opened = False
                self._stop.wait(self.retry_s)
                continue
            if self._on.is_set():
                with self._lock:
                    self._frame = frame.image
                    self._stamp = float(frame.timestamp)
                    self._seq += 1
                    self._new.notify_all()
                self.frames_read += 1
                if self.lockstep:
                    self._wait_taken()
        if opened:
            self._close_camera()

    def _wait_taken(self) -> None:
        """Lockstep: wait until the frame just published has been taken (or the feed is
        switched off or closed)."""
        with self._new:
            while self._taken < self._seq and self._on.is_set() and not self._stop.is_set():
                self._new.wait(0.05)

    def _close_camera(self) -> None:
        try:
            self.camera.close()
        except Exception:
            log.debug("camera close failed", exc_info=True)
