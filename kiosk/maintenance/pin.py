"""The technician PIN: stored as a slow salted hash (scrypt), never as digits, and the lockout
after too many wrong PINs, kept in a file beside it so that a restart changes nothing.

Files in the kiosk's data directory (both mode 0600, written atomically):

- `maintenance-pin`: one line `scrypt$n=32768,r=8,p=1$<salt>$<hash>` (base64; 16 random bytes
  of salt for each PIN set, a 32-byte hash). Written by `kiosk maintenance set-pin`. The
  parameters travel with the hash, so a stronger setting later still verifies older PINs.
- `maintenance-lockout.json`: `{"failures": 3, "locked_until": null}`: how many wrong PINs in a
  row, and until when (Unix time) entry is refused. Written by the flow
  (kiosk/flow/maintenance.py) through `PinStore` after every wrong and every right PIN.

`verify_pin` costs about 0.17 s and 32 MiB on the kiosk's CPU (n = 2^15, r = 8): the runner
calls it on a worker thread, never on the UI's.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import logging
import os
import re
import tempfile
from pathlib import Path

from kiosk.flow.maintenance import Lockout

log = logging.getLogger(__name__)

PIN_FILE = "maintenance-pin"
LOCKOUT_FILE = "maintenance-lockout.json"
MIN_DIGITS, MAX_DIGITS = 6, 12

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1
HASH_BYTES = 32
SALT_BYTES = 16
# What a stored hash may ask for: a tampered file must not make the kiosk allocate gigabytes.
MAX_N, MAX_R, MAX_P = 2**20, 32, 16
_MAXMEM = 2**30

_STORED = re.compile(r"^scrypt\$n=(\d+),r=(\d+),p=(\d+)\$([A-Za-z0-9+/]+=*)\$([A-Za-z0-9+/]+=*)$")


class PinError(ValueError):
    """A PIN that cannot be set; the message is one line for the technician."""


def trivial(pin: str) -> bool:
    """Too easy to guess: fewer than three different digits (000000, 121212, 112211), a run
    up or down (123456, 654321, 890123) or a short pattern repeated (123123, 12341234)."""
    if len(set(pin)) < 3:
        return True
    steps = {(int(b) - int(a)) % 10 for a, b in itertools.pairwise(pin)}
    if steps in ({1}, {9}):
        return True
    for period in range(1, len(pin) // 2 + 1):
        if len(pin) % period == 0 and pin == pin[:period] * (len(pin) // period):
            return True
    return False


def validate_new_pin(pin: str) -> None:
    """Raises PinError unless `pin` is 6 to 12 digits and not trivial."""
    if not pin.isascii() or not pin.isdigit():
        raise PinError("the PIN is digits only")
    if not MIN_DIGITS <= len(pin) <= MAX_DIGITS:
        raise PinError(f"the PIN has {MIN_DIGITS} to {MAX_DIGITS} digits (got {len(pin)})")
    if trivial(pin):
        raise PinError("the PIN is too easy to guess (repeated digits, a run or a pattern)")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def hash_pin(
    pin: str,
    *,
    n: int = SCRYPT_N,
    r: int = SCRYPT_R,
    p: int = SCRYPT_P,
    salt: bytes | None = None,
) -> str:
    """The stored form of `pin`: `scrypt$n=..,r=..,p=..$<salt>$<hash>`."""
    salt = os.urandom(SALT_BYTES) if salt is None else salt
    digest = hashlib.scrypt(
        pin.encode("ascii"), salt=salt, n=n, r=r, p=p, maxmem=_MAXMEM, dklen=HASH_BYTES
    )
    return f"scrypt$n={n},r={r},p={p}${_b64(salt)}${_b64(digest)}"


def parse(stored: str) -> tuple[int, int, int, bytes, bytes]:
    """(n, r, p, salt, hash) of a stored hash; ValueError when it is not one we would write."""
    m = _STORED.match(stored.strip())
    if not m:
        raise ValueError("not an scrypt PIN hash")
    n, r, p = (int(g) for g in m.groups()[:3])
    if n < 2 or n & (n - 1) or n > MAX_N or not 1 <= r <= MAX_R or not 1 <= p <= MAX_P:
        raise ValueError("scrypt parameters out of range")
    salt, digest = base64.b64decode(m.group(4)), base64.b64decode(m.group(5))
    if len(salt) < 8 or len(digest) < 16:
        raise ValueError("salt or hash too short")
    return n, r, p, salt, digest


def verify_pin(pin: str, stored: str) -> bool:
    """Whether `pin` is the PIN `stored` was made from (constant-time comparison). A stored
    value that is not a valid hash raises ValueError."""
    n, r, p, salt, digest = parse(stored)
    if not pin.isascii():
        return False
    candidate = hashlib.scrypt(
        pin.encode("ascii"), salt=salt, n=n, r=r, p=p, maxmem=_MAXMEM, dklen=len(digest)
    )
    return hmac.compare_digest(candidate, digest)


def write_private(path: Path, data: bytes) -> None:
    """Writes `data` to `path` atomically, readable by this user only (0600)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), 0o600)
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class PinStore:
    """The PIN hash and the lockout state in the data directory: the flow's maintenance store
    (kiosk.flow.maintenance.Store)."""

    def __init__(self, data_dir: Path):
        self.data_dir = Path(data_dir)
        self.pin_path = self.data_dir / PIN_FILE
        self.lockout_path = self.data_dir / LOCKOUT_FILE

    def pin_hash(self) -> str | None:
        """The stored hash, or None when no PIN is set (or the file is not a valid hash:
        maintenance then stays closed, as without a PIN)."""
        try:
            stored = self.pin_path.read_text(encoding="ascii").strip()
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as exc:
            log.error("maintenance PIN file %s unreadable: %s", self.pin_path, type(exc).__name__)
            return None
        try:
            parse(stored)
        except ValueError as exc:
            log.error("maintenance PIN file %s is not a PIN hash: %s", self.pin_path, exc)
            return None
        return stored

    def set_pin(self, pin: str, **cost) -> None:
        """Validates and stores a new PIN; a new PIN also ends any lockout."""
        validate_new_pin(pin)
        write_private(self.pin_path, (hash_pin(pin, **cost) + "\n").encode("ascii"))
        self.save_lockout(Lockout())

    def load_lockout(self) -> Lockout:
        try:
            data = json.loads(self.lockout_path.read_text(encoding="utf-8"))
            failures = int(data.get("failures", 0))
            until = data.get("locked_until")
            return Lockout(max(0, failures), float(until) if until is not None else None)
        except FileNotFoundError:
            return Lockout()
        except (OSError, ValueError, TypeError, AttributeError) as exc:
            # A damaged file must not open the lock: treat it as locked from now on.
            log.error("maintenance lockout file unreadable (%s): locked", type(exc).__name__)
            return Lockout.damaged()

    def save_lockout(self, lockout: Lockout) -> None:
        data = {"failures": lockout.failures, "locked_until": lockout.locked_until}
        write_private(self.lockout_path, json.dumps(data).encode("utf-8"))
