"""OpenTelemetry traces of the request path, exported over OTLP http/protobuf when configured.

Off by default. Then `NoTracing` stands in: its hooks return one shared null context and
touch nothing, and the OpenTelemetry packages are not even imported. When on (`tracing:
{otlp_endpoint: ...}` in gateway.yaml, or the standard OTEL_EXPORTER_OTLP_ENDPOINT /
OTEL_EXPORTER_OTLP_TRACES_ENDPOINT variables), `OtelTracing` makes:

    chat {model}          SERVER span per request (`responses`, `messages`, `embeddings`
                          {model} on those endpoints), GenAI semantic-convention attributes,
                          the cost and the route's decision (costroute.*)
      stage {n} {model}   one per cascade or Minions stage (ChatService.call_stage)
        chat {model}      CLIENT span per upstream attempt (retries and fallbacks included)

Prompts and answers go into the server span only for tenants with content logging on,
through the same redaction as the content log (gateway/content_log.py).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from gateway.span_parts import SpanNote

__all__ = ["NoTracing", "SpanNote", "Tracing", "build_tracing", "traces_endpoint"]

if TYPE_CHECKING:
    from gateway.config import TracingConfig
    from gateway.context import RequestContext
    from routers.base import Decision

ENDPOINT_ENV = "OTEL_EXPORTER_OTLP_ENDPOINT"
TRACES_ENDPOINT_ENV = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
SERVICE_NAME = "costroute"


class _NoNote:
    def set(self, attributes: Mapping[str, Any]) -> None:
        return None


_NO_NOTE = _NoNote()


class Tracing(Protocol):
    """The hooks the request path calls; `NoTracing` when tracing is off."""

    enabled: bool

    def start_request(self, ctx: RequestContext, requested_model: str, stream: bool,
                      operation: str = "chat") -> None: ...

    def activate(self, ctx: RequestContext) -> contextlib.AbstractContextManager[Any]: ...

    def decision(self, route: str, decision: Decision | None, reason: str,
                 predicted_cost_usd: float | None) -> None: ...

    def attempt(self, model: str, attempt: int, operation: str = "chat",
                ) -> contextlib.AbstractContextManager[SpanNote]: ...

    def stage(self, route: str, stage: int,
              model: str) -> contextlib.AbstractContextManager[SpanNote]: ...

    def content(self, ctx: RequestContext, messages: Sequence[Mapping[str, Any]],
                completion: str | None) -> None: ...

    def end_request(self, ctx: RequestContext, status: int, error: str | None = None) -> None: ...

    async def aclose(self) -> None: ...


class NoTracing:
    """Tracing off: every hook is a constant-time no-op."""

    enabled = False

    def __init__(self) -> None:
        self._null: contextlib.nullcontext[Any] = contextlib.nullcontext(_NO_NOTE)

    def start_request(self, ctx: RequestContext, requested_model: str, stream: bool,
                      operation: str = "chat") -> None:
        return None

    def activate(self, ctx: RequestContext) -> contextlib.AbstractContextManager[Any]:
        return self._null

    def decision(self, route: str, decision: Decision | None, reason: str,
                 predicted_cost_usd: float | None) -> None:
        return None

    def attempt(self, model: str, attempt: int, operation: str = "chat",
                ) -> contextlib.AbstractContextManager[SpanNote]:
        return self._null

    def stage(self, route: str, stage: int,
              model: str) -> contextlib.AbstractContextManager[SpanNote]:
        return self._null

    def content(self, ctx: RequestContext, messages: Sequence[Mapping[str, Any]],
                completion: str | None) -> None:
        return None

    def end_request(self, ctx: RequestContext, status: int, error: str | None = None) -> None:
        return None

    async def aclose(self) -> None:
        return None


def traces_endpoint(config: TracingConfig | None,
                    environ: Mapping[str, str] | None = None) -> str | None:
    """The OTLP/HTTP traces URL: gateway.yaml first, then the standard variables; None: off."""
    env = os.environ if environ is None else environ
    base = config.otlp_endpoint if config is not None else None
    if not base:
        if env.get(TRACES_ENDPOINT_ENV):
            return env[TRACES_ENDPOINT_ENV]  # already the full traces URL, per the spec
        base = env.get(ENDPOINT_ENV)
    if not base:
        return None
    base = base.rstrip("/")
    return base if base.endswith("/v1/traces") else f"{base}/v1/traces"


def build_tracing(config: TracingConfig | None, systems: Mapping[str, str],
                  secrets: Sequence[str] = (),
                  environ: Mapping[str, str] | None = None) -> Tracing:
    """`OtelTracing` exporting to the configured endpoint, or `NoTracing` when none is set."""
    endpoint = traces_endpoint(config, environ)
    if endpoint is None:
        return NoTracing()
    try:
        from gateway.otel import OtelTracing  # the SDK is imported only when tracing is on
    except ImportError as exc:
        from gateway.config import ConfigError

        raise ConfigError(f"tracing to {endpoint} needs the `otel` extra"
                          f" (pip install 'costroute[otel]'): {exc}") from None

    headers = dict(config.headers) if config is not None else {}
    name = config.service_name if config is not None else SERVICE_NAME
    return OtelTracing(endpoint, systems, secrets, headers=headers, service_name=name)
