"""The chat pipeline as the other APIs see it: a chat body in, a metered chat result out.

Responses and Messages translate their request into a chat-completions body and run it
here, through the same ChatService (resolve, estimate, route, reserve, call, settle) that
`/v1/chat/completions` uses, so every API is priced and settled by one path and none is
billed twice or skipped. This module knows no wire format but chat's.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import orjson
from pydantic import ValidationError

from gateway.assembly import Gateway
from gateway.content_log import StreamTextCollector, completion_text
from gateway.context import RequestContext
from gateway.entrypoints.common import invalid, record_content, wants_content
from gateway.plan import ChatReply
from gateway.protocol import ChatCompletionRequest
from gateway.records.capture import capture_reply, capture_stream, wants_capture
from gateway.routing import Routed
from routers.base import Orchestrator


@dataclass
class ChatStream:
    """An open, metered chat stream: parsed chunks, and the headers known up front.

    The last chunk with `usage` carries `x_costroute` (the settled cost); a failed stream
    ends with an `{"error": ..., "x_costroute": ...}` chunk instead. Close `chunks` (or
    run it to its end) so the spend is settled.
    """

    chunks: AsyncIterator[dict[str, Any]]
    headers: dict[str, str]
    model: str


def parse_chat(body: dict[str, Any]) -> ChatCompletionRequest:
    try:
        return ChatCompletionRequest.model_validate(body)
    except ValidationError as exc:
        raise invalid(exc) from None


def reply_headers(reply: ChatReply, request_id: str) -> dict[str, str]:
    return {
        "x-request-id": request_id,
        "x-costroute-model": reply.model,
        "x-costroute-cost-usd": f"{reply.cost_usd:.8f}",
        "x-costroute-cost-status": "estimated" if reply.estimated else "actual",
        "x-costroute-route": reply.route,
    }


async def complete(gateway: Gateway, ctx: RequestContext, body: dict[str, Any]) -> ChatReply:
    """One non-streaming chat call, reserved and settled (orchestrated routes included)."""
    body = {**body, "stream": False}
    body.pop("stream_options", None)
    chat = parse_chat(body)
    messages = [m if isinstance(m, dict) else {} for m in body["messages"]]
    service = gateway.service
    target = service.target(ctx, chat, messages)
    if isinstance(target, Routed) and isinstance(target.router, Orchestrator):
        reply = await service.orchestrate(ctx, target, chat, body, messages)
    else:
        reply = await service.complete(ctx, chat, body, messages, target)
    capture_reply(gateway, ctx, messages, reply)  # the learning loop's records, as on chat
    if wants_content(gateway, ctx):  # tenants that opted in: their log and spans, as on chat
        record_content(gateway, ctx, messages, completion_text(reply.body))
    return reply


async def stream(gateway: Gateway, ctx: RequestContext, body: dict[str, Any]) -> ChatStream:
    """A streaming chat call; the usage chunk is always asked for (it carries the cost)."""
    body = {**body, "stream": True, "stream_options": {"include_usage": True}}
    chat = parse_chat(body)
    messages = [m if isinstance(m, dict) else {} for m in body["messages"]]
    service = gateway.service
    target = service.target(ctx, chat, messages)
    if isinstance(target, Routed) and isinstance(target.router, Orchestrator):
        # A multi-call route answers whole; its answer is replayed as one stream.
        reply = await service.orchestrate(ctx, target, chat, body, messages)
        return ChatStream(_replayed(reply), reply_headers(reply, ctx.request_id), reply.model)
    events, headers = await service.stream(ctx, chat, body, messages, target)
    capture = wants_capture(gateway, ctx)
    logged = wants_content(gateway, ctx)
    collector = StreamTextCollector() if capture or logged else None

    def record(text: str) -> None:
        if logged:
            record_content(gateway, ctx, messages, text)
        if capture:
            capture_stream(gateway, ctx, messages, text, headers.get("x-costroute-route", ""))

    return ChatStream(_parsed(events, collector, record),
                      {"x-request-id": ctx.request_id, **headers},
                      headers.get("x-costroute-model", ""))


async def _parsed(events: AsyncIterator[bytes], collector: StreamTextCollector | None,
                  record: Callable[[str], None]) -> AsyncIterator[dict[str, Any]]:
    """The relay's SSE bytes back as chunks (an item may hold several `data:` events: the
    relay writes events that arrived together in one piece)."""
    try:
        async for item in events:
            if collector is not None:
                collector.feed(item)
            done = False
            for event in item.split(b"\n\n"):
                data = event.strip()[len(b"data:"):].strip()
                if not data:
                    continue
                if data == b"[DONE]":
                    done = True
                    break
                yield orjson.loads(data)
            if done:
                break
    finally:
        # Closing the relay is what settles a stream the client left early.
        await events.aclose()  # type: ignore[attr-defined]
        if collector is not None:
            record(collector.text)


async def _replayed(reply: ChatReply) -> AsyncIterator[dict[str, Any]]:
    response = reply.body
    base = {"id": response.get("id", "chatcmpl-costroute"), "object": "chat.completion.chunk",
            "created": response.get("created", 0), "model": response.get("model", "")}
    for choice in response.get("choices") or []:
        message = choice.get("message") or {}
        index = choice.get("index", 0)
        delta: dict[str, Any] = {"role": "assistant", "content": message.get("content") or ""}
        if message.get("tool_calls"):
            delta["tool_calls"] = [{**call, "index": i}
                                   for i, call in enumerate(message["tool_calls"])]
        yield {**base, "choices": [{"index": index, "delta": delta, "finish_reason": None}]}
        yield {**base, "choices": [{"index": index, "delta": {},
                                    "finish_reason": choice.get("finish_reason", "stop")}]}
    yield {**base, "choices": [], "usage": response.get("usage") or {},
           "x_costroute": {"cost_usd": round(reply.cost_usd, 10), "model": reply.model,
                           "estimated": reply.estimated}}
