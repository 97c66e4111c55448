"""The journeys: pension enquiry and annual verification, as data plus a few handlers.

`SCREENS` says what each state is (busy states pause the idle timer); `NAV` maps a screen's
buttons to a target state or a handler. Everything else (API answers, captures, printing,
time) arrives as events and is routed by the handlers below. `Flow.handle` returns the
effects to perform; it never blocks and never touches a device, the network or a widget.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from kiosk.api import contract as c
from kiosk.api import documents, ecard
from kiosk.flow import effects as fx
from kiosk.flow import events as ev
from kiosk.flow import maintenance as mt
from kiosk.flow.clock import Clock
from kiosk.flow.context import CONSENT_NOTICES, VOLUME_LEVELS, Context, FlowSettings


@dataclass(frozen=True)
class Screen:
    busy: bool = False  # the kiosk is working: the idle timer pauses
    idle: bool = True  # the idle timer applies (not on attract or out of service)
    speaks: bool = True  # the screen's prompt is spoken on entry


SCREENS: dict[str, Screen] = {
    "attract": Screen(idle=False, speaks=False),
    "language": Screen(),
    "home": Screen(),
    "help": Screen(),
    "doc_type": Screen(),
    "doc_number": Screen(),
    "birth_date": Screen(),
    "qr_scan": Screen(),
    "identifying": Screen(busy=True, speaks=False),
    "confirm_name": Screen(),
    "consent": Screen(),
    "declined": Screen(),
    "starting": Screen(busy=True, speaks=False),
    "face_capture": Screen(busy=True),
    "finger_choice": Screen(),
    "finger_capture": Screen(busy=True),
    "processing": Screen(busy=True),
    "try_again": Screen(),
    "switch_finger": Screen(),
    "staff_review": Screen(),
    "appointment": Screen(),
    "printing": Screen(busy=True),
    "receipt": Screen(),
    "pending": Screen(),  # received by the kiosk, not yet by the bureau (outbox)
    "summary": Screen(),
    "payments": Screen(),
    "notice": Screen(),
    "idle_warning": Screen(),
    "out_of_service": Screen(idle=False),
    # The technician's maintenance mode (kiosk/flow/maintenance.py): its own idle timeout.
    **{state: Screen(idle=False, speaks=False) for state in mt.STATES},
}

BUSY = frozenset(name for name, s in SCREENS.items() if s.busy)

Handler = Callable[["Flow", ev.Tapped], None]
Target = str | Handler


def _go(state: str) -> Handler:
    return lambda flow, _e: flow.go(state)


def _start(purpose: c.Purpose) -> Handler:
    def handler(flow: Flow, _e: ev.Tapped) -> None:
        flow.ctx.purpose = purpose
        flow.go("doc_type")

    return handler


def _choose_language(flow: Flow, e: ev.Tapped) -> None:
    flow.set_language(e.value)
    flow.go("home")


def _listen(flow: Flow, _e: ev.Tapped) -> None:
    # Personal data goes to the handset or nowhere: never to the loudspeaker.
    if flow.settings.handset and flow.ctx.summary is not None:
        flow._emit(fx.SpeakPrivately(flow.ctx.summary, flow.ctx.language))


def _start_scan(flow: Flow, _e: ev.Tapped) -> None:
    flow.scan_qr()


def _cancel_scan(flow: Flow, _e: ev.Tapped) -> None:
    flow.stop_scan()
    flow.go("doc_type")


def _choose_document(flow: Flow, e: ev.Tapped) -> None:
    flow.ctx.doc_type = c.DocumentType(e.value)
    flow.ctx.doc_number = None
    flow.go("doc_number")


def _not_me(flow: Flow, _e: ev.Tapped) -> None:
    flow.forget_identity()
    flow.go("doc_type")


def _agree(flow: Flow, _e: ev.Tapped) -> None:
    flow.call("start_session", flow.ctx.subject_token, flow.ctx.purpose)
    flow.go("starting")


def _choose_finger(flow: Flow, e: ev.Tapped) -> None:
    session = flow.ctx.session
    position = int(e.value)
    if session is None or position not in session.enrolled_fingers:
        flow.show("finger_not_enrolled")
        return
    flow.ctx.finger_position = position
    flow.capture_finger()


def _retry(flow: Flow, _e: ev.Tapped) -> None:
    session = flow.ctx.session
    if session is not None and session.next_modality is c.Modality.FINGERPRINT:
        flow.capture_finger()
    else:
        flow.capture_face()


def _print_receipt(flow: Flow, _e: ev.Tapped) -> None:
    flow.print_receipt()


def _payments_page(step: int) -> Handler:
    def handler(flow: Flow, _e: ev.Tapped) -> None:
        page = max(1, flow.ctx.payments_page + step)
        total = flow.ctx.payments.total if flow.ctx.payments else 0
        last = max(1, -(-total // flow.settings.payments_page_size))
        if page > last:
            return
        flow.ctx.payments_page = page
        flow.call(
            "payments",
            flow.ctx.session.session_id,
            page=page,
            page_size=flow.settings.payments_page_size,
        )

    return handler


def _show_payments(flow: Flow, _e: ev.Tapped) -> None:
    flow.ctx.payments_page = 1
    flow.call(
        "payments", flow.ctx.session.session_id, page=1, page_size=flow.settings.payments_page_size
    )


def _print_statement(flow: Flow, _e: ev.Tapped) -> None:
    flow.print_statement()


def _cancel(flow: Flow, _e: ev.Tapped) -> None:
    flow.reset("home")


def _finish(flow: Flow, _e: ev.Tapped) -> None:
    flow.reset("attract")


def _still_here(flow: Flow, _e: ev.Tapped) -> None:
    flow.resume_from_idle()


def _help_back(flow: Flow, _e: ev.Tapped) -> None:
    flow.go(flow.help_return or "home")


def _call_staff(flow: Flow, _e: ev.Tapped) -> None:
    flow.show("help_staff_called")


NAV: dict[str, dict[str, Target]] = {
    "attract": {"start": "language"},
    "language": {"choose": _choose_language},
    "home": {
        "enquiry": _start(c.Purpose.ENQUIRY),
        "verify": _start(c.Purpose.CERTIFICATION),
        "help": "help",
        "language": "language",
    },
    "help": {"call_staff": _call_staff, "back": _help_back},
    "doc_type": {"choose": _choose_document, "scan": _start_scan, "back": "home"},
    "qr_scan": {"cancel": _cancel_scan},
    "doc_number": {"back": "doc_type"},
    "birth_date": {"back": "doc_number"},
    "identifying": {},
    "confirm_name": {"yes": "consent", "no": _not_me},
    "consent": {"agree": _agree, "decline": "declined"},
    "declined": {"home": _cancel},
    "starting": {},
    "face_capture": {"cancel": _cancel},
    "finger_choice": {"choose": _choose_finger, "cancel": _cancel},
    "finger_capture": {"cancel": _cancel},
    "processing": {},
    "try_again": {"retry": _retry, "cancel": _cancel},
    "switch_finger": {"continue": "finger_choice", "cancel": _cancel},
    "staff_review": {"print": _print_receipt, "done": _finish},
    "appointment": {"print": _print_receipt, "done": _finish},
    "printing": {},
    "receipt": {"done": _finish},
    "pending": {"done": _finish},
    "summary": {
        "payments": _show_payments,
        "print": _print_statement,
        "listen": _listen,
        "done": _finish,
    },
    "payments": {
        "next": _payments_page(+1),
        "previous": _payments_page(-1),
        "back": "summary",
        "done": _finish,
    },
    "notice": {"home": _cancel},
    "idle_warning": {"continue": _still_here},
    "out_of_service": {},
    **mt.NAV,
}

# Buttons on the status bar, present on every screen but attract and out of service.
GLOBAL = {"status.language", "status.care_mode", "status.volume", "status.help"}

# The e-card keys are fetched again after this long (a key the bureau revoked stops working).
ECARD_KEYS_MAX_AGE_S = 3600.0

# Failures of the back end itself (not of the request): the kiosk is out of service.
BACKEND_DOWN = {"network", "timeout", "server", "contract"}


class Flow:
    def __init__(
        self,
        clock: Clock,
        settings: FlowSettings | None = None,
        rng: random.Random | None = None,
        wall: Callable[[], float] = time.time,
        maintenance: mt.Setup | None = None,
    ):
        self.clock = clock
        # Unix time for e-card validity: the API client's server-corrected clock on a kiosk.
        self.wall = wall
        self.ecard_keys: dict | None = None  # the bureau's e-card keys: not personal, cached
        self.ecard_keys_at: float | None = None
        self.settings = settings or FlowSettings()
        self.rng = rng or random.Random()  # noqa: S311 - challenge order, not a secret
        self.state = "attract"
        self.ctx = Context(
            language=self.settings.default_language, volume=self.settings.default_volume
        )
        self.last_activity = clock.now()
        self.idle_return: str | None = None
        self.help_return: str | None = None
        self.attract_since = clock.now()
        self._request = 0
        self._pending: tuple[int, str] | None = None
        self._camera_on = False
        self._effects: list[fx.Effect] = []
        # Maintenance mode; its lockout is kept on the wall clock (it outlives a restart).
        self.maint = mt.Maintenance(self, maintenance)

    # ------------------------------------------------------------------ public

    def handle(self, event: ev.Event) -> list[fx.Effect]:
        self._effects = []
        if event.touch:
            self.last_activity = self.clock.now()
            if not isinstance(event, ev.Touched):
                self.ctx.message_key = None  # a new action supersedes the last message
        method = getattr(self, "_on_" + type(event).__name__, None)
        if method is not None:
            method(event)
        return self._effects

    def start(self) -> list[fx.Effect]:
        self._effects = []
        self.go("attract")
        return self._effects

    @property
    def awaiting(self) -> str | None:
        """The operation whose answer the flow is waiting for (an API call, a capture, a
        print), or None."""
        return self._pending[1] if self._pending else None

    @property
    def busy(self) -> bool:
        return self.state in BUSY

    def idle_remaining(self) -> float | None:
        """Seconds until the full reset, or None while the idle timer is paused or off."""
        if self.busy or not SCREENS[self.state].idle:
            return None
        return max(0.0, self._timeout(self.settings.idle_reset_s) - self._idle_elapsed())

    def attract_language(self) -> str:
        """The language the attract loop shows now (it cycles through all of them)."""
        n = int((self.clock.now() - self.attract_since) // self.settings.attract_cycle_s)
        return self.settings.languages[n % len(self.settings.languages)]

    # ------------------------------------------------------------------ actions

    def go(self, state: str) -> None:
        if state not in SCREENS:
            raise ValueError(f"no screen {state!r}")
        leaving_busy = self.busy
        self.state = state
        if leaving_busy and not self.busy:
            # Waiting for the kiosk is not the resident's idleness: the timer restarts.
            self.last_activity = self.clock.now()
        if state == "attract":
            self.attract_since = self.clock.now()
        if state == "out_of_service":
            self._emit(fx.ProbeBackend())
        if SCREENS[state].speaks:
            self._emit(fx.Speak(f"{state}.prompt", self.ctx.language))
        if state == "consent":
            notice = CONSENT_NOTICES[self.settings.jurisdiction]
            self._emit(fx.Speak(notice, self.ctx.language))

    def show(self, key: str, **params) -> None:
        self.ctx.message_key = key
        self._emit(fx.ShowMessage(key, params))

    def call(self, op: str, *args, **kwargs) -> int:
        rid = self._next_request(op)
        self._emit(fx.CallApi(rid, op, args, kwargs))
        return rid

    def set_language(self, language: str) -> None:
        if language not in self.settings.languages:
            raise ValueError(f"unsupported language {language!r}")
        self.ctx.language = language

    def forget_identity(self) -> None:
        for name in (
            "doc_number",
            "date_of_birth",
            "masked_name_zh",
            "masked_name_en",
            "subject_token",
        ):
            setattr(self.ctx, name, None)

    def reset(self, to: str = "attract") -> None:
        """Ends the resident's session: every personal value goes, captures stop, and the
        screens are told to forget what they showed. Late answers are ignored."""
        self._pending = None
        if self._camera_on:
            self._emit(fx.CancelCapture())
            self._emit(fx.StopCamera())
            self._camera_on = False
        language = self.ctx.language if to != "attract" else self.settings.default_language
        care = self.ctx.care_mode if to != "attract" else False
        volume = self.ctx.volume if to != "attract" else self.settings.default_volume
        self.ctx = Context(language=language, care_mode=care, volume=volume)
        self.idle_return = None
        self.help_return = None
        self._emit(fx.ClearPersonalData())
        self.go(to)

    def capture_face(self) -> None:
        session = self.ctx.session
        kinds = list(self.settings.challenge_kinds)
        turns = [k for k in kinds if k.startswith("turn_")]
        n = min(self.settings.challenges, len(kinds))
        while True:
            drawn = tuple(self.rng.sample(kinds, k=n))
            if not (self.settings.require_turn and turns) or set(drawn) & set(turns):
                break
        self.ctx.challenges = drawn
        self.ctx.capture_retries = 0
        if not self._camera_on:
            self._emit(fx.StartCamera())
            self._camera_on = True
        rid = self._next_request("capture_face")
        self.go("face_capture")
        self._emit(
            fx.CaptureFace(rid, session.session_id, session.server_nonce, self.ctx.challenges)
        )

    def scan_qr(self) -> None:
        """The e-card scan screen: the camera looks for a QR code (a wedge scanner is read
        on any identification screen anyway)."""
        if not self._camera_on:
            self._emit(fx.StartCamera())
            self._camera_on = True
        rid = self._next_request("scan_qr")
        self.go("qr_scan")
        self._emit(fx.ScanQr(rid))

    def stop_scan(self) -> None:
        if self._pending and self._pending[1] == "scan_qr":
            self._pending = None
            self._emit(fx.CancelCapture())
        self._stop_camera()

    def _use_ecard(self, payload: str) -> None:
        try:
            claims = ecard.verify(payload, self.ecard_keys or {}, self.wall())
        except ecard.ECardError as exc:
            self.scan_qr()  # read another (or the same one, better held)
            self.show(exc.key)
            return
        self.ctx.doc_type = claims.document_type
        self.ctx.doc_number = claims.document_number
        self.ctx.date_of_birth = claims.date_of_birth
        self.call("identify", claims.document_type, claims.document_number, claims.date_of_birth)
        self.go("identifying")

    def capture_finger(self) -> None:
        if self.state != "finger_capture":
            self.ctx.capture_retries = 0
        self._stop_camera()
        rid = self._next_request("capture_finger")
        self.go("finger_capture")
        session = self.ctx.session
        self._emit(
            fx.CaptureFinger(
                rid, session.session_id, session.server_nonce, self.ctx.finger_position
            )
        )

    def print_receipt(self) -> None:
        d = self.ctx.decision
        doc = {
            "kind": "receipt",
            "language": self.ctx.language,
            "reference": d.reference if d else self.ctx.pending_reference,
            "outcome": d.outcome.value if d else "pending",
            "kiosk_id": self.settings.kiosk_id,
            "site": self.settings.site,
            "decided_at": d.decided_at.isoformat() if d else None,
            "next_due": (
                d.next_certification_due.isoformat() if d and d.next_certification_due else None
            ),
        }
        self._print(doc)

    def print_statement(self) -> None:
        s = self.ctx.summary
        doc = {
            "kind": "statement",
            "language": self.ctx.language,
            "kiosk_id": self.settings.kiosk_id,
            "site": self.settings.site,
            "summary": s.model_dump(mode="json") if s else None,
        }
        self._print(doc)

    def resume_from_idle(self) -> None:
        target = self.idle_return or "home"
        self.idle_return = None
        self.last_activity = self.clock.now()
        self.go(target)

    # ------------------------------------------------------------------ events

    def _on_Tapped(self, e: ev.Tapped) -> None:
        if e.action == mt.ENTRY:  # the technician's long press, from any screen
            self.maint.enter()
            return
        if (
            e.action in GLOBAL
            and SCREENS[self.state].idle
            and self.state != "idle_warning"
            and not self.busy  # help during a capture would be overtaken by its result
        ):
            self._global(e)
            return
        target = NAV[self.state].get(e.action)
        if target is None:
            return  # a stale tap from a screen already left: nothing to do
        if isinstance(target, str):
            self.go(target)
        else:
            target(self, e)

    def _on_Touched(self, _e: ev.Touched) -> None:
        if self.state == "attract":
            self.go("language")
        elif self.state == "idle_warning":
            self.resume_from_idle()  # "touch the screen to continue" means any touch

    def _on_DocumentEntered(self, e: ev.DocumentEntered) -> None:
        if self.state != "doc_number":
            return
        try:
            parsed = documents.parse(self.ctx.doc_type, e.number)
        except documents.DocumentError as exc:
            self.show(exc.key)
            return
        self.ctx.doc_number = parsed.number
        self.go("birth_date")

    def _on_BirthDateEntered(self, e: ev.BirthDateEntered) -> None:
        if self.state != "birth_date":
            return
        parsed = documents.parse(self.ctx.doc_type, self.ctx.doc_number)
        try:
            documents.check_birth_date(parsed, e.date)
        except documents.DocumentError as exc:
            self.show(exc.key)
            return
        self.ctx.date_of_birth = e.date
        self.call("identify", self.ctx.doc_type, self.ctx.doc_number, e.date)
        self.go("identifying")

    def _on_QrScanned(self, e: ev.QrScanned) -> None:
        if e.request_id is not None:
            if not self._accept(e.request_id):
                return
        elif self.state in ("doc_type", "qr_scan"):
            self.stop_scan()  # a wedge scanner answered first: the camera may stop looking
        else:
            return  # a scan while the resident is elsewhere in the journey: not for now
        self._stop_camera()
        fresh = self.ecard_keys_at is not None and (
            self.clock.now() - self.ecard_keys_at < ECARD_KEYS_MAX_AGE_S
        )
        if fresh:
            self._use_ecard(e.payload)
            return
        self.ctx.qr_payload = e.payload
        self.call("ecard_keys")
        self.go("identifying")

    def _on_Tick(self, _e: ev.Tick) -> None:
        if self.maint.tick():
            return
        if self.busy or not SCREENS[self.state].idle:
            return
        elapsed = self._idle_elapsed()
        if elapsed >= self._timeout(self.settings.idle_reset_s):
            self.reset("attract")
        elif (
            elapsed >= self._timeout(self.settings.idle_warning_s) and self.state != "idle_warning"
        ):
            self.idle_return = self.state
            self.go("idle_warning")

    def _on_ApiDone(self, e: ev.ApiDone) -> None:
        if not self._accept(e.request_id):
            return
        getattr(self, "_done_" + e.op)(e.result)

    def _on_ApiFailed(self, e: ev.ApiFailed) -> None:
        if not self._accept(e.request_id):
            return
        if (
            e.op == "submit_evidence"
            and e.kind in BACKEND_DOWN
            and self.ctx.purpose is c.Purpose.CERTIFICATION
            and self.ctx.evidence is not None
        ):
            self._queue_for_later()
            return
        if e.kind in BACKEND_DOWN or e.code in (
            "unknown_device",
            "device_revoked",
            "bad_signature",
            "unauthenticated",
        ):
            self._out_of_service(e.message_key)
            return
        if e.op == "identify" and e.code in ("not_found", "validation_failed"):
            self.ctx.date_of_birth = None
            self.go("doc_number")
            self.show("identify_not_found")
            return
        self._notice(e.message_key)

    def _on_FaceCaptured(self, e: ev.FaceCaptured) -> None:
        if not self._accept(e.request_id):
            return
        self._submit(e.evidence)

    def _on_FingerCaptured(self, e: ev.FingerCaptured) -> None:
        if not self._accept(e.request_id):
            return
        self._submit(e.evidence)

    def _on_CaptureRetry(self, e: ev.CaptureRetry) -> None:
        if not self._accept(e.request_id):
            return
        self.ctx.capture_retries += 1
        if self.ctx.capture_retries > self.settings.max_capture_retries:
            # Coached long enough without a capture worth sending: stop the camera and let
            # the resident choose (try again later, or the counter).
            self._notice(e.message_key)
            return
        self.show(e.message_key)
        # Coach and keep capturing: the same challenge sequence, a new capture request.
        if self.state == "finger_capture":
            self.capture_finger()
        else:
            rid = self._next_request("capture_face")
            session = self.ctx.session
            self._emit(
                fx.CaptureFace(rid, session.session_id, session.server_nonce, self.ctx.challenges)
            )

    def _on_DeviceFailed(self, e: ev.DeviceFailed) -> None:
        if e.request_id is not None and not self._accept(e.request_id):
            return
        if e.request_id is None and self.state not in (
            "face_capture",
            "finger_capture",
            "printing",
            "qr_scan",
        ):
            return  # a device we are not using now; maintenance and heartbeat report it
        if self.state == "printing":
            self._printed(False)
            return
        if self.state == "qr_scan":  # the keypad still works: no reason to stop the kiosk
            self.stop_scan()
            self.go("doc_type")
            self.show(e.message_key)
            return
        self._out_of_service(e.message_key)

    def _on_PrintDone(self, e: ev.PrintDone) -> None:
        if not self._accept(e.request_id):
            return
        self._printed(e.ok)

    def _on_BackendUp(self, _e: ev.BackendUp) -> None:
        if self.state == "out_of_service":
            self.reset("attract")

    def _on_PinEntered(self, e: ev.PinEntered) -> None:
        self.maint.pin_entered(e.pin)

    def _on_PinChecked(self, e: ev.PinChecked) -> None:
        self.maint.pin_checked(e)

    def _on_MaintenanceDone(self, e: ev.MaintenanceDone) -> None:
        self.maint.done(e)

    def _on_MaintenanceFailed(self, e: ev.MaintenanceFailed) -> None:
        self.maint.failed(e)

    def _on_BackendDown(self, e: ev.BackendDown) -> None:
        # Only while nobody is using the kiosk: a resident mid-journey learns it from the
        # journey's own next call, and a heartbeat must not cut a capture or a receipt short.
        if self.state == "attract":
            self._out_of_service(e.message_key)

    # ------------------------------------------------------------------ API answers

    def _done_identify(self, who: c.IdentifyResponse) -> None:
        self.ctx.subject_token = who.subject_token
        self.ctx.masked_name_zh = who.masked_name_zh
        self.ctx.masked_name_en = who.masked_name_en
        self.go("confirm_name")

    def _done_ecard_keys(self, answer: c.ECardKeys) -> None:
        payload, self.ctx.qr_payload = self.ctx.qr_payload, None
        try:
            self.ecard_keys = ecard.trusted_keys(answer)
        except ValueError:
            self._notice("error_backend")
            return
        self.ecard_keys_at = self.clock.now()
        self._use_ecard(payload or "")

    def _done_start_session(self, session: c.SessionInfo) -> None:
        self.ctx.session = session
        self.ctx.subject_token = None  # used up: the session now names the resident
        self._next_rung()

    def _done_submit_evidence(self, decision: c.Decision) -> None:
        self.ctx.decision = decision
        self.ctx.session = decision.session
        self.ctx.evidence = None  # biometric data leaves the flow as soon as it is decided
        self.ctx.idempotency_key = None
        outcome = decision.outcome
        if outcome is c.Outcome.APPROVED:
            self._stop_camera()
            if self.ctx.purpose is c.Purpose.CERTIFICATION:
                self.print_receipt()
            else:
                self.call("pension_summary", decision.session_id)
                self.go("processing")
        elif outcome is c.Outcome.RETRY:
            self.go("try_again")
        elif outcome is c.Outcome.NEXT_MODALITY:
            self._stop_camera()
            self.go("switch_finger")
        elif outcome is c.Outcome.MANUAL_REVIEW:
            self._stop_camera()
            self.go("staff_review")
        else:
            self._stop_camera()
            self.go("appointment")

    def _done_pension_summary(self, summary: c.PensionSummary) -> None:
        self.ctx.summary = summary
        self.go("summary")

    def _done_payments(self, page: c.PaymentPage) -> None:
        self.ctx.payments = page
        self.go("payments")

    # ------------------------------------------------------------------ helpers

    def _next_rung(self) -> None:
        session = self.ctx.session
        if session.next_modality is c.Modality.FACE:
            self.capture_face()
        elif session.next_modality is c.Modality.FINGERPRINT:
            self.go("finger_choice")
        elif session.state is c.SessionState.MANUAL_REVIEW:
            self.go("staff_review")
        else:
            self.go("appointment")

    def _queue_for_later(self) -> None:
        """The back end cannot be reached: the sealed evidence goes to the outbox, the
        resident leaves with a "received, pending" receipt naming it."""
        evidence = self.ctx.evidence
        rid = self._next_request("queue")
        self._emit(
            fx.QueueEvidence(
                self.ctx.session.session_id, evidence, self.ctx.idempotency_key, request_id=rid
            )
        )
        self.ctx.pending_reference = c.pending_reference(evidence.evidence_id)
        self.ctx.evidence = None
        self.ctx.idempotency_key = None
        self._stop_camera()
        # The receipt prints once the outbox has the evidence on disk, not before: a resident
        # is told "received" only of what the kiosk will deliver.

    def _on_EvidenceQueued(self, e: ev.EvidenceQueued) -> None:
        if not self._accept(e.request_id):
            return
        if e.ok:
            self.print_receipt()
            return
        self.ctx.pending_reference = None
        self._out_of_service("error_device")

    def _submit(self, evidence) -> None:
        self.ctx.evidence = evidence
        self.ctx.idempotency_key = "ev-" + uuid.uuid4().hex
        self.call(
            "submit_evidence",
            self.ctx.session.session_id,
            evidence,
            idempotency_key=self.ctx.idempotency_key,
        )
        self.go("processing")

    def _print(self, document: dict) -> None:
        rid = self._next_request("print")
        self.go("printing")
        self._emit(fx.PrintReceipt(rid, document))

    def _printed(self, ok: bool) -> None:
        self.ctx.printed = ok
        # A submission waiting in the outbox is received, not decided: its own screen says so.
        pending = self.ctx.decision is None and self.ctx.pending_reference is not None
        self.go("pending" if pending else "receipt")
        if not ok:
            self.show("receipt_printer_failed")

    def _stop_camera(self) -> None:
        if self._camera_on:
            self._emit(fx.StopCamera())
            self._camera_on = False

    def _out_of_service(self, key: str) -> None:
        self.reset("out_of_service")
        self.show(key)

    def _notice(self, key: str) -> None:
        self._stop_camera()
        self.go("notice")
        self.show(key)

    def _global(self, e: ev.Tapped) -> None:
        if e.action == "status.language":
            self.set_language(e.value)
            self._emit(fx.Speak(f"{self.state}.prompt", self.ctx.language))
        elif e.action == "status.care_mode":
            self.ctx.care_mode = not self.ctx.care_mode
        elif e.action == "status.volume":
            levels = VOLUME_LEVELS
            self.ctx.volume = levels[(levels.index(self.ctx.volume) + 1) % len(levels)]
            if SCREENS[self.state].speaks:  # the prompt again, at the level just chosen
                self._emit(fx.Speak(f"{self.state}.prompt", self.ctx.language))
        elif e.action == "status.help" and self.state != "help":
            self.help_return = self.state
            self.go("help")

    def _next_request(self, op: str) -> int:
        self._request += 1
        self._pending = (self._request, op)
        return self._request

    def _accept(self, request_id: int) -> bool:
        """Only the answer to the request the flow is waiting for counts; anything else is
        late (the resident cancelled, the kiosk reset) and is dropped."""
        if self._pending is None or self._pending[0] != request_id:
            return False
        self._pending = None
        return True

    def _idle_elapsed(self) -> float:
        return self.clock.now() - self.last_activity

    def _timeout(self, seconds: float) -> float:
        return seconds * (self.settings.care_mode_factor if self.ctx.care_mode else 1.0)

    def _emit(self, effect: fx.Effect) -> None:
        self._effects.append(effect)
