"""The best frame travels sealed inside the evidence and is what staff review sees; bytes
that are not a JPEG are not kept."""

from __future__ import annotations

import base64

import cv2
from skimage import data
from sqlalchemy import select

from backend import models as m
from kiosk.api import contract as c
from tests import sim_evidence
from tests.conftest import identify, persona


def _jpeg() -> str:
    face = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)[:300, 100:400]
    ok, jpeg = cv2.imencode(".jpg", face, [cv2.IMWRITE_JPEG_QUALITY, 85])
    assert ok
    return base64.b64encode(jpeg.tobytes()).decode()


def _frames(app, session_id):
    with app.state.sessions() as db:
        return db.execute(
            select(m.CaseEvidence.frame_format, m.CaseEvidence.frame_data).where(
                m.CaseEvidence.session_id == session_id
            )
        ).all()


def test_the_best_frame_is_kept_for_review(backend, client, personas):
    app, _ = backend
    p = persona(personas, certification="due")
    session = identify(client, p)
    capture = sim_evidence.face(p["key"], 0.5)  # borderline: a case for staff
    capture = capture.model_copy(update={"best_frame_jpeg_b64": _jpeg()})
    decision = sim_evidence.submit(client, session, capture)
    assert decision.outcome is c.Outcome.MANUAL_REVIEW
    [(fmt, frame)] = _frames(app, session.session_id)
    assert fmt == "jpeg" and frame[:3] == b"\xff\xd8\xff" and len(frame) > 5000


def test_a_frame_that_is_not_a_jpeg_is_not_kept(backend, client, personas):
    app, _ = backend
    p = persona(personas, certification="overdue")
    session = identify(client, p)
    _ok, png = cv2.imencode(".png", cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)[:64, :64])
    capture = sim_evidence.face(p["key"], 0.5).model_copy(
        update={"best_frame_jpeg_b64": base64.b64encode(png.tobytes()).decode()}
    )
    sim_evidence.submit(client, session, capture)
    [(fmt, frame)] = _frames(app, session.session_id)
    assert fmt is None and frame is None


def test_a_fingerprint_image_is_kept_for_review(backend, client, personas):
    import numpy as np

    from drivers.fingerprint.synthetic import synthetic_fingerprint

    app, _ = backend
    p = persona(personas, certification="due", face=False)  # the ladder starts at fingerprint
    session = identify(client, p)
    image = np.asarray(synthetic_fingerprint(0, 0), dtype=np.uint8)
    ok, png = cv2.imencode(".png", image)
    assert ok
    capture = sim_evidence.finger(p["key"], p["fingers"][0], 0.5).model_copy(
        update={"finger_image_png_b64": base64.b64encode(png.tobytes()).decode()}
    )
    sim_evidence.submit(client, session, capture)
    [(fmt, frame)] = _frames(app, session.session_id)
    assert fmt == "png" and frame[:4] == b"\x89PNG"
