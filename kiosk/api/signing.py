"""Transport signatures: every HTTP request a kiosk sends is signed by its Ed25519 device key.

Part of the contract, shared by the kiosk (which signs) and the back end (which verifies), so
both build the signed string in exactly one place.

The signed string is the UTF-8 encoding of these lines, joined by "\\n":

    KIOSK-ED25519-V1
    <METHOD, upper case>
    <path with its query string, as sent>
    <SHA-256 of the body, lower-case hex; of b"" when there is none>
    <timestamp: integer Unix seconds>
    <nonce: 16..64 URL-safe characters, fresh for every attempt>
    <kiosk id>

Retries happen above this layer: each attempt gets a new timestamp and nonce, so a retried
request is never mistaken for a replay, and a replayed one is always caught.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import secrets
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from kiosk.api import contract as c

SCHEME = "KIOSK-ED25519-V1"
NONCE_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
KIOSK_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def body_digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def signed_string(
    method: str, path: str, body: bytes, timestamp: int, nonce: str, kiosk_id: str
) -> bytes:
    lines = [SCHEME, method.upper(), path, body_digest(body), str(timestamp), nonce, kiosk_id]
    return "\n".join(lines).encode()


def new_nonce() -> str:
    return secrets.token_urlsafe(18)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)


def public_key_b64(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return b64(raw)


def load_public_key(text: str) -> Ed25519PublicKey:
    """Accepts the raw 32-byte key in base64, or a PEM SubjectPublicKeyInfo."""
    text = text.strip()
    if text.startswith("-----BEGIN"):
        key = serialization.load_pem_public_key(text.encode())
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError("not an Ed25519 public key")
        return key
    try:
        raw = unb64(text)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("public key is neither PEM nor base64") from exc
    if len(raw) != 32:
        raise ValueError("an Ed25519 public key is 32 bytes")
    return Ed25519PublicKey.from_public_bytes(raw)


def key_fingerprint(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "SHA256:" + hashlib.sha256(raw).hexdigest()[:32]


@dataclass(frozen=True)
class SignedHeaders:
    kiosk_id: str
    timestamp: int
    nonce: str
    signature: str

    def as_dict(self) -> dict[str, str]:
        return {
            c.H_KIOSK_ID: self.kiosk_id,
            c.H_TIMESTAMP: str(self.timestamp),
            c.H_NONCE: self.nonce,
            c.H_SIGNATURE: self.signature,
        }


def sign_request(
    key: Ed25519PrivateKey,
    kiosk_id: str,
    method: str,
    path: str,
    body: bytes,
    timestamp: int,
    nonce: str | None = None,
) -> SignedHeaders:
    nonce = nonce or new_nonce()
    sig = key.sign(signed_string(method, path, body, timestamp, nonce, kiosk_id))
    return SignedHeaders(kiosk_id, timestamp, nonce, b64(sig))


class SignatureInvalid(Exception):
    """The headers are malformed or the signature does not verify."""


def parse_headers(headers) -> SignedHeaders:
    """Reads the four signature headers; raises KeyError when one is missing."""
    kiosk_id = headers[c.H_KIOSK_ID]
    ts_text = headers[c.H_TIMESTAMP]
    nonce = headers[c.H_NONCE]
    signature = headers[c.H_SIGNATURE]
    if not KIOSK_ID_RE.match(kiosk_id):
        raise SignatureInvalid("malformed kiosk id")
    if not re.fullmatch(r"\d{1,12}", ts_text):
        raise SignatureInvalid("malformed timestamp")
    if not NONCE_RE.match(nonce):
        raise SignatureInvalid("malformed nonce")
    return SignedHeaders(kiosk_id, int(ts_text), nonce, signature)


def verify(
    key: Ed25519PublicKey, signed: SignedHeaders, method: str, path: str, body: bytes
) -> None:
    try:
        sig = unb64(signed.signature)
    except (binascii.Error, ValueError) as exc:
        raise SignatureInvalid("signature is not base64") from exc
    message = signed_string(method, path, body, signed.timestamp, signed.nonce, signed.kiosk_id)
    try:
        key.verify(sig, message)
    except InvalidSignature as exc:
        raise SignatureInvalid("signature does not verify") from exc
