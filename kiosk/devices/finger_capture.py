"""The flow's fingerprint capture on a real sensor driver (drivers/fingerprint): wait for a
finger, bring the image home, judge it with biometrics/fingerprint and hand the flow the
template as evidence.

    capturer = LiveFingerCapturer(R30xSensor("/dev/ttyUSB0"))
    evidence = capturer.capture(server_nonce, 2, cancel, progress)   # on a worker thread

The sensor is opened lazily, at the first capture, and again after a failure (a module that
was unplugged, or off at start, works again at the next capture without restarting the
kiosk). What goes wrong becomes one of the two kinds the flow knows:

- the resident can fix it -> `CaptureRetryError(key)`: the driver's retry reasons (no finger
  within the wait, finger moved, smudged, too few features) and the quality check's coaching
  (biometrics/fingerprint/quality.py: no finger, press harder, smudged, off centre, too few
  features);
- the sensor failed -> `DeviceFailure("fingerprint", key)`: `device_unavailable` when it does
  not open, the driver's `device_error_*` key when it fails in use;
- `cancel` set -> `FingerCaptureCancelled` (a `CaptureRetryError` keyed `device_cancelled`;
  the runner drops the result of a cancelled capture anyway).

Progress goes to the flow as (message key, fraction): `finger_place` while waiting,
`finger_detected` once the module has taken the image, `finger_uploading` while the image
travels over the serial line (about 40 KB: seconds at 57600 baud), `finger_done` when it is
home; the analysis takes the last tenth.

The evidence carries the `gabor-mcc` template (FingerTemplate.to_dict as compact JSON, the
form the back end's enrolment stores, base64 in `data_b64`), the quality score / 100, the
capture time, `simulated=False` and the image as a PNG for staff review (sealed with the
rest). The image and the template live only in memory until sealed: nothing biometric is
written to disk or to the log (the log gets keys, timings and driver details).
"""

from __future__ import annotations

import base64
import datetime as dt
import inspect
import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from drivers.errors import (
    DeviceCancelled,
    DeviceError,
    DeviceProblem,
    DeviceRetry,
    DeviceUnavailable,
)
from drivers.fingerprint.base import CaptureProgress, CaptureStage, FingerprintSensor
from kiosk.api import contract as c
from kiosk.flow.ports import CaptureRetryError, DeviceFailure, Progress

log = logging.getLogger(__name__)

DEVICE = "fingerprint"
CANCELLED = "device_cancelled"
DEVICE_FAILED = "error_device"

#: The driver's stages as the flow's message keys (the upload has its own key).
STAGE_KEYS = {
    CaptureStage.WAITING: "finger_place",
    CaptureStage.DETECTED: "finger_detected",
    CaptureStage.TRANSFERRING: "finger_uploading",
    CaptureStage.DONE: "finger_done",
}
DEVICE_SHARE = 0.9  # of the progress bar: the rest is the analysis on the host


class FingerCaptureCancelled(CaptureRetryError):
    """The capture was cancelled (the resident left the screen, or the session reset)."""

    def __init__(self) -> None:
        super().__init__(CANCELLED)


class LiveFingerCapturer:
    """A `FingerCapturer` (kiosk/flow/ports.py) on a `FingerprintSensor`.

    `finger_timeout_s`: how long one capture waits for a finger before coaching
    `finger_no_finger`. `quality`: a biometrics.fingerprint.QualityConfig (None: the
    library's limits). `wall`: the clock `captured_at` is read from.

    `last` holds the figures of the last successful capture (milliseconds, baud rate,
    quality score, number of minutiae), for diagnostics and benchmarks; never the image or
    the template.
    """

    def __init__(
        self,
        sensor: FingerprintSensor,
        *,
        finger_timeout_s: float = 15.0,
        quality: Any = None,
        wall: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ):
        self.sensor = sensor
        self.finger_timeout_s = finger_timeout_s
        self.quality_config = quality
        self._wall = wall
        self._lock = threading.Lock()  # one capture at a time on one sensor
        self._cancel_event = _takes_cancel_event(sensor)
        self.last: dict[str, Any] = {}

    # -- the port ---------------------------------------------------------------------------

    def capture(
        self, server_nonce: str, finger_position: int, cancel: threading.Event, progress: Progress
    ) -> c.EvidenceRequest:
        with self._lock:
            if cancel.is_set():
                raise FingerCaptureCancelled()
            dpi = self._ensure_open()
            timing = _Timing()
            shot = self._capture(cancel, _progress_adapter(progress, timing))
            captured_at = self._wall()
            if cancel.is_set():
                raise FingerCaptureCancelled()
            started = time.perf_counter()
            analysis, report = self._analyse(shot.image, dpi)
            analyse_ms = (time.perf_counter() - started) * 1000
            if report.coaching is not None:
                log.info("finger capture coached: %s", report.coaching)
                raise CaptureRetryError(report.coaching)
            template = analysis.template
            data = json.dumps(template.to_dict(), separators=(",", ":")).encode()
            evidence = c.EvidenceRequest(
                modality=c.Modality.FINGERPRINT,
                captured_at=captured_at,
                simulated=False,
                template=c.TemplateIn(
                    extractor=template.extractor,
                    extractor_version=str(template.version),
                    data_b64=base64.b64encode(data).decode(),
                ),
                finger_position=finger_position,
                quality=report.score / 100.0,
                finger_image_png_b64=_png_b64(shot.image),
            )
            self.last = {
                "capture_ms": round(shot.duration_s * 1000, 1),
                "upload_ms": timing.upload_ms(),
                "analyse_ms": round(analyse_ms, 1),
                "baudrate": shot.details.get("baudrate"),
                "quality": report.score,
                "minutiae": len(template),
                "template_bytes": len(data),
            }
            del shot, analysis
            progress(STAGE_KEYS[CaptureStage.DONE], 1.0)
            log.info(
                "finger captured: %.0f ms at %s baud (upload %s ms), analysed in %.0f ms",
                self.last["capture_ms"],
                self.last["baudrate"],
                self.last["upload_ms"],
                analyse_ms,
            )
            return evidence

    # -- steps ------------------------------------------------------------------------------

    def _ensure_open(self) -> int:
        """The sensor's resolution, opening it first when it is not open."""
        try:
            return self.sensor.info.dpi
        except DeviceUnavailable:
            pass
        try:
            return self.sensor.open().dpi
        except DeviceProblem as exc:
            log.warning("fingerprint sensor does not open: %s", exc)
            self.sensor.close()
            raise DeviceFailure(DEVICE, "device_unavailable") from None

    def _capture(self, cancel: threading.Event, progress):
        watcher = None if self._cancel_event else _CancelWatcher(self.sensor, cancel)
        kwargs: dict[str, Any] = {"timeout": self.finger_timeout_s, "progress": progress}
        if self._cancel_event:
            kwargs["cancel_event"] = cancel
        try:
            return self.sensor.capture(**kwargs)
        except DeviceCancelled:
            raise FingerCaptureCancelled() from None
        except DeviceRetry as exc:
            log.info("finger capture retry: %s", exc)
            raise CaptureRetryError(exc.reason) from None
        except DeviceUnavailable as exc:  # closed under us, or never opened
            log.warning("fingerprint sensor unavailable: %s", exc)
            self.sensor.close()
            raise DeviceFailure(DEVICE, "device_unavailable") from None
        except DeviceError as exc:
            log.warning("fingerprint sensor failed: %s", exc)
            self.sensor.close()  # opened again at the next capture
            raise DeviceFailure(DEVICE, exc.message_key) from None
        except DeviceProblem as exc:  # a driver's own subclass: still the device's fault
            log.warning("fingerprint sensor problem: %s", exc)
            self.sensor.close()
            raise DeviceFailure(DEVICE, exc.message_key) from None
        finally:
            if watcher is not None:
                watcher.stop()

    def _analyse(self, image, dpi: int):
        from biometrics.fingerprint import FingerprintError, analyze, as_gray, assess

        try:
            gray = as_gray(image, "sensor image")
            analysis = analyze(gray, float(dpi))
        except FingerprintError as exc:  # the driver handed over something that is no image
            log.warning("fingerprint image unusable: %s", type(exc).__name__)
            raise DeviceFailure(DEVICE, DEVICE_FAILED) from None
        return analysis, assess(analysis, gray, self.quality_config)


# -- helpers ----------------------------------------------------------------------------------


def _takes_cancel_event(sensor: FingerprintSensor) -> bool:
    """Whether the driver's capture takes `cancel_event` (R30xSensor does: no race between a
    cancel and the start of the capture)."""
    try:
        return "cancel_event" in inspect.signature(sensor.capture).parameters
    except (TypeError, ValueError):
        return False


class _Timing:
    def __init__(self) -> None:
        self.upload_started: float | None = None
        self.upload_done: float | None = None

    def upload_ms(self) -> float | None:
        if self.upload_started is None or self.upload_done is None:
            return None
        return round((self.upload_done - self.upload_started) * 1000, 1)


def _progress_adapter(progress: Progress, timing: _Timing) -> Callable[[CaptureProgress], None]:
    """The driver's reports as (key, fraction) for the flow, never going backwards."""
    shown = [0.0]

    def report(p: CaptureProgress) -> None:
        now = time.perf_counter()
        if p.stage is CaptureStage.TRANSFERRING and timing.upload_started is None:
            timing.upload_started = now
        elif p.stage is CaptureStage.DONE:
            timing.upload_done = now
        fraction = max(shown[0], min(1.0, max(0.0, p.fraction)) * DEVICE_SHARE)
        shown[0] = fraction
        progress(STAGE_KEYS.get(p.stage, p.message_key), fraction)

    return report


class _CancelWatcher:
    """For drivers without `cancel_event`: calls `sensor.cancel()` while `cancel` is set and
    the capture runs (again and again: a cancel that reaches the driver before its capture
    started is forgotten)."""

    def __init__(self, sensor: FingerprintSensor, cancel: threading.Event):
        self._sensor = sensor
        self._cancel = cancel
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="finger-cancel", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._done.is_set():
            if self._cancel.is_set():
                self._sensor.cancel()
            self._done.wait(0.05)

    def stop(self) -> None:
        self._done.set()
        self._thread.join(timeout=1)


def _png_b64(image) -> str | None:
    """The sensor image as a PNG for staff review (sealed with the evidence), or None when
    it does not fit the contract's limit."""
    import cv2
    import numpy as np

    ok, png = cv2.imencode(".png", np.asarray(image, dtype=np.uint8))
    if not ok:
        return None
    text = base64.b64encode(png.tobytes()).decode("ascii")
    return text if len(text) <= c.BEST_FRAME_MAX_B64 else None
