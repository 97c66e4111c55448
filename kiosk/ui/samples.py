"""The tour's fabricated resident and camera picture (no kivy here: tests use it too).

Nothing in it is anyone's data: a masked name, an amount, twelve payments, a reference, a
coaching message, a drawn camera frame; `sample_context` fills the flow's context as it would
be in each state.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from kiosk.api import contract as c
from kiosk.flow import maintenance as mt
from kiosk.flow.context import Context, FlowSettings
from kiosk.flow.machine import SCREENS

# The fabricated resident. None of it is anyone's data.
NOW = dt.datetime(2026, 11, 28, 10, 0, tzinfo=dt.UTC)
MASKED_NAME_ZH = "陳*文"
MASKED_NAME_EN = "CHAN T** M**"
DOCUMENT = "A123456(3)"
BIRTH_DATE = dt.date(1946, 3, 12)
AMOUNT = "3120.50"
REFERENCE = "JM261128-7KQ4XW2M"
PAYMENTS = 12
PARTIAL_ENTRY = "A1234"  # the keypad of the doc_number screen, half typed

# The message each screen shows in the tour (the coaching line of a capture, an error ...).
MESSAGES = {
    "face_capture": "face_too_far",
    "try_again": "liveness_failed",
    "help": "help_staff_called",
    "notice": "error_session_expired",
    "out_of_service": "error_network",
}
PROGRESS = {"face_capture": ("liveness_blink", 0.5), "finger_capture": ("finger_reading", 0.6)}
ENQUIRY_STATES = {"summary", "payments"}
# States before which the resident has not yet given this (the tour shows no more than the
# screen could know).
_ORDER = list(SCREENS)


def sample_frame(width: int = 640, height: int = 480) -> np.ndarray:
    """A drawn stand-in for a camera picture: a lit backdrop and an oval head (BGR, as a
    camera driver gives it)."""
    y, x = np.mgrid[0:height, 0:width]
    frame = np.empty((height, width, 3), np.uint8)
    shade = (90 + 80 * (1 - y / height)).astype(np.uint8)
    frame[..., 0] = shade
    frame[..., 1] = shade + 10
    frame[..., 2] = shade + 25
    head = ((x - width / 2) / (width * 0.2)) ** 2 + ((y - height * 0.45) / (height * 0.32)) ** 2
    frame[head <= 1] = (224, 182, 150)
    shoulders = ((x - width / 2) / (width * 0.42)) ** 2 + (
        (y - height * 1.15) / (height * 0.4)
    ) ** 2
    frame[shoulders <= 1] = (50, 70, 110)
    return np.ascontiguousarray(frame[..., ::-1])  # drawn in RGB above


def _session(fingers=(2, 7)) -> c.SessionInfo:
    return c.SessionInfo(
        session_id="tour-session",
        purpose=c.Purpose.CERTIFICATION,
        state=c.SessionState.OPEN,
        server_nonce="n" * 43,
        expires_at=NOW + dt.timedelta(minutes=30),
        next_modality=c.Modality.FACE,
        allowed_modalities=[c.Modality.FACE, c.Modality.FINGERPRINT],
        attempts_left=c.AttemptsLeft(face=2, fingerprint=3),
        enrolled_fingers=list(fingers),
    )


def _decision(outcome: c.Outcome) -> c.Decision:
    return c.Decision(
        decision_id="tour-decision",
        session_id="tour-session",
        modality=c.Modality.FACE,
        outcome=outcome,
        reason_code=c.ReasonCode.MATCH,
        session=_session(),
        reference=REFERENCE,
        decided_at=NOW,
    )


def _summary() -> c.PensionSummary:
    return c.PensionSummary(
        account_status=c.AccountStatus.PAYING,
        monthly_amount=AMOUNT,
        currency="CNY",
        bank_name="中國銀行江門分行",
        bank_account_masked="**** **** 1234",
        certification_status=c.CertificationStatus.DONE,
        last_certified_on=dt.date(2026, 5, 1),
        next_certification_due=dt.date(2027, 5, 1),
    )


def _payments(page_size: int) -> c.PaymentPage:
    items = []
    for i in range(PAYMENTS):
        year, month = divmod(2026 * 12 + 10 - i, 12)  # November 2026 back
        items.append(
            c.Payment(
                period=f"{year}-{month + 1:02d}",
                amount=AMOUNT,
                currency="CNY",
                paid_on=dt.date(year, month + 1, 5),
                status=c.PaymentStatus.PAID,
            )
        )
    return c.PaymentPage(items=items[:page_size], page=1, page_size=page_size, total=len(items))


# Maintenance mode's screens: every check with a result of the kind kiosk doctor prints.
SAMPLE_CHECKS = {
    "camera": ("pass", "camera_ok", "1280x720 at 29.9 fps, face found (11 ms)"),
    "fingerprint": (
        "pass",
        "device_ok",
        "R30x 256x288 at 500 dpi, 57600 baud; test capture quality 82/100 (912 ms)",
    ),
    "printer": ("warn", "printer_paper_near_end", "TM-T20III: paper near end"),
    "reader": (
        "pass",
        "reader_ok",
        "wedge scanner reader_ok, 14 scans read; QR decoder read a test code in 9 ms",
    ),
    "disk": ("pass", "doctor_disk_ok", "51200 MB free of 119800 MB in /var/lib/jiangmen-kiosk"),
    "outbox": ("warn", "doctor_outbox_stuck", "3 waiting, oldest 2.1 h old"),
    "backend": (
        "pass",
        "doctor_backend_ok",
        "https://kiosk-api.hrss.jiangmen.example:443 answered in 84 ms (version 0.1.0, "
        "database ok)",
    ),
    "heartbeat": (
        "pass",
        "doctor_heartbeat_ok",
        "accepted for HK-DEMO-01 (signed with the registered key), next in 30 s",
    ),
    "tls": ("fail", "doctor_tls_expiring", "expires 2026-12-08 (10 days left)"),
    "clock": ("warn", "doctor_clock_off", "41.3 s behind the server"),
}
SAMPLE_LOG = [
    ["11-28 10:02:41", "WARNING", "kiosk.flow.runner api identify failed: ApiTimeout timeout"],
    ["11-28 10:02:13", "INFO", "kiosk.flow.runner maintenance: enter from attract"],
    [
        "11-28 09:58:02",
        "ERROR",
        "kiosk.outbox outbox entry 12 refused: replayed | document [id], born [date], "
        "reference [ref]",
    ],
    ["11-28 09:41:30", "INFO", "kiosk.heartbeat back end answered: version 0.1.0, database ok"],
    ["11-28 09:40:55", "WARNING", "kiosk.devices.preview camera preview: DeviceRetry"],
]


def sample_maintenance(state: str, language: str, settings: FlowSettings) -> mt.MaintenanceContext:
    """Maintenance mode as its screens show it: a fresh context (no resident, no care mode:
    entering maintenance reset both) and a view with every kind of data filled in."""
    from kiosk.config import KioskSettings
    from kiosk.maintenance.views import settings_rows

    ctx = mt.MaintenanceContext(language=language)
    view = ctx.maint
    view.attempts_left = 3
    view.results = {
        name: {"name": name, "status": status, "message_key": key, "text": text}
        for name, (status, key, text) in SAMPLE_CHECKS.items()
    }
    view.selected = "backend"
    view.drain = {"available": True, "delivered": 2, "refused": 0, "deferred": 1, "waiting": 1}
    view.logs, view.logs_page, view.logs_pages = [list(x) for x in SAMPLE_LOG], 1, 4
    kiosk = KioskSettings.model_construct(kiosk_id=settings.kiosk_id, site=settings.site)
    view.settings = settings_rows(kiosk)
    view.identity = {
        "kiosk_id": settings.kiosk_id,
        "site": settings.site,
        "version": "0.1.0",
        "key_fingerprint": "SHA256:3f9c0be1a4d27e58c61b09f4d2a7e3c5",
    }
    if state == "maint_pin":
        ctx.message_key = "maint_pin.wrong"
    return ctx


def sample_context(state: str, language: str, settings: FlowSettings, care: bool) -> Context:
    if state in mt.STATES:
        return sample_maintenance(state, language, settings)
    ctx = Context(language=language, care_mode=care)
    at = _ORDER.index(state)

    def after(name: str) -> bool:
        return at > _ORDER.index(name)

    ctx.purpose = c.Purpose.ENQUIRY if state in ENQUIRY_STATES else c.Purpose.CERTIFICATION
    if at >= _ORDER.index("doc_number"):
        ctx.doc_type = c.DocumentType.HKID
        ctx.doc_number = DOCUMENT
    if at >= _ORDER.index("birth_date"):
        ctx.date_of_birth = BIRTH_DATE
    if after("identifying"):
        ctx.masked_name_zh, ctx.masked_name_en = MASKED_NAME_ZH, MASKED_NAME_EN
    if after("starting"):
        ctx.session = _session()
    if state == "finger_capture":
        ctx.finger_position = 2
    if state in ("receipt", "staff_review", "appointment", "try_again", "switch_finger"):
        outcome = {
            "staff_review": c.Outcome.MANUAL_REVIEW,
            "appointment": c.Outcome.APPOINTMENT,
            "try_again": c.Outcome.RETRY,
            "switch_finger": c.Outcome.NEXT_MODALITY,
        }.get(state, c.Outcome.APPROVED)
        ctx.decision = _decision(outcome)
        ctx.printed = True if state == "receipt" else None
    if state == "pending":
        ctx.pending_reference = c.pending_reference("0b8f6d3e-6c1e-4d4a-9a59-2f1f3c8f8a10")
        ctx.printed = True
    if state in ENQUIRY_STATES:
        ctx.summary = _summary()
    if state == "payments":
        ctx.payments = _payments(settings.payments_page_size)
    ctx.message_key = MESSAGES.get(state)
    return ctx
