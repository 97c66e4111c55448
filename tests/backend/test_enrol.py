"""`kiosk-backend enrol`: a demo pensioner's face from a photo (the public-domain astronaut
portrait that scikit-image ships, the camera simulator's default face), judged by the back
end's own comparison; bad photos; a finger; the command end to end against a SQLite file.
Other people's faces come from ../shared/data/faces (KIOSK_EVAL_DATA overrides
../shared/data; skipped with a reason when absent)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest
from sqlalchemy import select

from backend import api, audit
from backend import models as m
from backend.enrol import (
    ACTION,
    EnrolInputError,
    Photo,
    UnknownPensioner,
    face_enrolment,
    find_pensioner,
    finger_enrolment,
    store,
)
from biometrics import simulated
from kiosk.api import contract as c
from tests import sim_evidence as ev
from tests.biometrics.face.conftest import eval_data
from tests.conftest import REPO, identify

PERSONA = "demo-01"


@pytest.fixture(scope="module")
def astronaut_path():
    from drivers.camera.sources import SourceMissing, default_face_path

    try:
        return default_face_path()
    except SourceMissing as exc:
        pytest.skip(f"{exc} (it is a project dependency)")


@pytest.fixture(scope="module")
def astronaut(astronaut_path):
    return cv2.imread(str(astronaut_path), cv2.IMREAD_COLOR)


@pytest.fixture(scope="module")
def extractor():
    from biometrics.face import TemplateExtractor

    return TemplateExtractor()


@pytest.fixture(scope="module")
def face(astronaut_path, extractor):
    """The astronaut's face enrolment, made once."""
    return face_enrolment([Photo.read(astronaut_path)], extractor)


@pytest.fixture
def db(backend_settings, clock):
    """A migrated, seeded SQLite file; a session on it."""
    from backend.db import make_engine, session_factory, upgrade
    from backend.seed import seed_demo

    upgrade(backend_settings.db_url)
    engine = make_engine(backend_settings.db_url)
    sessions = session_factory(engine)
    with sessions() as s:
        seed_demo(s, clock.now(), backend_settings)
    with sessions() as s:
        yield s
    engine.dispose()


def png(name: str, image: np.ndarray) -> Photo:
    return Photo(name, cv2.imencode(".png", image)[1].tobytes())


def kiosk_template(frame: np.ndarray, extractor):
    """A template as the kiosk's camera pipeline makes one: its detector, one frame."""
    from biometrics.face import FaceDetector
    from biometrics.face.detect import to_gray

    boxes = FaceDetector().detect(to_gray(frame))
    assert len(boxes) == 1
    return extractor.from_frames([(frame, boxes[0])])


def face_evidence(template) -> c.EvidenceRequest:
    return c.EvidenceRequest(
        modality=c.Modality.FACE,
        captured_at=dt.datetime.now(dt.UTC),
        simulated=False,
        template=c.TemplateIn(
            extractor=template.extractor,
            extractor_version=template.version,
            vector=[float(x) for x in template.vector],
        ),
        quality=0.9,
        liveness=c.LivenessTrace(
            challenges=[
                c.LivenessChallenge(
                    kind="blink", prompted_at_ms=0, responded_at_ms=900, passed=True
                )
            ],
            same_face_distance=0.1,
            faces_seen_max=1,
        ),
    )


def compare(db, pensioner_id: int, evidence: c.EvidenceRequest, settings):
    """The back end's own comparison (api._compare) against the enrolled reference."""
    session = m.VerificationSession(pensioner_id=pensioner_id)
    return api._compare(db, session, evidence, settings)


def templates_of(db, pensioner_id: int, modality="face", position=0) -> dict:
    ref = db.scalar(
        select(m.EnrolledReference).where(
            m.EnrolledReference.pensioner_id == pensioner_id,
            m.EnrolledReference.modality == modality,
            m.EnrolledReference.finger_position == position,
        )
    )
    rows = db.scalars(
        select(m.ReferenceTemplate).where(m.ReferenceTemplate.reference_id == ref.id)
    ).all()
    return {(t.extractor, t.extractor_version): t.template for t in rows}


# ----------------------------------------------------------------------- matching


def test_enrolled_photo_matches_the_kiosk_camera_over_http(
    backend, client, clock, personas, face, extractor
):
    """Enrol the portrait, then a kiosk frame of it (another crop and scale, the kiosk's
    detector, no mirror) is approved by the back end over real HTTP."""
    from drivers.camera.sources import cover
    from drivers.camera.sources import default_face as source

    app, _server = backend
    with app.state.sessions() as db:
        pensioner = find_pensioner(db, persona=PERSONA)
        store(db, clock.now(), pensioner.id, [face])
    src = source()
    frame = cover(src.image, (640, 480), src.crop)
    probe = kiosk_template(frame, extractor)
    persona = next(p for p in personas if p["key"] == PERSONA)
    sess = identify(client, persona)
    d = ev.submit(client, sess, face_evidence(probe))
    assert d.outcome is c.Outcome.APPROVED, d
    assert d.reason_code is c.ReasonCode.MATCH


def test_another_crop_and_scale_matches(db, backend_settings, clock, face, astronaut, extractor):
    pensioner = find_pensioner(db, persona=PERSONA)
    store(db, clock.now(), pensioner.id, [face])
    bigger = cv2.resize(astronaut, None, fx=1.3, fy=1.3, interpolation=cv2.INTER_CUBIC)
    crop = face_enrolment([png("crop.png", bigger[40:400, 120:480])], extractor)
    probe = face_evidence(_as_template(crop))
    matched, _borderline, distance, _ = compare(db, pensioner.id, probe, backend_settings)
    assert matched and distance < backend_settings.face_match_distance / 2


def test_another_face_does_not_match(db, backend_settings, clock, face, extractor):
    faces = eval_data() / "faces"
    if not faces.is_dir():
        pytest.skip(f"evaluation photos not found at {faces} (set KIOSK_EVAL_DATA)")
    pensioner = find_pensioner(db, persona=PERSONA)
    store(db, clock.now(), pensioner.id, [face])
    others = sorted(d for d in faces.iterdir() if d.is_dir() and not d.name.startswith("_"))
    assert others
    for identity in others[:3]:
        photo = Photo.read(sorted(identity.iterdir())[0])
        other = face_evidence(_as_template(face_enrolment([photo], extractor)))
        matched, borderline, distance, _ = compare(db, pensioner.id, other, backend_settings)
        assert not matched and not borderline, (identity.name, distance)


def _as_template(enrolment):
    from biometrics.face import FaceTemplate

    vector = np.asarray(json.loads(enrolment.template), dtype=np.float32)
    return FaceTemplate(vector, enrolment.extractor, enrolment.extractor_version)


# --------------------------------------------------------------- what is stored


def test_simulated_template_is_kept_and_still_matches(db, backend_settings, clock, face):
    pensioner = find_pensioner(db, persona=PERSONA)
    [first] = store(db, clock.now(), pensioner.id, [face])
    assert not first.reference_created and not first.template_replaced
    assert first.templates_kept == 1

    held = templates_of(db, pensioner.id)
    assert set(held) == {
        (simulated.FACE_EXTRACTOR, simulated.VERSION),
        (face.extractor, face.extractor_version),
    }
    sim = c.EvidenceRequest(
        modality=c.Modality.FACE,
        captured_at=dt.datetime.now(dt.UTC),
        simulated=True,
        template=c.TemplateIn(
            extractor=simulated.FACE_EXTRACTOR,
            extractor_version=simulated.VERSION,
            vector=simulated.face_vector(PERSONA, 0.2, np.random.default_rng(1)),
        ),
    )
    assert compare(db, pensioner.id, sim, backend_settings)[0]

    ref = db.scalar(
        select(m.EnrolledReference).where(
            m.EnrolledReference.pensioner_id == pensioner.id,
            m.EnrolledReference.modality == "face",
        )
    )
    assert ref.source_format == "png" and ref.source_data[:4] == b"\x89PNG"


def test_enrolling_again_replaces_the_template_and_drops_stale_ones(db, clock, face):
    pensioner = find_pensioner(db, persona=PERSONA)
    store(db, clock.now(), pensioner.id, [face])
    ref_id = db.scalar(
        select(m.EnrolledReference.id).where(
            m.EnrolledReference.pensioner_id == pensioner.id,
            m.EnrolledReference.modality == "face",
        )
    )
    # An older version of the extractor, derived from the photo about to be replaced.
    db.add(
        m.ReferenceTemplate(
            reference_id=ref_id,
            extractor=face.extractor,
            extractor_version="0.9",
            template=b"[]",
            created_at=clock.now(),
        )
    )
    db.commit()
    vector = json.loads(face.template)
    again = dataclasses.replace(face, template=json.dumps(vector[::-1]).encode(), sources=2)
    [second] = store(db, clock.now(), pensioner.id, [again])
    assert second.template_replaced and second.templates_dropped == 1
    assert second.templates_kept == 1
    held = templates_of(db, pensioner.id)
    assert set(held) == {
        (simulated.FACE_EXTRACTOR, simulated.VERSION),
        (face.extractor, face.extractor_version),
    }
    assert held[(face.extractor, face.extractor_version)] == again.template


def test_audit_entry_holds_no_biometric_data(db, clock, face):
    pensioner = find_pensioner(db, persona=PERSONA)
    store(db, clock.now(), pensioner.id, [face])
    entry = db.scalar(select(m.AuditEntry).order_by(m.AuditEntry.id.desc()).limit(1))
    assert (entry.actor, entry.action, entry.subject) == (
        "admin:enrol",
        ACTION,
        f"pensioner:{pensioner.id}",
    )
    assert entry.detail == {
        "modality": "face",
        "finger_position": 0,
        "extractor": face.extractor,
        "extractor_version": face.extractor_version,
        "photos": 1,
        "reference_created": False,
        "template_replaced": False,
        "simulated_templates_kept": 1,
        "templates_dropped": 0,
    }
    assert audit.verify_chain(db) is None


def test_several_photos_make_one_template_and_keep_every_photo(db, clock, astronaut, extractor):
    import io
    import zipfile

    a = png("a.png", astronaut)
    b = Photo("b.jpg", cv2.imencode(".jpg", astronaut)[1].tobytes())
    both = face_enrolment([a, b], extractor)
    assert both.sources == 2 and both.source_format == "zip"
    with zipfile.ZipFile(io.BytesIO(both.source_data)) as z:
        assert z.namelist() == ["1.png", "2.jpg"]
        assert z.read("1.png") == a.data and z.read("2.jpg") == b.data
    pensioner = find_pensioner(db, persona="demo-06")  # no face enrolled by the seed
    [stored] = store(db, clock.now(), pensioner.id, [both])
    assert stored.reference_created
    assert set(templates_of(db, pensioner.id)) == {(both.extractor, both.extractor_version)}


def test_a_finger_is_stored_with_the_kiosk_extractor(db, clock):
    from biometrics.fingerprint import EXTRACTOR, FingerTemplate
    from drivers.fingerprint.synthetic import synthetic_fingerprint

    finger = finger_enrolment(png("finger.png", synthetic_fingerprint(0, 0)), 2)
    pensioner = find_pensioner(db, persona=PERSONA)
    [stored] = store(db, clock.now(), pensioner.id, [finger])
    assert not stored.reference_created and stored.templates_kept == 1
    held = templates_of(db, pensioner.id, "fingerprint", 2)
    assert set(held) == {
        (simulated.FINGER_EXTRACTOR, simulated.VERSION),
        (EXTRACTOR, finger.extractor_version),
    }
    template = FingerTemplate.from_dict(json.loads(held[(EXTRACTOR, finger.extractor_version)]))
    assert len(template) >= 10

    with pytest.raises(EnrolInputError) as blank:
        finger_enrolment(png("blank.png", np.full((300, 300), 230, np.uint8)), 2)
    assert blank.value.reason.startswith("finger_")


# ------------------------------------------------------------------------ errors


def test_a_text_file_is_not_a_photo(tmp_path, extractor):
    text = tmp_path / "notes.jpg"
    text.write_text("not a picture\n")
    with pytest.raises(EnrolInputError, match="not a picture") as err:
        face_enrolment([Photo.read(text)], extractor)
    assert err.value.reason == "not_an_image"
    with pytest.raises(EnrolInputError, match="no such file"):
        Photo.read(tmp_path / "missing.jpg")


def test_no_face_in_a_flat_grey_picture(extractor):
    with pytest.raises(EnrolInputError, match="no face found") as err:
        face_enrolment([png("grey.png", np.full((240, 320, 3), 128, np.uint8))], extractor)
    assert err.value.reason == "no_face"


def test_two_faces_side_by_side(astronaut, extractor):
    with pytest.raises(EnrolInputError, match="2 faces found") as err:
        face_enrolment([png("two.png", np.hstack([astronaut, astronaut]))], extractor)
    assert err.value.reason == "several_faces"


def test_a_face_too_small(astronaut, extractor):
    small = cv2.resize(astronaut, (256, 256), interpolation=cv2.INTER_AREA)
    with pytest.raises(EnrolInputError, match="face too small") as err:
        face_enrolment([png("small.png", small)], extractor)
    assert err.value.reason == "face_too_small"


def test_a_dark_photo(astronaut, extractor):
    dark = (astronaut * 0.2).astype(np.uint8)
    with pytest.raises(EnrolInputError, match="face too dark"):
        face_enrolment([png("dark.png", dark)], extractor)


def test_unknown_persona_or_pensioner(db):
    with pytest.raises(UnknownPensioner, match="no demo persona 'nobody'"):
        find_pensioner(db, persona="nobody")
    with pytest.raises(UnknownPensioner, match="no pensioner 9999"):
        find_pensioner(db, pensioner_id=9999)


# -------------------------------------------------------------- the command line


def _run(env, *args):
    return subprocess.run(
        [sys.executable, "-m", "backend.cli", *args],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _one_line(text: str) -> bool:
    return text.strip() != "" and "\n" not in text.strip() and "Traceback" not in text


def test_the_command_end_to_end(tmp_path, astronaut_path):
    env = {**os.environ, "KIOSK_BACKEND_DB_URL": f"sqlite:///{tmp_path / 'b.sqlite3'}"}
    assert _run(env, "seed", "--demo").returncode == 0

    ok = _run(env, "enrol", "--persona", PERSONA, "--photo", str(astronaut_path))
    assert ok.returncode == 0, ok.stderr
    from biometrics.face import EXTRACTOR, EXTRACTOR_VERSION

    assert ok.stdout == (
        f"enrolled face for persona {PERSONA} (pensioner 1): "
        f"extractor {EXTRACTOR} v{EXTRACTOR_VERSION}, 1 photo\n"
    )

    text = tmp_path / "photo.jpg"
    text.write_text("not a picture\n")
    bad = _run(env, "enrol", "--persona", PERSONA, "--photo", str(text))
    assert bad.returncode == 1 and _one_line(bad.stderr), bad.stderr
    assert bad.stderr.startswith("kiosk-backend enrol: ") and "not a picture" in bad.stderr

    unknown = _run(env, "enrol", "--persona", "nobody", "--photo", str(astronaut_path))
    assert unknown.returncode == 2 and _one_line(unknown.stderr), unknown.stderr
    assert "no demo persona 'nobody'" in unknown.stderr

    from backend.db import make_engine, session_factory

    engine = make_engine(env["KIOSK_BACKEND_DB_URL"])
    with session_factory(engine)() as db:
        assert (EXTRACTOR, EXTRACTOR_VERSION) in templates_of(db, 1)
        assert audit.verify_chain(db) is None
    engine.dispose()


def test_one_face_for_every_demo_persona(tmp_path, astronaut_path):
    """`enrol --all-demo`: the demo where one person (the demo actor) stands in for all."""
    from backend.cli import main
    from backend.db import make_engine, session_factory
    from backend.enrol import find_pensioner
    from backend.seed import load_personas
    from biometrics.face import EXTRACTOR, EXTRACTOR_VERSION

    url = f"sqlite:///{tmp_path / 'b.sqlite3'}"
    assert main(["--db-url", url, "seed", "--demo"]) == 0
    args = ["--db-url", url, "enrol", "--all-demo", "--photo", str(astronaut_path)]
    assert main(args) == 0
    with_face = [p["key"] for p in load_personas() if p["face"]]
    without = [p["key"] for p in load_personas() if not p["face"]]
    assert len(with_face) == 21 and without == ["demo-06"]
    engine = make_engine(url)
    with session_factory(engine)() as db:
        for key in with_face:
            assert (EXTRACTOR, EXTRACTOR_VERSION) in templates_of(
                db, find_pensioner(db, persona=key).id
            )
        for key in without:  # no face reference at all: nothing to compare a face with
            pid = find_pensioner(db, persona=key).id
            face_refs = select(m.EnrolledReference).where(
                m.EnrolledReference.pensioner_id == pid, m.EnrolledReference.modality == "face"
            )
            assert db.scalar(face_refs) is None
        assert audit.verify_chain(db) is None
    engine.dispose()
    bad = ["--db-url", url, "enrol", "--all-demo", "--finger", "2", "--finger-image", "x.png"]
    assert main(bad) == 2


def test_command_usage_errors_are_one_line(tmp_path, capsys, astronaut_path):
    from backend.cli import main

    url = f"sqlite:///{tmp_path / 'b.sqlite3'}"
    assert main(["--db-url", url, "enrol", "--persona", PERSONA, "--finger", "2"]) == 2
    assert "--finger and --finger-image go together" in capsys.readouterr().err
    assert main(["--db-url", url, "enrol", "--persona", PERSONA]) == 2
    assert "nothing to enrol" in capsys.readouterr().err
    # Migrated but not seeded: the persona is not there.
    args = ["--db-url", url, "enrol", "--persona", PERSONA, "--photo", str(astronaut_path)]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert _one_line(err) and "seed --demo" in err
