"""The back end's e-card signing keys, and issuing e-cards (the format: kiosk/api/ecard.py).

The keys live in one file (setting `ecard_key_path`), created on first use with mode 0600,
like the evidence key. It holds one or more PEM private keys, oldest first, each preceded by
RFC 7468 explanatory lines giving its validity::

    Valid-From: 2026-11-28T07:07:25+00:00
    Valid-Until: 2027-11-28T00:00:00+00:00      (only on a retired key)
    -----BEGIN PRIVATE KEY-----
    ...
    -----END PRIVATE KEY-----

The current key (the newest one that is not retired) signs new cards. `rotate` retires it
(its cards stay valid until they expire) and adds a new one. To *revoke* a key (it leaked),
delete its block: every card it signed is then refused as `ecard_unknown_key`.
Kiosks learn the public halves from `GET /api/v1/ecard-keys`; the file is re-read when it
changes, so a rotation by `kiosk-backend ecard rotate` shows without a restart.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kiosk.api import contract as c
from kiosk.api import ecard

_BEGIN = "-----BEGIN PRIVATE KEY-----"
_END = "-----END PRIVATE KEY-----"
_HEADER = "# Jiangmen kiosk e-card signing keys (kiosk-backend ecard). Oldest first. Keep secret.\n"


@dataclass(frozen=True)
class SigningKey:
    private: Ed25519PrivateKey
    valid_from: dt.datetime
    valid_until: dt.datetime | None = None

    @property
    def key_id(self) -> str:
        return ecard.key_id(self.private)

    def public(self) -> c.ECardKey:
        return c.ECardKey(
            key_id=self.key_id,
            public_key=ecard.public_key_b64(self.private.public_key()),
            valid_from=self.valid_from,
            valid_until=self.valid_until,
        )


def _time(text: str, path: Path) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise ValueError(f"{path}: bad time {text.strip()!r}") from exc
    if value.tzinfo is None:
        raise ValueError(f"{path}: time without a zone: {text.strip()!r}")
    return value


def parse_file(text: str, path: Path) -> list[SigningKey]:
    keys: list[SigningKey] = []
    attrs: dict[str, str] = {}
    block: list[str] | None = None
    for line in text.splitlines():
        stripped = line.strip()
        if block is not None:
            block.append(stripped)
            if stripped == _END:
                key = serialization.load_pem_private_key("\n".join(block).encode(), None)
                if not isinstance(key, Ed25519PrivateKey):
                    raise ValueError(f"{path} holds a key that is not Ed25519")
                if "valid-from" not in attrs:
                    raise ValueError(f"{path}: a key without Valid-From")
                until = attrs.get("valid-until")
                keys.append(
                    SigningKey(
                        key,
                        _time(attrs["valid-from"], path),
                        _time(until, path) if until else None,
                    )
                )
                attrs, block = {}, None
        elif stripped == _BEGIN:
            block = [stripped]
        elif ":" in stripped and not stripped.startswith("#"):
            name, value = stripped.split(":", 1)
            attrs[name.strip().lower()] = value.strip()
    if block is not None:
        raise ValueError(f"{path}: a key block is not closed")
    if not keys:
        raise ValueError(f"{path} holds no e-card key")
    return keys


def format_file(keys: list[SigningKey]) -> str:
    out = [_HEADER]
    for k in keys:
        pem = k.private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        out.append(f"Valid-From: {k.valid_from.isoformat()}\n")
        if k.valid_until is not None:
            out.append(f"Valid-Until: {k.valid_until.isoformat()}\n")
        out.append(pem)
    return "".join(out)


def _write_private(path: Path, text: str, *, replace: bool) -> bool:
    """Writes `text` to a 0600 temporary file beside `path`, then links it in: a reader never
    sees a half-written file. Without `replace`, returns False when `path` already exists."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        if replace:
            os.replace(tmp, path)
            return True
        try:
            os.link(tmp, path)
        except FileExistsError:  # another process made it first: use theirs
            return False
        return True
    finally:
        tmp.unlink(missing_ok=True)


class ECardKeyring:
    """The key file, loaded (or created) on first use, so commands that never touch
    e-cards (such as `openapi`) never create it; re-read when the file changes."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._lock = threading.Lock()
        self._keys: list[SigningKey] | None = None
        self._stamp: tuple[int, int] | None = None

    def keys(self, now: dt.datetime) -> list[SigningKey]:
        """Every key, oldest first; creates the file with one key valid from `now`."""
        with self._lock:
            return list(self._load(now))

    def _load(self, now: dt.datetime) -> list[SigningKey]:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            first = SigningKey(Ed25519PrivateKey.generate(), _whole(now))
            _write_private(self.path, format_file([first]), replace=False)
            st = self.path.stat()
        stamp = (st.st_mtime_ns, st.st_size)
        if self._keys is None or stamp != self._stamp:
            self._keys = parse_file(self.path.read_text(encoding="ascii"), self.path)
            self._stamp = stamp
        return self._keys

    def current(self, now: dt.datetime) -> SigningKey:
        """The key that signs new cards: the newest one not retired and already valid."""
        for k in reversed(self.keys(now)):
            if k.valid_until is None and k.valid_from <= now:
                return k
        raise LookupError(f"no current e-card key in {self.path}: run `kiosk-backend ecard rotate`")

    def rotate(self, now: dt.datetime) -> SigningKey:
        """Retires the current key(s) and adds a new current key, valid from `now`. Card
        times are whole seconds: the old key is retired from the next whole second, so a
        card it signed in the second of the rotation is not refused (the keys overlap by
        less than a second; new cards are signed by the new key at once)."""
        with self._lock:
            start = _whole(now)
            until = start + dt.timedelta(seconds=1)
            keys = [
                SigningKey(k.private, k.valid_from, until) if k.valid_until is None else k
                for k in self._load(now)
            ]
            new = SigningKey(Ed25519PrivateKey.generate(), start)
            _write_private(self.path, format_file([*keys, new]), replace=True)
            self._keys = None
            return new

    def public(self, now: dt.datetime) -> c.ECardKeys:
        return c.ECardKeys(format=ecard.FORMAT, keys=[k.public() for k in self.keys(now)])


def _whole(t: dt.datetime) -> dt.datetime:
    """Whole seconds, as e-card times are: a key is never valid from a fraction after the
    second its first card says it was issued."""
    return t.replace(microsecond=0)


_RINGS_LOCK = threading.Lock()


def keyring(app) -> ECardKeyring:
    """The app's keyring, made on first use from its settings (`app.state.ecard_keys`)."""
    ring = getattr(app.state, "ecard_keys", None)
    if ring is None:
        with _RINGS_LOCK:
            ring = getattr(app.state, "ecard_keys", None)
            if ring is None:
                ring = ECardKeyring(app.state.settings.ecard_key_path)
                app.state.ecard_keys = ring
    return ring


# ---------------------------------------------------------------------------- issuing


def issue_card(
    ring: ECardKeyring,
    document_type: c.DocumentType | str,
    document_number: str,
    date_of_birth: dt.date,
    now: dt.datetime,
    days: int,
) -> tuple[str, ecard.Claims]:
    """An e-card for the document, signed by the current key, valid `days` days."""
    if days < 1:
        raise ValueError("an e-card is valid for at least one day")
    claims = ecard.new_claims(
        document_type, document_number, date_of_birth, now, dt.timedelta(days=days)
    )
    key = ring.current(now)
    text = ecard.issue(claims, key.private, key.key_id)
    return text, ecard.parse(text)


def pick_document(documents: list[tuple[str, str]], doc_type: str | None) -> tuple[str, str]:
    """(type, number): the first document, or the first of `doc_type`."""
    for kind, number in documents:
        if doc_type is None or kind == doc_type:
            return kind, number
    have = ", ".join(kind for kind, _ in documents) or "none"
    raise LookupError(f"no {doc_type} document (has: {have})")


def write_qr_png(text: str, path: str | Path, *, module_px: int = 8) -> Path:
    """The QR code of `text` (error correction M, a 4-module quiet zone) as a PNG file with
    `module_px` pixels per module."""
    import cv2
    import numpy as np

    params = cv2.QRCodeEncoder.Params()
    params.correction_level = cv2.QRCodeEncoder_CORRECT_LEVEL_M
    try:
        img = np.asarray(cv2.QRCodeEncoder.create(params).encode(text))
    except cv2.error as exc:
        raise ValueError(f"payload does not fit a QR code: {exc}") from exc
    dark = img < 128
    rows = np.flatnonzero(dark.any(axis=1))
    cols = np.flatnonzero(dark.any(axis=0))
    symbol = dark[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    symbol = np.pad(symbol, 4, constant_values=False)
    picture = np.where(symbol, 0, 255).astype(np.uint8)
    picture = np.repeat(np.repeat(picture, module_px, axis=0), module_px, axis=1)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ok, png = cv2.imencode(".png", picture)
    if not ok:  # pragma: no cover
        raise ValueError("could not encode the PNG")
    path.write_bytes(png.tobytes())
    return path
