"""A demo kiosk's fingerprint path: the demo resident's synthetic finger on the R30x
simulator, read by the real driver over a pseudo-terminal, templated by the kiosk's extractor
and matched by the back end against the reference seeded from assets/demo/fingers.json."""

from __future__ import annotations

import importlib.util
import json
import threading
from pathlib import Path

import pytest

from drivers.fingerprint.r30x import R30xSensor
from drivers.fingerprint.simulator import R30xSimulator
from kiosk.api import contract as c
from kiosk.devices.demo_resident import (
    DEMO_FINGERS,
    STRANGER_FINGER,
    DemoFingers,
    DemoResident,
)
from kiosk.devices.finger_capture import LiveFingerCapturer
from kiosk.devices.sim_resident import MATCH, STRANGER, ResidentScript
from kiosk.evidence import Sealer, key_from_api
from tests.conftest import identify

ROOT = Path(__file__).resolve().parents[2]


def _script_module():
    spec = importlib.util.spec_from_file_location("demo_fingers", ROOT / "scripts/demo_fingers.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_demo_finger_has_a_reference_made_by_the_generator(personas):
    data = json.loads(DEMO_FINGERS.read_text(encoding="utf-8"))
    wanted = {f"{p['key']}/{pos}" for p in personas for pos in p["fingers"]}
    assert set(data["fingers"]) == wanted and len(wanted) == 53
    numbers = [f["finger"] for f in data["fingers"].values()]
    assert len(set(numbers)) == len(numbers) and max(numbers) < STRANGER_FINGER

    from biometrics.fingerprint import EXTRACTOR, EXTRACTOR_VERSION

    assert (data["extractor"], data["extractor_version"]) == (EXTRACTOR, str(EXTRACTOR_VERSION))
    # Two entries recomputed: the file is what scripts/demo_fingers.py makes of the generator
    # (a changed generator or extractor must regenerate it).
    script = _script_module()
    for key in ("demo-01/2", "demo-22/3"):
        persona_key, position = key.split("/")
        entry = data["fingers"][key]
        assert entry["finger"] == script.finger_id(persona_key, int(position))
        assert entry["template"] == json.loads(json.dumps(script.reference(entry["finger"])))


@pytest.fixture
def sensor_rig():
    sim = R30xSimulator()
    path = sim.start()
    sensor = R30xSensor(path)
    capturer = LiveFingerCapturer(sensor, finger_timeout_s=5)
    try:
        yield sim, capturer
    finally:
        sensor.close()
        sim.stop()


def test_the_persona_finger_goes_through_the_driver_and_the_back_end_matches_it(
    client, kiosk_identity, personas, sensor_rig
):
    sim, capturer = sensor_rig
    persona = next(p for p in personas if p["key"] == "demo-06")  # no face: finger first
    doc = persona["documents"][0]
    resident = DemoResident(
        lambda: (doc["type"], doc["number"]),
        script=ResidentScript("demo-06", finger=[MATCH, STRANGER]),
        fingers=DemoFingers(sim, capturer),
    )
    keys: list[str] = []
    evidence = resident.finger.capture("n" * 43, 3, threading.Event(), lambda k, f: keys.append(k))
    assert evidence.simulated is False and evidence.template.extractor == "gabor-mcc"
    assert evidence.finger_position == 3 and evidence.finger_image_png_b64
    assert sim.images_served == 1 and "finger_uploading" in keys  # it came over the line
    assert capturer.last["minutiae"] >= 12

    sess = identify(client, persona)
    sealer = Sealer(kiosk_identity.kiosk_id, kiosk_identity.key, key_from_api(client))
    sealed = sealer.seal(evidence, sess.session_id, sess.server_nonce)
    decision = client.submit_evidence(sess.session_id, sealed)
    assert decision.outcome is c.Outcome.APPROVED, decision
    assert decision.reason_code is c.ReasonCode.MATCH


def test_the_stranger_finger_is_not_an_enrolled_one(sensor_rig):
    sim, capturer = sensor_rig
    fingers = DemoFingers(sim, capturer)
    assert fingers.finger_for("demo-02", 3, MATCH) is not None
    assert fingers.finger_for("demo-02", 3, STRANGER) is None
    assert fingers.finger_for("demo-02", 5, MATCH) is None  # not enrolled
    # the persona's own finger never repeats the enrolled impression
    import numpy as np

    from drivers.fingerprint.synthetic import synthetic_fingerprint

    number = fingers.finger_for("demo-02", 3, MATCH)
    enrolled = synthetic_fingerprint(number, 0)
    for attempt in range(4):
        assert not np.array_equal(fingers.image("demo-02", 3, MATCH, attempt), enrolled)


def test_a_demo_kiosk_reads_fingers_through_its_simulated_sensor(tmp_path, monkeypatch):
    import os

    from kiosk.config import KioskSettings
    from kiosk.container import build

    for name in [n for n in os.environ if n.startswith("KIOSK_")]:
        monkeypatch.delenv(name)
    container = build(KioskSettings(devices="simulated", data_dir=tmp_path / "d"))
    try:
        runner = container.build_runner()
        fingers = container.resident.fingers
        assert runner.devices.finger is container.resident.finger
        assert fingers.simulator is container.simulators["fingerprint"]
        assert fingers.capturer.sensor is container.fingerprint
        assert isinstance(container.fingerprint, R30xSensor)
    finally:
        container.close()
