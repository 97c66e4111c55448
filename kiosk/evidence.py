"""Sealing captures into evidence packages, once, at capture (kiosk/api/sealing.py).

The back end's evidence key comes from the settings when the bureau gives it with the kiosk's
registration (`backend_evidence_key`), otherwise from the back end itself over the signed,
TLS-verified API, once, and is then kept for the life of the process. A copy is kept in the
data folder (a public key: nothing secret), so a kiosk restarted while the line to the bureau
is down can still seal a resident's capture for its outbox.
"""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections.abc import Callable

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey

from kiosk.api import contract as c
from kiosk.api import sealing


class Sealer:
    def __init__(
        self,
        kiosk_id: str,
        device_key: Ed25519PrivateKey,
        backend_key: Callable[[], X25519PublicKey],
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
        offset: Callable[[], float] = lambda: 0.0,
    ):
        self.kiosk_id = kiosk_id
        self._device_key = device_key
        self._backend_key_source = backend_key
        self._backend_key: X25519PublicKey | None = None
        self._lock = threading.Lock()
        self._now = now
        # Seconds to add to this machine's clock to get the back end's (the API client learns
        # it from X-Server-Time): capture and sealing times are stamped in the back end's
        # time, so a kiosk whose clock is off still has its evidence accepted.
        self._offset = offset

    def backend_key(self) -> X25519PublicKey:
        with self._lock:
            if self._backend_key is None:
                self._backend_key = self._backend_key_source()
            return self._backend_key

    def seal(
        self, capture: c.EvidenceRequest, session_id: str, server_nonce: str
    ) -> c.SealedEvidence:
        shift = dt.timedelta(seconds=self._offset())
        if shift:
            capture = capture.model_copy(update={"captured_at": capture.captured_at + shift})
        payload = sealing.new_payload(
            capture,
            evidence_id=str(uuid.uuid4()),
            kiosk_id=self.kiosk_id,
            session_id=session_id,
            server_nonce=server_nonce,
            now=self._now() + shift,
        )
        return sealing.seal(payload, self._device_key, self.backend_key())


def key_from_api(client) -> Callable[[], X25519PublicKey]:
    def fetch() -> X25519PublicKey:
        return sealing.load_x25519_public(client.evidence_key().public_key)

    return fetch


def key_from_setting(text: str) -> Callable[[], X25519PublicKey]:
    key = sealing.load_x25519_public(text)
    return lambda: key


def key_from_api_cached(client, path) -> Callable[[], X25519PublicKey]:
    """The key from the back end when it answers (the copy at `path` is refreshed), else
    the copy from the last time it did."""
    from pathlib import Path

    from kiosk.api.errors import ApiError

    copy = Path(path)

    def fetch() -> X25519PublicKey:
        try:
            text = client.evidence_key().public_key
        except ApiError:
            if not copy.exists():
                raise
            return sealing.load_x25519_public(copy.read_text(encoding="ascii"))
        key = sealing.load_x25519_public(text)
        copy.parent.mkdir(parents=True, exist_ok=True)
        tmp = copy.with_suffix(".tmp")
        tmp.write_text(text.strip() + "\n", encoding="ascii")
        tmp.replace(copy)
        return key

    return fetch
