"""The e-card: a signed identity payload the resident shows as a QR code ("scan my QR e-card").

Part of the contract: the back end issues e-cards (`kiosk-backend ecard issue`), the kiosk
reads them from the camera or a keyboard-wedge scanner (drivers/reader) and verifies them
with the public keys of `GET /api/v1/ecard-keys`. Both sides use this module; it imports
only the standard library, `cryptography` and the contract.

Format, version 1 (235 to 251 ASCII characters, depending on the document: a version 11 QR
code, 61 modules square, at error correction M, which a phone screen or a printed card
carries comfortably)::

    JMEC1.<claims>.<signature>

- `claims`: base64url, without padding, of the canonical JSON of the claims: keys sorted,
  no whitespace, ASCII only (`json.dumps(c, sort_keys=True, separators=(",", ":"))`)::

      {"b":"1946-03-12","e":1767225600,"i":1735689600,"k":"3f2a...","n":"PC106658(5)",
       "t":"hkid","v":1}

  `v` format version (1, the same as the prefix's); `k` key id (16 lower-case hex digits:
  the first 8 bytes of SHA-256 of the raw Ed25519 public key); `t` document type (a
  `DocumentType` value); `n` document number in the canonical form of
  kiosk/api/documents.py (e.g. `A123456(3)`, `1234567(8)`); `b` date of birth
  (ISO 8601); `i` issued at and `e` expires at (integer Unix seconds, UTC).
  One-letter names keep the code small; no name is carried, only what identify needs.
- `signature`: base64url, without padding, of the 64-byte Ed25519 signature of the ASCII
  text `JMEC1.<claims>` (the prefix is signed too, so a payload cannot be relabelled).

Choices: JSON (not a binary layout) so the format is inspectable with standard tools;
base64url (not base32) because phones' wallet apps and scanners pass it through unchanged;
canonical JSON and canonical base64 are *required* on reading (anything else is
`ecard_malformed`), so one card has exactly one spelling and nothing in it is malleable.

Reading tolerates what scanners do to text: surrounding whitespace and CR/LF, an AIM
symbology identifier (`]Q1`) in front, and a scanner or keyboard with Caps Lock on (the
whole text arrives with its case swapped: `jmec1.` is read back by swapping the case). Input
longer than `MAX_TEXT` characters is refused before any decoding.

Errors: `ECardError(key)`, a message key, and nothing else, whatever the input:

- `ecard_unreadable`: not an e-card at all (wrong prefix, empty, too long, not text);
- `ecard_unsupported_version`: an e-card of a format version this kiosk does not know;
- `ecard_malformed`: the right prefix, but the structure, encoding or claims are wrong
  (a damaged or truncated scan);
- `ecard_unknown_key`: signed by a key this kiosk does not trust (forged, or a revoked key);
- `ecard_bad_signature`: the signature does not verify (forged or tampered claims);
- `ecard_key_not_valid`: issued outside the validity of its key (a retired key);
- `ecard_not_yet_valid`: issued in the future (beyond the clock leeway);
- `ecard_expired`: past its expiry;
- `ecard_document_invalid`: the document number fails kiosk/api/documents.py (or a PRC ID's
  birth date differs from the card's); `detail` carries the `doc_*` key for the logs.

Keys: a *retired* key (`valid_until` set) still verifies the cards it issued before then,
until they expire; a *revoked* key is simply left out of the key set (`ecard_unknown_key`).
Retiring is for routine rotation only: the issue time is the card's own claim, so a key
that may have leaked must be revoked.

Privacy: a card carries a document number and a birth date (what the keypad would ask
for), no name, nothing biometric; it identifies, it does not authenticate: the biometric
check still follows, as after typing the number.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from kiosk.api import contract as c
from kiosk.api import documents
from kiosk.api.contract import DocumentType

VERSION = 1
PREFIX = f"JMEC{VERSION}."
FORMAT = f"JMEC{VERSION}"
MAX_TEXT = 1024  # characters; a version 1 e-card is about 250
DEFAULT_LEEWAY_S = 300  # clock difference tolerated for "issued in the future"

UNREADABLE = "ecard_unreadable"
UNSUPPORTED_VERSION = "ecard_unsupported_version"
MALFORMED = "ecard_malformed"
UNKNOWN_KEY = "ecard_unknown_key"
BAD_SIGNATURE = "ecard_bad_signature"
KEY_NOT_VALID = "ecard_key_not_valid"
NOT_YET_VALID = "ecard_not_yet_valid"
EXPIRED = "ecard_expired"
DOCUMENT_INVALID = "ecard_document_invalid"

MESSAGE_KEYS = (
    UNREADABLE,
    UNSUPPORTED_VERSION,
    MALFORMED,
    UNKNOWN_KEY,
    BAD_SIGNATURE,
    KEY_NOT_VALID,
    NOT_YET_VALID,
    EXPIRED,
    DOCUMENT_INVALID,
)

_CLAIM_NAMES = frozenset("vktnbie")
_KEY_ID_RE = re.compile(r"^[0-9a-f]{16}$")
_NUMBER_RE = re.compile(r"^[A-Z0-9()]{1,32}$")
_DATE_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_B64URL_RE = re.compile(r"^[A-Za-z0-9_-]+$")
_VERSIONED_RE = re.compile(r"^JMEC([0-9]{1,6})\.")
_AIM_RE = re.compile(r"^\]Q[0-6]")  # ISO/IEC 15424 symbology identifier for QR Code
_MAX_TS = 253402300799  # 9999-12-31T23:59:59Z


class ECardError(ValueError):
    """Carries a message key the UI can show (`key`, also `message_key`), and a `detail`
    for logs that is never shown to the resident."""

    def __init__(self, key: str, detail: str = ""):
        super().__init__(key + (f": {detail}" if detail else ""))
        self.key = key
        self.detail = detail

    @property
    def message_key(self) -> str:
        return self.key


@dataclass(frozen=True)
class Claims:
    """What an e-card says. Times are aware UTC datetimes, whole seconds."""

    document_type: DocumentType
    document_number: str  # canonical form (kiosk/api/documents.py)
    date_of_birth: dt.date
    issued_at: dt.datetime
    expires_at: dt.datetime
    key_id: str = ""  # set by `issue`
    version: int = VERSION


@dataclass(frozen=True)
class TrustedKey:
    """A public key with its validity: cards issued before `valid_from` or at/after
    `valid_until` (a retired key) are refused. None: no bound."""

    public_key: Ed25519PublicKey
    valid_from: dt.datetime | None = None
    valid_until: dt.datetime | None = None


# ---------------------------------------------------------------------------- keys


def key_id(key: Ed25519PublicKey | Ed25519PrivateKey) -> str:
    """16 lower-case hex digits naming a key: SHA-256 of the raw public key, first 8 bytes."""
    if isinstance(key, Ed25519PrivateKey):
        key = key.public_key()
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def public_key_b64(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode("ascii")


def trusted_keys(answer: c.ECardKeys) -> dict[str, TrustedKey]:
    """The key set of a `GET /ecard-keys` answer, ready for `verify`. Raises ValueError when
    a key is not a 32-byte Ed25519 key in base64, or its id does not match the key."""
    out: dict[str, TrustedKey] = {}
    for k in answer.keys:
        try:
            raw = base64.b64decode(k.public_key.encode("ascii"), validate=True)
        except (binascii.Error, ValueError, UnicodeEncodeError) as exc:
            raise ValueError(f"e-card key {k.key_id} is not base64") from exc
        if len(raw) != 32:
            raise ValueError(f"e-card key {k.key_id} is not 32 bytes")
        public = Ed25519PublicKey.from_public_bytes(raw)
        if key_id(public) != k.key_id:
            raise ValueError(f"e-card key {k.key_id} does not match its id")
        out[k.key_id] = TrustedKey(public, k.valid_from, k.valid_until)
    return out


# ---------------------------------------------------------------------------- issue


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64url(text: str) -> bytes:
    """Strict: the base64url alphabet only, no padding, and the canonical spelling (the
    unused low bits of the last character are zero)."""
    if not _B64URL_RE.match(text) or len(text) % 4 == 1:
        raise ValueError("not base64url")
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if _b64url(data) != text:
        raise ValueError("not canonical base64url")
    return data


def _canonical_json(obj: dict) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def _timestamp(value: dt.datetime, what: str) -> int:
    if not isinstance(value, dt.datetime) or value.tzinfo is None:
        raise ECardError(MALFORMED, f"{what} must be an aware datetime")
    return int(value.timestamp() // 1)


def new_claims(
    document_type: DocumentType | str,
    document_number: str,
    date_of_birth: dt.date,
    issued_at: dt.datetime,
    valid_for: dt.timedelta,
) -> Claims:
    """Claims for a card issued at `issued_at` and valid for `valid_for`; the number is
    normalised and checked (ECardError(ecard_document_invalid) when it fails)."""
    doc = _check_document(DocumentType(document_type), document_number, date_of_birth)
    issued = dt.datetime.fromtimestamp(_timestamp(issued_at, "issued_at"), dt.UTC)
    return Claims(doc.doc_type, doc.number, date_of_birth, issued, issued + valid_for)


def issue(claims: Claims, private_key: Ed25519PrivateKey, key_id: str) -> str:
    """The e-card text of `claims`, signed by `private_key` under `key_id`.

    The document number is normalised first; a number that fails documents.py, a birth date
    that differs from a PRC ID's, or times that are not aware or not in order raise
    `ECardError` (an issuer's bug: nothing invalid is ever signed)."""
    if not _KEY_ID_RE.match(key_id or ""):
        raise ECardError(MALFORMED, "key id is not 16 lower-case hex digits")
    if not isinstance(claims.date_of_birth, dt.date) or isinstance(
        claims.date_of_birth, dt.datetime
    ):
        raise ECardError(MALFORMED, "date_of_birth must be a date")
    doc = _check_document(claims.document_type, claims.document_number, claims.date_of_birth)
    iat = _timestamp(claims.issued_at, "issued_at")
    exp = _timestamp(claims.expires_at, "expires_at")
    if not 0 <= iat < exp <= _MAX_TS:
        raise ECardError(MALFORMED, "expires_at must follow issued_at")
    body = {
        "v": VERSION,
        "k": key_id,
        "t": doc.doc_type.value,
        "n": doc.number,
        "b": claims.date_of_birth.isoformat(),
        "i": iat,
        "e": exp,
    }
    signed = PREFIX + _b64url(_canonical_json(body))
    text = signed + "." + _b64url(private_key.sign(signed.encode("ascii")))
    if len(text) > MAX_TEXT:  # pragma: no cover - claims are bounded well below this
        raise ECardError(MALFORMED, "e-card too long")
    return text


def _check_document(
    doc_type: DocumentType | str, number: str, date_of_birth: dt.date
) -> documents.ParsedDocument:
    try:
        doc = documents.parse(doc_type, number)
        documents.check_birth_date(doc, date_of_birth)
    except documents.DocumentError as exc:
        raise ECardError(DOCUMENT_INVALID, exc.key) from exc
    except ValueError as exc:  # not a DocumentType
        raise ECardError(DOCUMENT_INVALID, "unknown document type") from exc
    return doc


# ---------------------------------------------------------------------------- read


def _clean(text: object) -> str:
    """The scanned text as the format knows it, or ECardError(ecard_unreadable)."""
    if isinstance(text, (bytes, bytearray, memoryview)):
        if len(text) > MAX_TEXT:
            raise ECardError(UNREADABLE, "too long")
        try:
            text = bytes(text).decode("ascii")
        except UnicodeDecodeError as exc:
            raise ECardError(UNREADABLE, "not ASCII") from exc
    if not isinstance(text, str):
        raise ECardError(UNREADABLE, f"not text: {type(text).__name__}")
    if len(text) > MAX_TEXT:
        raise ECardError(UNREADABLE, "too long")
    text = text.strip()
    if _AIM_RE.match(text):
        text = text[3:].lstrip()
    if text[:4] == "jmec":  # Caps Lock on the scanner or keyboard: every letter swapped
        text = text.swapcase()
    if not text.startswith("JMEC"):
        raise ECardError(UNREADABLE, "no e-card prefix")
    if not text.isascii():
        raise ECardError(MALFORMED, "not ASCII")
    return text


def _split(text: object) -> tuple[Claims, bytes, bytes]:
    """(claims, signed message, signature); format checks only."""
    text = _clean(text)
    m = _VERSIONED_RE.match(text)
    if m is None:
        raise ECardError(UNREADABLE, "no e-card prefix")
    if m.group(1) != str(VERSION):
        raise ECardError(UNSUPPORTED_VERSION, f"version {m.group(1)}")
    parts = text[len(PREFIX) :].split(".")
    if len(parts) != 2:
        raise ECardError(MALFORMED, "expected two dot-separated parts")
    try:
        body = _unb64url(parts[0])
        signature = _unb64url(parts[1])
    except (binascii.Error, ValueError) as exc:
        raise ECardError(MALFORMED, "bad base64url") from exc
    if len(signature) != 64:
        raise ECardError(MALFORMED, "signature is not 64 bytes")
    claims = _claims(body)
    return claims, (PREFIX + parts[0]).encode("ascii"), signature


def _no_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def _claims(body: bytes) -> Claims:
    try:
        obj = json.loads(body.decode("utf-8"), parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise ECardError(MALFORMED, "claims are not JSON") from exc
    if not isinstance(obj, dict) or set(obj) != _CLAIM_NAMES:
        raise ECardError(MALFORMED, "claims are not the version 1 set")
    if _canonical_json(obj) != body:
        raise ECardError(MALFORMED, "claims are not canonical JSON")
    v, k, t, n, b, i, e = (obj[name] for name in "vktnbie")
    ints = (v, i, e)
    if any(type(x) is not int for x in ints) or v != VERSION:
        raise ECardError(MALFORMED, "bad version or times")
    if not all(isinstance(x, str) for x in (k, t, n, b)):
        raise ECardError(MALFORMED, "bad claim types")
    if not _KEY_ID_RE.match(k):
        raise ECardError(MALFORMED, "bad key id")
    try:
        doc_type = DocumentType(t)
    except ValueError as exc:
        raise ECardError(MALFORMED, "unknown document type") from exc
    if not _NUMBER_RE.match(n):
        raise ECardError(MALFORMED, "bad document number")
    if not _DATE_RE.match(b):
        raise ECardError(MALFORMED, "bad date of birth")
    try:
        born = dt.date.fromisoformat(b)
    except ValueError as exc:
        raise ECardError(MALFORMED, "bad date of birth") from exc
    if not 0 <= i < e <= _MAX_TS:
        raise ECardError(MALFORMED, "bad validity period")
    return Claims(
        document_type=doc_type,
        document_number=n,
        date_of_birth=born,
        issued_at=dt.datetime.fromtimestamp(i, dt.UTC),
        expires_at=dt.datetime.fromtimestamp(e, dt.UTC),
        key_id=k,
        version=v,
    )


def parse(text: object) -> Claims:
    """The claims of an e-card, checking the format only (not the signature, the key, the
    dates or the document number). Raises ECardError(ecard_unreadable |
    ecard_unsupported_version | ecard_malformed) and nothing else, whatever `text` is."""
    try:
        return _split(text)[0]
    except ECardError:
        raise
    except Exception as exc:
        raise ECardError(MALFORMED, f"{type(exc).__name__}") from exc


def _instant(now: dt.datetime | float) -> dt.datetime:
    if isinstance(now, dt.datetime):
        if now.tzinfo is None:
            raise ValueError("now must be an aware datetime")
        return now
    return dt.datetime.fromtimestamp(float(now), dt.UTC)


def verify(
    text: object,
    public_keys: Mapping[str, Ed25519PublicKey | TrustedKey],
    now: dt.datetime | float,
    *,
    leeway_s: float = DEFAULT_LEEWAY_S,
) -> Claims:
    """The claims of an authentic, currently valid e-card.

    Checks, in this order: the format (`parse`), the key id is in `public_keys`, the
    signature, the key's validity at the card's issue time, not issued in the future (more
    than `leeway_s` ahead of `now`), not expired (`now` at or after `expires_at`), the
    document number by documents.py. `now` is an aware datetime or Unix seconds (the kiosk
    passes its server-corrected clock). Raises ECardError and nothing else for any `text`.
    """
    at = _instant(now)
    try:
        return _verify(text, public_keys, at, leeway_s)
    except ECardError:
        raise
    except Exception as exc:
        raise ECardError(MALFORMED, f"{type(exc).__name__}") from exc


def _verify(
    text: object,
    public_keys: Mapping[str, Ed25519PublicKey | TrustedKey],
    now: dt.datetime,
    leeway_s: float,
) -> Claims:
    claims, message, signature = _split(text)
    entry = public_keys.get(claims.key_id)
    if entry is None:
        raise ECardError(UNKNOWN_KEY, claims.key_id)
    trusted = entry if isinstance(entry, TrustedKey) else TrustedKey(entry)
    try:
        trusted.public_key.verify(signature, message)
    except InvalidSignature as exc:
        raise ECardError(BAD_SIGNATURE, claims.key_id) from exc
    if (trusted.valid_from is not None and claims.issued_at < trusted.valid_from) or (
        trusted.valid_until is not None and claims.issued_at >= trusted.valid_until
    ):
        raise ECardError(KEY_NOT_VALID, claims.key_id)
    if claims.issued_at > now + dt.timedelta(seconds=leeway_s):
        raise ECardError(NOT_YET_VALID, claims.issued_at.isoformat())
    if now >= claims.expires_at:
        raise ECardError(EXPIRED, claims.expires_at.isoformat())
    doc = _check_document(claims.document_type, claims.document_number, claims.date_of_birth)
    if doc.number != claims.document_number:
        raise ECardError(DOCUMENT_INVALID, "number not in canonical form")
    return claims
