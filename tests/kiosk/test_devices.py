"""The kiosk's device adapters: the demo resident who follows the identified pensioner, and
the camera preview feed that never blocks the UI."""

from __future__ import annotations

import threading
import time

import numpy as np

from drivers.camera.simulator import SimFaults, SimulatedCamera
from kiosk.api import contract as c
from kiosk.devices.demo_resident import STRANGER_KEY, DemoResident, load_personas
from kiosk.devices.preview import PreviewFeed
from kiosk.devices.sim_resident import MATCH, STRANGER, ResidentScript


def test_demo_resident_is_whoever_was_identified():
    personas = load_personas()
    p = personas[1]
    doc = p["documents"][0]
    held = {"doc": (doc["type"], doc["number"])}
    resident = DemoResident(lambda: held["doc"], ResidentScript("", face=[STRANGER, MATCH]))
    # Typed without brackets or in lower case, it is the same document.
    assert resident.persona_for(doc["type"], doc["number"].lower().replace("(", "")) == p["key"]
    resident.face.capture("n" * 43, ("blink",), threading.Event(), lambda k, f: None)
    assert resident.script.persona_key == p["key"] and resident.face_attempts == 1
    # Someone else steps up: their own attempts count from the start.
    other = personas[2]["documents"][0]
    held["doc"] = (other["type"], other["number"])
    ev = resident.face.capture("n" * 43, ("blink",), threading.Event(), lambda k, f: None)
    assert resident.script.persona_key == personas[2]["key"] and resident.face_attempts == 1
    assert ev.simulated and ev.modality is c.Modality.FACE
    held["doc"] = ("hkid", "Z999999(9)")
    resident.finger.capture("n" * 43, 2, threading.Event(), lambda k, f: None)
    assert resident.script.persona_key == STRANGER_KEY


def _wait(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline
        time.sleep(0.01)


def test_preview_feed_runs_only_while_switched_on():
    camera = SimulatedCamera(resolution=(320, 240), fps=60)
    feed = PreviewFeed(camera, retry_s=0.05)
    assert feed.latest() is None
    feed.start()
    _wait(lambda: feed.latest() is not None)
    frame = feed.latest()
    assert isinstance(frame, np.ndarray) and frame.shape == (240, 320, 3)
    feed.stop()
    assert feed.latest() is None
    count = feed.frames_read
    time.sleep(0.2)
    assert feed.frames_read == count  # off means off
    feed.close()


def test_preview_feed_survives_a_camera_that_stops_giving_frames():
    faults = SimFaults()
    camera = SimulatedCamera(resolution=(320, 240), fps=60, faults=faults)
    feed = PreviewFeed(camera, retry_s=0.05)
    feed.start()
    _wait(lambda: feed.latest() is not None)
    faults.no_frames = True
    before = feed.frames_read
    time.sleep(0.5)
    stalled = feed.frames_read
    assert stalled - before <= 2  # no new frames while it is gone
    faults.no_frames = False
    _wait(lambda: feed.frames_read > stalled + 3)
    feed.close()


def test_the_demo_printer_forgets_each_receipt_once_printed(tmp_path):
    from kiosk import container as ct
    from kiosk.config import KioskSettings

    settings = KioskSettings(
        devices="simulated", data_dir=tmp_path, backend_url="http://127.0.0.1:9"
    )
    box = ct.build(settings)
    try:
        runner = box.build_runner()
        port = runner.devices.printer
        sim = box.simulators["printer"]
        doc = {
            "kind": "receipt",
            "language": "en",
            "reference": "JM261128-ABCDEFGH",
            "outcome": "approved",
            "kiosk_id": "HK-DEMO-01",
            "site": "Demo",
            "decided_at": None,
        }
        for _ in range(3):
            port.print_document(doc)
            assert len(sim.received) == 0 and sim.receipts == []  # nothing kept between prints
        assert port.printed == 3
    finally:
        box.close()
