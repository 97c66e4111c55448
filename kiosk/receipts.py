"""What the kiosk prints: the flow's receipt and statement documents as translated blocks.

The flow names what to print as plain data (kiosk/flow/machine.py `print_receipt`,
`print_statement`); this module turns that into a `drivers.printer.base.ReceiptDocument` in
the resident's language, and the printer driver renders it. A printer never translates, and
the flow never knows about paper.

A receipt carries the reference number, the outcome, the kiosk and the time; a statement the
pension summary the resident asked to print. Neither carries the resident's name, document
number or date of birth: a receipt left on the kiosk must not identify anyone.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from babel.dates import format_datetime

from drivers.printer.base import (
    Field,
    Paragraph,
    QrCode,
    ReceiptDocument,
    Reference,
    Rule,
    Space,
    Title,
)
from kiosk import formats, i18n
from kiosk.api import contract as c
from kiosk.i18n import N_

# Hong Kong and Macau keep UTC+8 all year (neither has had daylight saving since 1979), so a
# fixed offset is right and needs no tz database on the kiosk.
LOCAL_TIME = dt.timezone(dt.timedelta(hours=8))

# BCP 47 tags for the document's (informational) language field.
_TAGS = {"zh_Hant_HK": "zh-Hant-HK", "zh_Hans_CN": "zh-Hans-CN", "en": "en-HK", "pt_MO": "pt-MO"}

OUTCOME_KEYS = {
    "approved": N_("paper.outcome_approved"),
    "manual_review": N_("paper.outcome_manual_review"),
    "appointment": N_("paper.outcome_appointment"),
    "pending": N_("paper.outcome_pending"),
}
ACCOUNT_KEYS = {
    c.AccountStatus.PAYING.value: N_("summary.account_paying"),
    c.AccountStatus.SUSPENDED.value: N_("summary.account_suspended"),
    c.AccountStatus.TERMINATED.value: N_("summary.account_terminated"),
}


class DocumentError(ValueError):
    """The flow asked for a document this module cannot print (a programming error)."""


def build(document: dict[str, Any], now: dt.datetime | None = None) -> ReceiptDocument:
    kind = document.get("kind")
    if kind == "receipt":
        return receipt(document, now)
    if kind == "statement":
        return statement(document, now)
    raise DocumentError(f"unknown document kind {kind!r}")


def _(key: str, language: str, **params) -> str:
    return i18n.text(key, language, **params)


def _when(value: str | dt.datetime | None, language: str, now: dt.datetime | None) -> str:
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    when = value or now or dt.datetime.now(dt.UTC)
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    local = when.astimezone(LOCAL_TIME).replace(tzinfo=None)
    return format_datetime(local, "medium", locale=formats.LOCALES.get(language, "en_HK"))


def _header(language: str, heading_key: str) -> list:
    return [
        Title(_("paper.bureau", language)),
        Paragraph(_(heading_key, language), align="center", size="large", bold=True),
        Rule(),
    ]


def _place(document: dict[str, Any], language: str) -> list:
    return [
        Field(_("paper.kiosk", language), str(document.get("kiosk_id") or "")),
        Field(_("paper.site", language), str(document.get("site") or "")),
    ]


def _next_due(value: str | None, language: str) -> list:
    if not value:
        return []
    day = dt.date.fromisoformat(value)
    return [Field(_("paper.next_due", language), formats.long_date(day, language))]


def receipt(document: dict[str, Any], now: dt.datetime | None = None) -> ReceiptDocument:
    language = document.get("language") or i18n.DEFAULT_LANGUAGE
    outcome = document.get("outcome") or "pending"
    if outcome not in OUTCOME_KEYS:
        raise DocumentError(f"no receipt text for outcome {outcome!r}")
    reference = document.get("reference")
    if not reference:
        raise DocumentError("a receipt needs a reference number")
    blocks = [
        *_header(language, N_("paper.certification")),
        Field(_("paper.time", language), _when(document.get("decided_at"), language, now)),
        *_place(document, language),
        Field(_("paper.result", language), _(OUTCOME_KEYS[outcome], language)),
        *_next_due(document.get("next_due"), language),
        Rule(),
        Reference(reference, label=_("paper.reference", language)),
        # The reference as a QR code: staff at a counter (or another kiosk) read it without
        # typing it; it holds the reference alone, nothing personal.
        QrCode(reference, caption=_("paper.qr", language)),
        Space(8),
        Paragraph(_("paper.keep", language), size="small"),
    ]
    return ReceiptDocument(tuple(blocks), language=_TAGS.get(language, language))


def statement(document: dict[str, Any], now: dt.datetime | None = None) -> ReceiptDocument:
    language = document.get("language") or i18n.DEFAULT_LANGUAGE
    raw = document.get("summary")
    if not raw:
        raise DocumentError("a statement needs the pension summary")
    s = c.PensionSummary.model_validate(raw)
    blocks = [
        *_header(language, N_("paper.statement")),
        Field(_("paper.time", language), _when(None, language, now)),
        *_place(document, language),
        Rule(),
        Field(_("summary.account_status", language), _(ACCOUNT_KEYS[s.account_status], language)),
        Field(
            _("summary.monthly_amount", language),
            formats.money(s.monthly_amount, s.currency, language),
        ),
        Field(_("summary.bank", language), f"{s.bank_name} {s.bank_account_masked}"),
        Field(
            _("summary.next_due", language), formats.long_date(s.next_certification_due, language)
        ),
        Rule(),
        Paragraph(_("paper.statement_note", language), size="small"),
    ]
    return ReceiptDocument(tuple(blocks), language=_TAGS.get(language, language))
