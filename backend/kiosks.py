"""Kiosk registration and revocation (admin commands)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend import audit
from backend.models import Kiosk
from kiosk.api import signing


def register(
    db: Session, now: dt.datetime, kiosk_id: str, site: str, public_key: str, demo: bool = False
) -> Kiosk:
    """Enrols a kiosk's public key; registering an existing id replaces its key (a swapped
    kiosk PC) and reactivates it."""
    if not signing.KIOSK_ID_RE.match(kiosk_id):
        raise ValueError("kiosk id: letters, digits, '.', '_' and '-', at most 64")
    key = signing.load_public_key(public_key)
    raw = signing.public_key_b64(key)
    kiosk = db.get(Kiosk, kiosk_id)
    if kiosk is None:
        kiosk = Kiosk(id=kiosk_id, registered_at=now)
        db.add(kiosk)
    kiosk.site = site
    kiosk.public_key = raw
    kiosk.state = "active"
    kiosk.is_demo = demo
    kiosk.revoked_at = None
    audit.append(
        db,
        now,
        "admin",
        "kiosk_registered",
        f"kiosk:{kiosk_id}",
        {"demo": demo, "key": signing.key_fingerprint(key)},
    )
    db.commit()
    return kiosk


def revoke(db: Session, now: dt.datetime, kiosk_id: str) -> None:
    kiosk = db.get(Kiosk, kiosk_id)
    if kiosk is None:
        raise LookupError(f"no kiosk {kiosk_id}")
    kiosk.state = "revoked"
    kiosk.revoked_at = now
    audit.append(db, now, "admin", "kiosk_revoked", f"kiosk:{kiosk_id}")
    db.commit()


def list_kiosks(db: Session) -> list[Kiosk]:
    return list(db.scalars(select(Kiosk).order_by(Kiosk.id)))
