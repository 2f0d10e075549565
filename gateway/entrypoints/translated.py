"""Running a request of an API that translates onto chat (Responses, legacy completions).

Each such API parses its own wire model, turns it into a chat body and tells the answer back
in its own shape; what lies between is the same for all of them and lives here: the caller,
the trace, one metered chat call (streaming or not) and the mapping of its errors.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from fastapi import Request
from starlette.responses import Response

from gateway.assembly import Gateway
from gateway.context import RequestContext
from gateway.entrypoints import pipeline
from gateway.entrypoints.common import (
    answered_error,
    event_stream,
    finish,
    gateway_of,
    json_response,
    parse_body,
    read_json,
    request_context,
    safe_headers,
    traced,
)
from gateway.plan import ChatReply


class ChatLike(Protocol):
    """What the shared steps read of a translated API's request."""

    model: str
    stream: bool | None


Parsed = TypeVar("Parsed", bound=ChatLike)


@dataclass
class Called(Generic[Parsed]):
    """A translated request after its chat call: `reply` for a plain one, `opened` for a
    stream (close its chunks, or run them to their end, so the spend is settled)."""

    gateway: Gateway
    ctx: RequestContext
    parsed: Parsed
    reply: ChatReply | None = None
    opened: pipeline.ChatStream | None = None

    def answer(self, body: dict[str, Any]) -> Response:
        """The plain answer: `body` (the reply told in the API's shape), the cost headers."""
        assert self.reply is not None
        finish(self.gateway, self.ctx, 200, stream=False)
        return json_response(body, headers=safe_headers(
            pipeline.reply_headers(self.reply, self.ctx.request_id)))

    def stream(self, events: AsyncIterator[bytes]) -> Response:
        """The stream: `events` (the chat chunks told in the API's shape) as SSE; ending it
        closes the chat stream, which settles the spend."""
        assert self.opened is not None
        return event_stream(self.gateway, self.ctx, events, self.opened.chunks,
                            self.opened.headers)


async def call_chat(request: Request, wire: type[Parsed], operation: str,
                    to_chat_body: Callable[[Parsed], dict[str, Any]]) -> Called[Parsed]:
    """Authenticates, parses `wire`, traces `operation` and makes the metered chat call; a
    failure leaves as a GatewayError (mapped by the app), counted and traced."""
    gateway = gateway_of(request)
    ctx = request_context(request, gateway)
    try:
        # Every wire model is a BaseModel as parse_body wants; the bound cannot say both.
        parsed = parse_body(wire, await read_json(request))  # type: ignore[type-var]
        traced(gateway, ctx, operation, parsed.model, bool(parsed.stream))
        chat_body = to_chat_body(parsed)
        with gateway.tracing.activate(ctx):
            if parsed.stream:
                return Called(gateway, ctx, parsed,
                              opened=await pipeline.stream(gateway, ctx, chat_body))
            return Called(gateway, ctx, parsed,
                          reply=await pipeline.complete(gateway, ctx, chat_body))
    except Exception as exc:  # noqa: BLE001 - answered_error re-raises our own bugs
        raise answered_error(gateway, ctx, exc) from None
