"""What every endpoint module shares: the caller's key, its context, the body, the headers."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any, TypeVar

import orjson
from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from starlette.responses import Response, StreamingResponse

from gateway.assembly import Gateway
from gateway.context import RequestContext
from gateway.errors import GatewayError, InvalidRequest, as_gateway_error
from gateway.logs import log_fields

log = logging.getLogger("costroute.access")

JSON = "application/json"


def gateway_of(request: Request) -> Gateway:
    gateway: Gateway = request.app.state.gateway
    return gateway


def request_context(request: Request, gateway: Gateway) -> RequestContext:
    """The authenticated caller: `Authorization: Bearer`, Azure's `api-key`, or Anthropic's
    `x-api-key` (the anthropic SDK sends only that one)."""
    api_key = request.headers.get("api-key") or request.headers.get("x-api-key")
    tenant = gateway.authenticate(request.headers.get("authorization"), api_key)
    state = request.scope.get("state", {})
    return RequestContext(str(state.get("request_id", "")), tenant,
                          client_request_id=state.get("client_request_id"))


async def read_json(request: Request) -> dict[str, Any]:
    """The body as a JSON object, or InvalidRequest saying what is wrong with it."""
    return parse_json(await request.body())


def parse_json(raw: bytes) -> dict[str, Any]:
    """`raw` as a JSON object, or InvalidRequest saying what is wrong with it."""
    if not raw:
        raise InvalidRequest("The request body is empty; send a JSON object.")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequest(f"The request body is not valid JSON: {exc.msg}.") from None
    if not isinstance(body, dict):
        raise InvalidRequest("The request body must be a JSON object.")
    return body


def invalid(exc: ValidationError | RequestValidationError) -> InvalidRequest:
    """The first problem of a wire model's (or FastAPI's) validation, naming the field."""
    first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
    loc = [str(p) for p in first.get("loc", ()) if p != "body"]
    param = ".".join(loc) or None
    where = f" at `{param}`" if param else ""
    return InvalidRequest(f"Invalid request body{where}: {first.get('msg')}", param=param)


Wire = TypeVar("Wire", bound=BaseModel)


def parse_body(model: type[Wire], body: dict[str, Any]) -> Wire:
    """`body` as the endpoint's wire model, or InvalidRequest naming the first bad field."""
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        raise invalid(exc) from None


def event_stream(gateway: Gateway, ctx: RequestContext, translated: AsyncIterator[bytes],
                 chunks: AsyncIterator[Any], headers: dict[str, str]) -> StreamingResponse:
    """An SSE response of an API's translated events over one metered chat stream: closing
    it (end, error or client gone) closes the chat stream, which settles its spend."""
    async def events() -> AsyncIterator[bytes]:
        try:
            async for event in translated:
                yield event
        finally:
            await translated.aclose()  # type: ignore[attr-defined]
            await chunks.aclose()  # type: ignore[attr-defined]
            finish(gateway, ctx, 200, stream=True)

    return StreamingResponse(events(), media_type="text/event-stream", headers={
        **safe_headers(headers), "cache-control": "no-cache", "x-accel-buffering": "no"})


def json_response(data: Any, status: int = 200,
                  headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(data), status_code=status, media_type=JSON, headers=headers)


def header_safe(text: str) -> str:
    # Header values must be latin-1; route reasons carry model names from config.
    return text.encode("latin-1", "replace").decode("latin-1").replace("\n", " ")[:8192]


def safe_headers(headers: dict[str, str]) -> dict[str, str]:
    return {k: header_safe(v) for k, v in headers.items()}


def finish(gateway: Gateway, ctx: RequestContext, status: int, *, stream: bool,
           **extra: Any) -> None:
    """Metrics, the access log line and the span's end of one finished request (as chat)."""
    gateway.tracing.end_request(ctx, status)
    elapsed = time.perf_counter() - ctx.started
    m = gateway.metrics
    m.requests.labels(ctx.route, str(ctx.log.get("model", "")), str(status)).inc()
    m.latency.labels(ctx.route, "true" if stream else "false").observe(elapsed)
    m.overhead.labels(ctx.route).observe(max(0.0, elapsed - ctx.upstream_s))
    access_log(ctx, status, **extra)


def traced(gateway: Gateway, ctx: RequestContext, operation: str, model: str,
           stream: bool) -> None:
    """Opens the request's server span (gen_ai.operation.name = `operation`); `finish` or
    `failed` ends it, a stream's at the stream's end."""
    ctx.requested_model = model
    gateway.tracing.start_request(ctx, model, stream, operation)


def failed(gateway: Gateway, ctx: RequestContext, error: GatewayError) -> None:
    """An error answered to an authenticated caller: its span, both error counters (per
    route and per tenant: the console's), the access log. Labelled by the error's code, or
    by its type where OpenAI's shape has no code (a body that fails validation)."""
    label = error.code or error.error_type
    gateway.tracing.end_request(ctx, error.status_code, label)
    gateway.metrics.errors.labels(ctx.route, label).inc()
    gateway.metrics.tenant_errors.labels(ctx.tenant.name, label).inc()
    access_log(ctx, error.status_code, error=error.code)


def answered_error(gateway: Gateway, ctx: RequestContext, exc: Exception) -> GatewayError:
    """The error `exc` answers an authenticated caller with, counted and logged (`failed`).
    An exception that is no GatewayError (our own bug) ends the request's span as a 500 and
    propagates as it is, to the app's handler, which logs it with its traceback."""
    error = as_gateway_error(exc)
    if error is None:
        gateway.tracing.end_request(ctx, 500, type(exc).__name__)
        raise exc
    failed(gateway, ctx, error)
    return error


def wants_content(gateway: Gateway, ctx: RequestContext) -> bool:
    """Whether the answer's text is needed: a content log, or a trace of an opted-in tenant."""
    return gateway.content_log.wants(ctx) or (
        ctx.span is not None and ctx.tenant.content_logging.enabled)


def record_content(gateway: Gateway, ctx: RequestContext,
                   messages: Sequence[Mapping[str, Any]], completion: str) -> None:
    """An opted-in tenant's prompt and answer, redacted: in the content log and on the
    request's span (each does nothing for a tenant that did not opt in)."""
    gateway.content_log.record(ctx, messages, completion)
    gateway.tracing.content(ctx, messages, completion)


def access_log(ctx: RequestContext, status: int, **extra: Any) -> None:
    if not log.isEnabledFor(logging.INFO):
        return
    fields = {"request_id": ctx.request_id, "client_request_id": ctx.client_request_id,
              "tenant": ctx.tenant.name, "route": ctx.route, "status": status,
              "latency_ms": round((time.perf_counter() - ctx.started) * 1000, 3),
              **ctx.log, **extra}
    log_fields(log, "request", fields)
