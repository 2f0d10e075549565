"""A hostile upstream that echoes the caller's API key back in every kind of error.

The last user message picks the behaviour:
    "mode:401"          401 whose message quotes the key (as some providers do)
    "mode:400"          400 (a client error the gateway passes on) quoting the key
    "mode:stream-error" 200 SSE: one chunk, then an error event quoting the key
anything else           401 as above.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


def _key(request: Request) -> str:
    return request.headers.get("authorization", "").removeprefix("Bearer ").strip()


def _error(status: int, key: str) -> Response:
    body = {"error": {"message": f"Incorrect API key provided: {key}. You passed {key!r}.",
                      "type": "invalid_request_error", "param": None, "code": "invalid_api_key"}}
    return Response(orjson.dumps(body), status, media_type="application/json",
                    headers={"x-echo-key": key})


def _stream_error(key: str) -> Response:
    chunk: dict[str, Any] = {"id": "chatcmpl-echo", "object": "chat.completion.chunk",
                             "created": 1, "model": "echo",
                             "choices": [{"index": 0, "delta": {"role": "assistant",
                                                                "content": "Hello"},
                                          "finish_reason": None}]}
    error = {"error": {"message": f"key {key} was revoked mid-stream", "type": "server_error"}}
    payload = b"data: " + orjson.dumps(chunk) + b"\n\ndata: " + orjson.dumps(error) + b"\n\n"
    return Response(payload, 200, media_type="text/event-stream")


async def chat(request: Request) -> Response:
    body = orjson.loads(await request.body())
    text = str((body.get("messages") or [{}])[-1].get("content", ""))
    key = _key(request)
    if "mode:stream-error" in text and body.get("stream"):
        return _stream_error(key)
    if "mode:400" in text:
        return _error(400, key)
    return _error(401, key)


def create_echo_upstream() -> Starlette:
    return Starlette(routes=[Route("/v1/chat/completions", chat, methods=["POST"])])
