"""`POST /v1/completions`: OpenAI's legacy text completions, served by chat models.

Older clients and tools (text-completion LLM classes, editor autocompletion) still call it.
The prompt becomes one user message (completions_translate), runs through the one chat
pipeline (route, reserve, call, settle), and the answer is told back as `text_completion`
objects or chunks.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import orjson
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
from gateway.entrypoints.completions_translate import chunk_from_chat, from_chat, to_chat_body
from gateway.entrypoints.completions_wire import CompletionRequest
from gateway.errors import as_gateway_error


def install(app: FastAPI) -> None:
    @app.post("/v1/completions")
    async def create_completion(request: Request) -> Response:
        gateway = gateway_of(request)
        ctx = request_context(request, gateway)
        try:
            parsed = parse_body(CompletionRequest, await read_json(request))
            traced(gateway, ctx, "completions", parsed.model, bool(parsed.stream))
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
            return json_response(from_chat(reply.body, reply.model),
                                 headers=safe_headers(pipeline.reply_headers(reply,
                                                                             ctx.request_id)))
        include_usage = bool((parsed.stream_options or {}).get("include_usage"))
        return event_stream(gateway, ctx,
                            _events(opened.chunks, opened.model, include_usage),
                            opened.chunks, opened.headers)


async def _events(chunks: AsyncIterator[dict[str, Any]], model: str,
                  include_usage: bool) -> AsyncIterator[bytes]:
    async for chunk in chunks:
        if "error" in chunk:  # the upstream failed mid-stream: say so, as OpenAI streams do
            yield b"data: " + orjson.dumps({"error": chunk["error"]}) + b"\n\n"
            return
        out = chunk_from_chat(chunk, model, include_usage)
        if out is not None:
            yield b"data: " + orjson.dumps(out) + b"\n\n"
    yield b"data: [DONE]\n\n"
