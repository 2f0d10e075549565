"""`POST /v1/messages` and `/v1/messages/count_tokens`: Anthropic's Messages API inbound.

The request is translated to a chat body (messages_translate), runs through the one chat
pipeline (pipeline.py) and is told back as a Message or as Messages stream events
(messages_stream). Errors on these paths use Anthropic's shape
`{"type": "error", "error": {"type", "message"}}`; the key may come as `x-api-key`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import orjson
from fastapi import FastAPI, Request
from starlette.responses import Response

from gateway.assembly import Gateway
from gateway.context import RequestContext
from gateway.entrypoints import pipeline
from gateway.entrypoints.common import (
    event_stream,
    failed,
    finish,
    gateway_of,
    json_response,
    parse_body,
    read_json,
    request_context,
    safe_headers,
    traced,
)
from gateway.entrypoints.messages_stream import MessagesEvents
from gateway.entrypoints.messages_translate import from_chat, to_chat_body
from gateway.entrypoints.messages_wire import CountTokensRequest, MessagesRequest
from gateway.errors import GatewayError, anthropic_error_body, as_gateway_error
from gateway.routing import Passthrough

log = logging.getLogger("costroute.messages")


async def _anthropic_errors(request: Request,
                            handle: Callable[[Gateway, RequestContext], Awaitable[Response]],
                            ) -> Response:
    """Runs `handle`; any error leaves in Anthropic's shape (a 500 for our own bugs)."""
    gateway = gateway_of(request)
    ctx: RequestContext | None = None
    try:
        ctx = request_context(request, gateway)
        return await handle(gateway, ctx)
    except Exception as exc:
        error = as_gateway_error(exc)
        if error is None:
            log.exception("unhandled error on %s", request.url.path)
            error = GatewayError("The gateway failed to process the request.")
        if ctx is not None:
            failed(gateway, ctx, error)
        return json_response(anthropic_error_body(error), error.status_code,
                             error.headers or None)


def install(app: FastAPI) -> None:
    @app.post("/v1/messages")
    async def create_message(request: Request) -> Response:
        async def handle(gateway: Gateway, ctx: RequestContext) -> Response:
            parsed: MessagesRequest = parse_body(MessagesRequest, await read_json(request))
            traced(gateway, ctx, "messages", parsed.model, bool(parsed.stream))
            chat_body = to_chat_body(parsed)
            if not parsed.stream:
                with gateway.tracing.activate(ctx):
                    reply = await pipeline.complete(gateway, ctx, chat_body)
                finish(gateway, ctx, 200, stream=False)
                return json_response(from_chat(reply.body, reply.model), headers=safe_headers(
                    pipeline.reply_headers(reply, ctx.request_id)))
            with gateway.tracing.activate(ctx):
                opened = await pipeline.stream(gateway, ctx, chat_body)

            return event_stream(gateway, ctx,
                                MessagesEvents(opened.model).events(opened.chunks),
                                opened.chunks, opened.headers)

        return await _anthropic_errors(request, handle)

    @app.post("/v1/messages/count_tokens")
    async def count_tokens(request: Request) -> Response:
        async def handle(gateway: Gateway, ctx: RequestContext) -> Response:
            parsed: CountTokensRequest = parse_body(CountTokensRequest, await read_json(request))
            body = to_chat_body(parsed)
            # A route alias counts with its first candidate's tokenizer: the model is not
            # chosen until the request is sent.
            target = gateway.routes.resolve(parsed.model, ctx.tenant)
            model = target.model if isinstance(target, Passthrough) else target.pool[0]
            estimator = gateway.service.estimator
            price = estimator.catalog[model]
            tokens = estimator.prompt_tokens(price, body["messages"])
            if body.get("tools"):
                tokenizer = estimator.tokenizers.get(price.tokenizer)
                tokens += tokenizer.count(orjson.dumps(body["tools"]).decode())
            return json_response({"input_tokens": tokens},
                                 headers={"x-request-id": ctx.request_id,
                                          "x-costroute-model": model})

        return await _anthropic_errors(request, handle)
