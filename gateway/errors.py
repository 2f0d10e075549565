"""Gateway exceptions, and the one place that turns them into OpenAI-shaped errors.

    GatewayError                    (500 api_error)
    ├── InvalidRequest              (400 invalid_request_error)
    │   └── BodyTooLarge            (413 invalid_request_error / request_too_large)
    ├── AuthenticationFailed        (401 invalid_api_key)
    ├── PermissionDenied            (403 model_not_allowed / route_not_allowed / admin_required)
    ├── ModelNotFound               (404 model_not_found)
    ├── NotFound                    (404 not_found)
    ├── RateLimited                 (429 rate_limit_exceeded, retry-after)
    ├── BudgetExceeded              (429 insufficient_quota / budget_exceeded)
    ├── UpstreamError               (502 upstream_error: bad or failed upstream answer)
    │   ├── UpstreamUnavailable     (503 upstream_unavailable: every upstream down / cooling)
    │   └── UpstreamTimeout         (504 upstream_timeout)
    ├── ServiceUnavailable          (503 e.g. budget or records store down, draining)
"""

from __future__ import annotations

from typing import Any

import orjson


class GatewayError(Exception):
    status_code = 500
    error_type = "api_error"
    code: str | None = "internal_error"

    def __init__(
        self,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.param = param
        if code is not None:
            self.code = code
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return error_body(self.message, self.error_type, self.param, self.code)


class InvalidRequest(GatewayError):
    status_code = 400
    error_type = "invalid_request_error"
    code: str | None = None


class BodyTooLarge(InvalidRequest):
    status_code = 413
    code = "request_too_large"


class AuthenticationFailed(GatewayError):
    status_code = 401
    error_type = "invalid_request_error"
    code = "invalid_api_key"


class PermissionDenied(GatewayError):
    status_code = 403
    error_type = "invalid_request_error"
    code = "permission_denied"


class ModelNotFound(GatewayError):
    status_code = 404
    error_type = "invalid_request_error"
    code = "model_not_found"


class NotFound(GatewayError):
    status_code = 404
    error_type = "invalid_request_error"
    code = "not_found"


class MethodNotAllowed(GatewayError):
    status_code = 405
    error_type = "invalid_request_error"
    code = "method_not_allowed"


class RateLimited(GatewayError):
    status_code = 429
    error_type = "rate_limit_error"
    code = "rate_limit_exceeded"

    def __init__(self, message: str, *, retry_after_s: float):
        seconds = max(1, int(retry_after_s + 0.999))
        super().__init__(message, headers={"retry-after": str(seconds)})
        self.retry_after_s = retry_after_s


class BudgetExceeded(GatewayError):
    status_code = 429
    error_type = "insufficient_quota"
    code = "budget_exceeded"


class UpstreamError(GatewayError):
    status_code = 502
    error_type = "api_error"
    code = "upstream_error"


class UpstreamUnavailable(UpstreamError):
    status_code = 503
    code = "upstream_unavailable"


class UpstreamTimeout(UpstreamError):
    status_code = 504
    code = "upstream_timeout"


class ServiceUnavailable(GatewayError):
    status_code = 503
    error_type = "api_error"
    code = "service_unavailable"


def error_body(
    message: str, error_type: str, param: str | None = None, code: str | int | None = None
) -> dict[str, Any]:
    return {
        "error": {
            "message": message,
            "type": error_type,
            "param": param,
            "code": None if code is None else str(code),
        }
    }


def error_json(exc: GatewayError) -> bytes:
    return orjson.dumps(exc.body())


def status_error(status: int, message: str) -> GatewayError:
    """A GatewayError for a bare HTTP status raised by the framework (404 route, 405 ...)."""
    if status == 404:
        return NotFound(message)
    if status == 405:
        return MethodNotAllowed(message)
    if status == 413:
        return BodyTooLarge(message)
    if 400 <= status < 500:
        exc = InvalidRequest(message)
        exc.status_code = status
        return exc
    return GatewayError(message)


def as_gateway_error(exc: BaseException) -> GatewayError | None:
    """Our error for an exception raised by the ledger or rate limiter; None if unknown.

    This and the classes above are the only place where an exception gets its HTTP shape.
    """
    from gateway.ledger.base import StoreUnavailable
    from gateway.ledger.status import BudgetExhausted
    from gateway.ratelimit.base import RateLimitExceeded
    from gateway.records.base import RecordStoreUnavailable
    from gateway.records.spend_history import SpendHistoryUnavailable

    if isinstance(exc, GatewayError):
        return exc
    if isinstance(exc, BudgetExhausted):
        return BudgetExceeded(exc.message, headers={"x-costroute-budget-resets-at": exc.resets_at})
    if isinstance(exc, RateLimitExceeded):
        return RateLimited(str(exc), retry_after_s=exc.retry_after_s)
    if isinstance(exc, StoreUnavailable):
        return ServiceUnavailable(
            "The budget store is unavailable, so spend cannot be checked; retry shortly.",
            code="budget_store_unavailable", headers={"retry-after": "2"})
    if isinstance(exc, SpendHistoryUnavailable):
        return ServiceUnavailable(str(exc), code="records_store_unavailable",
                                  headers={"retry-after": "2"})
    if isinstance(exc, RecordStoreUnavailable):
        return ServiceUnavailable(
            "The records store is unavailable, so the rating was not recorded; retry shortly.",
            code="records_store_unavailable", headers={"retry-after": "2"})
    return None


# Anthropic's error `type` per HTTP status (docs.anthropic.com/en/api/errors).
ANTHROPIC_ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error",
                         402: "billing_error", 403: "permission_error", 404: "not_found_error",
                         413: "request_too_large", 429: "rate_limit_error", 500: "api_error",
                         502: "api_error", 503: "overloaded_error", 504: "api_error",
                         529: "overloaded_error"}


def anthropic_error_body(exc: GatewayError) -> dict[str, Any]:
    """`exc` in Anthropic's shape, for the /v1/messages endpoints."""
    kind = ANTHROPIC_ERROR_TYPES.get(exc.status_code, "invalid_request_error"
                                     if 400 <= exc.status_code < 500 else "api_error")
    return {"type": "error", "error": {"type": kind, "message": exc.message}}
