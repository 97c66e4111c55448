"""What the flow remembers during one resident's session. Everything personal lives here and
nowhere else in the flow, so a reset that replaces the Context forgets all of it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, fields
from typing import Any

from kiosk.api import contract as c

# The spoken and shown prompt of each liveness challenge.
CHALLENGE_PROMPTS = {
    "blink": "liveness_blink",
    "turn_left": "liveness_turn_left",
    "turn_right": "liveness_turn_right",
    "open_mouth": "liveness_open_mouth",
}


# The consent screen's notice for each jurisdiction the kiosks stand in: which law protects
# the resident's data there, and that it goes to Jiangmen (shown and spoken with the prompt).
CONSENT_NOTICES = {"HK": "consent_hk", "MO": "consent_mo"}

# Voice guidance levels, cycled by the status bar's sound button; the key names the level.
VOLUME_LEVELS = ("normal", "quiet", "off")
VOLUME_KEYS = {
    "normal": "status.volume_normal",
    "quiet": "status.volume_quiet",
    "off": "status.volume_off",
}


@dataclass(frozen=True)
class FlowSettings:
    kiosk_id: str = "HK-DEMO-01"
    site: str = "Demo self-service point"
    default_language: str = "zh_Hant_HK"
    languages: tuple[str, ...] = ("zh_Hant_HK", "zh_Hans_CN", "en", "pt_MO")
    idle_warning_s: float = 45.0
    idle_reset_s: float = 60.0
    care_mode_factor: float = 2.0  # care mode: longer timeouts
    challenges: int = 2
    challenge_kinds: tuple[str, ...] = ("blink", "turn_left", "turn_right", "open_mouth")
    # At least one head turn: the passive check needs the face seen from two sides to tell
    # a flat picture from a face (biometrics/face/liveness LivenessConfig.require_turn).
    require_turn: bool = True
    # Coaching retries of one capture before the resident is offered a way out (the back end
    # counts only the attempts that were submitted).
    max_capture_retries: int = 6
    payments_page_size: int = 6
    attract_cycle_s: float = 6.0  # the attract loop shows each language this long
    default_volume: str = "normal"  # one of VOLUME_LEVELS
    jurisdiction: str = "HK"  # where the kiosk stands: "HK" or "MO" (the consent notice)
    handset: bool = False  # a handset or headphones: the summary may be read aloud, there only


@dataclass
class Context:
    # Not personal: survives a "home" reset, not a full one.
    language: str
    care_mode: bool = False
    volume: str = "normal"
    # Personal: cleared by every reset.
    purpose: c.Purpose | None = None
    doc_type: c.DocumentType | None = None
    doc_number: str | None = None
    date_of_birth: dt.date | None = None
    masked_name_zh: str | None = None
    masked_name_en: str | None = None
    subject_token: str | None = None
    session: c.SessionInfo | None = None
    challenges: tuple[str, ...] = ()
    finger_position: int | None = None
    evidence: Any = None
    idempotency_key: str | None = None
    decision: c.Decision | None = None
    summary: c.PensionSummary | None = None
    payments: c.PaymentPage | None = None
    payments_page: int = 1
    printed: bool | None = None
    pending_reference: str | None = None  # the receipt's name while the back end is away
    message_key: str | None = None  # the coaching or error line shown on the current screen
    attempt_messages: list[str] = field(default_factory=list)
    qr_payload: str | None = None  # an e-card read while its keys are being fetched
    capture_retries: int = 0  # coaching retries of the current capture

    PERSONAL = (
        "purpose",
        "doc_type",
        "doc_number",
        "date_of_birth",
        "masked_name_zh",
        "masked_name_en",
        "subject_token",
        "session",
        "challenges",
        "finger_position",
        "evidence",
        "idempotency_key",
        "decision",
        "pending_reference",
        "summary",
        "payments",
        "printed",
        "qr_payload",
    )

    def personal_values(self) -> dict[str, Any]:
        """Every personal field that holds something (a reset must leave this empty)."""
        empty = Context(language=self.language)
        return {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if f.name in self.PERSONAL and getattr(self, f.name) != getattr(empty, f.name)
        }
