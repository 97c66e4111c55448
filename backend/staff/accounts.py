"""Staff accounts: roles, scrypt password hashes, TOTP second factor (RFC 6238), lockout.

A sign-in needs the password and a current one-time code. Each failure (either factor) counts;
`staff_login_failures` of them in a row lock the account for `staff_lockout_s` seconds, during
which even the right password and code are refused. A one-time code is accepted once: a code
of the same or an earlier time step is refused after a successful sign-in.
"""

from __future__ import annotations

import base64
import datetime as dt
import enum
import functools
import hashlib
import hmac
import re
import secrets
import struct
from dataclasses import dataclass
from urllib.parse import quote

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend import audit
from backend.models import StaffUser
from backend.settings import BackendSettings


class Role(enum.StrEnum):
    REVIEWER = "reviewer"  # the review console
    TECHNICIAN = "technician"  # the fleet page
    ADMIN = "admin"  # both


class Area(enum.StrEnum):
    REVIEW = "review"
    FLEET = "fleet"


AREA_ROLES = {
    Area.REVIEW: {Role.REVIEWER, Role.ADMIN},
    Area.FLEET: {Role.TECHNICIAN, Role.ADMIN},
}


def may_enter(role: str, area: Area) -> bool:
    return role in {r.value for r in AREA_ROLES[area]}


USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{2,31}$")
MIN_PASSWORD = 12
TOTP_ISSUER = "Jiangmen pension kiosk"
TOTP_STEP_S = 30
TOTP_DIGITS = 6

# --------------------------------------------------------------------------- passwords

# scrypt, N = 2**15, r = 8, p = 1: 32 MiB and about 0.1 s per guess on a server core. The
# parameters are stored with each hash, so they can be raised without invalidating old ones.
SCRYPT_LOG_N, SCRYPT_R, SCRYPT_P = 15, 8, 1
_MAXMEM = 256 * 1024 * 1024


def _scrypt(password: str, salt: bytes, log_n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=2**log_n, r=r, p=p, maxmem=_MAXMEM, dklen=32
    )


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4))


def hash_password(password: str) -> str:
    """`scrypt$<log2 N>$<r>$<p>$<salt>$<hash>`, with a random 16-byte salt."""
    salt = secrets.token_bytes(16)
    digest = _scrypt(password, salt, SCRYPT_LOG_N, SCRYPT_R, SCRYPT_P)
    return f"scrypt${SCRYPT_LOG_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def verify_password(stored: str, password: str) -> bool:
    try:
        scheme, log_n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        got = _scrypt(password, _unb64(salt), int(log_n), int(r), int(p))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, _unb64(digest))


@functools.cache
def _dummy_hash() -> str:
    """Compared against when the username is unknown, so both answers take as long."""
    return hash_password(secrets.token_urlsafe(16))


def password_problem(password: str) -> str | None:
    """Why a new password is refused, or None."""
    if len(password) < MIN_PASSWORD:
        return f"a password needs at least {MIN_PASSWORD} characters"
    if len(password) > 256:
        return "a password has at most 256 characters"
    return None


# --------------------------------------------------------------------------- TOTP


def new_totp_secret() -> str:
    """20 random bytes (the RFC 4226 recommendation for SHA-1), base32 without padding."""
    return base64.b32encode(secrets.token_bytes(20)).decode().rstrip("=")


def _secret_bytes(secret_b32: str) -> bytes:
    s = secret_b32.strip().replace(" ", "").upper()
    return base64.b32decode(s + "=" * (-len(s) % 8))


def hotp(key: bytes, counter: int, digits: int = TOTP_DIGITS, digest: str = "sha1") -> str:
    """RFC 4226: HMAC of the big-endian counter, dynamic truncation, `digits` decimals."""
    mac = hmac.new(key, struct.pack(">Q", counter), digest).digest()
    offset = mac[-1] & 0x0F
    value = struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(value % 10**digits).zfill(digits)


def totp_step(t: float, step_s: int = TOTP_STEP_S) -> int:
    return int(t // step_s)


def totp(
    key: bytes,
    t: float,
    *,
    digits: int = TOTP_DIGITS,
    digest: str = "sha1",
    step_s: int = TOTP_STEP_S,
) -> str:
    """RFC 6238: HOTP of the number of `step_s` periods since the Unix epoch."""
    return hotp(key, totp_step(t, step_s), digits, digest)


def totp_now(secret_b32: str, t: float) -> str:
    """The code an authenticator app shows at time `t` for this account's secret."""
    return totp(_secret_bytes(secret_b32), t)


def match_totp(secret_b32: str, code: str, t: float, last_step: int | None) -> int | None:
    """The time step `code` belongs to (one step either side of `t` is accepted for clock
    drift), or None; a step at or before `last_step` (already used) never matches."""
    code = code.strip().replace(" ", "")
    if not re.fullmatch(rf"\d{{{TOTP_DIGITS}}}", code):
        return None
    key = _secret_bytes(secret_b32)
    now = totp_step(t)
    found = None
    for step in (now - 1, now, now + 1):
        # Every candidate is computed and compared, whichever matches: no timing hint.
        if hmac.compare_digest(hotp(key, step), code) and (last_step is None or step > last_step):
            found = step
    return found


def provisioning_uri(username: str, secret_b32: str, issuer: str = TOTP_ISSUER) -> str:
    """The otpauth:// URI an authenticator app reads (as text or as a QR code)."""
    label = quote(f"{issuer}:{username}")
    return (
        f"otpauth://totp/{label}?secret={secret_b32}&issuer={quote(issuer)}"
        f"&algorithm=SHA1&digits={TOTP_DIGITS}&period={TOTP_STEP_S}"
    )


# --------------------------------------------------------------------------- accounts


def find(db: Session, username: str) -> StaffUser | None:
    return db.scalar(select(StaffUser).where(StaffUser.username == username))


def create_user(
    db: Session, now: dt.datetime, username: str, role: str, password: str, actor: str = "admin"
) -> tuple[StaffUser, str]:
    """Adds a user (committed); returns it and the TOTP secret to hand over once."""
    if not USERNAME_RE.match(username):
        raise ValueError("username: 3..32 of a-z, 0-9, '.', '_', '-', starting with a letter/digit")
    if role not in {r.value for r in Role}:
        raise ValueError(f"role: one of {', '.join(r.value for r in Role)}")
    problem = password_problem(password)
    if problem:
        raise ValueError(problem)
    if find(db, username) is not None:
        raise ValueError(f"staff user {username!r} exists")
    secret = new_totp_secret()
    user = StaffUser(
        username=username,
        role=role,
        password_hash=hash_password(password),
        totp_secret=secret,
        failed_logins=0,
        disabled=False,
        created_at=now,
    )
    db.add(user)
    audit.append(db, now, actor, "staff_user_added", f"staff:{username}", {"role": role})
    db.commit()
    return user, secret


def unlock(db: Session, now: dt.datetime, username: str, actor: str = "admin") -> StaffUser:
    user = find(db, username)
    if user is None:
        raise LookupError(f"no staff user {username!r}")
    user.failed_logins = 0
    user.locked_until = None
    audit.append(db, now, actor, "staff_unlocked", f"staff:{username}")
    db.commit()
    return user


def is_locked(user: StaffUser, now: dt.datetime) -> bool:
    return user.locked_until is not None and now < user.locked_until


class LoginOutcome(enum.StrEnum):
    OK = "ok"
    FAILED = "failed"  # unknown user, wrong password or wrong code: one answer for all
    LOCKED = "locked"


@dataclass(frozen=True)
class LoginResult:
    outcome: LoginOutcome
    user: StaffUser | None = None


def sign_in(
    db: Session,
    now: dt.datetime,
    username: str,
    password: str,
    code: str,
    s: BackendSettings,
) -> LoginResult:
    """Checks both factors and keeps the failure count (committed)."""
    user = find(db, username) if USERNAME_RE.match(username) else None
    if user is None or user.disabled:
        verify_password(_dummy_hash(), password)
        # The typed name is not recorded: it might be a password typed in the wrong field.
        audit.append(db, now, "staff:?", "staff_login_failed", None, {"reason": "unknown"})
        db.commit()
        return LoginResult(LoginOutcome.FAILED)
    actor = f"staff:{user.username}"
    if is_locked(user, now):
        audit.append(db, now, actor, "staff_login_failed", None, {"reason": "locked"})
        db.commit()
        return LoginResult(LoginOutcome.LOCKED)
    if user.locked_until is not None:  # a lock that has run out starts a fresh count
        user.locked_until = None
        user.failed_logins = 0
    password_ok = verify_password(user.password_hash, password)
    step = match_totp(user.totp_secret, code, now.timestamp(), user.totp_last_step)
    if password_ok and step is not None:
        user.failed_logins = 0
        user.totp_last_step = step
        user.last_login_at = now
        audit.append(db, now, actor, "staff_login", None, {"role": user.role})
        db.commit()
        return LoginResult(LoginOutcome.OK, user)
    user.failed_logins += 1
    reason = "password" if not password_ok else "totp"
    audit.append(db, now, actor, "staff_login_failed", None, {"reason": reason})
    if user.failed_logins >= s.staff_login_failures:
        user.locked_until = now + dt.timedelta(seconds=s.staff_lockout_s)
        audit.append(db, now, actor, "staff_locked", None, {"failures": user.failed_logins})
        db.commit()
        return LoginResult(LoginOutcome.LOCKED)
    db.commit()
    return LoginResult(LoginOutcome.FAILED)


def list_users(db: Session) -> list[StaffUser]:
    return list(db.scalars(select(StaffUser).order_by(StaffUser.username)))
