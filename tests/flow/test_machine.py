"""The flow without a screen, a network or a device: every transition, table-driven."""

from __future__ import annotations

import datetime as dt

import pytest

from kiosk.api import contract as c
from kiosk.flow import effects as fx
from kiosk.flow import events as ev
from kiosk.flow.machine import NAV, SCREENS
from tests.flow.helpers import (
    DOB,
    HKID,
    answer,
    capture_done,
    decision,
    fail,
    last,
    new_flow,
    session,
    summary,
    to_state,
)

# (state reached by the resident's own steps, event, state after it)
TAPS = [
    ("attract", ev.Tapped("start"), "language"),
    ("attract", ev.Touched(), "language"),
    ("language", ev.Tapped("choose", "en"), "home"),
    ("home", ev.Tapped("verify"), "doc_type"),
    ("home", ev.Tapped("enquiry"), "doc_type"),
    ("home", ev.Tapped("help"), "help"),
    ("home", ev.Tapped("language"), "language"),
    ("home", ev.Tapped("status.help"), "help"),
    ("doc_type", ev.Tapped("choose", "macau_id"), "doc_number"),
    ("doc_type", ev.Tapped("back"), "home"),
    ("doc_number", ev.Tapped("back"), "doc_type"),
    ("doc_number", ev.DocumentEntered(HKID), "birth_date"),
    ("doc_number", ev.DocumentEntered("A123456(4)"), "doc_number"),
    ("birth_date", ev.Tapped("back"), "doc_number"),
    ("birth_date", ev.BirthDateEntered(DOB), "identifying"),
    ("confirm_name", ev.Tapped("yes"), "consent"),
    ("confirm_name", ev.Tapped("no"), "doc_type"),
    ("consent", ev.Tapped("agree"), "starting"),
    ("consent", ev.Tapped("decline"), "declined"),
    ("face_capture", ev.Tapped("cancel"), "home"),
    # A tap from a screen already left does nothing.
    ("consent", ev.Tapped("retry"), "consent"),
    ("identifying", ev.Tapped("back"), "identifying"),
]


@pytest.mark.parametrize(
    "start,event,end", TAPS, ids=[f"{a}-{type(e).__name__}-{b}" for a, e, b in TAPS]
)
def test_transition(start, event, end):
    flow, _clock, _ = to_state(start)
    assert flow.state == start
    flow.handle(event)
    assert flow.state == end


def test_every_nav_target_is_a_screen():
    for screen, buttons in NAV.items():
        assert screen in SCREENS
        for target in buttons.values():
            if isinstance(target, str):
                assert target in SCREENS, (screen, target)
    assert set(NAV) == set(SCREENS)


def test_bad_document_shows_its_message_key():
    flow, _, _ = to_state("doc_number")
    effects = flow.handle(ev.DocumentEntered("A123456(4)"))
    assert last(effects, fx.ShowMessage).key == "doc_hkid_check_digit"
    assert flow.ctx.message_key == "doc_hkid_check_digit"
    flow.handle(ev.DocumentEntered(HKID))
    assert flow.ctx.message_key is None


def test_prc_birth_date_must_match_the_number():
    flow, _, _ = to_state("doc_type")
    flow.handle(ev.Tapped("choose", "prc_id"))
    flow.handle(ev.DocumentEntered("11010519491231002X"))
    effects = flow.handle(ev.BirthDateEntered(dt.date(1949, 12, 30)))
    assert flow.state == "birth_date"
    assert last(effects, fx.ShowMessage).key == "doc_birth_date_mismatch"
    effects = flow.handle(ev.BirthDateEntered(dt.date(1949, 12, 31)))
    assert flow.state == "identifying"
    call = last(effects, fx.CallApi)
    assert call.op == "identify" and call.args[1] == "11010519491231002X"


def test_identify_not_found_returns_to_the_number():
    flow, _, effects = to_state("identifying")
    effects = fail(flow, effects, code="not_found", key="error_not_found")
    assert flow.state == "doc_number"
    assert last(effects, fx.ShowMessage).key == "identify_not_found"
    assert flow.ctx.date_of_birth is None


@pytest.mark.parametrize("kind", ["network", "timeout", "server", "contract"])
def test_backend_down_goes_out_of_service_and_back(kind):
    flow, _, effects = to_state("identifying")
    effects = fail(flow, effects, kind=kind, key="error_network")
    assert flow.state == "out_of_service"
    assert any(isinstance(e, fx.ProbeBackend) for e in effects)
    assert flow.ctx.personal_values() == {}
    flow.handle(ev.BackendUp())
    assert flow.state == "attract"


def test_rate_limited_is_a_notice_with_a_way_home():
    flow, _, effects = to_state("identifying")
    fail(flow, effects, code="rate_limited", key="error_rate_limited")
    assert flow.state == "notice"
    assert flow.ctx.message_key == "error_rate_limited"
    flow.handle(ev.Tapped("home"))
    assert flow.state == "home"


def test_revoked_kiosk_is_out_of_service():
    flow, _, effects = to_state("identifying")
    fail(flow, effects, code="device_revoked", key="error_kiosk_not_authorised")
    assert flow.state == "out_of_service"


def test_session_start_goes_to_face_with_two_random_challenges():
    flow, _, effects = to_state("starting")
    effects = answer(flow, effects, session())
    assert flow.state == "face_capture"
    cap = last(effects, fx.CaptureFace)
    assert len(cap.challenges) == 2 and len(set(cap.challenges)) == 2
    assert set(cap.challenges) <= {"blink", "turn_left", "turn_right", "open_mouth"}
    assert any(isinstance(e, fx.StartCamera) for e in effects)
    assert flow.ctx.subject_token is None


def test_no_face_enrolled_starts_on_finger_choice():
    flow, _, effects = to_state("starting")
    answer(flow, effects, session(next_modality=c.Modality.FINGERPRINT, face=0))
    assert flow.state == "finger_choice"
    effects = flow.handle(ev.Tapped("choose", 5))
    assert flow.state == "finger_choice"
    assert last(effects, fx.ShowMessage).key == "finger_not_enrolled"
    effects = flow.handle(ev.Tapped("choose", 2))
    assert flow.state == "finger_capture"
    assert last(effects, fx.CaptureFinger).finger_position == 2


def test_nothing_enrolled_goes_straight_to_staff_review():
    flow, _, effects = to_state("starting")
    answer(
        flow,
        effects,
        session(next_modality=None, state=c.SessionState.MANUAL_REVIEW, face=0, finger=0),
    )
    assert flow.state == "staff_review"


def test_capture_then_decision_approved_prints_receipt():
    flow, _, effects = to_state("face_capture")
    effects = capture_done(flow, effects, evidence="E")
    assert flow.state == "processing"
    call = last(effects, fx.CallApi)
    assert call.op == "submit_evidence" and call.args[1] == "E"
    assert call.kwargs["idempotency_key"].startswith("ev-")
    effects = answer(flow, effects, decision(c.Outcome.APPROVED, reference="JM261128-ABCD2345"))
    assert flow.state == "printing"
    doc = last(effects, fx.PrintReceipt).document
    assert doc["reference"] == "JM261128-ABCD2345" and doc["outcome"] == "approved"
    assert any(isinstance(e, fx.StopCamera) for e in effects)
    assert flow.ctx.evidence is None  # biometric data leaves the flow once decided
    pr = last(effects, fx.PrintReceipt)
    flow.handle(ev.PrintDone(pr.request_id, True))
    assert flow.state == "receipt" and flow.ctx.printed is True
    flow.handle(ev.Tapped("done"))
    assert flow.state == "attract"
    assert flow.ctx.personal_values() == {}


def test_printer_failure_shows_the_reference_instead():
    flow, _, effects = to_state("face_capture")
    effects = capture_done(flow, effects)
    effects = answer(flow, effects, decision(c.Outcome.APPROVED, reference="JM261128-XYZ"))
    pr = last(effects, fx.PrintReceipt)
    effects = flow.handle(ev.PrintDone(pr.request_id, False, "printer_paper_out"))
    assert flow.state == "receipt"
    assert flow.ctx.printed is False
    assert flow.ctx.decision.reference == "JM261128-XYZ"
    assert last(effects, fx.ShowMessage).key == "receipt_printer_failed"


def test_retry_then_switch_to_finger():
    flow, _, effects = to_state("face_capture")
    effects = capture_done(flow, effects)
    answer(flow, effects, decision(c.Outcome.RETRY))
    assert flow.state == "try_again"
    effects = flow.handle(ev.Tapped("retry"))
    assert flow.state == "face_capture"
    effects = capture_done(flow, effects)
    finger_next = session(next_modality=c.Modality.FINGERPRINT, face=0)
    answer(flow, effects, decision(c.Outcome.NEXT_MODALITY, sess=finger_next))
    assert flow.state == "switch_finger"
    flow.handle(ev.Tapped("continue"))
    assert flow.state == "finger_choice"
    effects = flow.handle(ev.Tapped("choose", 7))
    effects = capture_done(flow, effects)
    assert flow.state == "processing"
    answer(
        flow, effects, decision(c.Outcome.RETRY, modality=c.Modality.FINGERPRINT, sess=finger_next)
    )
    effects = flow.handle(ev.Tapped("retry"))
    assert flow.state == "finger_capture"
    assert last(effects, fx.CaptureFinger).finger_position == 7


@pytest.mark.parametrize(
    "outcome,screen",
    [(c.Outcome.MANUAL_REVIEW, "staff_review"), (c.Outcome.APPOINTMENT, "appointment")],
)
def test_last_rungs(outcome, screen):
    flow, _, effects = to_state("face_capture")
    effects = capture_done(flow, effects)
    answer(flow, effects, decision(outcome, reference="JM261128-REVIEW01"))
    assert flow.state == screen
    effects = flow.handle(ev.Tapped("print"))
    assert flow.state == "printing"
    assert last(effects, fx.PrintReceipt).document["outcome"] == outcome.value


def test_capture_retry_coaches_and_captures_again():
    flow, _, effects = to_state("face_capture")
    cap = last(effects, fx.CaptureFace)
    effects = flow.handle(ev.CaptureRetry(cap.request_id, "face_too_dark"))
    assert flow.state == "face_capture"
    assert flow.ctx.message_key == "face_too_dark"
    again = last(effects, fx.CaptureFace)
    assert again.request_id != cap.request_id and again.challenges == cap.challenges


def test_camera_failure_goes_out_of_service():
    flow, _, effects = to_state("face_capture")
    cap = last(effects, fx.CaptureFace)
    effects = flow.handle(ev.DeviceFailed("camera", "camera_unplugged", cap.request_id))
    assert flow.state == "out_of_service"
    assert any(isinstance(e, fx.CancelCapture) for e in effects)


def test_enquiry_shows_summary_then_payments_paged():
    flow, _, effects = to_state("face_capture", purpose=c.Purpose.ENQUIRY)
    effects = capture_done(flow, effects)
    effects = answer(flow, effects, decision(c.Outcome.APPROVED))
    assert flow.state == "processing"
    assert last(effects, fx.CallApi).op == "pension_summary"
    effects = answer(flow, effects, summary())
    assert flow.state == "summary"
    effects = flow.handle(ev.Tapped("payments"))
    call = last(effects, fx.CallApi)
    assert call.op == "payments" and call.kwargs["page"] == 1
    page = c.PaymentPage(items=[], page=1, page_size=6, total=24)
    answer(flow, effects, page)
    assert flow.state == "payments"
    effects = flow.handle(ev.Tapped("next"))
    assert last(effects, fx.CallApi).kwargs["page"] == 2
    answer(flow, effects, page.model_copy(update={"page": 2}))
    for _ in range(5):
        effects = flow.handle(ev.Tapped("next"))
        if effects and isinstance(effects[-1], fx.CallApi):
            answer(flow, effects, page)
    assert flow.ctx.payments_page == 4  # 24 payments, 6 a page: no page 5
    flow.handle(ev.Tapped("back"))
    assert flow.state == "summary"
    effects = flow.handle(ev.Tapped("print"))
    assert flow.state == "printing"
    assert last(effects, fx.PrintReceipt).document["kind"] == "statement"


def test_late_answer_after_cancel_is_ignored():
    flow, _, effects = to_state("face_capture")
    cap = last(effects, fx.CaptureFace)
    flow.handle(ev.Tapped("cancel"))
    assert flow.state == "home"
    flow.handle(ev.FaceCaptured(cap.request_id, "late evidence"))
    assert flow.state == "home"
    assert flow.ctx.evidence is None


def test_decline_consent_offers_the_counter_route_and_forgets():
    flow, _, _ = to_state("consent")
    flow.handle(ev.Tapped("decline"))
    assert flow.state == "declined"
    effects = flow.handle(ev.Tapped("home"))
    assert flow.state == "home"
    assert any(isinstance(e, fx.ClearPersonalData) for e in effects)
    assert flow.ctx.personal_values() == {}


def test_help_returns_where_it_was_called():
    flow, _, _ = to_state("doc_number")
    flow.handle(ev.Tapped("status.help"))
    assert flow.state == "help"
    effects = flow.handle(ev.Tapped("call_staff"))
    assert last(effects, fx.ShowMessage).key == "help_staff_called"
    flow.handle(ev.Tapped("back"))
    assert flow.state == "doc_number"


def test_language_switch_respeaks_the_prompt():
    flow, _, _ = to_state("doc_type")
    effects = flow.handle(ev.Tapped("status.language", "pt_MO"))
    assert flow.ctx.language == "pt_MO"
    assert last(effects, fx.Speak) == fx.Speak("doc_type.prompt", "pt_MO")


# ---------------------------------------------------------------------------- idle


def test_idle_warning_then_reset():
    flow, clock, _ = to_state("confirm_name")
    clock.advance(44)
    flow.handle(ev.Tick())
    assert flow.state == "confirm_name"
    clock.advance(1)
    flow.handle(ev.Tick())
    assert flow.state == "idle_warning"
    assert flow.idle_remaining() == pytest.approx(15)
    clock.advance(15)
    effects = flow.handle(ev.Tick())
    assert flow.state == "attract"
    assert any(isinstance(e, fx.ClearPersonalData) for e in effects)
    assert flow.ctx.personal_values() == {}
    assert flow.ctx.language == "zh_Hant_HK"


def test_still_here_returns_to_the_screen():
    flow, clock, _ = to_state("confirm_name")
    clock.advance(50)
    flow.handle(ev.Tick())
    assert flow.state == "idle_warning"
    flow.handle(ev.Tapped("continue"))
    assert flow.state == "confirm_name"
    clock.advance(44)
    flow.handle(ev.Tick())
    assert flow.state == "confirm_name"
    assert flow.ctx.masked_name_zh == "陳*文"


def test_idle_timer_pauses_while_busy():
    flow, clock, effects = to_state("face_capture")
    clock.advance(300)
    flow.handle(ev.Tick())
    assert flow.state == "face_capture"
    assert flow.idle_remaining() is None
    effects = capture_done(flow, effects)
    answer(flow, effects, decision(c.Outcome.RETRY))
    assert flow.state == "try_again"
    assert flow.idle_remaining() == pytest.approx(60)  # restarted when the kiosk finished


def test_care_mode_doubles_the_timeouts():
    flow, clock, _ = to_state("doc_type")
    flow.handle(ev.Tapped("status.care_mode"))
    assert flow.ctx.care_mode
    clock.advance(60)
    flow.handle(ev.Tick())
    assert flow.state == "doc_type"
    clock.advance(30)
    flow.handle(ev.Tick())
    assert flow.state == "idle_warning"


def test_attract_never_times_out_and_cycles_languages():
    flow, clock = new_flow()
    seen = []
    for _ in range(8):
        flow.handle(ev.Tick())
        seen.append(flow.attract_language())
        clock.advance(6)
    assert flow.state == "attract"
    assert set(seen) == {"zh_Hant_HK", "zh_Hans_CN", "en", "pt_MO"}


def test_backend_down_during_submission_queues_and_prints_pending():
    from kiosk.api.contract import pending_reference

    class Sealed:
        evidence_id = "0b8f6d3e-6c1e-4d4a-9a59-2f1f3c8f8a10"

    flow, _, effects = to_state("face_capture")
    effects = capture_done(flow, effects, evidence=Sealed())
    effects = fail(flow, effects, kind="network", key="error_network")
    queued = last(effects, fx.QueueEvidence)
    assert queued.session_id == "s-1" and queued.idempotency_key.startswith("ev-")
    # Nothing is printed until the outbox has it on disk.
    assert not [e for e in effects if isinstance(e, fx.PrintReceipt)]
    assert flow.busy
    effects = flow.handle(ev.EvidenceQueued(queued.request_id, True))
    assert flow.state == "printing"
    doc = last(effects, fx.PrintReceipt).document
    assert doc["outcome"] == "pending"
    assert doc["reference"] == pending_reference(Sealed.evidence_id)
    assert flow.ctx.evidence is None


def test_enquiry_with_backend_down_is_out_of_service():
    flow, _, effects = to_state("face_capture", purpose=c.Purpose.ENQUIRY)
    effects = capture_done(flow, effects)
    fail(flow, effects, kind="timeout", key="error_timeout")
    assert flow.state == "out_of_service"


def test_any_touch_on_the_idle_warning_resumes():
    flow, clock, _ = to_state("doc_type")
    clock.advance(46)
    flow.handle(ev.Tick())
    assert flow.state == "idle_warning"
    flow.handle(ev.Touched())
    assert flow.state == "doc_type"


def test_help_is_not_offered_during_a_capture():
    flow, _, _ = to_state("face_capture")
    flow.handle(ev.Tapped("status.help"))
    assert flow.state == "face_capture"


def test_volume_button_cycles_levels_and_a_full_reset_restores_the_default():
    flow, _, _ = to_state("doc_type")
    levels = []
    for _ in range(3):
        effects = flow.handle(ev.Tapped("status.volume"))
        levels.append(flow.ctx.volume)
    assert levels == ["quiet", "off", "normal"]
    assert flow.state == "doc_type"
    assert [e.key for e in effects if isinstance(e, fx.Speak)] == ["doc_type.prompt"]
    flow.handle(ev.Tapped("status.volume"))
    flow.reset("home")
    assert flow.ctx.volume == "quiet"  # the same resident, still here
    flow.reset("attract")
    assert flow.ctx.volume == "normal"  # the next resident starts at the kiosk's level


def test_muted_kiosk_starts_each_session_muted():
    flow, _ = new_flow(default_volume="off")
    assert flow.ctx.volume == "off"
    flow.handle(ev.Tapped("start"))
    flow.handle(ev.Tapped("status.volume"))
    assert flow.ctx.volume == "normal"
    flow.reset("attract")
    assert flow.ctx.volume == "off"


def test_heartbeat_failure_takes_only_an_unattended_kiosk_out_of_service():
    flow, _ = new_flow()
    flow.handle(ev.BackendDown("error_network"))
    assert flow.state == "out_of_service"
    assert flow.ctx.message_key == "error_network"
    flow.handle(ev.BackendUp())
    assert flow.state == "attract"
    busy, _, _ = to_state("doc_number")
    busy.handle(ev.BackendDown("error_network"))
    assert busy.state == "doc_number"  # a resident mid-journey is not cut off by a heartbeat


@pytest.mark.parametrize(("jurisdiction", "notice"), [("HK", "consent_hk"), ("MO", "consent_mo")])
def test_consent_speaks_the_prompt_then_the_notice_of_the_place(jurisdiction, notice):
    flow, _, _ = to_state("confirm_name", jurisdiction=jurisdiction)
    effects = flow.handle(ev.Tapped("yes"))
    assert flow.state == "consent"
    spoken = [e.key for e in effects if isinstance(e, fx.Speak)]
    assert spoken == ["consent.prompt", notice]


def test_an_outbox_that_cannot_keep_the_evidence_promises_nothing():
    class Sealed:
        evidence_id = "0b8f6d3e-6c1e-4d4a-9a59-2f1f3c8f8a10"

    flow, _, effects = to_state("face_capture")
    effects = capture_done(flow, effects, evidence=Sealed())
    effects = fail(flow, effects, kind="network", key="error_network")
    queued = last(effects, fx.QueueEvidence)
    effects = flow.handle(ev.EvidenceQueued(queued.request_id, False))
    assert flow.state == "out_of_service"
    assert flow.ctx.message_key == "error_device"
    assert not [e for e in effects if isinstance(e, fx.PrintReceipt)]
    assert flow.ctx.personal_values() == {}


def test_every_challenge_sequence_has_a_head_turn():
    for seed in range(40):
        flow, _, _ = to_state("face_capture")
        flow.rng.seed(seed)
        flow.capture_face()
        assert any(k.startswith("turn_") for k in flow.ctx.challenges), flow.ctx.challenges
        assert len(set(flow.ctx.challenges)) == len(flow.ctx.challenges) == 2


def test_coaching_retries_are_limited_then_the_resident_chooses():
    flow, _, effects = to_state("face_capture", max_capture_retries=3)
    for i in range(4):
        capture = last(effects, fx.CaptureFace)
        effects = flow.handle(ev.CaptureRetry(capture.request_id, "face_too_dark"))
        if i < 3:
            assert flow.state == "face_capture" and any(
                isinstance(e, fx.CaptureFace) for e in effects
            )
    assert flow.state == "notice"
    assert flow.ctx.message_key == "face_too_dark"
    assert any(isinstance(e, fx.StopCamera) for e in effects)
