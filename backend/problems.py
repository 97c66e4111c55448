"""Errors as RFC 9457 problem+json with stable codes (kiosk.api.contract.ProblemCode)."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from kiosk.api.contract import PROBLEM_CONTENT_TYPE, ProblemCode

log = logging.getLogger(__name__)

TITLES = {
    ProblemCode.UNAUTHENTICATED: "Request is not signed",
    ProblemCode.UNKNOWN_DEVICE: "Unknown kiosk",
    ProblemCode.DEVICE_REVOKED: "Kiosk revoked",
    ProblemCode.BAD_SIGNATURE: "Signature does not verify",
    ProblemCode.STALE_TIMESTAMP: "Timestamp outside the accepted window",
    ProblemCode.REPLAYED_NONCE: "Nonce already used",
    ProblemCode.VALIDATION_FAILED: "Request does not match the contract",
    ProblemCode.NOT_FOUND: "Not found",
    ProblemCode.RATE_LIMITED: "Too many requests",
    ProblemCode.SESSION_EXPIRED: "Session expired",
    ProblemCode.SESSION_CLOSED: "Session no longer accepts evidence",
    ProblemCode.BIOMETRIC_CHECK_REQUIRED: "Biometric check required",
    ProblemCode.SIMULATED_EVIDENCE_FORBIDDEN: "Simulated evidence from a non-demo kiosk",
    ProblemCode.MODALITY_NOT_ALLOWED: "Modality not allowed now",
    ProblemCode.FINGER_NOT_ENROLLED: "No reference for that finger",
    ProblemCode.NO_ATTEMPTS_LEFT: "No attempts left",
    ProblemCode.IDEMPOTENCY_KEY_REQUIRED: "Idempotency-Key header required",
    ProblemCode.IDEMPOTENCY_CONFLICT: "Idempotency key reused with a different request",
    ProblemCode.TEMPLATE_MISMATCH: "Template does not fit the modality",
    ProblemCode.EVIDENCE_INVALID: "Evidence cannot be opened or does not verify",
    ProblemCode.EVIDENCE_EXPIRED: "Evidence outside its validity window",
    ProblemCode.EVIDENCE_REPLAYED: "Evidence already submitted",
    ProblemCode.PAYLOAD_TOO_LARGE: "Request body too large",
    ProblemCode.METHOD_NOT_ALLOWED: "Method not allowed",
    ProblemCode.INTERNAL_ERROR: "Internal error",
}


class ApiProblem(Exception):
    def __init__(
        self,
        status: int,
        code: ProblemCode,
        detail: str | None = None,
        *,
        server_time: float | None = None,
        retry_after_s: int | None = None,
    ):
        super().__init__(detail or code.value)
        self.status = status
        self.code = code
        self.detail = detail
        self.server_time = server_time
        self.retry_after_s = retry_after_s


def problem_response(
    status: int,
    code: ProblemCode,
    detail: str | None = None,
    *,
    server_time: float | None = None,
    retry_after_s: int | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict = {
        "type": f"urn:jiangmen-kiosk:problem:{code.value}",
        "title": TITLES[code],
        "status": status,
        "code": code.value,
    }
    if detail:
        body["detail"] = detail
    if server_time is not None:
        body["server_time"] = server_time
    headers = dict(headers or {})
    if retry_after_s is not None:
        body["retry_after_s"] = retry_after_s
        headers["Retry-After"] = str(retry_after_s)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_CONTENT_TYPE, headers=headers)


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiProblem)
    async def _api_problem(_request: Request, exc: ApiProblem):
        return problem_response(
            exc.status,
            exc.code,
            exc.detail,
            server_time=exc.server_time,
            retry_after_s=exc.retry_after_s,
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError):
        # Say where, never echo the input back (it may hold personal data).
        where = sorted({".".join(str(p) for p in e.get("loc", ())) for e in exc.errors()})
        return problem_response(
            422, ProblemCode.VALIDATION_FAILED, "invalid: " + ", ".join(where)[:300]
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException):
        code = {
            404: ProblemCode.NOT_FOUND,
            405: ProblemCode.METHOD_NOT_ALLOWED,
            413: ProblemCode.PAYLOAD_TOO_LARGE,
        }.get(exc.status_code, ProblemCode.VALIDATION_FAILED)
        # Keep the framework's headers: a 405 must say what is allowed (RFC 9110, Allow).
        return problem_response(exc.status_code, code, headers=exc.headers)

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception):
        log.exception("unhandled error: %s", type(exc).__name__)
        return problem_response(500, ProblemCode.INTERNAL_ERROR)
