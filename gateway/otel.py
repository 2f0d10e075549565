"""The OpenTelemetry side of gateway/tracing.py; imported only when tracing is configured."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any

from opentelemetry import context, trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode

from gateway.span_parts import ContentForSpans, SpanNote

if TYPE_CHECKING:
    from gateway.context import RequestContext
    from routers.base import Decision

# ctx.log keys -> span attributes, set when the request ends (whatever path answered it).
_FROM_LOG = {
    "model": "gen_ai.response.model",
    "prompt_tokens": "gen_ai.usage.input_tokens",
    "completion_tokens": "gen_ai.usage.output_tokens",
    "cost_usd": "costroute.cost_usd",
    "reason": "costroute.route.reason",
    "stages": "costroute.stages",
    "cache": "costroute.cache",
}


class _Note:
    def __init__(self, span: trace.Span):
        self._span = span

    def set(self, attributes: Mapping[str, Any]) -> None:
        self._span.set_attributes({k: v for k, v in attributes.items() if v is not None})


class _Current:
    """Makes `span` the current one; never touches a passing exception.

    Not @contextmanager: contextlib sets `__traceback__` on the exception it re-raises, which
    fails on our frozen-dataclass exceptions (UpstreamFailure).
    """

    def __init__(self, span: trace.Span):
        self._span = span
        self._token: object = None

    def __enter__(self) -> trace.Span:
        self._token = context.attach(trace.set_span_in_context(self._span))
        return self._span

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        context.detach(self._token)  # type: ignore[arg-type]


class _Scope:
    """A child span of the current one, current while open, ended (with its error) on exit."""

    def __init__(self, tracer: trace.Tracer, name: str, kind: SpanKind,
                 attributes: Mapping[str, Any]):
        self._span = tracer.start_span(name, kind=kind, attributes=attributes)
        self._current = _Current(self._span)

    def __enter__(self) -> SpanNote:
        self._current.__enter__()
        return _Note(self._span)

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._current.__exit__(exc_type, exc, tb)
        if exc is not None:
            self._span.set_attribute("error.type", type(exc).__name__)
            self._span.set_status(Status(StatusCode.ERROR, str(exc)[:300]))
        self._span.end()


class OtelTracing:
    """Spans on a private TracerProvider (never the process-global one), batched to OTLP."""

    enabled = True

    def __init__(self, endpoint: str, systems: Mapping[str, str], secrets: Sequence[str] = (),
                 *, headers: Mapping[str, str] | None = None,
                 service_name: str = "costroute"):
        self.endpoint = endpoint
        self._systems = dict(systems)
        self._content = ContentForSpans(secrets)
        self.provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
        exporter = OTLPSpanExporter(endpoint=endpoint, headers=dict(headers or {}))
        self.provider.add_span_processor(BatchSpanProcessor(exporter))
        self._tracer = self.provider.get_tracer("costroute.gateway")

    def system(self, model: str) -> str:
        return self._systems.get(model, "openai")

    def start_request(self, ctx: RequestContext, requested_model: str, stream: bool,
                      operation: str = "chat") -> None:
        ctx.span = self._tracer.start_span(
            f"{operation} {requested_model}", kind=SpanKind.SERVER,
            attributes={"gen_ai.operation.name": operation, "gen_ai.system": "costroute",
                        "gen_ai.request.model": requested_model,
                        "costroute.request_id": ctx.request_id,
                        "costroute.tenant": ctx.tenant.name, "costroute.stream": stream})

    def activate(self, ctx: RequestContext) -> contextlib.AbstractContextManager[Any]:
        if ctx.span is None:
            return contextlib.nullcontext()
        return _Current(ctx.span)

    def decision(self, route: str, decision: Decision | None, reason: str,
                 predicted_cost_usd: float | None) -> None:
        span = trace.get_current_span()
        attributes: dict[str, Any] = {"costroute.route": route, "costroute.route.reason": reason}
        if predicted_cost_usd is not None:
            attributes["costroute.route.predicted_cost_usd"] = predicted_cost_usd
        if decision is not None:
            attributes["costroute.route.decision"] = decision.model
            attributes["costroute.route.predicted_cost_usd"] = decision.predicted_cost_usd
            if decision.predicted_quality is not None:
                attributes["costroute.route.predicted_quality"] = decision.predicted_quality
            if decision.runner_up is not None:
                attributes["costroute.route.runner_up"] = decision.runner_up
        span.set_attributes(attributes)

    def attempt(self, model: str, attempt: int, operation: str = "chat",
                ) -> contextlib.AbstractContextManager[SpanNote]:
        return _Scope(self._tracer, f"{operation} {model}", SpanKind.CLIENT, {
            "gen_ai.operation.name": operation, "gen_ai.system": self.system(model),
            "gen_ai.request.model": model, "costroute.attempt": attempt})

    def stage(self, route: str, stage: int,
              model: str) -> contextlib.AbstractContextManager[SpanNote]:
        return _Scope(self._tracer, f"stage {stage} {model}", SpanKind.INTERNAL, {
            "gen_ai.operation.name": "chat", "gen_ai.system": self.system(model),
            "gen_ai.request.model": model, "costroute.route": route, "costroute.stage": stage})

    def content(self, ctx: RequestContext, messages: Sequence[Mapping[str, Any]],
                completion: str | None) -> None:
        if ctx.span is not None:
            ctx.span.set_attributes(self._content.attributes(ctx, messages, completion))

    def end_request(self, ctx: RequestContext, status: int, error: str | None = None) -> None:
        span, ctx.span = ctx.span, None
        if span is None:
            return
        span.set_attributes({
            attribute: ctx.log[key] for key, attribute in _FROM_LOG.items()
            if ctx.log.get(key) is not None})
        span.set_attributes({"costroute.route": ctx.route, "http.response.status_code": status})
        if error is not None:
            span.set_attributes({"error.type": error})
            span.set_status(Status(StatusCode.ERROR, error))
        span.end()

    async def aclose(self) -> None:
        # Shutdown flushes the batch over HTTP: keep the event loop free meanwhile.
        await asyncio.to_thread(self.provider.shutdown)

    def flush(self, timeout_ms: int = 5000) -> bool:
        return self.provider.force_flush(timeout_ms)
