"""Relaying an upstream SSE stream to the client, and settling on what it really cost."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, Protocol

import orjson

from gateway.accounting import price_usage, usage_of
from gateway.errors import UpstreamError, error_body
from gateway.ledger.base import Hold
from gateway.metrics import GatewayMetrics
from gateway.plan import Plan
from gateway.upstream.base import ChunkStream, UpstreamFailure, event_batches
from pricing import CostEstimate, Estimator, Usage
from pricing.tokenizers import message_text

if TYPE_CHECKING:
    from gateway.context import RequestContext

DONE = b"data: [DONE]\n\n"


def sse(event: Any) -> bytes:
    return b"data: " + orjson.dumps(event) + b"\n\n"


class Settler(Protocol):
    """What the relay needs from the service that started the stream (ChatService is one)."""

    estimator: Estimator
    metrics: GatewayMetrics

    async def settle(self, ctx: RequestContext, hold: Hold, model: str, route: str,
                     usage: Usage, cost: float, estimate: CostEstimate,
                     stage: int | None = None) -> None: ...


class StreamRelay:
    """Forwards chunks, hides the usage chunk unless the client asked for it, then settles."""

    def __init__(self, service: Settler, ctx: RequestContext, plan: Plan, hold: Hold,
                 model: str, messages: list[dict[str, Any]], include_usage: bool,
                 started: float):
        self._service = service
        self._ctx = ctx
        self._plan = plan
        self._hold = hold
        self._model = model
        self._messages = messages
        self._include_usage = include_usage
        self._started = started
        self._text: list[str] = []
        self._usage: dict[str, Any] | None = None
        self._counted: Usage | None = None
        self._cost = 0.0

    async def events(self, upstream: ChunkStream) -> AsyncIterator[bytes]:
        failed: str | None = None
        last: dict[str, Any] = {}
        try:
            # Events that arrived together leave together: one write to the client each.
            async for batch in event_batches(upstream):
                last = batch[-1]
                out = [sse(o) for o in map(self._forward, batch) if o is not None]
                if out:
                    yield out[0] if len(out) == 1 else b"".join(out)
        except UpstreamFailure as failure:
            failed = failure.message
        finally:
            await upstream.aclose()
            # Shielded: a client that disconnects must not cancel settlement of its spend.
            await asyncio.shield(self._settle(failed))
        if failed is not None:
            # The partial answer was charged: its cost rides on the error event, as the
            # headers went out before it was known.
            error = UpstreamError(f"The upstream stream failed: {failed}")
            yield sse({**error_body(error.message, error.error_type, None, error.code),
                       "x_costroute": self._cost_note_of_counted()})
            return
        if self._include_usage and self._usage is None and self._counted is not None:
            # The upstream sent no usage (llama.cpp, some vLLM builds): the client asked
            # for it, so it gets our own count, flagged as estimated.
            yield sse(self._usage_chunk(last, self._counted))
        yield DONE

    def _cost_note_of_counted(self) -> dict[str, Any]:
        estimated = self._counted.estimated if self._counted is not None else True
        return {"cost_usd": round(self._cost, 10), "model": self._model, "estimated": estimated}

    def _usage_chunk(self, last: dict[str, Any], usage: Usage) -> dict[str, Any]:
        base: dict[str, Any] = {k: last[k] for k in ("id", "object", "created", "model")
                                if k in last}
        return {**base, "choices": [], "usage": usage.to_openai(),
                "x_costroute": {"cost_usd": round(self._cost, 10), "model": self._model,
                                "estimated": usage.estimated}}

    def _forward(self, chunk: dict[str, Any]) -> dict[str, Any] | None:
        usage = chunk.get("usage")
        if usage:
            self._usage = usage
        for choice in chunk.get("choices") or ():
            delta = choice.get("delta") or {}
            content = delta.get("content")
            if content:
                self._text.append(message_text(content))
            for call in delta.get("tool_calls") or ():
                function = call.get("function") or {}
                self._text.append(str(function.get("arguments") or ""))
        if self._include_usage:
            if usage:
                return {**chunk, "x_costroute": self._cost_note(usage)}
            return chunk
        if usage is not None or "usage" in chunk:
            if not chunk.get("choices"):
                return None  # the usage-only chunk the client did not ask for
            chunk = {k: v for k, v in chunk.items() if k != "usage"}
        return chunk

    def _cost_note(self, usage: dict[str, Any]) -> dict[str, Any]:
        """The actual cost, riding on the usage chunk: headers were sent before it was known."""
        service = self._service
        counted = usage_of(service.estimator, self._model, self._messages, usage, "")
        return {"cost_usd": round(price_usage(service.estimator, self._model, counted), 10),
                "model": self._model, "estimated": counted.estimated}

    async def _settle(self, failed: str | None) -> None:
        service, ctx = self._service, self._ctx
        elapsed = time.perf_counter() - self._started
        ctx.upstream_s += elapsed
        service.metrics.upstream_latency.labels(self._model).observe(elapsed)
        usage = usage_of(service.estimator, self._model, self._messages, self._usage,
                         "".join(self._text))
        cost = price_usage(service.estimator, self._model, usage)
        self._counted, self._cost = usage, cost
        await service.settle(ctx, self._hold, self._model, self._plan.route, usage, cost,
                             self._plan.estimate)
        ctx.log.update(model=self._model, cost_usd=cost, prompt_tokens=usage.prompt_tokens,
                       completion_tokens=usage.completion_tokens, stream_error=failed)


def replay_as_stream(response: dict[str, Any], include_usage: bool) -> AsyncIterator[bytes]:
    """An SSE stream of an answer that is already complete (orchestrated routes, cache hits)."""

    async def events() -> AsyncIterator[bytes]:
        base = {"id": response.get("id", "chatcmpl-costroute"), "object": "chat.completion.chunk",
                "created": response.get("created", 0), "model": response.get("model", "")}
        for choice in response.get("choices") or []:
            message = choice.get("message") or {}
            index = choice.get("index", 0)
            yield sse({**base, "choices": [{"index": index, "delta": {
                "role": "assistant", "content": message.get("content") or ""},
                "finish_reason": None}]})
            yield sse({**base, "choices": [{"index": index, "delta": {},
                                            "finish_reason": choice.get("finish_reason", "stop")}]})
        if include_usage and response.get("usage"):
            yield sse({**base, "choices": [], "usage": response["usage"]})
        yield DONE

    return events()
