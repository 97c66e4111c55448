"""The demo actor (kiosk/devices/demo_actor.py): a genuine clip at the simulated camera that
answers the kiosk's prompts, so a demo runs the live face pipeline; and how `kiosk run`'s
device options and settings choose the parts.

The actor's clip comes from ../shared/data/videos (KIOSK_EVAL_DATA overrides ../shared/data);
the tests that need it skip with a reason when it is absent."""

from __future__ import annotations

import os
import threading

import numpy as np
import pytest

from drivers.camera.simulator import SimulatedCamera
from kiosk.devices.demo_actor import (
    CHALLENGES,
    ActingFaceCapturer,
    DemoActor,
    enrolment_png,
    find_actor,
)
from kiosk.devices.face_capture import CaptureConfig, LiveFaceCapturer, kiosk_liveness_config
from kiosk.devices.preview import PreviewFeed
from kiosk.flow.context import CHALLENGE_PROMPTS
from kiosk.flow.ports import CaptureRetryError


@pytest.fixture(scope="module")
def actor() -> DemoActor:
    usable, line = find_actor()
    if not usable:
        pytest.skip(line)
    return DemoActor()


def capture(actor, challenges, *, acting=True, config=None, resolution=(1280, 720)):
    camera = SimulatedCamera(actor, resolution=resolution, fps=30.0, realtime=False)
    feed = PreviewFeed(camera, retry_s=0.05, lockstep=True)
    feed.start()
    capturer = LiveFaceCapturer(feed, config or CaptureConfig())
    port = ActingFaceCapturer(capturer, actor) if acting else capturer
    keys: list[str] = []
    try:
        evidence = port.capture(
            "n" * 43, challenges, threading.Event(), lambda k, f: keys.append(k)
        )
    finally:
        feed.close()
    return evidence, keys


@pytest.fixture(scope="module")
def her_reference():
    from backend.enrol import Photo, face_enrolment

    if not find_actor()[0]:
        pytest.skip(find_actor()[1])
    return face_enrolment([Photo("actor.png", enrolment_png())])


@pytest.mark.parametrize("order", [CHALLENGES, CHALLENGES[::-1]])
def test_she_answers_the_prompts_in_the_order_asked_and_matches_her_reference(
    actor, her_reference, order
):
    import json

    from backend import api
    from backend.settings import BackendSettings
    from biometrics.face import FaceTemplate, compare

    evidence, keys = capture(actor, order)
    lv = evidence.liveness
    assert [ch.kind for ch in lv.challenges] == list(order)
    assert lv.passed and lv.simulated is False and evidence.simulated is False
    assert [k for k in keys if k in CHALLENGE_PROMPTS.values()] == [
        CHALLENGE_PROMPTS[k] for k in order
    ]
    first, second = lv.challenges
    # each answered after its own prompt and her reaction time
    assert first.prompted_at_ms + 400 <= first.started_at_ms <= first.responded_at_ms
    assert first.responded_at_ms <= second.prompted_at_ms <= second.started_at_ms
    assert api._liveness_ok(evidence, BackendSettings())

    t = evidence.template
    probe = FaceTemplate(np.asarray(t.vector, np.float32), t.extractor, t.extractor_version)
    ref = np.asarray(json.loads(her_reference.template), np.float32)
    reference = FaceTemplate(ref, her_reference.extractor, her_reference.extractor_version)
    result = compare(probe, reference, BackendSettings().face_match_distance)
    assert result.match, result.distance


def test_a_recording_that_does_not_listen_misses_the_challenge(actor):
    """The same frames without the actor hearing the prompts: the idle loop never blinks
    or opens its mouth, so the first challenge runs out of time."""
    quick = kiosk_liveness_config(
        settle_s=0.4, settle_timeout_s=1.5, timeouts={"blink": 1.5, "open_mouth": 1.5}
    )
    with pytest.raises(CaptureRetryError):
        capture(actor, CHALLENGES, acting=False, config=CaptureConfig(liveness=quick))


def test_the_actor_is_missing_says_where_it_was_looked_for(tmp_path):
    usable, line = find_actor(root=tmp_path)
    assert not usable and str(tmp_path / "videos") in line and "KIOSK_EVAL_DATA" in line


# -- how the settings choose the parts ----------------------------------------------------------


@pytest.fixture
def clean_env(monkeypatch):
    for name in [n for n in os.environ if n.startswith("KIOSK_")]:
        monkeypatch.delenv(name)


def test_face_pipeline_actor_runs_the_live_pipeline_on_the_simulated_camera(
    actor, tmp_path, clean_env
):
    from kiosk.config import KioskSettings
    from kiosk.container import build

    settings = KioskSettings(devices="simulated", face_pipeline="actor", data_dir=tmp_path / "d")
    container = build(settings)
    try:
        assert container.actor is not None and "camera" in container.simulators
        runner = container.build_runner()
        assert isinstance(runner.devices.face, ActingFaceCapturer)
        assert runner.devices.face.capturer.feed is container.preview
        assert runner.flow.settings.challenge_kinds == CHALLENGES
        assert runner.flow.settings.require_turn is False
    finally:
        container.close()


def test_simulators_are_refused_on_a_hardware_kiosk(tmp_path, clean_env):
    from kiosk.config import ConfigError, load_settings

    for wrong in ({"face_pipeline": "actor"}, {"fingerprint_device": "simulator"}):
        with pytest.raises(ConfigError, match="needs devices simulated"):
            load_settings(devices="hardware", data_dir=tmp_path, **wrong)


def test_run_options_name_the_real_devices(tmp_path, clean_env):
    from drivers.camera.opencv import OpenCvCamera
    from drivers.fingerprint.r30x import R30xSensor
    from kiosk.cli import build_parser, run_overrides
    from kiosk.config import load_settings
    from kiosk.container import build
    from kiosk.devices.finger_capture import LiveFingerCapturer

    args = build_parser().parse_args(
        ["run", "--demo", "--camera", "2", "--fingerprint", "/dev/ttyUSB3"]
    )
    overrides = run_overrides(args)
    assert overrides == {
        "camera": "2",
        "face_pipeline": "live",
        "fingerprint_port": "/dev/ttyUSB3",
        "fingerprint_device": "r30x",
    }
    assert run_overrides(build_parser().parse_args(["run"])) == {}
    settings = load_settings(devices="simulated", data_dir=tmp_path / "d", **overrides)
    container = build(settings)  # nothing opened yet: no device needed here
    try:
        assert isinstance(container.camera, OpenCvCamera)
        assert isinstance(container.fingerprint, R30xSensor)
        assert "fingerprint" not in container.simulators
        runner = container.build_runner()
        assert isinstance(runner.devices.face, LiveFaceCapturer)
        assert isinstance(runner.devices.finger, LiveFingerCapturer)
        assert runner.devices.finger.sensor is container.fingerprint
    finally:
        container.close()


class _Backend:
    def __init__(self):
        self.enrolled: list[bytes] = []

    def enrol_face_for_all(self, png: bytes) -> None:
        self.enrolled.append(png)


def test_run_demo_takes_the_actor_when_her_clip_is_there(actor, tmp_path, clean_env, capsys):
    from kiosk.cli import _demo_face
    from kiosk.config import KioskSettings

    backend = _Backend()
    auto = KioskSettings(devices="simulated", data_dir=tmp_path)
    assert _demo_face(auto, backend) == {"face_pipeline": "actor"}
    [png] = backend.enrolled
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert "enrolled as every demo pensioner's face" in capsys.readouterr().out

    chosen = KioskSettings(devices="simulated", face_pipeline="simulated", data_dir=tmp_path)
    assert _demo_face(chosen, backend) == {} and len(backend.enrolled) == 1


def test_run_demo_without_her_clip_keeps_simulated_faces(tmp_path, monkeypatch, capsys):
    from kiosk.cli import _demo_face
    from kiosk.config import KioskSettings

    for name in [n for n in os.environ if n.startswith("KIOSK_")]:
        monkeypatch.delenv(name)
    settings = KioskSettings(devices="simulated", data_dir=tmp_path)
    monkeypatch.setenv("KIOSK_EVAL_DATA", str(tmp_path / "nothing"))
    backend = _Backend()
    assert _demo_face(settings, backend) == {} and backend.enrolled == []
    out = capsys.readouterr().out
    assert "not found" in out and "face checks are simulated" in out
