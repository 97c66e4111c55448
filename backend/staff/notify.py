"""Telling a resident of a review decision (an SMS), through a pluggable notifier.

A notification is recorded in the decision's transaction (status `pending`), like an outbox,
and handed to the notifier after the commit: a decision that rolls back sends nothing, and a
gateway that fails leaves a `failed` row to retry. The table and the log hold a masked number
only (`+852 ****3891`); the notifier gets the full number at send time.

The default `LogNotifier` sends nothing: it logs the message (masked) and marks it `sent`.
`KIOSK_BACKEND_NOTIFIER=module:factory` names a callable that takes the settings and returns
an object with `name` and `send(phone, kind, reference)`.
"""

from __future__ import annotations

import datetime as dt
import importlib
import logging
import re
from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker

from backend.models import Notification, Pensioner
from backend.settings import BackendSettings

log = logging.getLogger(__name__)

# Message kinds: the gateway (or a template service) renders them in the resident's language.
REVIEW_APPROVED = "review_approved"
REVIEW_REJECTED = "review_rejected"
REVIEW_APPOINTMENT = "review_appointment"


class Notifier(Protocol):
    name: str

    def send(self, phone: str, kind: str, reference: str | None) -> None:
        """Deliver one message or raise."""


def mask_phone(phone: str | None) -> str | None:
    """`+852 90953891` -> `+852 ****3891`: the country code and the last four digits."""
    if not phone:
        return None
    digits = re.sub(r"\D", "", phone)
    m = re.match(r"^\s*\+(\d{1,3})\s", phone)
    country = f"+{m.group(1)} " if m else ""
    local = digits[len(m.group(1)) :] if m else digits
    if len(local) <= 4:
        return country + "*" * len(local)
    return country + "*" * (len(local) - 4) + local[-4:]


class LogNotifier:
    """No gateway: the message goes to the log, with the number masked."""

    name = "log"

    def send(self, phone: str, kind: str, reference: str | None) -> None:
        log.info("notification %s for receipt %s to %s", kind, reference, mask_phone(phone))


def from_settings(s: BackendSettings) -> Notifier:
    if s.notifier == "log":
        return LogNotifier()
    module, _, attr = s.notifier.partition(":")
    if not module or not attr:
        raise ValueError(f"notifier {s.notifier!r}: 'log' or 'module:factory'")
    factory = getattr(importlib.import_module(module), attr)
    return factory(s)


def record(
    db: Session,
    now: dt.datetime,
    notifier: Notifier,
    pensioner: Pensioner,
    kind: str,
    reference: str | None,
) -> Notification:
    """Adds the notification in the caller's transaction."""
    row = Notification(
        pensioner_id=pensioner.id,
        reference=reference,
        channel="sms",
        kind=kind,
        recipient_masked=mask_phone(pensioner.phone),
        notifier=notifier.name,
        status="pending" if pensioner.phone else "no_recipient",
        created_at=now,
    )
    db.add(row)
    return row


def deliver(
    sessions: sessionmaker[Session], notifier: Notifier, notification_id: int, now: dt.datetime
) -> str:
    """Sends one recorded notification (after its transaction committed); returns its status."""
    with sessions() as db:
        row = db.get(Notification, notification_id)
        if row is None or row.status != "pending":
            return row.status if row else "missing"
        person = db.get(Pensioner, row.pensioner_id)
        try:
            notifier.send(person.phone, row.kind, row.reference)
        except Exception as exc:  # noqa: BLE001 - a gateway's failure is recorded, not raised
            log.warning("notification %s failed: %s", row.id, type(exc).__name__)
            row.status = "failed"
        else:
            row.status = "sent"
            row.sent_at = now
        db.commit()
        return row.status
