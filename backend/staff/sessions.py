"""Server-side staff sessions: a random token in an HttpOnly, SameSite=Strict cookie (Secure on
HTTPS), only its hash in the database; an idle and an absolute timeout read from the injected
clock; a CSRF token per session that every POST must carry as a form field.

Before sign-in there is no session, so the sign-in form is protected by a double-submit token:
a random value in a short-lived cookie that the form must repeat.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import delete, or_
from sqlalchemy.orm import Session

from backend.models import StaffSession, StaffUser
from backend.settings import BackendSettings

COOKIE = "jm_staff"
LOGIN_COOKIE = "jm_staff_login"
CSRF_FIELD = "csrf_token"
PATH = "/staff"


def _sha(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Current:
    """The signed-in user of a request."""

    user: StaffUser
    session: StaffSession
    token: str

    @property
    def csrf(self) -> str:
        return self.session.csrf_token


def purge_expired(db: Session, now: dt.datetime, s: BackendSettings) -> None:
    idle = now - dt.timedelta(seconds=s.staff_session_idle_s)
    oldest = now - dt.timedelta(seconds=s.staff_session_max_s)
    db.execute(
        delete(StaffSession).where(
            or_(StaffSession.last_seen_at <= idle, StaffSession.created_at <= oldest)
        )
    )


def create(db: Session, now: dt.datetime, user: StaffUser, s: BackendSettings) -> str:
    """A new session for `user` (committed); returns the cookie's token. A new token at each
    sign-in: a token planted before sign-in never becomes a session."""
    purge_expired(db, now, s)
    token = secrets.token_urlsafe(32)
    db.add(
        StaffSession(
            token_hash=_sha(token),
            user_id=user.id,
            csrf_token=secrets.token_urlsafe(32),
            created_at=now,
            last_seen_at=now,
        )
    )
    db.commit()
    return token


def load(db: Session, now: dt.datetime, token: str | None, s: BackendSettings) -> Current | None:
    """The live session of a cookie, its idle clock restarted; None when there is none or it
    has run out (an expired one is deleted)."""
    if not token or len(token) > 128:
        return None
    row = db.get(StaffSession, _sha(token))
    if row is None:
        return None
    user = db.get(StaffUser, row.user_id)
    idle = now - row.last_seen_at > dt.timedelta(seconds=s.staff_session_idle_s)
    old = now - row.created_at > dt.timedelta(seconds=s.staff_session_max_s)
    if idle or old or user is None or user.disabled:
        db.delete(row)
        db.commit()
        return None
    row.last_seen_at = now
    db.commit()
    return Current(user, row, token)


def destroy(db: Session, token: str | None) -> None:
    if token:
        db.execute(delete(StaffSession).where(StaffSession.token_hash == _sha(token)))
        db.commit()


def destroy_all(db: Session, user_id: int) -> None:
    db.execute(delete(StaffSession).where(StaffSession.user_id == user_id))
    db.commit()


def tokens_match(expected: str | None, submitted: str | None) -> bool:
    if not expected or not submitted:
        return False
    return hmac.compare_digest(expected.encode(), submitted.encode())


def new_login_token() -> str:
    return secrets.token_urlsafe(24)


def cookie_options(secure: bool) -> dict:
    return {"httponly": True, "samesite": "strict", "secure": secure, "path": PATH}
