"""What a faulty upstream sends back: error statuses, vLLM-style bodies, hangs and resets."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from gateway.simulator.errors import error_response, json_response
from gateway.simulator.faults import Fault, FaultKind
from gateway.simulator.transport import reset_connection, wait_for_disconnect

_VLLM_TYPES = {
    400: "BadRequestError",
    401: "Unauthorized",
    404: "NotFoundError",
    422: "BadRequestError",
    500: "InternalServerError",
    501: "NotImplementedError",
    503: "ServiceUnavailableError",
}


def status_of(fault: Fault) -> int | None:
    """The HTTP status a fault answers with; None when it sends none or a normal 200."""
    if fault.kind is FaultKind.HTTP_500:
        return fault.status or 500
    if fault.kind is FaultKind.HTTP_429:
        return 429
    if fault.kind is FaultKind.VLLM_ERROR:
        return 401 if fault.vllm_shape == "unauthorized" else fault.status or 400
    if fault.kind in (FaultKind.TIMEOUT, FaultKind.RESET):
        return None
    return 200


def error_fault_response(fault: Fault, model: str) -> Response | None:
    """The error response of an error-status fault, or None for any other fault."""
    if fault.kind is FaultKind.HTTP_500:
        return error_response(
            fault.status or 500,
            "The server had an error while processing your request. Sorry about that! "
            "(simulated)",
            "server_error",
        )
    if fault.kind is FaultKind.HTTP_429:
        return error_response(
            429,
            f"Rate limit reached for {model} (simulated). Please try again later.",
            "requests",
            code="rate_limit_exceeded",
            headers=_retry_headers(fault.retry_after),
        )
    if fault.kind is FaultKind.VLLM_ERROR:
        status = status_of(fault) or 400
        return json_response(vllm_error_body(fault.vllm_shape, status), status)
    return None


def vllm_error_body(shape: str, status: int) -> Any:
    """An error body as vLLM's OpenAI server sends it: integer `code`, or a bare string."""
    if shape == "unauthorized":
        return {"error": "Unauthorized"}
    detail = {
        "message": "This model's maximum context length is 4096 tokens. However, you requested "
        "8193 tokens (8000 in the messages, 193 in the completion). (simulated)"
        if status == 400
        else f"vLLM error {status} (simulated)",
        "type": _VLLM_TYPES.get(status, "InternalServerError"),
        "param": None,
        "code": status,
    }
    if shape == "flat":
        return {"object": "error", **detail}
    return {"error": detail}


def _retry_headers(retry_after: float | None) -> dict[str, str]:
    if retry_after is None:
        return {}
    return {"retry-after": f"{retry_after:g}", "retry-after-ms": str(round(retry_after * 1000))}


class ResetBeforeHeaders:
    """An ASGI response that resets the TCP connection without sending a byte."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await reset_connection(scope, receive)


class Hang:
    """An ASGI response that sends nothing for `delay_s`, then resets the connection."""

    def __init__(self, delay_s: float):
        self.delay_s = delay_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        client_left = await wait_for_disconnect(receive, self.delay_s)
        if not client_left:
            await reset_connection(scope, receive)


def garbled_body(kind: FaultKind, real_body: bytes) -> Response:
    """A 200 whose JSON body is broken: not JSON at all, or cut in half."""
    if kind is FaultKind.TRUNCATED_SSE:
        return Response(real_body[: len(real_body) // 2], media_type="application/json")
    return Response(b"not json: simulated malformed upstream body", media_type="application/json")
