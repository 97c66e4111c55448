"""The one place that turns settings into the kiosk's collaborators.

Everything that chooses between real and simulated parts, or configures how the kiosk talks to
the back end, happens here, so the rest of the kiosk receives ready objects and never reads
settings to decide what it is talking to.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from drivers.camera.base import Camera
from drivers.fingerprint.base import FingerprintSensor
from drivers.printer.base import Printer
from drivers.reader.wedge import WedgeReader
from kiosk.api import contract as c
from kiosk.api import keys
from kiosk.api.client import KioskApiClient
from kiosk.api.transport import RequestsTransport
from kiosk.config import KioskSettings
from kiosk.devices.demo_actor import ActingFaceCapturer, DemoActor
from kiosk.devices.demo_resident import DemoFingers, DemoResident
from kiosk.devices.face_capture import LiveFaceCapturer
from kiosk.devices.finger_capture import LiveFingerCapturer
from kiosk.devices.preview import PreviewFeed
from kiosk.devices.printer_port import PrinterPort
from kiosk.devices.qr_port import CameraQrScanner, WedgePump
from kiosk.devices.sim_resident import ResidentScript
from kiosk.evidence import Sealer, key_from_api_cached
from kiosk.flow import effects as fx
from kiosk.flow import events as ev
from kiosk.flow.clock import Clock, MonotonicClock
from kiosk.flow.context import FlowSettings
from kiosk.flow.machine import Flow
from kiosk.flow.maintenance import MaintenanceSettings, Setup
from kiosk.flow.ports import DeviceFailure
from kiosk.flow.runner import Devices, Runner
from kiosk.heartbeat import RECENT_ERRORS, heartbeat_report
from kiosk.maintenance.pin import PinStore
from kiosk.maintenance.service import MaintenanceService
from kiosk.outbox import Drainer, Outbox

log = logging.getLogger(__name__)


def device_key(settings: KioskSettings) -> Ed25519PrivateKey:
    """The device key, created on first use (what `kiosk key show` prints the public half of)."""
    return keys.load_or_create(settings.device_key_path)


def build_api_client(settings: KioskSettings) -> KioskApiClient:
    transport = RequestsTransport(
        ca_bundle=str(settings.ca_bundle) if settings.ca_bundle else None,
        pin_sha256=settings.pin_sha256,
    )
    return KioskApiClient(
        settings.backend_url,
        settings.kiosk_id,
        device_key(settings),
        transport=transport,
        connect_timeout=settings.connect_timeout_s,
        read_timeout=settings.read_timeout_s,
        retries=settings.retries,
    )


def maintenance_setup(settings: KioskSettings) -> Setup:
    """Maintenance mode's PIN and lockout files in the data directory, and its limits."""
    return Setup(
        PinStore(settings.data_dir),
        MaintenanceSettings(
            max_failures=settings.maintenance_max_failures,
            lockout_s=float(settings.maintenance_lockout_s),
            idle_s=float(settings.maintenance_idle_s),
        ),
    )


def flow_settings(settings: KioskSettings) -> FlowSettings:
    return FlowSettings(
        kiosk_id=settings.kiosk_id,
        site=settings.site,
        default_language=settings.language,
        idle_warning_s=float(settings.idle_warning_s),
        idle_reset_s=float(settings.idle_reset_s),
        default_volume="off" if settings.muted else "normal",
        jurisdiction=settings.jurisdiction,
        handset=settings.handset_device is not None,
    )


class _NoBiometricPipeline:
    """The capture port of a device the kiosk does not have (no camera, no fingerprint
    module): a capture fails as a device failure, so the resident is sent to the
    out-of-service screen instead of being shown a simulated result."""

    def __init__(self, device: str):
        self.device = device

    def capture(self, *args) -> c.EvidenceRequest:
        raise DeviceFailure(self.device, "error_device")


@dataclass
class Container:
    settings: KioskSettings
    api: KioskApiClient
    camera: Camera | None = None
    printer: Printer | None = None
    fingerprint: FingerprintSensor | None = None
    reader: WedgeReader | None = None  # a keyboard-wedge QR scanner: the UI feeds its keys
    # The simulators behind simulated devices, for their fault switches (doctor, tests).
    simulators: dict[str, object] = field(default_factory=dict)
    preview: PreviewFeed | None = None
    resident: DemoResident | None = None  # simulated devices only: who stands there
    actor: DemoActor | None = None  # face_pipeline "actor": who stands at the simulated camera
    outbox: Outbox | None = None
    drainer: Drainer | None = None
    _closers: list[Callable[[], None]] = field(default_factory=list)

    def frame_source(self) -> Callable[[], np.ndarray | None] | None:
        """The newest camera frame for the preview (BGR), or None; never blocks."""
        return self.preview.latest if self.preview is not None else None

    def device_reports(self) -> dict[str, c.DeviceReport]:
        reports = {}
        devices = (
            ("camera", self.camera),
            ("fingerprint", self.fingerprint),
            ("printer", self.printer),
        )
        for name, device in devices:
            if device is None:
                reports[name] = c.DeviceReport(state=c.DeviceState.MISSING)
                continue
            try:
                health = device.health()
            except Exception as exc:  # noqa: BLE001 - a report must be built whatever a driver does
                reports[name] = c.DeviceReport(state=c.DeviceState.ERROR, detail=type(exc).__name__)
                continue
            state = c.DeviceState.OK if health.ok else c.DeviceState.DEGRADED
            reports[name] = c.DeviceReport(state=state, detail=health.message_key[:200])
        return reports

    def heartbeat_report(self) -> c.HeartbeatRequest:
        return heartbeat_report(
            self.settings.data_dir,
            self.device_reports(),
            self.outbox,
            last_errors=RECENT_ERRORS.recent(),
        )

    def build_runner(
        self,
        clock: Clock | None = None,
        *,
        script: ResidentScript | None = None,
        flow_settings_: FlowSettings | None = None,
        probe_interval_s: float = 5.0,
    ) -> Runner:
        """The flow and its runner on these devices (not started)."""
        fs = flow_settings_ or flow_settings(self.settings)
        if self.actor is not None:
            # She can only do what was recorded (kiosk/devices/demo_actor.py).
            fs = dataclasses.replace(fs, challenge_kinds=self.actor.can, require_turn=False)
        flow = Flow(clock or MonotonicClock(), fs, maintenance=maintenance_setup(self.settings))
        if self.printer is not None:
            sim = self.simulators.get("printer")  # the demo's: it would keep every receipt
            printer = PrinterPort(self.printer, after_print=getattr(sim, "clear", None))
        else:
            printer = _NoPrinter()
        if self.settings.devices == "simulated":
            sensor = self.simulators.get("fingerprint")
            fingers = (
                DemoFingers(sensor, LiveFingerCapturer(self.fingerprint))
                if sensor is not None and self.fingerprint is not None
                else None
            )
            self.resident = DemoResident(
                lambda: (flow.ctx.doc_type, flow.ctx.doc_number), script=script, fingers=fingers
            )
            face, finger = self.resident.face, self.resident.finger
            if sensor is None:  # a real module in a demo
                finger = self._live_finger()
        else:
            face = _NoBiometricPipeline("camera")
            finger = self._live_finger()
        if face_is_live(self.settings):
            # The live pipeline reads the preview's frames: the camera is opened once.
            face = (
                LiveFaceCapturer(self.preview)
                if self.preview is not None
                else _NoBiometricPipeline("camera")
            )
            if self.actor is not None and isinstance(face, LiveFaceCapturer):
                face = ActingFaceCapturer(face, self.actor)
        key_copy = Path(self.settings.data_dir) / "backend-evidence-key.pub"
        sealer = Sealer(
            self.settings.kiosk_id,
            device_key(self.settings),
            key_from_api_cached(self.api, key_copy),
            offset=lambda: self.api.clock_offset.offset,
        )
        qr = CameraQrScanner(self.preview) if self.preview is not None else None
        handset = None
        if self.settings.handset_device:
            from kiosk.devices.handset import HandsetVoice

            handset = HandsetVoice(self.settings.handset_device)
        runner = Runner(
            flow,
            self.api,
            Devices(face, finger, printer, qr=qr, handset=handset),
            sealer,
            outbox=self.outbox,
            probe_interval_s=probe_interval_s,
        )
        runner.outbox_drainer = self.drainer
        runner.maintenance = MaintenanceService(self)
        # The evidence key now, while the back end answers: a capture made after the line
        # drops can then still be sealed for the outbox.
        runner.pool.submit(_prefetch_key, sealer)
        if isinstance(face, LiveFaceCapturer | ActingFaceCapturer):
            runner.pool.submit(face.warm)  # the face models load now, not at the first capture
        if self.reader is not None:
            pump = WedgePump(self.reader, lambda text: runner.post(ev.QrScanned(text))).start()
            self._closers.append(pump.stop)
        if self.preview is not None:
            preview = self.preview

            def camera_switch(effect: fx.Effect) -> None:
                if isinstance(effect, fx.StartCamera):
                    preview.start()
                elif isinstance(effect, fx.StopCamera):
                    preview.stop()

            runner.on_effect = camera_switch
        self._closers.append(runner.close)
        return runner

    def _live_finger(self):
        if self.fingerprint is None:
            return _NoBiometricPipeline("fingerprint")
        return LiveFingerCapturer(self.fingerprint)

    def close(self) -> None:
        for close in reversed(self._closers):
            try:
                close()
            except Exception:
                log.exception("closing failed")
        self._closers.clear()
        self.api.close()


def _prefetch_key(sealer: Sealer) -> None:
    try:
        sealer.backend_key()
    except Exception as exc:  # noqa: BLE001 - fetched again at the first capture
        log.info("evidence key not fetched yet: %s", type(exc).__name__)


class _NoPrinter:
    def print_document(self, document) -> None:
        raise DeviceFailure("printer", "printer_offline")


def face_is_live(settings: KioskSettings) -> bool:
    """The live face pipeline (camera, liveness, template) rather than simulated captures."""
    if settings.face_pipeline == "auto":
        return settings.devices == "hardware"
    return settings.face_pipeline in ("live", "actor")


def fingerprint_simulated(settings: KioskSettings) -> bool:
    if settings.fingerprint_device == "auto":
        return settings.devices == "simulated"
    return settings.fingerprint_device == "simulator"


def _simulated_devices(settings: KioskSettings) -> tuple[Camera, Printer]:
    from drivers.camera.simulator import SimulatedCamera
    from drivers.printer.simulator import SimulatedPrinter

    camera = SimulatedCamera(
        resolution=(settings.camera_width, settings.camera_height), fps=settings.camera_fps
    )
    return camera, SimulatedPrinter(fonts=receipt_fonts())


def _simulated_fingerprint(container: Container) -> None:
    from drivers.fingerprint.r30x import R30xSensor
    from drivers.fingerprint.simulator import R30xSimulator

    sim = R30xSimulator()
    path = sim.start()  # a pseudo-terminal: the real driver talks to it as to /dev/ttyUSB0
    container._closers.append(sim.stop)
    container.simulators["fingerprint"] = sim
    container.fingerprint = R30xSensor(path)


def _hardware_fingerprint(container: Container) -> None:
    from drivers.fingerprint.r30x import R30xSensor

    container.fingerprint = R30xSensor(container.settings.fingerprint_port)


def _opencv_camera(settings: KioskSettings) -> Camera:
    from drivers.camera.opencv import OpenCvCamera

    source: int | str = int(settings.camera) if settings.camera.isdigit() else settings.camera
    return OpenCvCamera(
        source,
        resolution=(settings.camera_width, settings.camera_height),
        fps=settings.camera_fps,
    )


def _hardware_devices(settings: KioskSettings) -> tuple[Camera | None, Printer | None]:
    from drivers.printer.escpos_printer import printer_from_url

    camera = _opencv_camera(settings)
    try:
        printer = printer_from_url(settings.printer, fonts=receipt_fonts())
    except ValueError as exc:
        log.error("printer setting unusable: %s", exc)
        printer = None
    return camera, printer


def receipt_fonts():
    """The receipt font: the same Noto Sans CJK (HK forms) the screen uses, when present."""
    from drivers.printer.render import ReceiptFonts

    fonts = Path(__file__).resolve().parent.parent / "assets" / "fonts"
    regular, bold = fonts / "NotoSansCJKhk-Regular.otf", fonts / "NotoSansCJKhk-Bold.otf"
    if not regular.exists():
        return None  # the renderer's own default; Chinese then prints as boxes
    return ReceiptFonts.from_paths(str(regular), str(bold) if bold.exists() else None)


def build(settings: KioskSettings, *, with_devices: bool = True) -> Container:
    container = Container(settings=settings, api=build_api_client(settings))
    if not with_devices:
        return container
    if settings.devices == "simulated":
        container.camera, container.printer = _simulated_devices(settings)
        if settings.face_pipeline == "live":
            container.camera = _opencv_camera(settings)  # a webcam demo: the rest simulated
        else:
            container.simulators["camera"] = container.camera
            if settings.face_pipeline == "actor":
                container.actor = DemoActor()  # raises ActorUnavailable without her clip
                container.camera.present(container.actor)
        container.simulators["printer"] = container.printer.sim
    else:
        container.camera, container.printer = _hardware_devices(settings)
    if fingerprint_simulated(settings):
        _simulated_fingerprint(container)
    else:
        _hardware_fingerprint(container)
    for device in (container.camera, container.printer, container.fingerprint):
        if device is not None:
            container._closers.append(device.close)
    container.reader = WedgeReader()  # the keyboard: a wedge scanner types into the window
    if container.camera is not None:
        container.preview = PreviewFeed(container.camera)
        container._closers.append(container.preview.close)
    container.outbox = Outbox(Path(settings.data_dir) / "outbox.sqlite3")
    container.drainer = Drainer(container.outbox, container.api).start()
    container._closers.append(container.outbox.close)
    container._closers.append(container.drainer.stop)
    return container
