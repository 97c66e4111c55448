"""The live fingerprint capture (kiosk/devices/finger_capture.py) on the real R30x driver,
talking to the protocol simulator on a pseudo-terminal, and its evidence matched by the real
back end against references enrolled with backend/enrol.py.

Fingers: FVC2002 DB1_B (optical, 500 dpi, like the R30x) from the evaluation data
(../shared/data/fingers, KIOSK_EVAL_DATA overrides ../shared/data) when present, and the
synthetic generator's fingers always. The simulator crops each image to the sensor's 256x288
and the upload quantises it to 4 bits, as a real module does; the reference is enrolled from
the other impression's full image, as the bureau would.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import threading
import time
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import cv2
import numpy as np
import pytest

from drivers.fingerprint import r30x_protocol as p
from drivers.fingerprint.base import (
    Capture,
    FingerprintSensor,
    Health,
    SensorInfo,
    not_open,
)
from drivers.fingerprint.r30x import R30xSensor
from drivers.fingerprint.simulator import ArrayImages, FolderImages, R30xSimulator
from drivers.fingerprint.synthetic import synthetic_fingerprint
from kiosk.api import contract as c
from kiosk.devices.finger_capture import FingerCaptureCancelled, LiveFingerCapturer
from kiosk.flow.ports import CaptureRetryError, DeviceFailure
from tests import sim_evidence
from tests.biometrics.fingerprint.conftest import eval_data
from tests.conftest import identify, register_kiosk

NONCE = "n" * 43
POSITION = 2
SENSOR_TIMEOUTS = {"response_timeout": 0.5, "poll_interval": 0.02}


# -- fingers ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fingers:
    """Finger X enrolled from one impression; X's other impression and finger Y's, to capture.
    A probe is what the simulator's `image` command or `serve_next` takes."""

    name: str
    source: Any  # the simulator's image source
    enrol_name: str
    enrol_bytes: bytes
    genuine: Any
    impostor: Any


def _png(image: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".png", image)
    assert ok
    return buf.tobytes()


def _fvc() -> Fingers:
    db = eval_data() / "fingers" / "fvc2002" / "DB1_B"
    if not (db / "101_1.png").is_file():
        pytest.skip(f"FVC2002 evaluation data not found at {db} (set KIOSK_EVAL_DATA)")
    return Fingers(
        "fvc2002",
        FolderImages(db),
        "101_1.png",
        (db / "101_1.png").read_bytes(),
        str(db / "101_2.png"),
        str(db / "102_2.png"),
    )


def _synthetic() -> Fingers:
    enrolled = synthetic_fingerprint(0, 0)
    return Fingers(
        "synthetic",
        ArrayImages([enrolled]),
        "synthetic-0-0.png",
        _png(enrolled),
        synthetic_fingerprint(0, 1),
        synthetic_fingerprint(4, 1),  # synthetic fingers share one generator: the most unlike
    )


@pytest.fixture(params=["fvc2002", "synthetic"])
def fingers(request) -> Fingers:
    return _fvc() if request.param == "fvc2002" else _synthetic()


def _serve(sim: R30xSimulator, probe) -> None:
    if isinstance(probe, str):
        assert sim.command(f"image {probe}") == "ok"  # the text command, as a technician types
    else:
        sim.serve_next(probe)


# -- the rig: simulator on a pty, the real driver, the capturer ------------------------------


@dataclass
class Rig:
    sim: R30xSimulator
    sensor: R30xSensor
    capturer: LiveFingerCapturer
    progress: list

    def capture(self, cancel: threading.Event | None = None) -> c.EvidenceRequest:
        self.progress.clear()
        return self.capturer.capture(
            NONCE, POSITION, cancel or threading.Event(), lambda k, f: self.progress.append((k, f))
        )


@contextlib.contextmanager
def _rig(images, finger_timeout_s: float = 2.0):
    sim = R30xSimulator(images)  # line_speed stays off: bytes as fast as the pty carries them
    path = sim.start()
    sensor = R30xSensor(path, **SENSOR_TIMEOUTS)
    try:
        yield Rig(sim, sensor, LiveFingerCapturer(sensor, finger_timeout_s=finger_timeout_s), [])
    finally:
        sensor.close()
        sim.stop()


@pytest.fixture
def rig():
    with _rig(ArrayImages([synthetic_fingerprint(3, 0)])) as r:
        yield r


def _template(evidence: c.EvidenceRequest) -> dict:
    return json.loads(base64.b64decode(evidence.template.data_b64))


# -- capture ---------------------------------------------------------------------------------


def test_capture_opens_lazily_reports_progress_and_returns_evidence(rig):
    from biometrics.fingerprint import extract

    assert not rig.sensor.health().ok and rig.sim.instructions == []  # nothing opened yet
    evidence = rig.capture()
    assert rig.sensor.info.details["baudrate"] == 115200  # the driver raised the line

    assert evidence.modality is c.Modality.FINGERPRINT
    assert evidence.finger_position == POSITION
    # The image for staff review, as a PNG of the sensor's picture (sealed with the rest).
    import base64

    png = base64.b64decode(evidence.finger_image_png_b64)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(evidence.finger_image_png_b64) <= (
        c.BEST_FRAME_MAX_B64
    )
    assert evidence.simulated is False
    assert evidence.liveness is None
    assert evidence.captured_at.tzinfo is not None
    assert 0.0 < evidence.quality <= 1.0
    assert evidence.template.extractor == "gabor-mcc"
    assert evidence.template.extractor_version == "1"
    assert evidence.template.vector is None
    # The template is the extractor's own, of the image the module uploaded (4-bit pixels).
    uploaded = p.quantise(rig.sim.served[-1])
    assert _template(evidence) == json.loads(json.dumps(extract(uploaded).to_dict()))

    keys = [k for k, _ in rig.progress]
    assert keys[0] == "finger_place" and keys[-1] == "finger_done"
    assert {"finger_detected", "finger_uploading"} <= set(keys)
    assert keys.index("finger_detected") < keys.index("finger_uploading")
    fractions = [f for _, f in rig.progress]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert sum(k == "finger_uploading" for k in keys) > 100  # per packet: a moving bar
    assert rig.capturer.last["baudrate"] == 115200 and rig.capturer.last["analyse_ms"] > 0

    rig.capture()  # the second capture uses the open sensor
    assert rig.sim.instructions.count(p.Instruction.VFY_PWD) == 2  # open + its baud check


def test_nothing_biometric_in_the_log_or_on_disk(rig, caplog, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with caplog.at_level("DEBUG"):
        evidence = rig.capture()
    template_json = base64.b64decode(evidence.template.data_b64).decode()
    assert evidence.template.data_b64[:40] not in caplog.text
    assert template_json[:40] not in caplog.text and '"minutiae"' not in caplog.text
    assert "finger captured" in caplog.text
    assert list(tmp_path.iterdir()) == []
    assert set(rig.capturer.last) == {
        "capture_ms", "upload_ms", "analyse_ms", "baudrate", "quality", "minutiae",
        "template_bytes",
    }  # fmt: skip


def test_no_finger_is_a_retry_then_the_finger_is_read(rig):
    rig.capturer.finger_timeout_s = 0.3
    assert rig.sim.command("no_finger") == "ok"
    with pytest.raises(CaptureRetryError) as e:
        rig.capture()
    assert e.value.message_key == "finger_no_finger"
    assert not isinstance(e.value, FingerCaptureCancelled)
    assert rig.sim.command("finger") == "ok"
    assert rig.capture().modality is c.Modality.FINGERPRINT


@pytest.mark.parametrize(
    ("fault", "key"),
    [
        ("moved", "finger_moved"),
        ("smudged", "finger_smudged"),
        ("few_features", "finger_too_few_features"),
    ],
)
def test_driver_retry_reasons_become_coaching(rig, fault, key):
    assert rig.sim.command(f"retry {fault}") == "ok"
    with pytest.raises(CaptureRetryError) as e:
        rig.capture()
    assert e.value.message_key == key
    rig.capture()  # the next capture goes through


def _wet(img):
    return cv2.erode(img, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (7, 7)))


def _at_the_edge(img):
    shifted = np.full_like(img, 255)
    shifted[:, 150:] = img[:, :106]
    return shifted


@pytest.mark.parametrize(
    ("make", "key"), [(_wet, "finger_smudged"), (_at_the_edge, "finger_off_centre")]
)
def test_poor_image_the_module_accepts_is_coached_by_the_quality_check(rig, make, key):
    rig.sim.serve_next(make(synthetic_fingerprint(3, 0)))
    with pytest.raises(CaptureRetryError) as e:
        rig.capture()
    assert e.value.message_key == key
    assert rig.sim.instructions.count(p.Instruction.UP_IMAGE) == 1  # it was uploaded


def test_unplug_mid_transfer_is_a_device_failure_and_the_sensor_reopens_after(rig):
    rig.capture()
    assert rig.sim.command("unplug after=8000") == "ok"  # silent: the module stops answering
    with pytest.raises(DeviceFailure) as e:
        rig.capture()
    assert (e.value.device, e.value.message_key) == ("fingerprint", "device_error_timeout")
    uploading = [f for k, f in rig.progress if k == "finger_uploading"]
    assert uploading and 0.1 < uploading[-1] < 0.9  # it broke off mid-transfer
    assert not rig.sensor.health().ok  # closed, to be opened again

    with pytest.raises(DeviceFailure) as e:  # still unplugged: does not open
        rig.capture()
    assert e.value.message_key == "device_unavailable"

    assert rig.sim.command("replug") == "ok"  # back, as after a power cycle (57600 baud)
    assert rig.capture().modality is c.Modality.FINGERPRINT
    assert rig.sensor.info.details["baudrate"] == 115200


def test_cable_pulled_mid_transfer_is_unplugged():
    with _rig(ArrayImages([synthetic_fingerprint(3, 0)])) as r:
        assert r.sim.command("unplug after=20000 mode=hangup") == "ok"
        with pytest.raises(DeviceFailure) as e:
            r.capture()
        assert (e.value.device, e.value.message_key) == ("fingerprint", "device_error_unplugged")


def test_cancel_while_waiting_for_a_finger(rig):
    rig.capture()  # opened
    rig.capturer.finger_timeout_s = 30
    rig.sim.no_finger()
    cancel = threading.Event()
    box: dict = {}

    def run():
        try:
            rig.capture(cancel)
        except Exception as exc:  # noqa: BLE001 - the test looks at it
            box["error"] = exc

    t = threading.Thread(target=run, daemon=True)
    t.start()
    time.sleep(0.2)
    cancelled_at = time.monotonic()
    cancel.set()
    t.join(timeout=5)
    assert not t.is_alive() and time.monotonic() - cancelled_at < 1.0
    assert isinstance(box["error"], FingerCaptureCancelled)
    assert box["error"].message_key == "device_cancelled"
    rig.sim.place_finger()
    rig.capture()  # the line is usable: no re-open needed
    assert rig.sim.instructions.count(p.Instruction.VFY_PWD) == 2


def test_cancel_during_the_upload(rig):
    cancel = threading.Event()

    def progress(key, _fraction):
        if key == "finger_uploading":
            cancel.set()  # the resident leaves while the image travels

    with pytest.raises(FingerCaptureCancelled):
        rig.capturer.capture(NONCE, POSITION, cancel, progress)
    rig.capture()  # the rest of the upload was drained: the next capture is clean


def test_cancel_before_the_capture_touches_nothing(rig):
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(FingerCaptureCancelled):
        rig.capture(cancel)
    assert rig.sim.instructions == []


class _BlockingSensor(FingerprintSensor):
    """A sensor without `cancel_event`: capture waits for cancel() (the contract's way)."""

    def __init__(self):
        self._info = None
        self._cancel = threading.Event()
        self.capturing = threading.Event()

    @property
    def info(self) -> SensorInfo:
        if self._info is None:
            raise not_open(self.device)
        return self._info

    def open(self) -> SensorInfo:
        self._info = SensorInfo("blocking", 256, 288, 500)
        return self._info

    def capture(self, *, timeout: float, progress=None) -> Capture:
        from drivers.errors import DeviceCancelled

        self._cancel.clear()
        self.capturing.set()
        if self._cancel.wait(timeout):
            raise DeviceCancelled(device=self.device)
        return Capture(image=synthetic_fingerprint(3, 0), quality=1.0)

    def cancel(self) -> None:
        if self.capturing.is_set():
            self._cancel.set()

    def health(self) -> Health:
        return Health(True, "device_ok")

    def close(self) -> None:
        self._info = None


def test_cancel_reaches_a_driver_without_cancel_event():
    sensor = _BlockingSensor()
    capturer = LiveFingerCapturer(sensor, finger_timeout_s=10)
    cancel = threading.Event()
    threading.Timer(0.1, cancel.set).start()  # set before or after the capture starts: both end it
    started = time.monotonic()
    with pytest.raises(FingerCaptureCancelled):
        capturer.capture(NONCE, POSITION, cancel, lambda k, f: None)
    assert time.monotonic() - started < 2


# -- the back end's comparison ---------------------------------------------------------------


def _enrol(app, clock, persona_key: str, fingers: Fingers, position: int = POSITION) -> None:
    from backend import enrol

    e = enrol.finger_enrolment(enrol.Photo(fingers.enrol_name, fingers.enrol_bytes), position)
    with app.state.sessions() as db:
        pensioner = enrol.find_pensioner(db, persona=persona_key)
        enrol.store(db, clock.now(), pensioner.id, [e])


def test_back_end_matches_the_other_impression_of_the_enrolled_finger(fingers, backend, clock):
    from backend import api, enrol
    from backend.settings import BackendSettings

    app, _server = backend
    _enrol(app, clock, "demo-06", fingers)
    with _rig(fingers.source) as r:
        _serve(r.sim, fingers.genuine)
        genuine = r.capture()
        _serve(r.sim, fingers.impostor)
        impostor = r.capture()
    s = BackendSettings()
    with app.state.sessions() as db:
        sess = SimpleNamespace(pensioner_id=enrol.find_pensioner(db, persona="demo-06").id)
        matched, borderline, distance, g = api._compare(db, sess, genuine, s)
        assert (matched, borderline, distance) == (True, False, None)
        matched, _, _, i = api._compare(db, sess, impostor, s)
        assert matched is False
        # The threshold is the server's: raised above the genuine score, no match.
        strict = BackendSettings(finger_match_threshold=min(1.0, g + 0.01))
        assert api._compare(db, sess, genuine, strict)[0] is False
    assert g >= s.finger_match_threshold > i
    print(f"\n{fingers.name}: genuine {g:.3f}, impostor {i:.3f}")


# -- end to end: sealed live evidence through the kiosk API ----------------------------------


def _client(server, identity, clock):
    from kiosk.api.client import KioskApiClient

    return KioskApiClient(
        server.url,
        identity.kiosk_id,
        identity.key,
        clock=clock.time,
        sleep=lambda s: None,
        read_timeout=20,
    )


def test_live_finger_certifies_a_pensioner_enrolled_by_fingerprint_only(
    fingers, backend, clock, personas
):
    """demo-06 has no face reference: the ladder starts at the fingerprint. A production
    (non-demo) kiosk submits live evidence: another finger first (retry), then the enrolled
    finger's other impression (approved, receipt)."""
    app, server = backend
    _enrol(app, clock, "demo-06", fingers)
    identity = register_kiosk(app, clock, "HK-LIVE-01", demo=False)
    client = _client(server, identity, clock)
    try:
        person = next(p for p in personas if p["key"] == "demo-06")
        assert not person["face"] and POSITION in person["fingers"]
        sess = identify(client, person)
        assert sess.next_modality is c.Modality.FINGERPRINT
        assert POSITION in sess.enrolled_fingers
        with _rig(fingers.source) as r:
            _serve(r.sim, fingers.impostor)
            wrong = sim_evidence.submit(client, sess, r.capture())
            assert wrong.outcome is c.Outcome.RETRY
            assert wrong.reason_code is c.ReasonCode.NO_MATCH
            assert wrong.session.attempts_left.fingerprint == 2
            assert wrong.reference is None
            _serve(r.sim, fingers.genuine)
            right = sim_evidence.submit(client, sess, r.capture())
        assert right.outcome is c.Outcome.APPROVED
        assert right.reason_code is c.ReasonCode.MATCH
        assert right.modality is c.Modality.FINGERPRINT
        assert right.reference and client.receipt(right.reference).status is (
            c.ReceiptStatus.APPROVED
        )
    finally:
        client.close()


def test_fallback_from_face_to_live_finger(client, personas, backend, clock):
    """Three failed (simulated) face attempts on a demo kiosk move the resident to the
    fingerprint rung; the live finger is approved there."""
    app, _server = backend
    fingers = _synthetic()
    person = next(p for p in personas if p["face"] and POSITION in p["fingers"])
    _enrol(app, clock, person["key"], fingers)
    sess = identify(client, person)
    for i in range(3):
        d = sim_evidence.submit(client, sess, sim_evidence.face(person["key"], 0.9, seed=i))
    assert d.outcome is c.Outcome.NEXT_MODALITY
    with _rig(fingers.source) as r:
        _serve(r.sim, fingers.genuine)
        final = sim_evidence.submit(client, sess, r.capture())
    assert final.outcome is c.Outcome.APPROVED and final.modality is c.Modality.FINGERPRINT


# -- wiring ----------------------------------------------------------------------------------


def test_hardware_kiosk_captures_fingers_with_the_live_capturer(tmp_path, monkeypatch, rig):
    from kiosk.config import KioskSettings
    from kiosk.container import build

    for name in [n for n in os.environ if n.startswith("KIOSK_")]:
        monkeypatch.delenv(name)
    settings = KioskSettings(devices="hardware", data_dir=tmp_path / "data")
    container = build(settings, with_devices=False)
    try:
        container.fingerprint = rig.sensor
        runner = container.build_runner()
        assert isinstance(runner.devices.finger, LiveFingerCapturer)
        assert runner.devices.finger.sensor is rig.sensor
        assert rig.sim.instructions == []  # opened at the first capture, not before
    finally:
        container.close()
