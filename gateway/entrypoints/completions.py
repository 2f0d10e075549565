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

from gateway.entrypoints.completions_translate import chunk_from_chat, from_chat, to_chat_body
from gateway.entrypoints.completions_wire import CompletionRequest
from gateway.entrypoints.translated import call_chat


def install(app: FastAPI) -> None:
    @app.post("/v1/completions")
    async def create_completion(request: Request) -> Response:
        called = await call_chat(request, CompletionRequest, "completions", to_chat_body)
        if called.reply is not None:
            return called.answer(from_chat(called.reply.body, called.reply.model))
        assert called.opened is not None
        include_usage = bool((called.parsed.stream_options or {}).get("include_usage"))
        return called.stream(_events(called.opened.chunks, called.opened.model, include_usage))


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
