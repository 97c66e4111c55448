"""Pension facts derived from stored ones: certification status, masking, receipt numbers."""

from __future__ import annotations

import datetime as dt
import secrets

from backend.settings import BackendSettings
from kiosk.api.contract import CertificationStatus

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def certification_status(
    next_due: dt.date, last_certified: dt.date | None, today: dt.date, s: BackendSettings
) -> CertificationStatus:
    if today > next_due + dt.timedelta(days=s.suspension_after_overdue_days):
        return CertificationStatus.SUSPENDED
    if today > next_due:
        return CertificationStatus.OVERDUE
    if today >= next_due - dt.timedelta(days=s.certification_window_days):
        return CertificationStatus.DUE
    return CertificationStatus.DONE


def mask_name_zh(name: str) -> str:
    """陳大文 -> 陳*文; 李明 -> 李*; keeps the surname and the last character."""
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def mask_name_en(name: str) -> str:
    """CHAN Tai Man -> CHAN T** M**: the surname, then each given name's initial."""
    parts = name.split()
    if not parts:
        return ""
    return " ".join([parts[0]] + [p[0] + "*" * (len(p) - 1) for p in parts[1:]])


def mask_account(last4: str) -> str:
    return "**** **** " + last4


def new_reference(today: dt.date) -> str:
    """JM + date + 8 random Crockford base-32 characters: unguessable, easy to read aloud."""
    tail = "".join(secrets.choice(_CROCKFORD) for _ in range(8))
    return f"JM{today:%y%m%d}-{tail}"
