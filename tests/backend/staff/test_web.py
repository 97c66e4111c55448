"""The staff consoles over real HTTP: sign-in, sessions in virtual time, CSRF, roles,
security headers, the review decision reaching the resident, audited views."""

from __future__ import annotations

import re

import pytest
import requests
from sqlalchemy import select

from backend import models as m
from kiosk.api import contract as c
from tests.backend.staff.conftest import (
    add_staff,
    audit_actions,
    borderline_case,
    code_for,
    form_token,
    login_form,
    sign_in,
    signed_in,
)


@pytest.fixture
def base(backend):
    return backend[1].url


@pytest.fixture
def app(backend):
    return backend[0]


def test_sign_in_lands_on_the_role_home_and_sets_a_strict_cookie(app, base, clock):
    rita = add_staff(app, clock, "rita", "reviewer")
    _http, r = sign_in(base, rita, clock)
    assert r.status_code == 200 and r.url.endswith("/staff/review")
    cookie = r.history[0].headers["set-cookie"]
    assert "jm_staff=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert "Path=/staff" in cookie and "Secure" not in cookie  # plain HTTP on loopback
    assert 'id="who"' in r.text and "rita" in r.text
    tom = add_staff(app, clock, "tom", "technician")
    _http, r = sign_in(base, tom, clock)
    assert r.url.endswith("/staff/fleet")


def test_anonymous_is_sent_to_sign_in(base):
    for path in ("/staff", "/staff/review", "/staff/fleet", "/staff/fleet/kiosks/HK-1"):
        r = requests.get(base + path, timeout=10, allow_redirects=False)
        assert r.status_code == 303, path
        assert r.headers["location"].startswith("/staff/login")
    r = requests.get(base + "/staff/review/cases/JM261128-7KQ4XW2M/frame", timeout=10)
    assert r.url.startswith(base + "/staff/login") and "image" not in r.headers["content-type"]


def test_wrong_role_gets_403(app, base, clock):
    rita = signed_in(base, add_staff(app, clock, "rita", "reviewer"), clock)
    tom = signed_in(base, add_staff(app, clock, "tom", "technician"), clock)
    ada = signed_in(base, add_staff(app, clock, "ada", "admin"), clock)
    assert rita.get(base + "/staff/fleet", timeout=10).status_code == 403
    assert rita.get(base + "/staff/fleet/kiosks/HK-TEST-01", timeout=10).status_code == 403
    assert tom.get(base + "/staff/review", timeout=10).status_code == 403
    r = tom.get(base + "/staff/review/cases/JM261128-7KQ4XW2M", timeout=10)
    assert r.status_code == 403 and "technician" in r.text
    assert rita.get(base + "/staff/review", timeout=10).status_code == 200
    assert tom.get(base + "/staff/fleet", timeout=10).status_code == 200
    for path in ("/staff/review", "/staff/fleet"):
        assert ada.get(base + path, timeout=10).status_code == 200


def test_pages_carry_security_headers(app, base, clock):
    http = signed_in(base, add_staff(app, clock, "rita", "reviewer"), clock)
    for r in (http.get(base + "/staff/review", timeout=10), requests.get(base + "/staff/login")):
        csp = r.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert r.headers["x-frame-options"] == "DENY"
        assert r.headers["cache-control"] == "no-store"
        assert r.headers["x-content-type-options"] == "nosniff"
    css = requests.get(base + "/staff/static/staff.css", timeout=10)
    assert css.status_code == 200 and "text/css" in css.headers["content-type"]


def test_post_without_or_with_a_wrong_csrf_token_is_403(app, base, clock, client, personas):
    reference = borderline_case(client, personas)
    http = signed_in(base, add_staff(app, clock, "rita", "reviewer"), clock)
    page = http.get(f"{base}/staff/review/cases/{reference}", timeout=10)
    token = form_token(page.text)
    url = f"{base}/staff/review/cases/{reference}/decision"
    form = {"decision": "approved", "reason_code": "same_person", "note": "same person"}
    assert http.post(url, data=form, timeout=10).status_code == 403
    assert http.post(url, data={**form, "csrf_token": "x" * 43}, timeout=10).status_code == 403
    # Another session's token is not this session's.
    other = signed_in(base, add_staff(app, clock, "ada", "admin"), clock)
    other_token = form_token(other.get(base + "/staff/review", timeout=10).text)
    assert http.post(url, data={**form, "csrf_token": other_token}).status_code == 403
    # The right token from another origin (a cross-site form post) is refused too.
    r = http.post(
        url, data={**form, "csrf_token": token}, headers={"Origin": "https://evil.example"}
    )
    assert r.status_code == 403
    assert client.receipt(reference).status is c.ReceiptStatus.PENDING_REVIEW
    # Logout needs it as well.
    assert http.post(base + "/staff/logout", data={}, timeout=10).status_code == 403
    # The sign-in form: its double-submit token must match the cookie.
    anon = requests.Session()
    login_form(anon, base)
    r = anon.post(
        base + "/staff/login",
        data={"username": "rita", "password": "x", "code": "1", "csrf_token": "forged"},
    )
    assert r.status_code == 403


def test_lockout_over_http(app, base, clock):
    rita = add_staff(app, clock, "rita", "reviewer")
    for i in range(4):
        _http, r = sign_in(base, rita, clock, code="000000" if i % 2 else None, password=(
            "wrong password" if i % 2 == 0 else None))  # fmt: skip
        assert r.status_code == 401 and "Sign-in failed" in r.text
    _http, r = sign_in(base, rita, clock, password="wrong again")
    assert r.status_code == 403 and "locked" in r.text
    _http, r = sign_in(base, rita, clock, code=code_for(rita, clock, steps=1))
    assert r.status_code == 403 and "locked" in r.text
    actions = [a for _actor, a, _s in audit_actions(app, "staff:rita")]
    assert actions.count("staff_login_failed") == 6 and "staff_locked" in actions
    clock.advance(app.state.settings.staff_lockout_s + 1)
    _http, r = sign_in(base, rita, clock)
    assert r.status_code == 200 and r.url.endswith("/staff/review")


def test_session_idle_and_absolute_timeouts_in_virtual_time(app, base, clock):
    s = app.state.settings
    rita = add_staff(app, clock, "rita", "reviewer")
    http = signed_in(base, rita, clock)
    clock.advance(s.staff_session_idle_s - 5)
    assert http.get(base + "/staff/review", timeout=10).status_code == 200  # restarts idle
    clock.advance(s.staff_session_idle_s - 5)
    assert http.get(base + "/staff/review", timeout=10).status_code == 200
    clock.advance(s.staff_session_idle_s + 1)
    r = http.get(base + "/staff/review", timeout=10)
    assert r.url.startswith(base + "/staff/login") and "session has ended" in r.text
    # Absolute: busy all along, the session still ends after staff_session_max_s.
    clock.advance(31)  # a fresh one-time code
    http = signed_in(base, rita, clock)
    step = s.staff_session_idle_s - 60
    elapsed = 0
    while elapsed + step < s.staff_session_max_s:
        clock.advance(step)
        elapsed += step
        assert http.get(base + "/staff/review", timeout=10).url.endswith("/staff/review")
    clock.advance(s.staff_session_max_s - elapsed + 1)
    assert http.get(base + "/staff/review", timeout=10).url.startswith(base + "/staff/login")


def test_logout_ends_the_session(app, base, clock):
    http = signed_in(base, add_staff(app, clock, "rita", "reviewer"), clock)
    token = form_token(http.get(base + "/staff/review", timeout=10).text)
    old_cookie = http.cookies.get("jm_staff", path="/staff")
    r = http.post(base + "/staff/logout", data={"csrf_token": token}, timeout=10)
    assert r.url.startswith(base + "/staff/login")
    # The old cookie no longer opens anything.
    again = requests.get(
        base + "/staff/review", cookies={"jm_staff": old_cookie}, allow_redirects=False
    )
    assert again.status_code == 303


def test_review_decision_reaches_the_resident(app, base, clock, client, personas):
    reference = borderline_case(client, personas)
    http = signed_in(base, add_staff(app, clock, "rita", "reviewer"), clock)
    queue = http.get(base + "/staff/review", timeout=10)
    assert reference in queue.text
    page = http.get(f"{base}/staff/review/cases/{reference}", timeout=10)
    assert page.status_code == 200
    assert "Simulated reference" in page.text  # demo references have no photo
    assert "blink" in page.text and "<svg" in page.text  # the liveness timeline
    assert re.search(r'class="score">0\.(4[5-9]|5[0-5])', page.text)  # borderline distance
    url = f"{base}/staff/review/cases/{reference}/decision"
    token = form_token(page.text)
    # A reason is required.
    r = http.post(url, data={"csrf_token": token, "decision": "approved", "reason_code": "",
                             "note": ""})  # fmt: skip
    assert r.status_code == 422 and "Choose a reason" in r.text
    r = http.post(
        url,
        data={"csrf_token": token, "decision": "approved", "reason_code": "same_person",
              "note": "Same face; liveness passed."},
    )  # fmt: skip
    assert r.status_code == 200 and f"/staff/review?decided={reference}&sms=sent" in r.url
    assert 'id="queue-empty"' in r.text
    got = client.receipt(reference)
    assert got.status is c.ReceiptStatus.APPROVED
    p = next(p for p in personas if p["certification"] == "due" and p["face"])
    assert got.next_certification_due is not None
    with app.state.sessions() as db:
        note = db.scalar(select(m.Notification).where(m.Notification.reference == reference))
        assert note.kind == "review_approved" and note.status == "sent"
        assert note.recipient_masked == "+852 ****" + p["phone"][-4:]
        sess = db.get(m.VerificationSession, db.get(m.Receipt, reference).session_id)
        assert sess.state == c.SessionState.PASSED.value
    entries = audit_actions(app, "staff:rita")
    assert ("staff:rita", "case_viewed", f"receipt:{reference}") in entries
    assert ("staff:rita", "case_decided", f"receipt:{reference}") in entries
    # Deciding twice is refused.
    r = http.post(
        url,
        data={"csrf_token": token, "decision": "rejected", "reason_code": "other", "note": "x!x"},
    )
    assert r.status_code == 409
    assert client.receipt(reference).status is c.ReceiptStatus.APPROVED


@pytest.mark.parametrize(
    "decision,status", [("rejected", "rejected"), ("appointment", "appointment_requested")]
)
def test_reject_and_appointment(app, base, clock, client, personas, decision, status):
    reference = borderline_case(client, personas)
    http = signed_in(base, add_staff(app, clock, "ada", "admin"), clock)
    token = form_token(http.get(f"{base}/staff/review/cases/{reference}", timeout=10).text)
    r = http.post(
        f"{base}/staff/review/cases/{reference}/decision",
        data={"csrf_token": token, "decision": decision, "reason_code": "poor_capture",
              "note": "Too dark to compare."},
    )  # fmt: skip
    assert r.status_code == 200
    assert client.receipt(reference).status.value == status
    with app.state.sessions() as db:
        note = db.scalar(select(m.Notification).where(m.Notification.reference == reference))
        assert note.kind == f"review_{decision}"


def test_frame_and_reference_photo_are_served_to_reviewers_only_and_audited(
    app, base, clock, client, personas
):
    reference = borderline_case(client, personas)
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32  # the bytes are served as stored
    with app.state.sessions() as db:
        receipt = db.get(m.Receipt, reference)
        row = db.scalar(
            select(m.CaseEvidence).where(m.CaseEvidence.session_id == receipt.session_id)
        )
        row.frame_format, row.frame_data = "png", png
        ref = db.scalar(
            select(m.EnrolledReference).where(
                m.EnrolledReference.pensioner_id == receipt.pensioner_id,
                m.EnrolledReference.modality == "face",
            )
        )
        ref.source_format, ref.source_data = "png", png
        db.commit()
    rita = signed_in(base, add_staff(app, clock, "rita", "reviewer"), clock)
    page = rita.get(f"{base}/staff/review/cases/{reference}", timeout=10)
    assert 'id="frame"' in page.text and 'id="reference-photo"' in page.text
    for which in ("frame", "reference-photo"):
        r = rita.get(f"{base}/staff/review/cases/{reference}/{which}", timeout=10)
        assert r.status_code == 200 and r.content == png
        assert r.headers["content-type"] == "image/png"
        assert r.headers["cache-control"] == "no-store"
    tom = signed_in(base, add_staff(app, clock, "tom", "technician"), clock)
    assert tom.get(f"{base}/staff/review/cases/{reference}/frame").status_code == 403
    actions = {
        a for _actor, a, s in audit_actions(app, "staff:rita") if s == f"receipt:{reference}"
    }
    assert {"case_viewed", "case_frame_viewed", "case_reference_photo_viewed"} <= actions


def test_unknown_case_and_kiosk_are_404_pages(app, base, clock):
    http = signed_in(base, add_staff(app, clock, "ada", "admin"), clock)
    for path in (
        "/staff/review/cases/JM261128-7KQ4XW2M",
        "/staff/review/cases/not-a-reference",
        "/staff/fleet/kiosks/NO-SUCH",
        "/staff/fleet/kiosks/bad%20id",
    ):
        r = http.get(base + path, timeout=10)
        assert r.status_code == 404 and "text/html" in r.headers["content-type"], path


def test_staff_routes_are_not_in_the_kiosk_openapi_document(app):
    assert not [p for p in app.openapi()["paths"] if p.startswith("/staff")]


def test_sign_in_returns_to_the_page_asked_for_but_never_off_site(app, base, clock):
    rita = add_staff(app, clock, "rita", "reviewer")
    for wanted, lands in (
        ("/staff/review/cases/JM261128-7KQ4XW2M", "/staff/review/cases/JM261128-7KQ4XW2M"),
        ("/staff/review?x=1", "/staff/review"),
        ("//evil.example/staff/", "/staff/review"),
        ("https://evil.example/", "/staff/review"),
    ):
        http = requests.Session()
        r = http.get(base + "/staff/login", params={"next": wanted}, timeout=10)
        clock.advance(30)  # a fresh one-time code for each sign-in
        r = http.post(
            base + "/staff/login",
            data={"username": "rita", "password": rita.password, "code": code_for(rita, clock),
                  "csrf_token": form_token(r.text), "next": wanted},
            allow_redirects=False,
        )  # fmt: skip
        assert r.status_code == 303 and r.headers["location"] == lands, wanted
    r = requests.get(base + "/staff/fleet", allow_redirects=False)
    assert r.headers["location"] == "/staff/login?next=/staff/fleet"


LIVE_TRACE = {
    "challenges": [
        {"kind": "blink", "prompted_at_ms": 0, "responded_at_ms": 820, "passed": True,
         "started_at_ms": 400, "deadline_ms": 4000, "measure": "eye aspect ratio",
         "value": 0.12, "baseline": 0.31, "reason": None},
        {"kind": "turn_left", "prompted_at_ms": 1200, "responded_at_ms": None, "passed": False,
         "started_at_ms": None, "deadline_ms": 5200, "measure": "yaw change, degrees",
         "value": 4.0, "baseline": 0.0, "reason": "challenge_timeout"},
    ],
    "same_face_distance": 0.08, "faces_seen_max": 1, "simulated": False, "passed": False,
    "reason": "challenge_timeout", "duration_ms": 5300, "frames": 159, "attack_score": 0.21,
    "attack_cues": {"moire": 0.21, "glare": 0.05}, "method_version": "2",
}  # fmt: skip


def test_a_live_trace_shows_deadlines_reasons_and_the_attack_score(
    app, base, clock, client, personas
):
    from backend.staff.review import timeline

    t = timeline(LIVE_TRACE)
    assert [r.reason for r in t.rows] == [None, "challenge_timeout"]
    assert t.rows[0].started_x < t.rows[0].x + t.rows[0].width < t.rows[0].deadline_x
    assert t.ticks[-1][1] == "6 s" and t.attack_score == 0.21

    reference = borderline_case(client, personas)
    with app.state.sessions() as db:
        receipt = db.get(m.Receipt, reference)
        row = db.scalar(
            select(m.CaseEvidence).where(m.CaseEvidence.session_id == receipt.session_id)
        )
        row.liveness = LIVE_TRACE
        db.commit()
    http = signed_in(base, add_staff(app, clock, "rita", "reviewer"), clock)
    page = http.get(f"{base}/staff/review/cases/{reference}", timeout=10).text
    assert "Presentation-attack score" in page and "moire 0.21" in page
    assert "<code>challenge_timeout</code>" in page and 'class="deadline"' in page
    assert "yaw change, degrees: 4.00 vs 0.00" in page and "not live" in page
