"""Devices failing in the middle of their work: the camera and the fingerprint sensor
unplugged mid-capture, the printer's paper running out mid-receipt. Every device is the
product's own port on the real driver over a simulator:

- fingerprint: the live capture port (kiosk/devices/finger_capture.py) on the R30x driver
  talking to the protocol simulator on a pseudo-terminal (`unplug after=BYTES`);
- camera: the live face capture (kiosk/devices/face_capture.py) on the preview feed
  (kiosk/devices/preview.py) of the simulated camera, unplugged for good after a dozen
  frames; and the e-card QR scan (kiosk/devices/qr_port.py) on the same feed; plus the
  driver's own report of the unplug;
- printer: the printer port (kiosk/devices/printer_port.py) on the ESC/POS driver wired to
  the simulated printer (`paper_out_after`).
"""

from __future__ import annotations

import contextlib

import pytest

from drivers.camera.base import DeviceError, ReconnectPolicy
from drivers.camera.simulator import SimFaults, SimulatedCamera
from drivers.errors import DeviceRetry
from drivers.fingerprint.r30x import R30xSensor
from drivers.fingerprint.simulator import ArrayImages, R30xSimulator
from drivers.fingerprint.synthetic import synthetic_fingerprint
from drivers.printer.simulator import SimulatedPrinter
from kiosk.devices.face_capture import CaptureConfig, LiveFaceCapturer
from kiosk.devices.finger_capture import LiveFingerCapturer
from kiosk.devices.preview import PreviewFeed
from kiosk.devices.printer_port import PrinterPort
from kiosk.devices.qr_port import CameraQrScanner
from kiosk.devices.sim_resident import ResidentScript
from kiosk.flow import effects as fx
from kiosk.flow import events as ev
from kiosk.outbox import Outbox
from tests.conftest import persona
from tests.faults.harness import OPS, SAFE, Kiosk, records

EVIDENCE = OPS["submit_evidence"]


def _nothing_submitted(stack, identity) -> None:
    assert stack.proxy.forwarded(*EVIDENCE) == []
    rec = records(stack.app, identity.kiosk_id)
    assert rec.attempts == {} and rec.receipts == [] and rec.chain_broken_at is None


# -- fingerprint sensor unplugged mid-transfer -------------------------------------------------


@contextlib.contextmanager
def _sensor():
    sim = R30xSimulator(ArrayImages([synthetic_fingerprint(3, 0)]))
    sensor = R30xSensor(sim.start(), response_timeout=0.5, poll_interval=0.02)
    try:
        yield sim, sensor
    finally:
        sensor.close()
        sim.stop()


@pytest.mark.parametrize(
    ("command", "key"),
    [
        ("unplug after=8000", "device_error_timeout"),  # silent: the module stops answering
        ("unplug after=20000 mode=hangup", "device_error_unplugged"),  # the cable pulled
    ],
)
def test_fingerprint_unplugged_mid_transfer_goes_out_of_service_and_submits_nothing(
    command, key, healthy, kiosk_client, identity, personas
):
    p = persona(personas, key="demo-06")  # no face enrolled: the fingerprint comes first
    with _sensor() as (sim, sensor):
        assert sim.command(command) == "ok"
        progress: list[tuple[str, float]] = []
        finger = LiveFingerCapturer(sensor, finger_timeout_s=2.0)
        k = Kiosk(kiosk_client, ResidentScript(p["key"]), finger=_Watch(finger, progress))
        try:
            end = k.journey(p)
            assert end == "out_of_service", k.flow.visited
            assert end in SAFE
            assert "finger_capture" in k.flow.visited
            assert k.flow.messages[-1] == key
            uploading = [f for name, f in progress if name == "finger_uploading"]
            assert uploading and 0.0 < uploading[-1] < 0.9  # it broke off mid-transfer
            assert k.flow.ctx.personal_values() == {}
        finally:
            k.close()
    _nothing_submitted(healthy, identity)


class _Watch:
    """A capture port, keeping the progress it reports (for "mid-transfer")."""

    def __init__(self, port, progress: list):
        self.port, self.progress = port, progress

    def capture(self, nonce, which, cancel, progress):
        def both(k: str, f: float) -> None:
            self.progress.append((k, f))
            progress(k, f)

        return self.port.capture(nonce, which, cancel, both)


# -- camera unplugged mid-capture --------------------------------------------------------------


def test_camera_driver_unplugged_mid_stream_fails_as_unplugged():
    """The driver's half: frames, then the camera is gone; once the reconnect budget is
    spent, `read` raises DeviceError(unplugged)."""
    cam = SimulatedCamera(
        realtime=False, faults=SimFaults(unplug_at=5), reconnect=ReconnectPolicy(budget_s=2.0)
    )
    cam.open()
    try:
        for _ in range(5):
            cam.read(timeout=1.0)
        retries = 0
        with pytest.raises(DeviceError) as e:
            for _ in range(100):  # virtual time: each empty read advances the clock
                try:
                    cam.read(timeout=1.0)
                except DeviceRetry:
                    retries += 1
        assert retries >= 1  # missing frames first (reconnecting), then the failure
        assert e.value.message_key == "device_error_unplugged"
    finally:
        cam.close()


UNPLUG_AT = 12  # frames the camera delivers before it is pulled out


def test_camera_unplugged_mid_face_capture_goes_out_of_service_and_submits_nothing(
    healthy, kiosk_client, identity, personas
):
    """The product's live face capture (kiosk/devices/face_capture.py) on the preview feed of
    a simulated camera (virtual time, the feed in lockstep as in its own tests) that is
    unplugged for good after a dozen frames, in the middle of the capture."""
    cam = SimulatedCamera(
        realtime=False,
        faults=SimFaults(unplug_at=UNPLUG_AT),
        schedule={UNPLUG_AT - 1: {"missing": True}},  # and it does not open again
    )
    feed = PreviewFeed(cam, retry_s=0.05, lockstep=True)
    face = LiveFaceCapturer(feed, CaptureConfig(stall_s=1.0))
    progress: list[tuple[str, float]] = []

    def camera_switch(effect: fx.Effect) -> None:  # as kiosk/container.py wires the preview
        if isinstance(effect, fx.StartCamera):
            feed.start()
        elif isinstance(effect, fx.StopCamera):
            feed.stop()

    p = persona(personas, key="demo-02")
    k = Kiosk(
        kiosk_client,
        ResidentScript(p["key"]),
        face=_Watch(face, progress),
        on_effect=camera_switch,
    )
    try:
        end = k.journey(p)
        assert end == "out_of_service", k.flow.visited
        assert end in SAFE
        assert "face_capture" in k.flow.visited and "processing" not in k.flow.visited
        assert k.flow.messages[-1] == "camera_no_frame"
        stats = face.last_stats
        assert stats["outcome"] == "no_frames"
        assert 0 < stats["frames_analysed"] <= UNPLUG_AT and progress  # it was capturing
        assert any(isinstance(e, fx.StopCamera) for e in k.effects)  # the camera is off
        assert not feed.running
        assert k.flow.ctx.personal_values() == {}
    finally:
        k.close()
        feed.close()
    _nothing_submitted(healthy, identity)


def test_camera_unplugged_during_the_qr_scan_returns_to_the_keypad(
    healthy, kiosk_client, identity, personas
):
    """The e-card scan reads the preview's frames: the camera unplugged mid-scan ends the
    scan with `reader_failed` on the document screen, where the keypad still works; the
    resident then identifies by number and certifies."""
    cam = SimulatedCamera(fps=30, faults=SimFaults(unplug_at=6))
    feed = PreviewFeed(cam, retry_s=0.2)
    scanner = CameraQrScanner(feed, stall_s=0.5)

    def camera_switch(effect: fx.Effect) -> None:
        if isinstance(effect, fx.StartCamera):
            feed.start()
        elif isinstance(effect, fx.StopCamera):
            feed.stop()

    p = persona(personas, key="demo-02")
    k = Kiosk(kiosk_client, ResidentScript(p["key"]), qr=scanner, on_effect=camera_switch)
    try:
        for e in (ev.Tapped("start"), ev.Tapped("choose", "en"), ev.Tapped("verify")):
            k.do(e)
        k.do(ev.Tapped("scan"))
        assert k.flow.state == "qr_scan"
        assert k.settle(timeout=15) == "doc_type"
        assert k.flow.messages[-1] == "reader_failed"
        assert cam.health().frames >= 1 and scanner.frames_examined >= 1  # it was scanning
        assert healthy.proxy.forwarded(".*", ".*") == []  # nothing sent anywhere
        assert k.journey(p) == "receipt"  # the keypad way still works
    finally:
        k.close()
        feed.close()
    assert len(records(healthy.app, identity.kiosk_id).certifications) == 1


# -- printer paper out mid-receipt -------------------------------------------------------------


def _paper_out_printer() -> PrinterPort:
    printer = SimulatedPrinter()
    printer.sim.paper_out_after(3000)  # a few thousand bytes into the receipt's raster
    return PrinterPort(printer, sleep=lambda s: None)


def test_paper_out_mid_receipt_shows_the_reference_and_certifies_once(
    healthy, kiosk_client, identity, personas
):
    p = persona(personas, key="demo-02")
    port = _paper_out_printer()
    k = Kiosk(kiosk_client, ResidentScript(p["key"]), printer=port)
    try:
        assert k.journey(p) == "receipt"
        assert k.flow.ctx.printed is False
        assert k.flow.ctx.message_key == "receipt_printer_failed"
        reference = k.flow.ctx.decision.reference
        assert reference  # on the screen: the resident can write it down
        sim = port.printer.sim
        assert sim.paper_out and sim.receipts == []  # it stopped mid-receipt, never cut
        assert sim.page is not None  # part of it came out
    finally:
        k.close()
        port.close()
    rec = records(healthy.app, identity.kiosk_id)
    [cert] = rec.certifications
    assert cert.reference == reference
    assert rec.duplicates() == [] and rec.chain_broken_at is None


def test_paper_out_on_a_pending_receipt_still_delivers_once(
    healthy, kiosk_client, identity, personas, tmp_path
):
    """Back end down at the submission and the paper out: the pending screen shows the JP-
    reference with `receipt_printer_failed`; the outbox delivers it once."""
    method, path = EVIDENCE
    healthy.proxy.add("down", method, path)
    p = persona(personas, key="demo-02")
    port = _paper_out_printer()
    box = Outbox(tmp_path / "outbox.sqlite3")
    k = Kiosk(kiosk_client, ResidentScript(p["key"]), printer=port, outbox=box)
    try:
        assert k.journey(p) == "pending"
        assert k.flow.ctx.message_key == "receipt_printer_failed"
        assert k.flow.ctx.pending_reference.startswith("JP-")
        session_id = k.flow.ctx.session.session_id
    finally:
        k.close()
        port.close()
    healthy.proxy.heal()
    assert box.drain(kiosk_client).delivered == 1
    assert box.drain(kiosk_client).delivered == 0
    box.close()
    rec = records(healthy.app, identity.kiosk_id)
    [cert] = rec.certifications
    assert cert.session_id == session_id
    assert rec.duplicates() == [] and rec.chain_broken_at is None
