"""The back end's fingerprint comparison of real templates (the `gabor-mcc` extractor of
biometrics/fingerprint) against references enrolled with backend/enrol.py: its threshold is a
server setting, and template data it cannot compare is the 422 TEMPLATE_MISMATCH problem,
never a 500. (Live captures through the sensor: tests/kiosk/test_finger_capture.py.)"""

from __future__ import annotations

import base64
import datetime as dt
import json

import cv2
import pytest

from backend.settings import BackendSettings
from kiosk.api import contract as c
from kiosk.api.errors import Rejected
from tests import sim_evidence
from tests.conftest import identify, register_kiosk

PERSONA = "demo-06"  # no face reference: the ladder starts at the fingerprint
POSITION = 2


def test_threshold_defaults_to_the_matchers_operating_point():
    from biometrics.fingerprint import DEFAULT_THRESHOLD

    assert BackendSettings().finger_match_threshold == DEFAULT_THRESHOLD
    assert BackendSettings(finger_match_threshold=0.5).finger_match_threshold == 0.5
    with pytest.raises(ValueError):
        BackendSettings(finger_match_threshold=0)


@pytest.fixture(scope="module")
def templates():
    """Synthetic finger 0 (two impressions) and finger 4, as the extractor makes them."""
    from biometrics.fingerprint import extract
    from drivers.fingerprint.synthetic import synthetic_fingerprint

    ok, png = cv2.imencode(".png", synthetic_fingerprint(0, 0))
    assert ok
    return {
        "enrol_png": png.tobytes(),
        "genuine": extract(synthetic_fingerprint(0, 1)).to_dict(),
        "impostor": extract(synthetic_fingerprint(4, 1)).to_dict(),
    }


@pytest.fixture
def live(backend, clock, personas, templates):
    """(client of a production kiosk, open session of PERSONA with finger 2 enrolled)."""
    from backend import enrol
    from kiosk.api.client import KioskApiClient

    app, server = backend
    e = enrol.finger_enrolment(enrol.Photo("finger.png", templates["enrol_png"]), POSITION)
    with app.state.sessions() as db:
        enrol.store(db, clock.now(), enrol.find_pensioner(db, persona=PERSONA).id, [e])
    identity = register_kiosk(app, clock, "HK-LIVE-02", demo=False)
    client = KioskApiClient(
        server.url, identity.kiosk_id, identity.key, clock=clock.time, sleep=lambda s: None
    )
    person = next(p for p in personas if p["key"] == PERSONA)
    yield client, identify(client, person)
    client.close()


def _evidence(payload, *, extractor="gabor-mcc", version="1") -> c.EvidenceRequest:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return c.EvidenceRequest(
        modality=c.Modality.FINGERPRINT,
        captured_at=dt.datetime.now(dt.UTC),
        simulated=False,
        template=c.TemplateIn(
            extractor=extractor,
            extractor_version=version,
            data_b64=base64.b64encode(raw).decode(),
        ),
        finger_position=POSITION,
        quality=0.8,
    )


def test_real_templates_match_by_the_servers_threshold(live, templates):
    client, sess = live
    d = sim_evidence.submit(client, sess, _evidence(templates["impostor"]))
    assert (d.outcome, d.reason_code) == (c.Outcome.RETRY, c.ReasonCode.NO_MATCH)
    d = sim_evidence.submit(client, sess, _evidence(templates["genuine"]))
    assert (d.outcome, d.reason_code) == (c.Outcome.APPROVED, c.ReasonCode.MATCH)


def _bad(templates):
    good = templates["genuine"]

    def with_(**changes):
        return {**good, **changes}

    many = [[10.0, 10.0, 0.0, 1, 0.5]] * 300
    return {
        "not base64 of JSON": b"\x00\x01 not json",
        "JSON but no template": [1, 2, 3],
        "another format": with_(format=2),
        "no width": {k: v for k, v in good.items() if k != "width"},
        "ragged minutiae": with_(minutiae=[[1, 2, 3], [4, 5]]),
        "minutiae of text": with_(minutiae=[["a", "b", "c", "d", "e"]] * 5),
        "NaN coordinates": json.dumps(with_(minutiae=[[float("nan"), 1, 0, 1, 1]] * 5)).encode(),
        "infinite width": b'{"format": 1, "width": 1e400, "height": 288, "minutiae": []}',
        "huge numbers": with_(minutiae=[[10**400, 1, 0, 1, 1]] * 5),
        "deep nesting": b"[" * 50_000 + b"]" * 50_000,
        "too few minutiae": with_(minutiae=good["minutiae"][:3]),
        "too many minutiae": with_(minutiae=many),
        "outside the frame": with_(minutiae=[[5000.0, 10.0, 0.0, 1, 0.5]] * 10),
        "odd resolution": with_(dpi=[5, 5]),
        "dpi of one number": with_(dpi=[500]),
        "zero frame": with_(width=0),
        "inner extractor differs": with_(extractor="other", version=1),
        "inner version differs": with_(version=7),
    }


def test_template_data_it_cannot_compare_is_422_template_mismatch(live, templates):
    client, sess = live
    for name, payload in _bad(templates).items():
        with pytest.raises(Rejected) as e:
            sim_evidence.submit(client, sess, _evidence(payload))
        assert (e.value.status, e.value.code) == (422, "template_mismatch"), name
    # None of them used an attempt, and the real finger still passes.
    info = client.get_session(sess.session_id)
    assert info.attempts_left.fingerprint == 3
    d = sim_evidence.submit(client, sess, _evidence(templates["genuine"]))
    assert d.outcome is c.Outcome.APPROVED


def test_an_extractor_without_a_reference_or_comparison_is_422(live, templates):
    client, sess = live
    for extractor, version in (("gabor-mcc", "2"), ("other-extractor", "1")):
        with pytest.raises(Rejected) as e:
            sim_evidence.submit(
                client, sess, _evidence(templates["genuine"], extractor=extractor, version=version)
            )
        assert (e.value.status, e.value.code) == (422, "template_mismatch")
