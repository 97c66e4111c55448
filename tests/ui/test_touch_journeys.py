"""The real UI, offscreen, driven by touches (MotionEvents dispatched to the window at each
button's centre) against the real back end: an annual verification ends on the receipt with
its reference on screen; an enquiry shows the amount and the payments. After each, the idle
timer (virtual time: the flow's ManualClock) resets the kiosk, and nothing personal is left
in any widget of any screen, nor in the flow's context."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives import serialization

from tests.conftest import persona
from tests.ui import child

_cache: dict = {}


@pytest.fixture
def report(request, tmp_path):
    if "report" not in _cache:
        backend = request.getfixturevalue("backend")
        identity = request.getfixturevalue("kiosk_identity")
        clock = request.getfixturevalue("clock")
        personas = request.getfixturevalue("personas")
        _app, server = backend
        key_pem = tmp_path / "kiosk-key.pem"
        key_pem.write_bytes(
            identity.key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        enquiry = next(
            p
            for p in personas
            if p["certification"] == "done" and any(d["type"] == "prc_id" for d in p["documents"])
        )
        config = {
            "url": server.url,
            "kiosk_id": identity.kiosk_id,
            "key_pem": str(key_pem),
            "server_time": clock.time(),
            "verify": persona(personas, certification="due"),
            "enquiry": enquiry,
            "window": [1280, 720],
        }
        config_path = tmp_path / "config.json"
        config_path.write_text(json.dumps(config, ensure_ascii=False))
        proc = child.start(tmp_path, "journeys", str(config_path), str(tmp_path / "report.json"))
        _cache["report"] = child.finish(proc, tmp_path / "report.json", timeout=180)
    return _cache["report"]


def test_kivy_is_configured_for_a_kiosk(report):
    assert report.get("error") is None, report.get("error")
    assert "disable_multitouch" in report["mouse"]
    assert report["exit_on_escape"] == "0"
    assert report["window"] == [1280, 720]


def test_the_status_bar_relabels_every_screen_and_enlarges_text(report):
    assert report.get("error") is None, report.get("error")
    assert report["relabelled"] == {s: True for s in ("home", "receipt", "summary", "doc_number")}
    assert report["relabelled_back"]
    assert report["care_mode"]["on"] and report["care_mode"]["off_again"]
    assert report["care_mode"]["growth"] == pytest.approx(1.25)


def test_verification_by_touch_ends_on_the_receipt(report):
    assert report.get("error") is None, report.get("error")
    verify = report["sessions"][0]
    assert verify["name_shown"]
    assert verify["final_screen"] == "receipt"
    assert verify["reference"] and verify["reference_shown"]
    assert verify["printed"] == ["receipt"]
    assert verify["after_escape"] == "receipt"  # Esc did not end the kiosk
    for state in ("language", "doc_number", "birth_date", "confirm_name", "face_capture"):
        assert state in report["visited"]
    assert report["taps"] > 20


def test_enquiry_by_touch_shows_the_amount_and_payments(report):
    assert report.get("error") is None, report.get("error")
    enquiry = report["sessions"][1]
    assert enquiry["amount_shown"]
    assert enquiry["final_screen"] == "payments"
    assert enquiry["payments_rows"] > 0


@pytest.mark.parametrize("which", [0, 1], ids=["after-verification", "after-enquiry"])
def test_idle_reset_leaves_nothing_personal(report, which):
    assert report.get("error") is None, report.get("error")
    session = report["sessions"][which]
    # The widgets did show personal data before the reset (else the check below proves
    # nothing): the masked name, and the reference or the amount.
    shown = session["shown_before_reset"]
    assert session["personal"][0] in shown
    assert session["personal"][2] in shown
    assert session["countdown_shown"] not in ("", None)
    assert session["leaks"] == []
    assert session["personal_values"] == []
    assert session["camera_frame_kept"] is False
    assert session["keypad_kept"] == ""
