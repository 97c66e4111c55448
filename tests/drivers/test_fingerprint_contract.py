"""The fingerprint contract (drivers/fingerprint/base.py), one suite for every driver.

`rig` runs each contract test against the R30x driver on the protocol simulator (a
pseudo-terminal), and with `pytest -m hardware` against a real module on
$KIOSK_FINGERPRINT_PORT (e.g. /dev/ttyUSB0; $KIOSK_FINGERPRINT_PASSWORD in hex if it is not
0). On hardware the tests that need a finger say so on the terminal and wait for it
($KIOSK_FINGERPRINT_HW_TIMEOUT seconds, 20 by default); run them with `-s`.

The fault tests below the contract need the simulator's switches, so they run on it only.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass

import numpy as np
import pytest

from drivers.errors import (
    DeviceCancelled,
    DeviceError,
    DeviceErrorKind,
    DeviceProblem,
    DeviceRetry,
    DeviceUnavailable,
)
from drivers.fingerprint import r30x, r30x_protocol
from drivers.fingerprint.base import CaptureProgress, CaptureStage, FingerprintSensor, RetryReason
from drivers.fingerprint.r30x import R30xSensor
from drivers.fingerprint.simulator import R30xSimulator, SyntheticImages

SIM_TIMEOUTS = {"response_timeout": 0.5, "poll_interval": 0.02}


@dataclass
class Rig:
    sensor: FingerprintSensor
    sim: R30xSimulator | None
    finger_timeout: float  # how long a capture may wait for a finger

    def finger_on(self) -> None:
        if self.sim is not None:
            self.sim.place_finger()
        else:
            print("\n>>> put a finger on the sensor", flush=True)

    def finger_off(self) -> None:
        if self.sim is not None:
            self.sim.no_finger()
        else:
            print("\n>>> keep the sensor clear", flush=True)
            time.sleep(2)


def _hardware_rig() -> Rig:
    port = os.environ.get("KIOSK_FINGERPRINT_PORT")
    if not port:
        pytest.skip("set KIOSK_FINGERPRINT_PORT (e.g. /dev/ttyUSB0) to test a real sensor")
    sensor = R30xSensor(
        port,
        baudrate=int(os.environ.get("KIOSK_FINGERPRINT_BAUD", "57600")),
        password=int(os.environ.get("KIOSK_FINGERPRINT_PASSWORD", "0"), 16),
    )
    sensor.open()
    return Rig(sensor, None, float(os.environ.get("KIOSK_FINGERPRINT_HW_TIMEOUT", "20")))


@pytest.fixture(params=["simulator", pytest.param("hardware", marks=pytest.mark.hardware)])
def rig(request):
    if request.param == "hardware":
        r = _hardware_rig()
        yield r
        r.sensor.close()
        return
    with R30xSimulator(SyntheticImages(fingers=2, impressions=2)) as sim:
        sensor = R30xSensor(sim.path, **SIM_TIMEOUTS)
        sensor.open()
        yield Rig(sensor, sim, 2.0)
        sensor.close()


def _capture_in_thread(sensor, **kwargs):
    box: dict = {}

    def run():
        try:
            box["result"] = sensor.capture(**kwargs)
        except DeviceProblem as exc:  # anything else escapes the contract and fails the test
            box["error"] = exc

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t, box


# -- the contract ---------------------------------------------------------------------------------


def test_open_reports_the_sensor(rig):
    info = rig.sensor.info
    assert (info.width, info.height, info.dpi) == (256, 288, 500)
    assert info.model
    assert info.details["baudrate"] >= 57600
    assert rig.sensor.health().ok


def test_capture_returns_a_grayscale_image_and_a_quality(rig):
    rig.finger_on()
    shot = rig.sensor.capture(timeout=rig.finger_timeout)
    assert shot.image.dtype == np.uint8 and shot.image.shape == (288, 256)
    assert 0.0 <= shot.quality <= 1.0
    if rig.sim is not None:
        assert np.array_equal(shot.image, r30x_protocol.quantise(rig.sim.served[-1]))
        assert shot.quality > 0.3  # a synthetic finger covers most of the frame


def test_progress_is_monotonic_and_reaches_100_percent(rig):
    rig.finger_on()
    reports: list[CaptureProgress] = []
    rig.sensor.capture(timeout=rig.finger_timeout, progress=reports.append)
    fractions = [r.fraction for r in reports]
    assert fractions == sorted(fractions)
    assert reports[0].stage is CaptureStage.WAITING and reports[0].fraction == 0.0
    assert reports[-1].stage is CaptureStage.DONE and reports[-1].fraction == 1.0
    assert [r.stage for r in reports].count(CaptureStage.DONE) == 1
    transfer = [r for r in reports if r.stage is CaptureStage.TRANSFERRING]
    assert transfer[-1].done == transfer[-1].total == 36864
    assert [r.done for r in transfer] == sorted(r.done for r in transfer)
    assert all(r.message_key.startswith("finger_") for r in reports)


def test_no_finger_within_the_timeout_is_a_retry(rig):
    rig.finger_off()
    started = time.monotonic()
    with pytest.raises(DeviceRetry) as caught:
        rig.sensor.capture(timeout=0.3)
    took = time.monotonic() - started
    assert caught.value.reason == RetryReason.NO_FINGER == "finger_no_finger"
    assert 0.3 <= took < 2.0


def test_cancel_while_waiting_for_a_finger(rig):
    rig.finger_off()
    t, box = _capture_in_thread(rig.sensor, timeout=30)
    time.sleep(0.2)
    asked = time.monotonic()
    rig.sensor.cancel()
    t.join(timeout=3)
    assert isinstance(box.get("error"), DeviceCancelled), box
    assert time.monotonic() - asked < 1.0
    rig.finger_on()
    assert rig.sensor.capture(timeout=rig.finger_timeout).image.shape == (288, 256)


def test_a_cancel_event_cancels_too(rig):
    rig.finger_off()
    ev = threading.Event()
    t, box = _capture_in_thread(rig.sensor, timeout=30, cancel_event=ev)
    time.sleep(0.1)
    ev.set()
    t.join(timeout=3)
    assert isinstance(box.get("error"), DeviceCancelled)


def test_a_cancel_when_idle_is_forgotten(rig):
    rig.sensor.cancel()
    rig.finger_on()
    assert rig.sensor.capture(timeout=rig.finger_timeout).image.shape == (288, 256)


def test_health_during_a_capture_does_not_touch_the_line(rig):
    rig.finger_off()
    t, box = _capture_in_thread(rig.sensor, timeout=30)
    time.sleep(0.1)
    started = time.monotonic()
    assert rig.sensor.health().ok
    assert time.monotonic() - started < 0.1
    rig.sensor.cancel()
    t.join(timeout=3)
    assert isinstance(box.get("error"), DeviceCancelled)


def test_close_is_idempotent_and_final(rig):
    rig.sensor.close()
    rig.sensor.close()
    assert not rig.sensor.health().ok
    with pytest.raises(DeviceUnavailable):
        rig.sensor.capture(timeout=0.1)
    with pytest.raises(DeviceUnavailable):
        _ = rig.sensor.info
    rig.sensor.open()  # and it opens again
    assert rig.sensor.health().ok


# -- fault switches (simulator only) ---------------------------------------------------------------


@pytest.fixture
def sim():
    with R30xSimulator(SyntheticImages(fingers=2, impressions=2)) as s:
        yield s


@pytest.fixture
def sensor(sim):
    s = R30xSensor(sim.path, **SIM_TIMEOUTS)
    s.open()
    yield s
    s.close()


def test_the_driver_raises_the_line_to_115200(sim, sensor):
    assert sensor.info.details["baudrate"] == 115200 == sim.baudrate
    assert r30x_protocol.Instruction.SET_SYS_PARA in sim.instructions


def test_no_finger_for_a_while_then_a_finger(sim, sensor):
    sim.no_finger(0.4)
    started = time.monotonic()
    shot = sensor.capture(timeout=3)
    assert time.monotonic() - started >= 0.4
    assert shot.details["polls"] > 1


@pytest.mark.parametrize(
    "fault,reason",
    [
        ("moved", RetryReason.FINGER_MOVED),
        ("smudged", RetryReason.SMUDGED),
        ("few_features", RetryReason.TOO_FEW_FEATURES),
    ],
)
def test_resident_faults_are_retries(sim, sensor, fault, reason):
    sim.fail_captures(fault)
    with pytest.raises(DeviceRetry) as caught:
        sensor.capture(timeout=1)
    assert caught.value.reason == reason
    assert sensor.capture(timeout=1).image.shape == (288, 256)  # the next one works


def test_a_blank_image_has_too_few_features(sim, sensor):
    sim.serve_next(np.full((288, 256), 250, dtype=np.uint8))
    with pytest.raises(DeviceRetry) as caught:
        sensor.capture(timeout=1)
    assert caught.value.reason == RetryReason.TOO_FEW_FEATURES


def test_silent_unplug_mid_transfer_is_a_device_error(sim, sensor):
    sim.unplug(after_bytes=4096, mode="silent")
    reports: list[CaptureProgress] = []
    with pytest.raises(DeviceError) as caught:
        sensor.capture(timeout=1, progress=reports.append)
    assert caught.value.kind is DeviceErrorKind.TIMEOUT
    assert 0 < max(r.done for r in reports if r.stage is CaptureStage.TRANSFERRING) <= 4096
    assert not sensor.health().ok
    sim.replug()  # power comes back: the module forgot the password check and the image
    sensor.open()
    assert sensor.capture(timeout=1).image.shape == (288, 256)


def test_hangup_mid_transfer_is_unplugged(sim, sensor):
    sim.unplug(after_bytes=10_000, mode="hangup")
    with pytest.raises(DeviceError) as caught:
        sensor.capture(timeout=1)
    assert caught.value.kind is DeviceErrorKind.UNPLUGGED
    health = sensor.health()
    assert not health.ok and health.message_key == "device_error_unplugged"


@pytest.mark.parametrize("kind", ["ack", "data"])
def test_a_corrupt_checksum_is_a_device_error_and_the_line_recovers(sim, sensor, kind):
    sim.corrupt_checksum(1, kind)
    with pytest.raises(DeviceError) as caught:
        sensor.capture(timeout=1)
    assert caught.value.kind is DeviceErrorKind.CHECKSUM
    shot = sensor.capture(timeout=1)
    assert np.array_equal(shot.image, r30x_protocol.quantise(sim.served[-1]))


def test_a_slow_sensor_is_waited_for_within_the_response_timeout(sim, sensor):
    sim.slow_sensor(0.2)
    started = time.monotonic()
    sensor.capture(timeout=1)
    assert time.monotonic() - started >= 0.2
    sim.slow_sensor(1.0)  # longer than the driver's 0.5 s response timeout
    with pytest.raises(DeviceError) as caught:
        sensor.capture(timeout=1)
    assert caught.value.kind is DeviceErrorKind.TIMEOUT
    sim.slow_sensor(0)
    time.sleep(1.0)  # the late answer arrives and is dropped before the next command
    assert sensor.capture(timeout=1).image.shape == (288, 256)


def test_cancel_during_the_transfer_drains_the_line(sim, sensor):
    sim.line_speed(0.1)  # 36 KB at 115200 baud in about 0.3 s
    cancelled = threading.Event()

    def progress(r: CaptureProgress):
        if r.stage is CaptureStage.TRANSFERRING and r.done > 2000 and not cancelled.is_set():
            cancelled.set()
            sensor.cancel()

    with pytest.raises(DeviceCancelled):
        sensor.capture(timeout=1, progress=progress)
    sim.line_speed(None)
    shot = sensor.capture(timeout=1)
    assert np.array_equal(shot.image, r30x_protocol.quantise(sim.served[-1]))


def test_a_module_that_applies_the_baud_rate_after_a_power_cycle():
    with R30xSimulator(SyntheticImages(1, 1), baud_applies="after_power_cycle") as sim:
        first = R30xSensor(sim.path, **SIM_TIMEOUTS)
        assert first.open().details["baudrate"] == 57600  # tried 115200, fell back
        first.capture(timeout=1)
        first.close()
        sim.power_cycle()
        assert sim.baudrate == 115200
        again = R30xSensor(sim.path, **SIM_TIMEOUTS)  # configured for 57600: probes, finds
        assert again.open().details["baudrate"] == 115200
        assert sim.garbled_bytes > 0  # its first try at 57600 was noise to the module
        again.close()


def test_a_module_that_refuses_fast_rates_stays_at_its_own():
    with R30xSimulator(SyntheticImages(1, 1), supported_baudrates={9600, 57600}) as sim:
        sensor = R30xSensor(sim.path, **SIM_TIMEOUTS)
        assert sensor.open().details["baudrate"] == 57600
        sensor.close()


def test_password():
    with R30xSimulator(SyntheticImages(1, 1), password=0xC0FFEE) as sim:
        with pytest.raises(DeviceUnavailable) as caught:
            R30xSensor(sim.path, **SIM_TIMEOUTS).open()
        assert caught.value.reason == "wrong_password"
        sensor = R30xSensor(sim.path, password=0xC0FFEE, **SIM_TIMEOUTS)
        sensor.open()
        assert sensor.capture(timeout=1).image.shape == (288, 256)
        sensor.close()


def test_unavailable_at_start(tmp_path, monkeypatch):
    with pytest.raises(DeviceUnavailable) as caught:
        R30xSensor(str(tmp_path / "ttyUSB9")).open()
    assert caught.value.reason == "no_port"

    master, slave = os.openpty()  # a port where nothing answers
    try:
        with pytest.raises(DeviceUnavailable) as caught:
            R30xSensor(os.ttyname(slave), response_timeout=0.1, poll_interval=0.02).open()
        assert caught.value.reason == "no_answer"
    finally:
        os.close(master)
        os.close(slave)

    monkeypatch.setattr(r30x, "serial", None)  # pyserial not installed
    assert not R30xSensor.is_usable()
    with pytest.raises(DeviceUnavailable) as caught:
        R30xSensor("/dev/ttyUSB0").open()
    assert caught.value.reason == "no_library"
