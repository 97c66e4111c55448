"""Performs the flow's effects on worker threads and feeds their results back as events.

One thread owns the flow: whoever calls `pump()` (the Kivy thread through a Clock interval,
or a headless loop in tests and scenarios). Workers only put events on a queue, so the flow
and the widgets are never touched from two threads.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from kiosk.api.errors import (
    ApiError,
    ApiTimeout,
    ContractError,
    NetworkError,
    Rejected,
    ServerError,
)
from kiosk.flow import effects as fx
from kiosk.flow import events as ev
from kiosk.flow.machine import Flow
from kiosk.flow.ports import (
    CaptureRetryError,
    DeviceFailure,
    FaceCapturer,
    FingerCapturer,
    QrScanner,
    ReceiptPrinter,
    Speaker,
)

log = logging.getLogger(__name__)


@dataclass
class Devices:
    face: FaceCapturer
    finger: FingerCapturer
    printer: ReceiptPrinter
    speaker: Speaker | None = None
    qr: QrScanner | None = None
    handset: object | None = None  # kiosk.devices.handset.HandsetVoice, when fitted


def _kind(exc: ApiError) -> str:
    if isinstance(exc, ApiTimeout):
        return "timeout"
    if isinstance(exc, NetworkError):
        return "network"
    if isinstance(exc, ServerError):
        return "server"
    if isinstance(exc, ContractError):
        return "contract"
    return "rejected"


class Runner:
    def __init__(
        self,
        flow: Flow,
        api,
        devices: Devices,
        sealer,
        *,
        on_effect: Callable[[fx.Effect], None] | None = None,
        outbox=None,
        probe_interval_s: float = 5.0,
        sleep: Callable[[float], None] | None = None,
    ):
        self.flow = flow
        self.api = api
        self.devices = devices
        self.sealer = sealer  # kiosk.evidence.Sealer: captures leave the worker sealed
        self.outbox = outbox  # kiosk.outbox.Outbox (and its Drainer as outbox_drainer)
        self.outbox_drainer = None
        # Maintenance mode's tasks (kiosk/maintenance/service.py), one at a time on their own
        # worker: two diagnostics never use a device at once.
        self.maintenance = None
        self._maint_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kiosk-maint")
        self.on_effect = on_effect  # the UI's hook: ShowMessage, ClearPersonalData ...
        self.events: queue.Queue[ev.Event] = queue.Queue()
        self.pool = ThreadPoolExecutor(max_workers=3, thread_name_prefix="kiosk-effect")
        self._cancel = threading.Event()
        self._probe_interval_s = probe_interval_s
        self._stopping = threading.Event()
        self._sleep = sleep or self._stopping.wait
        self.progress: tuple[str, float] | None = None
        self._probing = threading.Lock()

    # ------------------------------------------------------------------ owner thread

    def start(self) -> None:
        self._perform_all(self.flow.start())

    def post(self, event: ev.Event) -> None:
        """Thread-safe: any thread may post; the owner handles it on its next pump."""
        self.events.put(event)

    def dispatch(self, event: ev.Event) -> None:
        """Owner thread only: handle one event now and perform its effects."""
        self._perform_all(self.flow.handle(event))

    def pump(self, timeout: float = 0.0) -> int:
        """Owner thread: handles every queued event; waits up to `timeout` for the first."""
        n = 0
        try:
            event = self.events.get(timeout=timeout) if timeout else self.events.get_nowait()
        except queue.Empty:
            return 0
        while True:
            self.dispatch(event)
            n += 1
            try:
                event = self.events.get_nowait()
            except queue.Empty:
                return n

    def close(self) -> None:
        self._stopping.set()
        self._cancel.set()
        self.pool.shutdown(wait=True, cancel_futures=True)
        self._maint_pool.shutdown(wait=True, cancel_futures=True)

    # ------------------------------------------------------------------ effects

    def _perform_all(self, effects: list[fx.Effect]) -> None:
        for effect in effects:
            self._perform(effect)
            if self.on_effect is not None:
                self.on_effect(effect)

    def _perform(self, effect: fx.Effect) -> None:
        if isinstance(effect, fx.CallApi):
            self.pool.submit(self._call_api, effect)
        elif isinstance(effect, (fx.CaptureFace, fx.CaptureFinger)):
            self._cancel = threading.Event()
            self.pool.submit(self._capture, effect, self._cancel)
        elif isinstance(effect, fx.ScanQr):
            self._cancel = threading.Event()
            self.pool.submit(self._scan, effect, self._cancel)
        elif isinstance(effect, fx.CancelCapture):
            self._cancel.set()
        elif isinstance(effect, fx.QueueEvidence):
            self._queue(effect)
        elif isinstance(effect, fx.PrintReceipt):
            self.pool.submit(self._print, effect)
        elif isinstance(effect, fx.SpeakPrivately) and self.devices.handset is not None:
            self.pool.submit(self.devices.handset.say_summary, effect.summary, effect.language)
        elif isinstance(effect, fx.Speak) and self.devices.speaker is not None:
            self.pool.submit(self._speak, effect)
        elif isinstance(effect, fx.ProbeBackend) and self._probing.acquire(blocking=False):
            self.pool.submit(self._probe)  # one probe at a time: the lock is its token
        elif isinstance(effect, fx.CheckPin):
            self.pool.submit(self._check_pin, effect)
        elif isinstance(effect, fx.MaintenanceTask):
            self._maint_pool.submit(self._maintain, effect)
        elif isinstance(effect, fx.Audit):
            self._audit(effect)

    # ------------------------------------------------------------------ workers

    def _call_api(self, e: fx.CallApi) -> None:
        try:
            result = getattr(self.api, e.op)(*e.args, **e.kwargs)
        except ApiError as exc:
            code = exc.code
            key = exc.key if isinstance(exc, Rejected) else exc.message_key
            log.warning("api %s failed: %s %s", e.op, type(exc).__name__, exc)
            self.post(ev.ApiFailed(e.request_id, e.op, _kind(exc), key, code))
            return
        except Exception:
            log.exception("api %s crashed", e.op)
            self.post(ev.ApiFailed(e.request_id, e.op, "contract", "error_backend"))
            return
        self.post(ev.ApiDone(e.request_id, e.op, result))

    def _capture(self, e, cancel: threading.Event) -> None:
        def progress(key: str, fraction: float) -> None:
            self.progress = (key, fraction)

        try:
            if isinstance(e, fx.CaptureFace):
                capture = self.devices.face.capture(e.server_nonce, e.challenges, cancel, progress)
            else:
                capture = self.devices.finger.capture(
                    e.server_nonce, e.finger_position, cancel, progress
                )
            # Signed and encrypted here, at capture: from now on the kiosk holds only what
            # the back end can open.
            sealed = self.sealer.seal(capture, e.session_id, e.server_nonce)
            del capture
            kind = ev.FaceCaptured if isinstance(e, fx.CaptureFace) else ev.FingerCaptured
            done = kind(e.request_id, sealed)
        except ApiError as exc:  # the back end's evidence key could not be fetched
            done = ev.ApiFailed(e.request_id, "evidence_key", _kind(exc), exc.message_key, exc.code)
        except CaptureRetryError as exc:
            done = ev.CaptureRetry(e.request_id, exc.message_key)
        except DeviceFailure as exc:
            done = ev.DeviceFailed(exc.device, exc.message_key, e.request_id)
        except Exception:  # a driver bug is a device failure to the resident
            log.exception("capture crashed")
            done = ev.DeviceFailed("capture", "error_device", e.request_id)
        finally:
            self.progress = None
        if not cancel.is_set():
            self.post(done)

    def _scan(self, e: fx.ScanQr, cancel: threading.Event) -> None:
        try:
            if self.devices.qr is None:
                raise DeviceFailure("camera", "reader_failed")
            text = self.devices.qr.scan(cancel)
            done = None if text is None else ev.QrScanned(text, e.request_id)
        except DeviceFailure as exc:
            done = ev.DeviceFailed(exc.device, exc.message_key, e.request_id)
        except Exception:
            log.exception("QR scan crashed")
            done = ev.DeviceFailed("camera", "reader_failed", e.request_id)
        if done is not None and not cancel.is_set():
            self.post(done)

    def _queue(self, e: fx.QueueEvidence) -> None:
        # On the owner thread and before the receipt prints: durable before the resident is
        # told "received". Without an outbox, or with a write that failed (disk full), there
        # is nothing to promise: the flow goes out of service.
        if self.outbox is None:
            self.post(ev.EvidenceQueued(e.request_id, False))
            return
        try:
            self.outbox.put(e.session_id, e.evidence, e.idempotency_key)
        except Exception:
            log.exception("the outbox could not keep the evidence")
            self.post(ev.EvidenceQueued(e.request_id, False))
            return
        self.post(ev.EvidenceQueued(e.request_id, True))
        if self.outbox_drainer is not None:
            self.outbox_drainer.kick()

    def _print(self, e: fx.PrintReceipt) -> None:
        try:
            self.devices.printer.print_document(e.document)
        except DeviceFailure as exc:
            self.post(ev.PrintDone(e.request_id, False, exc.message_key))
            return
        except Exception:
            log.exception("printing crashed")
            self.post(ev.PrintDone(e.request_id, False, "receipt_printer_failed"))
            return
        self.post(ev.PrintDone(e.request_id, True))

    def _speak(self, e: fx.Speak) -> None:
        try:
            self.devices.speaker.say(e.key, e.language)
        except Exception:  # noqa: BLE001 - no voice is no reason to stop the journey
            log.warning("speech failed for %s", e.key)

    def _check_pin(self, e: fx.CheckPin) -> None:
        from kiosk.maintenance.pin import verify_pin

        try:
            ok = verify_pin(e.pin, e.stored)
        except Exception as exc:  # noqa: BLE001 - an unusable hash opens nothing
            log.error("maintenance PIN check failed: %s", type(exc).__name__)
            ok = False
        self.post(ev.PinChecked(e.request_id, ok))

    def _maintain(self, e: fx.MaintenanceTask) -> None:
        if self.maintenance is None:
            self.post(ev.MaintenanceFailed(e.request_id, e.op, "no maintenance service"))
            return
        try:
            result = self.maintenance.perform(e.op, **e.kwargs)
        except Exception as exc:
            log.exception("maintenance task %s failed", e.op)
            self.post(ev.MaintenanceFailed(e.request_id, e.op, type(exc).__name__))
            return
        self.post(ev.MaintenanceDone(e.request_id, e.op, result))

    def _audit(self, e: fx.Audit) -> None:
        # On the owner thread, in the order the flow emitted them: the log is a hash chain.
        log.info("maintenance: %s %s", e.action, e.result)
        if self.maintenance is None:
            return
        try:
            self.maintenance.audit(e.action, e.result)
        except OSError as exc:
            log.error("maintenance audit log not written: %s", exc)

    def _probe(self) -> None:
        try:
            while not self._stopping.is_set():
                try:
                    self.api.health()
                except ApiError:
                    self._sleep(self._probe_interval_s)
                    continue
                self.post(ev.BackendUp())
                return
        finally:
            self._probing.release()
