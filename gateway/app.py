"""The FastAPI app factory. Nothing is built at import time; state lives on `app.state`."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.background import BackgroundTask
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from gateway.assembly import Gateway
from gateway.console import install_console
from gateway.content_log import StreamTextCollector, completion_text
from gateway.context import RequestContext
from gateway.entrypoints import install_entrypoints
from gateway.entrypoints.common import (
    access_log,
    answered_error,
    invalid,
    parse_json,
    record_content,
    wants_content,
)
from gateway.entrypoints.messages_wire import ModelInfo, ModelInfoList
from gateway.errors import (
    GatewayError,
    InvalidRequest,
    NotFound,
    PermissionDenied,
    anthropic_error_body,
    as_gateway_error,
    status_error,
)
from gateway.event_stream import EventStreamResponse
from gateway.fastpath import ChatCall, ChatFastPath
from gateway.learning.graders import REFERENCE_HEADER
from gateway.learning.loop import learn_after
from gateway.metrics import CONTENT_TYPE
from gateway.middleware import BodyLimitMiddleware, RequestIdMiddleware
from gateway.plan import ChatReply
from gateway.protocol import ChatCompletionRequest, ModelCard, ModelList
from gateway.readiness import readiness
from gateway.records.capture import capture_reply, capture_stream, wants_capture
from gateway.records.feedback import feedback_router
from gateway.routing import Routed
from gateway.spend import history_report, spend_report
from gateway.spend_params import SpendParamError, parse_spend_params
from gateway.streaming import replay_as_stream
from gateway.tenants.config import TenantConfig
from routers.base import Orchestrator

log = logging.getLogger("costroute.access")

JSON = "application/json"
CHAT_PATH = "/v1/chat/completions"
ANTHROPIC_PREFIX = "/v1/messages"  # Anthropic's API: its clients read errors in its shape


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(data), status_code=status, media_type=JSON, headers=headers)


def _header_safe(text: str) -> str:
    # Header values must be latin-1; route reasons carry model names from config.
    if text.isascii() and len(text) <= 8192 and "\n" not in text:
        return text  # the usual case, without re-encoding each header of each response
    return text.encode("latin-1", "replace").decode("latin-1").replace("\n", " ")[:8192]


def error_response(exc: GatewayError) -> Response:
    return _json(exc.body(), exc.status_code, exc.headers or None)


def _parse_chat(body: dict[str, Any]) -> ChatCompletionRequest:
    try:
        return ChatCompletionRequest.model_validate(body)
    except ValidationError as exc:
        raise invalid(exc) from None


def create_app(build: Callable[[], Awaitable[Gateway]]) -> FastAPI:
    """An app whose `Gateway` is built by `build` at start-up and closed at shutdown."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        gateway = await build()
        app.state.gateway = gateway
        try:
            yield
        finally:
            await gateway.aclose()

    app = FastAPI(title="costroute", version="0.1.0", lifespan=lifespan,
                  docs_url=None, redoc_url=None)
    _install_error_handlers(app)
    _install_routes(app)
    app.include_router(feedback_router())
    install_console(app)
    install_entrypoints(app)
    return app


def wrap_asgi(app: FastAPI, max_body_bytes: int) -> Any:
    """The app behind the plain-ASGI middleware (request id outermost); the chat route
    past both, doing their work inline (gateway/fastpath.py)."""
    rest = RequestIdMiddleware(BodyLimitMiddleware(app, max_body_bytes))
    return ChatFastPath(app, CHAT_PATH, serve_chat, error_response, _unexpected,
                        rest=rest, max_body_bytes=max_body_bytes)


def _from_anthropic_client(request: Request) -> bool:
    """Anthropic's API paths, or a shared one (`/v1/models`) asked by an anthropic client,
    which always sends `anthropic-version`."""
    return (request.url.path.startswith(ANTHROPIC_PREFIX)
            or "anthropic-version" in request.headers)


def _error_for(request: Request, error: GatewayError) -> Response:
    """`error` in the shape the caller's SDK reads: Anthropic's for an anthropic client
    (a path past what /v1/messages serves, batches say, or /v1/models), else OpenAI's."""
    if _from_anthropic_client(request):
        return _json(anthropic_error_body(error), error.status_code, error.headers or None)
    return error_response(error)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(GatewayError)
    async def _gateway_error(request: Request, exc: GatewayError) -> Response:
        return _error_for(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _request_validation(request: Request, exc: RequestValidationError) -> Response:
        return _error_for(request, invalid(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http_exception(request: Request, exc: StarletteHTTPException) -> Response:
        return _error_for(request, status_error(exc.status_code, str(exc.detail)))

    app.exception_handler(Exception)(_unexpected_error)


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    return _unexpected(exc, _request_id(request))


def _unexpected(exc: Exception, request_id: str) -> Response:
    error = as_gateway_error(exc)
    if error is not None:
        return error_response(error)
    log.exception("unhandled error", extra={"fields": {"request_id": request_id}})
    return error_response(GatewayError("The gateway failed to process the request."))


def _request_id(request: Request) -> str:
    return str(request.scope.get("state", {}).get("request_id", ""))


def _gateway(request: Request) -> Gateway:
    gateway: Gateway = request.app.state.gateway
    return gateway


def _install_routes(app: FastAPI) -> None:
    schema = ChatCompletionRequest.model_json_schema(ref_template="#/components/schemas/{model}")
    definitions = schema.pop("$defs", {})
    chat_openapi = {"requestBody": {"required": True, "content": {JSON: {"schema": schema}}}}
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        # The chat body is read raw (for speed and our own error shape), so FastAPI does not
        # know its models: add them, so the served schema is complete for clients and fuzzers.
        document = generate()
        document.setdefault("components", {}).setdefault("schemas", {}).update(definitions)
        return document

    app.openapi = openapi  # type: ignore[method-assign]

    app.post(CHAT_PATH, openapi_extra=chat_openapi)(chat_completions)

    @app.get("/v1/models")
    async def list_models(request: Request) -> Response:
        gateway = _gateway(request)
        tenant = _caller(gateway, request)
        names = gateway.routes.offered(tenant)
        if _from_anthropic_client(request):
            infos = [_model_info(name) for name in names]
            return _json(ModelInfoList(data=infos, first_id=names[0] if names else None,
                                       last_id=names[-1] if names else None).model_dump())
        created = int(time.time())
        cards = [_model_card(gateway, name, created) for name in names]
        return _json(ModelList(data=cards).model_dump())

    @app.get("/v1/models/{model:path}")
    async def retrieve_model(request: Request, model: str) -> Response:
        """One model or route alias (the openai client's `models.retrieve`): 404 in OpenAI's
        shape for one that does not exist, 403 for one the key may not use, as chat answers."""
        gateway = _gateway(request)
        tenant = _caller(gateway, request)
        gateway.routes.check(model, tenant)
        if _from_anthropic_client(request):
            return _json(_model_info(model).model_dump())
        return _json(_model_card(gateway, model, int(time.time())).model_dump())

    @app.get("/v1/costroute/spend")
    async def spend(request: Request) -> Response:
        """The caller's own spend; an admin key may ask for `?tenant=NAME` or `?tenant=*`."""
        gateway = _gateway(request)
        tenant = gateway.authenticate(request.headers.get("authorization"),
                                      request.headers.get("api-key"))
        wanted = request.query_params.get("tenant", tenant.name)
        if wanted != tenant.name and not tenant.admin:
            raise PermissionDenied("Only an admin key may read another tenant's spend.",
                                   param="tenant", code="admin_required")
        if gateway.store is None:
            raise NotFound("This gateway keeps no spend ledger.")
        try:
            params = parse_spend_params(request.query_params, None if wanted == "*" else wanted)
            if gateway.spend_drainer is not None:
                report = await history_report(gateway.spend_drainer, gateway.service.estimator,
                                              params)
            else:
                report = await spend_report(gateway.store, gateway.service.estimator,
                                            params.query.tenant, params.query.by, params.query)
        except SpendParamError as exc:
            raise InvalidRequest(str(exc), param=exc.param) from None
        except ValueError as exc:
            raise InvalidRequest(str(exc), param="by") from None
        return _json(report)

    @app.get("/healthz")
    async def healthz(request: Request) -> Response:
        return _json({"status": "ok"})

    @app.get("/readyz")
    async def readyz(request: Request) -> Response:
        gateway = _gateway(request)
        state = await readiness(gateway.store, fail_open=gateway.config.store.fail_open)
        return _json(state.body(), 200 if state.ready else 503)

    @app.get("/metrics")
    async def metrics(request: Request) -> Response:
        return Response(_gateway(request).metrics.render(), media_type=CONTENT_TYPE)


async def chat_completions(request: Request) -> Response:
    """The chat route as FastAPI serves it (under a mount's root path); ChatFastPath calls
    `serve_chat` directly for the rest."""
    state = request.scope.get("state", {})
    return await serve_chat(ChatCall(request.app, request.headers, _request_id(request),
                                     state.get("client_request_id"), request.body))


async def serve_chat(call: ChatCall) -> Response:
    gateway: Gateway = call.app.state.gateway
    headers = call.headers
    tenant = gateway.authenticate(headers.get("authorization"),
                                  headers.get("api-key"))
    ctx = RequestContext(call.request_id, tenant, client_request_id=call.client_request_id,
                         reference_answer=headers.get(REFERENCE_HEADER))
    try:
        body = parse_json(await call.body())
        chat = _parse_chat(body)
        debug = headers.get("x-costroute-debug", "").lower() == "trace"
        ctx.requested_model = chat.model
        gateway.tracing.start_request(ctx, chat.model, bool(chat.stream))
        with gateway.tracing.activate(ctx):
            return await _answer(gateway, ctx, chat, body, debug)
    except Exception as exc:  # noqa: BLE001 - answered_error re-raises our own bugs
        raise answered_error(gateway, ctx, exc) from None


def _caller(gateway: Gateway, request: Request) -> TenantConfig:
    """The tenant of a `/v1/models` call. Both SDKs list models there, so Anthropic's
    `x-api-key` counts as a key too."""
    return gateway.authenticate(request.headers.get("authorization"),
                                request.headers.get("api-key") or request.headers.get("x-api-key"))


def _model_info(name: str) -> ModelInfo:
    """Anthropic's shape of a model card; the gateway knows no release date, so now."""
    created = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    return ModelInfo(id=name, display_name=name, created_at=created)


def _model_card(gateway: Gateway, name: str, created: int) -> ModelCard:
    entry = gateway.config.model(name)
    owner = f"costroute-{entry.tier}" if entry is not None else "costroute-router"
    return ModelCard(id=name, created=created, owned_by=owner)


async def _answer(gateway: Gateway, ctx: RequestContext, chat: ChatCompletionRequest,
                  body: dict[str, Any], debug: bool = False) -> Response:
    service = gateway.service
    messages = [m if isinstance(m, dict) else {} for m in body["messages"]]
    base = {"x-request-id": ctx.request_id}
    if gateway.cache is not None:
        cached = await gateway.cache.answer(ctx, body)
        if cached is not None:
            response, hit = cached
            reply = ChatReply(response, str(response.get("model", "")), 0.0, False,
                              f"cache:{hit.kind} similarity={hit.similarity:.3f}")
            return _reply_response(gateway, ctx, chat, reply, base, messages)
    target = service.target(ctx, chat, messages)
    if isinstance(target, Routed) and isinstance(target.router, Orchestrator):
        reply = await service.orchestrate(ctx, target, chat, body, messages)
        capture_reply(gateway, ctx, messages, reply)
        if debug:
            base["x-costroute-trace"] = _trace_header(reply)
        return _reply_response(gateway, ctx, chat, reply, base, messages)
    if chat.stream:
        events, headers = await service.stream(ctx, chat, body, messages, target)
        headers = {k: _header_safe(v) for k, v in {**base, **headers}.items()}

        capture = wants_capture(gateway, ctx)
        learns = gateway.learning is not None and gateway.learning.wants(ctx.tenant)
        collector = (StreamTextCollector()
                     if capture or learns or wants_content(gateway, ctx) else None)

        async def logged() -> AsyncIterator[bytes]:
            try:
                async for event in events:
                    if collector is not None:
                        collector.feed(event)
                    yield event
                if learns and collector is not None:  # only a stream that finished
                    await learn_after(gateway.learning, ctx, messages, body, collector.text)
            finally:
                if collector is not None:
                    record_content(gateway, ctx, messages, collector.text)
                if capture and collector is not None:
                    capture_stream(gateway, ctx, messages, collector.text,
                                   headers.get("x-costroute-route", ""))
                _finish(gateway, ctx, 200, stream=True)

        return EventStreamResponse(logged(), media_type="text/event-stream", headers={
            **headers, "cache-control": "no-cache", "x-accel-buffering": "no"})
    reply = await service.complete(ctx, chat, body, messages, target)
    capture_reply(gateway, ctx, messages, reply)
    if gateway.cache is not None:
        await gateway.cache.remember(ctx, body, reply.body)
    answered = _reply_response(gateway, ctx, chat, reply, base, messages)
    if gateway.learning is not None and gateway.learning.wants(ctx.tenant):
        # Runs once the body is sent: learning never delays or changes the answer.
        answered.background = BackgroundTask(learn_after, gateway.learning, ctx, messages,
                                             body, completion_text(reply.body))
    return answered


def _trace_header(reply: ChatReply) -> str:
    """The protocol's trace, for a client that asked with `x-costroute-debug: trace`."""
    text = orjson.dumps(reply.trace, default=str).decode()
    return text[:8000]


def _reply_response(gateway: Gateway, ctx: RequestContext, chat: ChatCompletionRequest,
                    reply: ChatReply, base: dict[str, str],
                    messages: list[dict[str, Any]]) -> Response:
    headers = {
        **base,
        "x-costroute-model": reply.model,
        "x-costroute-cost-usd": f"{reply.cost_usd:.8f}",
        "x-costroute-cost-status": "estimated" if reply.estimated else "actual",
        "x-costroute-route": _header_safe(reply.route),
    }
    if reply.stages:
        headers.update(_tier_headers(reply))
    headers = {k: _header_safe(v) for k, v in headers.items()}
    if wants_content(gateway, ctx):
        record_content(gateway, ctx, messages, completion_text(reply.body))
    _finish(gateway, ctx, 200, stream=bool(chat.stream))
    if chat.stream:
        include_usage = bool(chat.stream_options and chat.stream_options.include_usage)
        return EventStreamResponse(replay_as_stream(reply.body, include_usage),
                                 media_type="text/event-stream",
                                 headers={**headers, "cache-control": "no-cache"})
    return _json(reply.body, headers=headers)


def _tier_headers(reply: ChatReply) -> dict[str, str]:
    """Remote and local spend of a multi-stage answer, reported separately."""
    out: dict[str, str] = {"x-costroute-stages": str(len(reply.stages))}
    for tier in ("remote", "local"):
        stages = [s for s in reply.stages if s.tier == tier]
        out[f"x-costroute-{tier}-cost-usd"] = f"{sum(s.cost_usd for s in stages):.8f}"
        out[f"x-costroute-{tier}-tokens"] = str(sum(s.usage.total_tokens for s in stages))
    return out


def _finish(gateway: Gateway, ctx: RequestContext, status: int, *, stream: bool) -> None:
    gateway.tracing.end_request(ctx, status)
    elapsed = time.perf_counter() - ctx.started
    m = gateway.metrics
    m.requests.labels(ctx.route, str(ctx.log.get("model", "")), str(status)).inc()
    m.latency.labels(ctx.route, "true" if stream else "false").observe(elapsed)
    m.overhead.labels(ctx.route).observe(max(0.0, elapsed - ctx.upstream_s))
    access_log(ctx, status)


