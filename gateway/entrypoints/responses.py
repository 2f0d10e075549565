"""`POST /v1/responses`: OpenAI's Responses API, served by translation onto chat upstreams.

The request becomes a chat-completions body (responses_translate), runs through the one
chat pipeline (pipeline.py: route, reserve, call, settle) and its answer is told back as
a `response` object or as the Responses stream's semantic events (responses_stream).
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from starlette.responses import Response

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
from gateway.entrypoints.responses_stream import ResponsesEvents
from gateway.entrypoints.responses_translate import from_chat, to_chat_body
from gateway.entrypoints.responses_wire import ResponsesRequest
from gateway.errors import as_gateway_error


def install(app: FastAPI) -> None:
    @app.post("/v1/responses")
    async def create_response(request: Request) -> Response:
        gateway = gateway_of(request)
        ctx = request_context(request, gateway)
        try:
            parsed = parse_body(ResponsesRequest, await read_json(request))
            traced(gateway, ctx, "responses", parsed.model, bool(parsed.stream))
            chat_body = to_chat_body(parsed)
            with gateway.tracing.activate(ctx):
                if parsed.stream:
                    opened = await pipeline.stream(gateway, ctx, chat_body)
                else:
                    reply = await pipeline.complete(gateway, ctx, chat_body)
        except Exception as exc:
            error = as_gateway_error(exc)
            if error is None:
                gateway.tracing.end_request(ctx, 500, type(exc).__name__)
                raise
            failed(gateway, ctx, error.status_code, error.code)
            raise error from None
        if not parsed.stream:
            finish(gateway, ctx, 200, stream=False)
            return json_response(from_chat(parsed, reply.body, reply.model),
                                 headers=safe_headers(pipeline.reply_headers(reply,
                                                                             ctx.request_id)))

        return event_stream(gateway, ctx,
                            ResponsesEvents(parsed, opened.model).events(opened.chunks),
                            opened.chunks, opened.headers)
