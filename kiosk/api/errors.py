"""The client's error tree. The flow catches these and shows each one's message key.

ApiError
├── NetworkError            the back end could not be reached
│   └── ApiTimeout          it did not answer in time
├── Rejected                4xx: the back end refused this request (problem+json code)
│   ├── AuthRejected        401/403: this kiosk is unknown, revoked or mis-signing
│   └── RateLimited         429
├── ServerError             5xx
└── ContractError           an answer that does not match the contract
"""

from __future__ import annotations

from typing import ClassVar


class ApiError(Exception):
    message_key = "error_backend"

    def __init__(self, detail: str = "", *, status: int | None = None, code: str | None = None):
        super().__init__(detail or type(self).__name__)
        self.status = status
        self.code = code


class NetworkError(ApiError):
    message_key = "error_network"


class ApiTimeout(NetworkError):
    message_key = "error_timeout"


class Rejected(ApiError):
    message_key = "error_rejected"

    _KEYS: ClassVar[dict[str, str]] = {
        "not_found": "error_not_found",
        "validation_failed": "error_invalid_input",
        "session_expired": "error_session_expired",
        "session_closed": "error_session_expired",
        "biometric_check_required": "error_biometric_required",
        "finger_not_enrolled": "error_finger_not_enrolled",
        "no_attempts_left": "error_no_attempts_left",
    }

    @property
    def key(self) -> str:
        return self._KEYS.get(self.code or "", self.message_key)


class AuthRejected(Rejected):
    message_key = "error_kiosk_not_authorised"


class RateLimited(Rejected):
    message_key = "error_rate_limited"

    def __init__(self, detail: str = "", *, retry_after_s: int | None = None, **kw):
        super().__init__(detail, **kw)
        self.retry_after_s = retry_after_s


class ServerError(ApiError):
    message_key = "error_backend"


class ContractError(ApiError):
    message_key = "error_backend"
