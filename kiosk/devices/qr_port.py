"""The flow's QR scanning: the camera's preview frames through OpenCV's QR decoder, and a
keyboard-wedge scanner whose scans arrive at any time.

The camera is the preview's (kiosk/devices/preview.py): the scan reads the frames the preview
already has, so the two never compete for the camera. The wedge scanner is read by its own
thread for as long as the kiosk runs; a scan is handed to the flow as `QrScanned` without a
request id, and the flow takes it only on the identification screens.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from drivers.errors import DeviceCancelled, DeviceError, DeviceProblem, DeviceRetry
from drivers.reader.base import Reader
from drivers.reader.camera_qr import QrFrameDecoder
from kiosk.devices.preview import PreviewFeed
from kiosk.flow.ports import DeviceFailure

log = logging.getLogger(__name__)


class CameraQrScanner:
    """`scan` returns the text of the first QR code decoded in the preview, or raises
    DeviceFailure("camera", ...) when the camera gives no frame for `stall_s`."""

    def __init__(
        self,
        feed: PreviewFeed,
        *,
        fps: float = 8.0,
        stall_s: float = 8.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.feed = feed
        self.period = 1.0 / fps
        self.stall_s = stall_s
        self._clock = clock
        self.frames_examined = 0

    def scan(self, cancel: threading.Event) -> str | None:
        decoder = QrFrameDecoder()  # keeps a code's position between frames: one per scan
        last = None
        last_new = self._clock()
        while not cancel.is_set():
            frame = self.feed.latest()
            if frame is not None and frame is not last:
                last, last_new = frame, self._clock()
                hit = decoder.decode(frame)
                self.frames_examined += 1
                if hit is not None and hit.decoded:
                    return hit.text
            elif self._clock() - last_new > self.stall_s:
                raise DeviceFailure("camera", "reader_failed")
            cancel.wait(self.period)
        return None


class WedgePump:
    """Reads a wedge scanner on its own thread and hands each scan to `deliver`."""

    def __init__(self, reader: Reader, deliver: Callable[[str], None], retry_s: float = 5.0):
        self.reader = reader
        self.deliver = deliver
        self.retry_s = retry_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="wedge-reader", daemon=True)

    def start(self) -> WedgePump:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self.reader.cancel()
        self._thread.join(timeout=5)
        self.reader.close()

    def _run(self) -> None:
        opened = False
        while not self._stop.is_set():
            try:
                if not opened:
                    self.reader.open()
                    opened = True
                scan = self.reader.read(timeout=0.5)
            except DeviceCancelled:
                continue
            except DeviceRetry:
                continue  # a garbled burst: the resident scans again
            except (DeviceError, DeviceProblem) as exc:
                log.warning("wedge scanner: %s", exc.message_key)
                opened = False
                self._stop.wait(self.retry_s)
                continue
            if scan is not None:
                self.deliver(scan.text)
