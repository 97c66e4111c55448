"""The kiosk's client of the bureau's API.

Every call: a timeout; a fresh transport signature per attempt (kiosk/api/signing.py) with
the clock corrected by the offset learnt from the server; retries for calls that are safe to
repeat (reads, and submissions through their idempotency key); the answer parsed into the
contract's models; failures raised as the error tree of kiosk/api/errors.py.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import uuid
from collections.abc import Callable
from typing import TypeVar
from urllib.parse import quote, urlencode, urlsplit

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import BaseModel, ValidationError

from kiosk.api import contract as c
from kiosk.api import signing
from kiosk.api.errors import (
    ApiError,
    AuthRejected,
    ContractError,
    NetworkError,
    RateLimited,
    Rejected,
    ServerError,
)
from kiosk.api.transport import RawResponse, RequestsTransport, Transport

M = TypeVar("M", bound=BaseModel)


class ClockOffset:
    """Server time minus local time, learnt from X-Server-Time. The estimate from the
    round trip with the smallest delay wins, as in NTP's clock filter."""

    def __init__(self):
        self._lock = threading.Lock()
        self.offset = 0.0
        self._best_rtt = float("inf")
        self._samples = 0

    def observe(
        self, server_time: float, sent: float, received: float, *, force: bool = False
    ) -> None:
        rtt = max(received - sent, 0.0)
        estimate = server_time - (sent + received) / 2
        with self._lock:
            self._samples += 1
            # A rejected timestamp means the old estimate is wrong, whatever its round trip.
            if force or rtt <= self._best_rtt * 1.5 or self._samples % 20 == 0:
                self.offset = estimate
                self._best_rtt = min(rtt, self._best_rtt) if not force else rtt


class KioskApiClient:
    def __init__(
        self,
        base_url: str,
        kiosk_id: str,
        key: Ed25519PrivateKey,
        *,
        transport: Transport | None = None,
        connect_timeout: float = 3.0,
        read_timeout: float = 10.0,
        retries: int = 2,
        backoff_s: float = 0.5,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ):
        if not base_url.startswith(("http://", "https://")):
            raise ValueError("backend_url must start with http:// or https://")
        self.base_url = base_url.rstrip("/")
        self._base_path = urlsplit(self.base_url).path
        self.kiosk_id = kiosk_id
        self._key = key
        self.transport = transport or RequestsTransport()
        self.timeout = (connect_timeout, read_timeout)
        self.retries = retries
        self.backoff_s = backoff_s
        self._clock = clock
        self._sleep = sleep
        self.clock_offset = ClockOffset()

    # ------------------------------------------------------------------ API calls

    def health(self) -> c.Health:
        return self._call("GET", "/health", None, c.Health, idempotent=True, signed=False)

    def identify(self, doc_type: c.DocumentType, number: str, date_of_birth) -> c.IdentifyResponse:
        body = c.IdentifyRequest(
            document_type=doc_type, document_number=number, date_of_birth=date_of_birth
        )
        # A lookup: repeating it changes nothing but the rate-limit count.
        return self._call("POST", "/identify", body, c.IdentifyResponse, idempotent=True)

    def start_session(self, subject_token: str, purpose: c.Purpose) -> c.SessionInfo:
        body = c.StartSessionRequest(subject_token=subject_token, purpose=purpose)
        return self._call("POST", "/sessions", body, c.SessionInfo, idempotent=False)

    def get_session(self, session_id: str) -> c.SessionInfo:
        return self._call(
            "GET", f"/sessions/{quote(session_id, safe='')}", None, c.SessionInfo, idempotent=True
        )

    def evidence_key(self) -> c.EvidenceKey:
        return self._call("GET", "/evidence-key", None, c.EvidenceKey, idempotent=True)

    def ecard_keys(self) -> c.ECardKeys:
        """The public keys e-cards are signed with (kiosk/api/ecard.py `trusted_keys`)."""
        return self._call("GET", "/ecard-keys", None, c.ECardKeys, idempotent=True)

    def submit_evidence(
        self,
        session_id: str,
        evidence: c.SealedEvidence,
        idempotency_key: str | None = None,
        *,
        deferred: bool = False,
    ) -> c.Decision:
        """Safe to call again with the same key after a lost answer: the back end returns
        the first decision and records nothing new."""
        key = idempotency_key or new_idempotency_key()
        return self._call(
            "POST",
            f"/sessions/{quote(session_id, safe='')}/evidence",
            evidence,
            c.Decision,
            idempotent=True,
            headers={c.H_IDEMPOTENCY_KEY: key, **({c.H_DEFERRED: "1"} if deferred else {})},
        )

    def pension_summary(self, session_id: str) -> c.PensionSummary:
        return self._call(
            "GET",
            f"/sessions/{quote(session_id, safe='')}/pension",
            None,
            c.PensionSummary,
            idempotent=True,
        )

    def payments(self, session_id: str, page: int = 1, page_size: int = 12) -> c.PaymentPage:
        return self._call(
            "GET",
            f"/sessions/{quote(session_id, safe='')}/payments",
            None,
            c.PaymentPage,
            idempotent=True,
            params={"page": page, "page_size": page_size},
        )

    def receipt(self, reference: str) -> c.Receipt:
        return self._call(
            "GET", f"/receipts/{quote(reference, safe='')}", None, c.Receipt, idempotent=True
        )

    def heartbeat(self, report: c.HeartbeatRequest) -> c.HeartbeatResponse:
        return self._call("POST", "/heartbeat", report, c.HeartbeatResponse, idempotent=True)

    def close(self) -> None:
        self.transport.close()

    # ------------------------------------------------------------------ machinery

    def now(self) -> float:
        """This kiosk's best estimate of the server's clock."""
        return self._clock() + self.clock_offset.offset

    def _call(
        self,
        method: str,
        path: str,
        body: BaseModel | None,
        model: type[M],
        *,
        idempotent: bool,
        signed: bool = True,
        params: dict | None = None,
        headers: dict[str, str] | None = None,
    ) -> M:
        target = self._base_path + c.API_PREFIX + path
        if params:
            target += "?" + urlencode(params)
        url = self.base_url[: len(self.base_url) - len(self._base_path)] + target
        payload = body.model_dump_json().encode() if body is not None else b""
        attempts = 1 + (self.retries if idempotent else 0)
        clock_fixed = False
        attempt = 0
        while True:
            attempt += 1
            try:
                return self._attempt(method, url, target, payload, model, signed, headers)
            except AuthRejected as exc:
                # The server refused our clock, not the request: correct and sign again,
                # once, whatever the call (nothing was processed).
                if exc.code == c.ProblemCode.STALE_TIMESTAMP and not clock_fixed:
                    clock_fixed = True
                    continue
                raise
            except RateLimited as exc:
                if attempt >= attempts or (exc.retry_after_s or 0) > 5:
                    raise
                self._sleep(float(exc.retry_after_s or self.backoff_s))
            except (NetworkError, ServerError):
                if attempt >= attempts:
                    raise
                self._sleep(self.backoff_s * (2 ** (attempt - 1)))

    def _attempt(self, method, url, target, payload, model, signed, extra_headers):
        headers = {"Accept": "application/json", "User-Agent": "jiangmen-kiosk/0.1"}
        if payload:
            headers["Content-Type"] = "application/json"
        if extra_headers:
            headers.update(extra_headers)
        if signed:
            ts = round(self.now())
            headers.update(
                signing.sign_request(
                    self._key, self.kiosk_id, method, target, payload, ts
                ).as_dict()
            )
        sent = self._clock()
        raw = self.transport.send(method, url, headers, payload, self.timeout)
        received = self._clock()
        self._learn_clock(raw, sent, received)
        if 200 <= raw.status < 300:
            try:
                return model.model_validate_json(raw.content)
            except ValidationError as exc:
                raise ContractError(
                    f"{method} {target}: answer does not match the contract", status=raw.status
                ) from exc
        raise self._problem(raw, sent, received)

    def _learn_clock(self, raw: RawResponse, sent: float, received: float) -> None:
        stamp = raw.headers.get(c.H_SERVER_TIME.lower())
        if stamp:
            with contextlib.suppress(ValueError):
                self.clock_offset.observe(float(stamp), sent, received)

    def _problem(self, raw: RawResponse, sent: float, received: float) -> ApiError:
        code = None
        retry_after = None
        detail = f"HTTP {raw.status}"
        if raw.headers.get("content-type", "").startswith(c.PROBLEM_CONTENT_TYPE):
            try:
                problem = c.Problem.model_validate(json.loads(raw.content))
                code = problem.code.value
                retry_after = problem.retry_after_s
                detail = f"{raw.status} {code}" + (f": {problem.detail}" if problem.detail else "")
                if problem.code == c.ProblemCode.STALE_TIMESTAMP and problem.server_time:
                    self.clock_offset.observe(problem.server_time, sent, received, force=True)
            except (ValueError, ValidationError):
                pass
        if raw.status >= 500:
            return ServerError(detail, status=raw.status, code=code)
        if raw.status in (401, 403):
            return AuthRejected(detail, status=raw.status, code=code)
        if raw.status == 429:
            return RateLimited(detail, status=raw.status, code=code, retry_after_s=retry_after)
        if 400 <= raw.status < 500:
            return Rejected(detail, status=raw.status, code=code)
        return ContractError(detail, status=raw.status, code=code)


def new_idempotency_key() -> str:
    return "ev-" + uuid.uuid4().hex
