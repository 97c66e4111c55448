"""HTTP transports for the API client: one primitive, `send`, so tests and the fault suite
can put their own underneath (a transport that drops responses, one that stalls).

The real transport is a `requests` Session: TLS verified against the system store or a
configured CA bundle, optionally pinned to the back end's certificate, and a timeout on
every call. It never retries: retries belong above the signing layer (kiosk/api/client.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import requests
from requests.adapters import HTTPAdapter

from kiosk.api.errors import ApiTimeout, NetworkError


@dataclass(frozen=True)
class RawResponse:
    status: int
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names
    content: bytes = b""


class Transport(Protocol):
    def send(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        body: bytes,
        timeout: tuple[float, float],
    ) -> RawResponse: ...

    def close(self) -> None: ...


class _PinnedAdapter(HTTPAdapter):
    def __init__(self, fingerprint: str, **kw):
        self._fingerprint = fingerprint
        super().__init__(**kw)

    def init_poolmanager(self, *args, **kwargs):
        kwargs["assert_fingerprint"] = self._fingerprint
        return super().init_poolmanager(*args, **kwargs)


class RequestsTransport:
    def __init__(self, ca_bundle: str | None = None, pin_sha256: str | None = None):
        self.session = requests.Session()
        self.session.trust_env = False  # no proxies or netrc picked up from the environment
        self.session.verify = ca_bundle or True
        if pin_sha256:
            pin = pin_sha256.replace(":", "").lower()
            if len(pin) != 64:
                raise ValueError("pin_sha256 is the SHA-256 of the certificate, 64 hex digits")
            self.session.mount("https://", _PinnedAdapter(pin))

    def send(self, method, url, headers, body, timeout) -> RawResponse:
        try:
            r = self.session.request(
                method,
                url,
                headers=headers,
                data=body or None,
                timeout=timeout,
                allow_redirects=False,
            )
        except requests.Timeout as exc:
            raise ApiTimeout(f"{method} timed out") from exc
        except requests.RequestException as exc:
            raise NetworkError(f"{method} failed: {type(exc).__name__}") from exc
        return RawResponse(r.status_code, {k.lower(): v for k, v in r.headers.items()}, r.content)

    def close(self) -> None:
        self.session.close()
