"""The one error root and the one error shape, for every service and the gateway.

    AgoraError                 status  code
     ├── BadRequest              400   bad_request
     ├── Unauthorized            401   unauthorized
     ├── Forbidden               403   forbidden
     ├── NotFound                404   not_found
     ├── Conflict                409   conflict
     ├── Gone                    410   gone
     ├── PayloadTooLarge         413   payload_too_large
     ├── Unprocessable           422   invalid
     ├── TooManyRequests         429   rate_limited
     ├── BadGateway              502   upstream_unavailable
     └── GatewayTimeout          504   upstream_timeout

Rendered as JSON: {"error": code, "message": text a client developer can act on, "detail": optional
structured detail, "trace_id": the request's trace}. Validation errors list each field's location.
"""

from __future__ import annotations

from typing import Any


class AgoraError(Exception):
    status: int = 500
    code: str = "internal_error"

    def __init__(self, message: str, *, detail: Any = None, code: str | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail
        self.headers = headers or {}
        if code:
            self.code = code


class BadRequest(AgoraError):
    status, code = 400, "bad_request"


class Unauthorized(AgoraError):
    status, code = 401, "unauthorized"


class Forbidden(AgoraError):
    status, code = 403, "forbidden"


class NotFound(AgoraError):
    status, code = 404, "not_found"


class Conflict(AgoraError):
    status, code = 409, "conflict"


class Gone(AgoraError):
    status, code = 410, "gone"


class PayloadTooLarge(AgoraError):
    status, code = 413, "payload_too_large"


class Unprocessable(AgoraError):
    status, code = 422, "invalid"


class TooManyRequests(AgoraError):
    status, code = 429, "rate_limited"

    def __init__(self, message: str, *, retry_after: float, detail: Any = None) -> None:
        super().__init__(message, detail=detail, headers={"Retry-After": str(max(1, int(retry_after + 0.999)))})
        self.retry_after = retry_after


class BadGateway(AgoraError):
    status, code = 502, "upstream_unavailable"


class GatewayTimeout(AgoraError):
    status, code = 504, "upstream_timeout"


def error_body(code: str, message: str, detail: Any = None, trace_id: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"error": code, "message": message}
    if detail is not None:
        body["detail"] = detail
    if trace_id:
        body["trace_id"] = trace_id
    return body
