"""QR codes from the camera: the resident holds a phone or a printed card up to the kiosk's
camera and the text of the QR code is read from the frames of a drivers/camera driver.

`QrFrameDecoder` finds and decodes one QR code in a frame (numpy BGR, or grey) with
OpenCV's QR detector, cheaply enough to run beside the face pipeline on a 2-core PC. Each
frame gets *one* search, of about 300 k pixels, never the whole 1280x720 frame at full
resolution:

1. **track**: when the last frame located a code, only the region around it (with a
   quarter of its size as margin) is searched, brought to about `max_crop` (480) pixels:
   scaled down when larger, scaled up at most twice (bicubic) when smaller, because
   modules of 2-3 pixels decode far more often at twice the size; successive frames try
   three slightly different sizes, as the decoder has unlucky ones (moire);
2. otherwise frames alternate between
   - **frame**: the whole frame scaled down to `work_width` (640 px) to *locate* a code
     anywhere; a located code is then decoded from the region around it, as in track
     (a large code, or one held close), and
   - **centre**: the centre of the frame (`centre` fractions: half the width and two
     thirds of the height) at full resolution, where the screen asks the resident to hold
     the code: a small or distant code, whose modules the scaled-down frame blurs away.

The detector is `cv2.QRCodeDetectorAruco` (OpenCV 4.7 and later; the project pins 4.8 or
later). It locates codes at half resolution where the classic `cv2.QRCodeDetector` does
not, and is faster on frames without a code. The classic detector is not offered: on the
test scene of tests/drivers/reader (an e-card code of 4 pixels a module, turned 7 degrees,
a face behind it) it read 27 of 40 freshly signed e-cards within 6 frames, the Aruco one
200 of 200 in every placement of that test file.

Cost per 1280x720 frame, one OpenCV thread, on the 2-core Xeon VM this was written on
(OpenCV 4.14): about 4.5 ms without a code, 15-17 ms with an e-card code in view (3 to 6
pixels a module); a plain full-frame `detectAndDecode` costs 28 ms (classic) / 7 ms
(aruco) without a code and 62 / 47 ms with one. At `max_fps` 10 that is under 5 % of
one core while waiting. Codes of 3 or more pixels a module decode reliably (an e-card,
version 11, is then at least 200 pixels wide: a phone held about 20 cm from a 720p
camera); `test_cost_per_1280x720_frame` prints the figure again.

`CameraQrReader` is the reader contract (drivers/reader/base.py) on a camera: it reads
frames, decodes at most `max_fps` of them a second, reports each code once while it stays
in view (the same text again only once it has been out of sight for `repeat_after_s`, or
after `clear()`), and raises `DeviceRetry(READER_UNREADABLE)` when a code
has been in view for `unreadable_after_s` without decoding (glare, blur, too far).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

import numpy as np

from drivers.camera.base import Camera, CameraState
from drivers.errors import (
    DeviceCancelled,
    DeviceError,
    DeviceErrorKind,
    DeviceRetry,
    DeviceUnavailable,
)
from drivers.reader.base import (
    Reader,
    ReaderHealth,
    ReaderInfo,
    ReaderState,
    Scan,
    not_open,
    unreadable,
)

try:
    import cv2
except ImportError:  # pragma: no cover
    cv2 = None

__all__ = ["CameraQrReader", "QrFrameDecoder", "QrHit", "decode_qr"]


@dataclass(frozen=True)
class QrHit:
    """What one frame gave: `text` ("" when a code was located but did not decode),
    `points` (4 x 2, frame coordinates) and the `stage` that found it."""

    text: str
    points: np.ndarray = field(repr=False)
    stage: str

    @property
    def decoded(self) -> bool:
        return bool(self.text)


class QrFrameDecoder:
    """Finds and decodes a QR code in frames (see the module docstring). Keeps the last
    position between frames: use one decoder per camera stream, from one thread."""

    def __init__(
        self,
        *,
        work_width: int = 640,
        centre: tuple[float, float] = (0.5, 0.667),
        margin: float = 0.25,
        max_crop: int = 480,
        track_frames: int = 3,
    ):
        if cv2 is None:  # pragma: no cover
            raise DeviceUnavailable("OpenCV is not installed", device="reader", reason="library")
        self.work_width = work_width
        self.centre = centre
        self.margin = margin
        self.max_crop = max_crop
        self.track_frames = track_frames
        aruco = getattr(cv2, "QRCodeDetectorAruco", None)
        if aruco is None:  # pragma: no cover - OpenCV older than the pinned 4.8
            raise DeviceUnavailable(
                f"OpenCV {cv2.__version__} has no QRCodeDetectorAruco (4.7 or later needed)",
                device="reader",
                reason="library",
            )
        self._detector = aruco()
        self.detector = "aruco"
        self._track: tuple[int, int, int, int] | None = None
        self._track_left = 0
        self._frame_no = 0
        self._searches = 0

    def reset(self) -> None:
        self._track = None
        self._track_left = 0

    def decode(self, image: np.ndarray) -> QrHit | None:
        """The code in `image` (decoded or only located), or None. Never raises on a frame:
        an empty, odd-shaped or non-uint8 frame is simply one without a code."""
        try:
            image = np.asarray(image)
            if image.dtype != np.uint8 or image.ndim not in (2, 3) or min(image.shape[:2]) < 21:
                return None
            return self._decode(image)
        except cv2.error:
            self.reset()
            return None

    def _decode(self, image: np.ndarray) -> QrHit | None:
        self._frame_no += 1
        if self._track is not None:
            hit = self._search(image, self._track, "track")
            if hit is not None:
                return hit
            self._track_left -= 1
            if self._track_left <= 0:
                self._track = None
            return None
        if self._frame_no % 2:
            return self._whole_frame(image)
        h, w = image.shape[:2]
        cw, ch = round(w * self.centre[0]), round(h * self.centre[1])
        x0, y0 = (w - cw) // 2, (h - ch) // 2
        return self._search(image, (x0, y0, x0 + cw, y0 + ch), "centre", rescale=False)

    def _whole_frame(self, image: np.ndarray) -> QrHit | None:
        h, w = image.shape[:2]
        scale = min(1.0, self.work_width / w)
        small = image
        if scale < 1.0:
            small = cv2.resize(
                image, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA
            )
        ok, points = self._detector.detect(_grey(small))
        if not ok or points is None:
            return None
        points = np.asarray(points, np.float32).reshape(-1, 2)[:4] / scale
        hit = self._search(image, self._around(points, w, h), "frame")
        if hit is None:  # located at low resolution only: look there closely next frame
            self._track = self._around(points, w, h)
            self._track_left = self.track_frames
            hit = QrHit("", points, "frame")
        return hit

    def _around(self, points: np.ndarray, w: int, h: int) -> tuple[int, int, int, int]:
        x0, y0 = points.min(axis=0)
        x1, y1 = points.max(axis=0)
        pad = max(x1 - x0, y1 - y0) * self.margin + 8
        return (
            int(max(0, x0 - pad)),
            int(max(0, y0 - pad)),
            int(min(w, x1 + pad + 1)),
            int(min(h, y1 + pad + 1)),
        )

    def _search(
        self,
        image: np.ndarray,
        box: tuple[int, int, int, int],
        stage: str,
        *,
        rescale: bool = True,
    ) -> QrHit | None:
        """detectAndDecode in `box`. With `rescale`, the region around a located code is
        brought to about `max_crop` pixels: scaled down when larger (its modules are large
        anyway), scaled up (at most twice, bicubic) when smaller: a small code's modules
        of 2-3 pixels decode far more often at twice the size. Sets the track when a code
        is located."""
        x0, y0, x1, y1 = box
        crop = _grey(image[y0:y1, x0:x1])
        if crop.shape[0] < 21 or crop.shape[1] < 21:
            return None
        # The decoder has unlucky sizes (moire between module and pixel grids): each search
        # of a region tries the next of a few slightly different sizes.
        self._searches += 1
        target = self.max_crop * _SIZE_STEPS[self._searches % len(_SIZE_STEPS)]
        scale = min(2.0, target / max(crop.shape[:2])) if rescale else 1.0
        if abs(scale - 1.0) > 0.05:
            crop = cv2.resize(
                crop,
                (round(crop.shape[1] * scale), round(crop.shape[0] * scale)),
                interpolation=cv2.INTER_AREA if scale < 1.0 else cv2.INTER_CUBIC,
            )
        else:
            scale = 1.0
        text, points, _ = self._detector.detectAndDecode(crop)
        if points is None or len(points) == 0:
            return None
        points = np.asarray(points, np.float32).reshape(-1, 2)[:4] / scale + (x0, y0)
        h, w = image.shape[:2]
        self._track = self._around(points, w, h)
        self._track_left = self.track_frames
        return QrHit(text or "", points, stage)


_SIZE_STEPS = (1.0, 0.85, 1.2)


def _grey(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        return np.ascontiguousarray(image)
    return cv2.cvtColor(np.ascontiguousarray(image[:, :, :3]), cv2.COLOR_BGR2GRAY)


def decode_qr(image: np.ndarray, *, attempts: int = 2) -> str | None:
    """The text of a QR code in one picture (each of the decoder's searches tried once),
    or None. For single pictures; a stream of frames wants one `QrFrameDecoder`."""
    decoder = QrFrameDecoder()
    for _ in range(attempts + 1):
        hit = decoder.decode(image)
        if hit is not None and hit.decoded:
            return hit.text
    return None


class CameraQrReader(Reader):
    """The reader contract on a camera driver (drivers/camera/base.py).

    `own_camera=True`: `open`/`close` open and close the camera. `False`: the camera is
    shared (the face pipeline's) and must be open already; this reader only reads frames
    from it, and reads compete for them: use it while nothing else reads."""

    def __init__(
        self,
        camera: Camera,
        *,
        own_camera: bool = True,
        decoder: QrFrameDecoder | None = None,
        max_fps: float = 10.0,
        repeat_after_s: float = 1.5,
        unreadable_after_s: float = 3.0,
        frame_timeout_s: float = 0.1,
    ):
        self.camera = camera
        self.own_camera = own_camera
        self.decoder = decoder
        self.max_fps = max_fps
        self.repeat_after_s = repeat_after_s
        self.unreadable_after_s = unreadable_after_s
        self.frame_timeout_s = frame_timeout_s
        self._state = ReaderState.CLOSED
        self._info: ReaderInfo | None = None
        self._cancel_gen = 0
        self._lock = threading.Lock()
        self._last_text: str | None = None
        self._last_text_at = 0.0
        self._located_since: float | None = None
        self._last_decode_at: float | None = None
        self._scans = 0
        self._unreadable = 0
        self._last_scan_at: float | None = None
        self._last_error: str | None = None
        self._ms: list[float] = []

    @classmethod
    def is_usable(cls) -> bool:
        return cv2 is not None

    def clock(self) -> float:
        return self.camera.clock()

    @property
    def info(self) -> ReaderInfo:
        if self._info is None:
            raise not_open(self.device)
        return self._info

    def open(self) -> ReaderInfo:
        self.close()
        if cv2 is None:  # pragma: no cover
            raise DeviceUnavailable("OpenCV is not installed", device=self.device, reason="library")
        if self.own_camera:
            try:
                cam = self.camera.open()
            except DeviceUnavailable as exc:
                raise DeviceUnavailable(exc.detail, device=self.device) from exc
        else:
            if self.camera.health().state is CameraState.CLOSED:
                raise DeviceUnavailable("the shared camera is not open", device=self.device)
            cam = self.camera.info
        if self.decoder is None:
            self.decoder = QrFrameDecoder()
        self.decoder.reset()
        self._reset()
        self._state = ReaderState.READY
        self._info = ReaderInfo(
            kind="camera",
            source=cam.source,
            details={
                "resolution": cam.resolution,
                "detector": self.decoder.detector,
                "max_fps": self.max_fps,
            },
        )
        return self._info

    def _reset(self) -> None:
        self._last_text = None
        self._located_since = None
        self._last_decode_at = None
        self._scans = self._unreadable = 0
        self._last_scan_at = None
        self._last_error = None
        self._ms = []

    def read(self, timeout: float = 1.0) -> Scan | None:
        if self._state is ReaderState.CLOSED:
            raise not_open(self.device)
        gen = self._cancel_gen
        deadline = self.clock() + max(0.0, timeout)
        while True:
            if self._state is ReaderState.CLOSED or gen != self._cancel_gen:
                raise DeviceCancelled("cancelled while reading", device=self.device)
            now = self.clock()
            if now >= deadline:
                return None
            if self._last_decode_at is not None and self.max_fps > 0:
                rest = self._last_decode_at + 1.0 / self.max_fps - now
                if rest > 0:
                    self.camera.sleep(min(rest, deadline - now, 0.05))
                    continue
            frame = self._frame(min(self.frame_timeout_s, max(deadline - now, 0.001)), gen)
            if frame is None:
                continue
            scan = self._examine(frame)
            if scan is not None:
                return scan

    def _frame(self, timeout: float, gen: int):
        try:
            return self.camera.read(timeout)
        except DeviceRetry:
            return None  # no new frame in time: try again until the deadline
        except DeviceCancelled as exc:
            raise DeviceCancelled("camera closed while reading", device=self.device) from exc
        except DeviceUnavailable as exc:
            if self._state is ReaderState.CLOSED or gen != self._cancel_gen:
                raise DeviceCancelled("closed while reading", device=self.device) from exc
            raise DeviceUnavailable(exc.detail or "camera not open", device=self.device) from exc
        except DeviceError as exc:
            self._state = ReaderState.FAILED
            self._last_error = str(exc)
            raise DeviceError(exc.kind, exc.detail, device=self.device) from exc
        except Exception as exc:  # the contract: only device errors get out
            raise DeviceError(DeviceErrorKind.PROTOCOL, repr(exc), device=self.device) from exc
        finally:
            if self._state is ReaderState.FAILED and self.camera.health().ok:
                self._state = ReaderState.READY
                self._last_error = None

    def _examine(self, frame) -> Scan | None:
        started = time.perf_counter()
        hit = self.decoder.decode(frame.image)
        self._ms = [*self._ms[-29:], (time.perf_counter() - started) * 1000]
        now = frame.timestamp
        self._last_decode_at = self.clock()
        if hit is None:
            self._located_since = None
            return None
        if not hit.decoded:
            if self._located_since is None:
                self._located_since = now
            elif now - self._located_since >= self.unreadable_after_s:
                self._located_since = None
                self._unreadable += 1
                raise unreadable(self.device, "a code in view does not decode")
            return None
        self._located_since = None
        if hit.text == self._last_text and now - self._last_text_at < self.repeat_after_s:
            self._last_text_at = now  # still held up: not a new scan
            return None
        self._last_text, self._last_text_at = hit.text, now
        self._scans += 1
        self._last_scan_at = now
        return Scan(
            text=hit.text,
            source="camera",
            timestamp=now,
            details={"stage": hit.stage, "seq": frame.seq},
        )

    def cancel(self) -> None:
        with self._lock:
            self._cancel_gen += 1

    def clear(self) -> None:
        self._last_text = None
        self._located_since = None

    def health(self) -> ReaderHealth:
        state = self._state
        try:
            cam = self.camera.health()
        except Exception:  # noqa: BLE001 - health never raises
            cam = None
        if state is not ReaderState.CLOSED and cam is not None and not cam.ok:
            state = ReaderState.FAILED if cam.state is CameraState.FAILED else state
        ms = sorted(self._ms)
        return ReaderHealth(
            ok=state is ReaderState.READY,
            state=state,
            scans=self._scans,
            unreadable=self._unreadable,
            last_scan_age_s=None
            if self._last_scan_at is None
            else max(0.0, self.clock() - self._last_scan_at),
            last_error=self._last_error,
            details={
                "camera": cam.message_key if cam is not None else None,
                "decode_ms_median": round(ms[len(ms) // 2], 1) if ms else None,
                "detector": self.decoder.detector if self.decoder else None,
            },
        )

    def close(self) -> None:
        was_open = self._state is not ReaderState.CLOSED
        self._state = ReaderState.CLOSED
        self.cancel()
        if was_open and self.own_camera:
            try:
                self.camera.close()
            except Exception:  # close never raises; a camera's close should not either
                logging.getLogger(__name__).exception("camera close failed")
