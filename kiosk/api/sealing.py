"""The evidence signature: signed once at capture by the device key, encrypted to the back end.

Part of the contract: the kiosk seals, the back end opens, both with this module.

    payload   = EvidencePayload as JSON (the capture, bound to evidence id, kiosk, session,
                the session's server nonce and the sealing time)
    signature = Ed25519(device key, "KIOSK-EVIDENCE-V1\\n" + payload)
    key       = HKDF-SHA256(X25519(ephemeral, back end's evidence key), info = scheme)
    sealed    = AES-256-GCM(key, 12-byte nonce, signature || payload,
                            aad = scheme | evidence id | kiosk id)

The kiosk keeps only `sealed` (its outbox cannot read evidence back); the back end checks
the signature against the kiosk's registered key after decrypting, so a sealed package
cannot be re-attributed, and a changed byte anywhere fails the AEAD tag.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import os

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pydantic import ValidationError

from kiosk.api import contract as c

SCHEME = "X25519-HKDF-SHA256-AES-256-GCM+Ed25519/v1"
_SIG_CONTEXT = b"KIOSK-EVIDENCE-V1\n"


class EvidenceInvalid(ValueError):
    """The package cannot be opened or does not verify; `reason` is a stable word."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)


def x25519_public_b64(key: X25519PublicKey) -> str:
    return _b64(key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))


def load_x25519_public(text: str) -> X25519PublicKey:
    try:
        raw = _unb64(text.strip())
    except (binascii.Error, ValueError) as exc:
        raise ValueError("evidence key is not base64") from exc
    if len(raw) != 32:
        raise ValueError("an X25519 public key is 32 bytes")
    return X25519PublicKey.from_public_bytes(raw)


def key_id(key: X25519PublicKey) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def _aad(evidence_id: str, kiosk_id: str) -> bytes:
    return f"{SCHEME}|{evidence_id}|{kiosk_id}".encode()


def _derive(shared: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=SCHEME.encode()).derive(
        shared
    )


def seal(
    payload: c.EvidencePayload,
    device_key: Ed25519PrivateKey,
    backend_key: X25519PublicKey,
) -> c.SealedEvidence:
    body = payload.model_dump_json().encode()
    signature = device_key.sign(_SIG_CONTEXT + body)
    ephemeral = X25519PrivateKey.generate()
    key = _derive(ephemeral.exchange(backend_key))
    nonce = os.urandom(12)
    ciphertext = AESGCM(key).encrypt(
        nonce, signature + body, _aad(payload.evidence_id, payload.kiosk_id)
    )
    return c.SealedEvidence(
        version=1,
        evidence_id=payload.evidence_id,
        kiosk_id=payload.kiosk_id,
        key_id=key_id(backend_key),
        ephemeral_key=x25519_public_b64(ephemeral.public_key()),
        nonce=_b64(nonce),
        ciphertext=_b64(ciphertext),
    )


def open_sealed(
    sealed: c.SealedEvidence,
    backend_key: X25519PrivateKey,
    kiosk_key: Ed25519PublicKey,
) -> c.EvidencePayload:
    """Decrypts and verifies; raises EvidenceInvalid with a reason word on any failure."""
    if sealed.key_id != key_id(backend_key.public_key()):
        raise EvidenceInvalid("unknown_key")
    try:
        peer = load_x25519_public(sealed.ephemeral_key)
        nonce = _unb64(sealed.nonce)
        ciphertext = _unb64(sealed.ciphertext)
    except (binascii.Error, ValueError) as exc:
        raise EvidenceInvalid("malformed") from exc
    if len(nonce) != 12:
        raise EvidenceInvalid("malformed")
    try:
        key = _derive(backend_key.exchange(peer))
        plain = AESGCM(key).decrypt(nonce, ciphertext, _aad(sealed.evidence_id, sealed.kiosk_id))
    except (InvalidTag, ValueError) as exc:
        raise EvidenceInvalid("undecryptable") from exc
    signature, body = plain[:64], plain[64:]
    try:
        kiosk_key.verify(signature, _SIG_CONTEXT + body)
    except InvalidSignature as exc:
        raise EvidenceInvalid("bad_signature") from exc
    try:
        payload = c.EvidencePayload.model_validate_json(body)
    except ValidationError as exc:
        raise EvidenceInvalid("malformed") from exc
    if payload.evidence_id != sealed.evidence_id or payload.kiosk_id != sealed.kiosk_id:
        raise EvidenceInvalid("binding")
    return payload


def new_payload(
    capture: c.EvidenceRequest,
    *,
    evidence_id: str,
    kiosk_id: str,
    session_id: str,
    server_nonce: str,
    now: dt.datetime,
) -> c.EvidencePayload:
    return c.EvidencePayload(
        evidence_id=evidence_id,
        kiosk_id=kiosk_id,
        session_id=session_id,
        server_nonce=server_nonce,
        sealed_at=now,
        capture=capture,
    )
