"""The camera preview feed: frames read on a worker thread, the newest one kept for the UI.

Opening a camera and waiting for its frames can block for seconds (a USB camera waking up, an
unplugged one timing out); none of that may happen on the Kivy thread. The flow's StartCamera
and StopCamera effects switch the feed on and off; the UI takes `latest()` on each frame it
draws and never waits. A camera that fails is retried after a pause while the feed is on;
the capture pipeline, not the preview, decides what a failure means for the resident.
"""

from __future__ import annotations

import logging
import threading

import numpy as np

from drivers.camera.base import Camera

log = logging.getLogger(__name__)


class PreviewFeed:
    def __init__(self, camera: Camera, retry_s: float = 2.0):
        self.camera = camera
        self.retry_s = retry_s
        self._on = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._frame: np.ndarray | None = None
        self._seq = 0
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

    def close(self) -> None:
        self._stop.set()
        self._on.set()  # wake the thread so it can leave
        if self._thread is not None:
            self._thread.join(timeout=5)
        with self._lock:
            self._frame = None

    def latest(self) -> np.ndarray | None:
        with self._lock:
            return self._frame

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
                self.frames_read += 1
        if opened:
            self._close_camera()

    def _close_camera(self) -> None:
        try:
            self.camera.close()
        except Exception:
            log.debug("camera close failed", exc_info=True)
