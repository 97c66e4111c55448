"""The live face capture (kiosk/devices/face_capture.py) on the preview feed of a simulated
camera, in virtual time (SimulatedCamera realtime=False, the feed in lockstep: every frame
is handed over, none is skipped for want of time).

Genuine clips come from ../shared/data/videos (KIOSK_EVAL_DATA overrides ../shared/data;
skipped with a reason when absent), chosen by the actions the evaluation finds in them
(`kiosk bio liveness CLIP --json`, PROVENANCE.tsv):

- dfdc_ayhm23/real.mp4 (genuine: a woman talking to the camera, blinks, mouth opened
  wide): she blinks at 1.9 s and opens her mouth wide at 4.0 s, so the sequence
  (blink, open_mouth) is answered in order. Her face is framed as a kiosk camera would
  frame it (the evaluation's framing crop), since the clip shows her small and off centre.
- liveness_krzysiek/real.mp4 (genuine: a man at a laptop webcam, small head turns): he
  turns to his own left at 2.7 s: the sequence (turn_left,).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import cv2
import numpy as np
import pytest

from backend import api
from backend.settings import BackendSettings
from drivers.camera.simulator import SimFaults, SimulatedCamera
from drivers.camera.sources import cover
from kiosk.api import contract as c
from kiosk.devices.face_capture import (
    CaptureCancelled,
    CaptureConfig,
    LiveFaceCapturer,
    kiosk_liveness_config,
)
from kiosk.devices.preview import PreviewFeed
from kiosk.flow.context import CHALLENGE_PROMPTS
from kiosk.flow.ports import CaptureRetryError, DeviceFailure
from tests.biometrics.face.conftest import eval_data
from tests.conftest import identify, register_kiosk

AYHM = "dfdc_ayhm23/real.mp4"
AYHM_CROP = (775, 101, 750, 562)  # the evaluation's framing crop (x, y, w, h), source pixels
AYHM_SIZE = (480, 360)
AYHM_FPS = 29.97
KRZYSIEK = "liveness_krzysiek/real.mp4"
PERSONA = "demo-01"

# Short limits for the failure cases, so that they end within a few seconds of camera time.
QUICK = kiosk_liveness_config(
    settle_s=0.4,
    settle_timeout_s=1.5,
    timeouts={"blink": 1.0, "turn_left": 1.0, "turn_right": 1.0, "open_mouth": 1.0},
)


# -- rig -------------------------------------------------------------------------------------


@contextmanager
def feed_of(source=None, *, resolution=(640, 480), fps=30.0, faults=None, **feed_args):
    camera = SimulatedCamera(
        source, resolution=resolution, fps=fps, realtime=False, faults=faults or SimFaults()
    )
    feed = PreviewFeed(camera, retry_s=0.05, lockstep=True, **feed_args)
    feed.start()  # what the flow's StartCamera does
    try:
        yield feed
    finally:
        feed.close()


class Recorder:
    def __init__(self):
        self.calls: list[tuple[str, float]] = []

    def __call__(self, key: str, fraction: float) -> None:
        self.calls.append((key, fraction))

    @property
    def keys(self) -> list[str]:
        return [k for k, _ in self.calls]


def run_capture(feed, challenges, config=None, cancel=None, progress=None):
    capturer = LiveFaceCapturer(feed, config or CaptureConfig())
    progress = progress or Recorder()
    start = time.perf_counter()
    try:
        evidence = capturer.capture("nonce", challenges, cancel or threading.Event(), progress)
    finally:
        capturer.wall_s = time.perf_counter() - start
    return capturer, evidence, progress


@pytest.fixture(scope="module")
def videos() -> Path:
    path = eval_data() / "videos"
    if not (path / "PROVENANCE.tsv").is_file():
        pytest.skip(f"evaluation clips not found at {path} (set KIOSK_EVAL_DATA)")
    return path


def clip(videos: Path, name: str) -> Path:
    path = videos / name
    if not path.is_file():
        pytest.skip(f"evaluation clip {path} not found")
    return path


def framed(path: Path, crop, size, seconds: float) -> list[np.ndarray]:
    """The clip's first `seconds`, cropped and scaled as a kiosk camera would frame it."""
    cap = cv2.VideoCapture(str(path))
    fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
    frames = []
    try:
        while len(frames) < seconds * fps:
            ok, image = cap.read()
            if not ok:
                break
            x, y, w, h = crop
            frames.append(cover(image[y : y + h, x : x + w], size))
    finally:
        cap.release()
    return frames


@pytest.fixture(scope="module")
def ayhm_frames(videos):
    # 5.5 s: the capture ends at about 4.1 s; the list must not loop back into the first
    # blink before then.
    return framed(clip(videos, AYHM), AYHM_CROP, AYHM_SIZE, 5.5)


@pytest.fixture(scope="module")
def ayhm_capture(ayhm_frames):
    """(capturer, evidence, progress) of her capture, made once."""
    with feed_of(ayhm_frames, resolution=AYHM_SIZE, fps=AYHM_FPS) as feed:
        return run_capture(feed, ("blink", "open_mouth"))


@pytest.fixture(scope="module")
def ayhm_enrolled(videos):
    """Her reference, enrolled by the back end's own enrolment from a frame of the clip
    after the capture's part of it (8 s in)."""
    from backend.enrol import Photo, face_enrolment

    cap = cv2.VideoCapture(str(clip(videos, AYHM)))
    cap.set(cv2.CAP_PROP_POS_FRAMES, round(8.0 * AYHM_FPS))
    ok, image = cap.read()
    cap.release()
    assert ok
    x, y, w, h = AYHM_CROP
    photo = Photo("ayhm-8s.png", cv2.imencode(".png", image[y : y + h, x : x + w])[1].tobytes())
    return face_enrolment([photo])


def as_template(enrolment):
    import json

    from biometrics.face import FaceTemplate

    vector = np.asarray(json.loads(enrolment.template), dtype=np.float32)
    return FaceTemplate(vector, enrolment.extractor, enrolment.extractor_version)


def evidence_template(evidence: c.EvidenceRequest):
    from biometrics.face import FaceTemplate

    t = evidence.template
    return FaceTemplate(np.asarray(t.vector, np.float32), t.extractor, t.extractor_version)


def matches(evidence, enrolment, settings=None) -> tuple[bool, float]:
    """The back end's face comparison (api._compare): distance against its policy."""
    from biometrics.face import compare

    s = settings or BackendSettings()
    result = compare(evidence_template(evidence), as_template(enrolment), s.face_match_distance)
    return result.match, result.distance


# -- the feed --------------------------------------------------------------------------------


def test_the_feed_hands_every_frame_over_in_lockstep_and_none_when_off():
    with feed_of(fps=10.0) as feed:
        taken, after = [], 0
        for _ in range(5):
            item = feed.next_frame(after, timeout=5.0)
            taken.append(item)
            after = item.seq
        assert [f.seq for f in taken] == [1, 2, 3, 4, 5]  # none skipped
        assert np.allclose(np.diff([f.timestamp for f in taken]), 0.1)  # the camera's clock
        assert taken[-1].image.shape == (480, 640, 3)
        assert feed.latest() is not None  # the preview's view is unchanged
        feed.stop()
        assert feed.next_frame(after, timeout=0.2) is None


def test_the_feed_gives_a_slow_reader_the_newest_frame():
    camera = SimulatedCamera(resolution=(320, 240), fps=60)  # real time
    feed = PreviewFeed(camera)
    feed.start()
    try:
        first = feed.next_frame(0, timeout=5.0)
        time.sleep(0.2)
        later = feed.next_frame(first.seq, timeout=5.0)
        assert later.seq > first.seq + 1 and later.timestamp > first.timestamp
    finally:
        feed.close()


# -- genuine clips ---------------------------------------------------------------------------


def test_a_genuine_clip_answers_its_challenges_and_matches_her_reference(
    ayhm_capture, ayhm_enrolled
):
    capturer, evidence, progress = ayhm_capture
    assert evidence.modality is c.Modality.FACE and evidence.simulated is False
    assert evidence.template.extractor == "dlib-resnet-128" and len(evidence.template.vector) == 128
    assert 0 < evidence.quality <= 1
    assert evidence.captured_at.tzinfo is not None
    # the contract's own round trip: what the sealer serialises, the back end parses
    assert c.EvidenceRequest.model_validate(evidence.model_dump(mode="json")) == evidence

    lv = evidence.liveness
    assert [ch.kind for ch in lv.challenges] == ["blink", "open_mouth"]
    assert lv.passed is True and lv.reason is None and lv.simulated is False
    assert lv.faces_seen_max == 1 and lv.frames > 0
    assert lv.method_version.startswith("biometrics.face.liveness ")
    assert 0 <= lv.attack_score < 0.5 and set(lv.attack_cues) >= {"border", "glare", "moire"}
    previous = 0
    for ch in lv.challenges:
        assert ch.passed and ch.reason is None
        assert previous <= ch.prompted_at_ms <= ch.started_at_ms <= ch.responded_at_ms
        assert ch.responded_at_ms <= ch.deadline_ms and ch.responded_at_ms <= lv.duration_ms
        assert ch.measure and ch.value is not None and ch.baseline is not None
        previous = ch.responded_at_ms
    assert api._liveness_ok(evidence, BackendSettings())
    # The best frame for staff review: a JPEG of her face, small enough for the contract.
    import base64

    import cv2

    from biometrics.face.detect import FaceDetector, to_gray

    jpeg = base64.b64decode(evidence.best_frame_jpeg_b64)
    assert jpeg[:3] == b"\xff\xd8\xff" and len(evidence.best_frame_jpeg_b64) <= c.BEST_FRAME_MAX_B64
    picture = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert picture.shape[1] <= 480
    assert FaceDetector(upsample=1).detect(to_gray(picture))

    matched, distance = matches(evidence, ayhm_enrolled)
    assert matched, distance

    # the screen was told: hold still, each prompt in order, and it never went backwards
    prompts = [k for k in progress.keys if k in CHALLENGE_PROMPTS.values()]
    assert prompts == ["liveness_blink", "liveness_open_mouth"]
    assert progress.keys[0] == "liveness_hold_still"
    fractions = [f for _, f in progress.calls]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0

    stats = capturer.last_stats
    assert stats["outcome"] == "passed" and stats["frames_analysed"] > 60
    assert stats["template_ms"] > 0


def test_a_genuine_head_turn_passes_and_is_not_someone_else(videos, ayhm_enrolled):
    # 640x360: a 16:9 camera (the kiosk's default 1280x720, scaled for analysis)
    with feed_of(clip(videos, KRZYSIEK), resolution=(640, 360), fps=16.08) as feed:
        _, evidence, progress = run_capture(feed, ("turn_left",))
    [turn] = evidence.liveness.challenges
    assert turn.passed and turn.kind == "turn_left" and turn.value >= 15  # degrees
    assert "liveness_turn_left" in progress.keys
    assert api._liveness_ok(evidence, BackendSettings())
    matched, distance = matches(evidence, ayhm_enrolled)
    assert not matched and distance > 0.6  # a different person


def test_the_server_limit_on_the_attack_score_applies(ayhm_capture):
    _capturer, evidence, _ = ayhm_capture
    score = evidence.liveness.attack_score
    strict = BackendSettings(liveness_max_attack_score=max(0.0, score - 0.01))
    assert api._liveness_ok(evidence, BackendSettings(liveness_max_attack_score=score))
    assert not api._liveness_ok(evidence, strict)


# -- what the resident can put right --------------------------------------------------------


def refused(challenges, faults=None, config=None):
    """(the retry error, progress, capturer) of a capture the resident has to repeat."""
    progress = Recorder()
    with feed_of(faults=faults) as feed:
        capturer = LiveFaceCapturer(feed, config or CaptureConfig(liveness=QUICK))
        start = time.perf_counter()
        with pytest.raises(CaptureRetryError) as err:
            capturer.capture("n", challenges, threading.Event(), progress)
        capturer.wall_s = time.perf_counter() - start
    return err.value, progress, capturer


def test_a_still_photo_misses_the_challenge_deadline():
    """The simulator's default face (a photograph) settles, is asked to turn, and never
    does: the deadline passes in camera time."""
    err, progress, capturer = refused(("turn_right", "blink"))
    assert err.message_key == "liveness_failed"
    assert progress.keys[0] == "liveness_hold_still" and "liveness_turn_right" in progress.keys
    assert "liveness_blink" not in progress.keys  # the first challenge was never answered
    stats = capturer.last_stats
    assert stats["outcome"] == "challenge_timeout"
    assert 1.0 <= stats["camera_s"] <= 3.0  # settle + the 1 s deadline, in camera time
    assert capturer.wall_s < 20


def test_a_dark_room_is_coached_and_ends_with_its_coaching_key():
    err, progress, _ = refused(("blink", "turn_left"), SimFaults(gain=0.2))
    assert err.message_key == "face_too_dark"
    assert "face_too_dark" in progress.keys
    assert not any(k in CHALLENGE_PROMPTS.values() for k in progress.keys)


def test_nobody_there_is_face_none():
    err, _, capturer = refused(("blink", "turn_left"), SimFaults(black=True))
    assert err.message_key == "face_none"
    assert capturer.last_stats["outcome"] == "no_good_face"


def test_two_faces_are_refused():
    err, _, _ = refused(("blink", "turn_left"), SimFaults(two_faces=True))
    assert err.message_key == "face_several"


# -- cancel, the camera ------------------------------------------------------------------------


def test_cancel_ends_the_capture_promptly():
    cancel = threading.Event()
    seen = []

    def progress(key, fraction):
        seen.append(key)
        cancel.set()  # the resident pressed Cancel as soon as the first prompt showed

    with feed_of() as feed:
        capturer = LiveFaceCapturer(feed)
        start = time.perf_counter()
        with pytest.raises(CaptureCancelled):
            capturer.capture("n", ("blink", "turn_left"), cancel, progress)
        assert time.perf_counter() - start < 2.0
        assert capturer.last_stats["outcome"] == "cancelled"
        assert capturer.last_stats["frames_analysed"] <= 1
        # cancelled before it began: nothing analysed at all
        with pytest.raises(CaptureCancelled):
            capturer.capture("n", ("blink",), cancel, lambda k, f: None)
        assert capturer.last_stats["frames_analysed"] == 0


def test_cancel_from_another_thread_while_frames_stall():
    """A feed switched off (no frames): a cancel still ends the capture at once."""
    camera = SimulatedCamera(realtime=False)
    feed = PreviewFeed(camera, lockstep=True)  # never started: no frames at all
    cancel = threading.Event()
    capturer = LiveFaceCapturer(feed, CaptureConfig(stall_s=30))
    threading.Timer(0.2, cancel.set).start()
    start = time.perf_counter()
    with pytest.raises(CaptureCancelled):
        capturer.capture("n", ("blink",), cancel, lambda k, f: None)
    assert time.perf_counter() - start < 1.0
    feed.close()


def test_a_camera_without_frames_is_a_device_failure():
    with feed_of(faults=SimFaults(no_frames=True)) as feed:
        capturer = LiveFaceCapturer(feed, CaptureConfig(stall_s=0.5))
        start = time.perf_counter()
        with pytest.raises(DeviceFailure) as err:
            capturer.capture("n", ("blink", "turn_left"), threading.Event(), lambda k, f: None)
        assert time.perf_counter() - start < 3.0
    assert (err.value.device, err.value.message_key) == ("camera", "camera_no_frame")


def test_unknown_challenges_are_a_programming_error():
    feed = PreviewFeed(SimulatedCamera(realtime=False))
    with pytest.raises(ValueError):
        LiveFaceCapturer(feed).capture("n", ("wink",), threading.Event(), lambda k, f: None)


# -- privacy ---------------------------------------------------------------------------------


def test_nothing_biometric_stays_on_the_capturer_or_in_the_log(caplog):
    caplog.set_level("DEBUG")
    with feed_of() as feed:
        capturer = LiveFaceCapturer(feed, CaptureConfig(liveness=QUICK))
        with pytest.raises(CaptureRetryError):
            capturer.capture("n", ("blink",), threading.Event(), lambda k, f: None)

    def arrays(value, depth=0):
        if isinstance(value, np.ndarray):
            return 1
        if depth > 3:
            return 0
        if isinstance(value, dict):
            return sum(arrays(v, depth + 1) for v in value.values())
        if isinstance(value, (list, tuple)):
            return sum(arrays(v, depth + 1) for v in value)
        return 0

    held = {k: v for k, v in vars(capturer).items() if k not in ("feed", "_extractor")}
    assert arrays(held) == 0
    assert all(
        isinstance(v, (int, float, str, list, type(None))) for v in capturer.last_stats.values()
    )
    for record in caplog.records:
        if record.name.startswith("kiosk.devices.face_capture"):
            assert "vector" not in record.getMessage() and "[" not in record.getMessage()


# -- the back end's liveness rule ---------------------------------------------------------------


def _live(**changes) -> c.EvidenceRequest:
    challenges = changes.pop(
        "challenges",
        [
            c.LivenessChallenge(kind="blink", prompted_at_ms=800, started_at_ms=1200,
                                responded_at_ms=1400, deadline_ms=6800, passed=True),
            c.LivenessChallenge(kind="turn_left", prompted_at_ms=2000, started_at_ms=2300,
                                responded_at_ms=2600, deadline_ms=8000, passed=True),
        ],
    )  # fmt: skip
    simulated = changes.pop("evidence_simulated", False)
    trace = dict(
        challenges=challenges,
        same_face_distance=0.2,
        faces_seen_max=1,
        passed=True,
        duration_ms=3000,
        attack_score=0.3,
        attack_cues={"border": 0.0, "moire": 0.3},
        method_version="biometrics.face.liveness 1.0",
    )
    trace.update(changes)
    return c.EvidenceRequest(
        modality=c.Modality.FACE,
        captured_at=dt.datetime.now(dt.UTC),
        simulated=simulated,
        template=c.TemplateIn(
            extractor="dlib-resnet-128", extractor_version="v", vector=[0.0] * 128
        ),
        liveness=c.LivenessTrace(**trace),
    )


def test_liveness_rule_for_live_traces():
    s = BackendSettings()
    assert api._liveness_ok(_live(), s)
    assert not api._liveness_ok(_live(attack_score=0.51), s)
    assert api._liveness_ok(
        _live(attack_score=0.51), BackendSettings(liveness_max_attack_score=0.6)
    )
    assert not api._liveness_ok(_live(passed=False), s)
    assert not api._liveness_ok(_live(faces_seen_max=2), s)
    assert not api._liveness_ok(_live(duration_ms=2500), s)  # answered after the capture ended
    ok = _live().liveness.challenges
    swapped = [dataclasses_replace(ok[0], prompted_at_ms=2700), ok[1]]
    assert not api._liveness_ok(_live(challenges=swapped), s)  # prompted after its answer
    overlap = [ok[0], dataclasses_replace(ok[1], prompted_at_ms=1000)]
    assert not api._liveness_ok(_live(challenges=overlap), s)  # before the first was answered
    early = [dataclasses_replace(ok[0], started_at_ms=700), ok[1]]
    assert not api._liveness_ok(_live(challenges=early), s)  # action before the prompt
    late = [dataclasses_replace(ok[0], deadline_ms=1300), ok[1]]
    assert not api._liveness_ok(_live(challenges=late), s)  # answered after its deadline
    unanswered = [dataclasses_replace(ok[0], responded_at_ms=None), ok[1]]
    assert not api._liveness_ok(_live(challenges=unanswered), s)


def test_liveness_rule_keeps_older_and_simulated_traces():
    s = BackendSettings()
    older = c.LivenessTrace(
        challenges=[c.LivenessChallenge(kind="blink", prompted_at_ms=0, responded_at_ms=900,
                                        passed=True)],
        same_face_distance=0.1,
        faces_seen_max=1,
    )  # fmt: skip
    ev = _live().model_copy(update={"liveness": older})
    assert api._liveness_ok(ev, s)  # a kiosk without the optional fields
    # a demo kiosk's simulated resident: today's rule, whatever the times say
    sim = _live(simulated=True, evidence_simulated=True, attack_score=0.9, duration_ms=1)
    assert api._liveness_ok(sim, s)
    # a simulated trace inside live evidence makes no sense
    assert not api._liveness_ok(_live(simulated=True), s)


def dataclasses_replace(model, **changes):
    return model.model_copy(update=changes)


# -- end to end ------------------------------------------------------------------------------


def test_live_evidence_is_approved_by_the_back_end_for_a_kiosk_that_is_not_a_demo(
    backend, clock, personas, ayhm_capture, ayhm_enrolled
):
    """Her face enrolled for a demo pensioner; a kiosk registered as a real one (it may not
    submit simulated evidence) seals the capturer's evidence for a session of that
    pensioner: approved, as a match."""
    from backend.enrol import find_pensioner, store
    from kiosk.api.client import KioskApiClient
    from kiosk.evidence import Sealer, key_from_api

    app, server = backend
    with app.state.sessions() as db:
        pensioner = find_pensioner(db, persona=PERSONA)
        store(db, clock.now(), pensioner.id, [ayhm_enrolled])
    kiosk = register_kiosk(app, clock, kiosk_id="HK-LIVE-01", demo=False)
    client = KioskApiClient(server.url, kiosk.kiosk_id, kiosk.key, clock=clock.time,
                            sleep=lambda s: None, read_timeout=20)  # fmt: skip
    try:
        persona = next(p for p in personas if p["key"] == PERSONA)
        sess = identify(client, persona)
        _capturer, evidence, _ = ayhm_capture
        sealer = Sealer(kiosk.kiosk_id, kiosk.key, key_from_api(client))
        sealed = sealer.seal(evidence, sess.session_id, sess.server_nonce)
        decision = client.submit_evidence(sess.session_id, sealed)
    finally:
        client.close()
    assert decision.outcome is c.Outcome.APPROVED, decision
    assert decision.reason_code is c.ReasonCode.MATCH


# -- wiring ----------------------------------------------------------------------------------


@pytest.fixture
def clean_env(monkeypatch):
    import os

    for name in [n for n in os.environ if n.startswith("KIOSK_")]:
        monkeypatch.delenv(name)


def test_hardware_kiosk_captures_faces_live_from_the_preview(tmp_path, clean_env):
    from kiosk.config import KioskSettings
    from kiosk.container import build

    settings = KioskSettings(devices="hardware", data_dir=tmp_path / "data")
    container = build(settings, with_devices=False)
    try:
        container.preview = PreviewFeed(SimulatedCamera(realtime=False))
        runner = container.build_runner()
        assert isinstance(runner.devices.face, LiveFaceCapturer)
        assert runner.devices.face.feed is container.preview  # the camera opens once
    finally:
        container.close()


def test_face_pipeline_setting(tmp_path, clean_env):
    from kiosk.config import ConfigError, KioskSettings, load_settings
    from kiosk.container import face_is_live

    def settings(**kw):
        return KioskSettings(data_dir=tmp_path / "data", **kw)

    assert face_is_live(settings(devices="hardware"))
    assert not face_is_live(settings(devices="simulated"))
    assert face_is_live(settings(devices="simulated", face_pipeline="live"))
    with pytest.raises(ConfigError, match="face_pipeline"):
        load_settings(devices="hardware", face_pipeline="simulated", data_dir=tmp_path)


def test_a_webcam_demo_reads_the_opencv_camera_and_simulates_the_rest(tmp_path, clean_env):
    from drivers.camera.opencv import OpenCvCamera
    from kiosk.config import KioskSettings
    from kiosk.container import build

    settings = KioskSettings(devices="simulated", face_pipeline="live", data_dir=tmp_path / "d")
    container = build(settings)
    try:
        assert isinstance(container.camera, OpenCvCamera)  # not opened until the preview runs
        assert "camera" not in container.simulators and "fingerprint" in container.simulators
        runner = container.build_runner()
        assert isinstance(runner.devices.face, LiveFaceCapturer)
        assert runner.devices.finger is container.resident.finger
    finally:
        container.close()


def test_a_simulated_kiosk_keeps_the_simulated_resident(tmp_path, clean_env):
    from kiosk.config import KioskSettings
    from kiosk.container import build

    container = build(KioskSettings(devices="simulated", data_dir=tmp_path / "d"))
    try:
        runner = container.build_runner()
        assert runner.devices.face is container.resident.face
    finally:
        container.close()


def test_kiosk_liveness_config_leaves_the_attack_score_to_the_server():
    from biometrics.face.liveness import LivenessConfig

    config = kiosk_liveness_config()
    assert config.pad.decision == float("inf")
    assert dataclasses.replace(config, pad=LivenessConfig().pad) == LivenessConfig()
