"""Plain ASGI middleware: request ids and the request size limits (body and headers).

Written against `scope, receive, send` rather than BaseHTTPMiddleware so that streaming
responses pass through untouched and the per-request cost stays in microseconds.
"""

from __future__ import annotations

import os
import re
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.errors import BodyTooLarge, error_body

# uvicorn's httptools parser buffers headers of any size (measured: a 100 MB header was
# accepted with a 200). This caps what the app works on; capping what the server buffers
# needs uvicorn's h11 parser and `h11_max_incomplete_event_size`. nginx accepts 32 KiB.
MAX_HEADER_BYTES = 64 * 1024

_SAFE_ID = re.compile(rb"^[A-Za-z0-9._:-]{1,128}$")


def _error_response(status: int, body: dict[str, Any], request_id: bytes) -> tuple[Message, Message]:
    payload = orjson.dumps(body)
    start: Message = {
        "type": "http.response.start",
        "status": status,
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(payload)).encode()),
            (b"x-request-id", request_id),
        ],
    }
    return start, {"type": "http.response.body", "body": payload}


class RequestIdMiddleware:
    """Gives every request a fresh `x-request-id`; a client's own id comes back beside it.

    The gateway's id keys the request's reservation and spend entry, so it must be unique:
    a client-chosen id, reused by a retry or sent twice at once, would make the second
    request collide with the first (a 500, or a hold shared by two calls and one of them
    never recorded). As OpenAI does, a safe id the client sends in `x-client-request-id`
    (or `x-request-id`) is echoed as `x-client-request-id` and kept for the logs.
    """

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        client_id = _client_request_id(scope["headers"])
        # 128 random bits, as uuid4 has, without building a UUID object per request.
        request_id = b"req_" + os.urandom(16).hex().encode()
        state = scope.setdefault("state", {})
        state["request_id"] = request_id.decode()
        if client_id:
            state["client_request_id"] = client_id.decode()
        ours = {b"x-request-id", b"x-client-request-id"}

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k not in ours]
                headers.append((b"x-request-id", request_id))
                if client_id:
                    headers.append((b"x-client-request-id", client_id))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_id)


def _client_request_id(headers: list[tuple[bytes, bytes]]) -> bytes:
    found = {name: value for name, value in headers
             if name in (b"x-client-request-id", b"x-request-id") and _SAFE_ID.match(value)}
    return found.get(b"x-client-request-id") or found.get(b"x-request-id") or b""


def _request_id(scope: Scope) -> bytes:
    return str(scope.get("state", {}).get("request_id", "")).encode()


class BodyLimitMiddleware:
    """Answers 413 in OpenAI's shape for bodies over `max_bytes`, declared or streamed,
    and 431 for headers over `max_header_bytes` in total."""

    def __init__(self, app: ASGIApp, max_bytes: int, max_header_bytes: int = MAX_HEADER_BYTES):
        self.app = app
        self.max_bytes = max_bytes
        self.max_header_bytes = max_header_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        header_bytes = 0
        declared = 0
        for name, value in scope["headers"]:
            header_bytes += len(name) + len(value)
            if name == b"content-length":
                try:
                    declared = max(declared, int(value))
                except ValueError:
                    pass
        if header_bytes > self.max_header_bytes:
            body = error_body(f"The request headers exceed {self.max_header_bytes} bytes.",
                              "invalid_request_error", None, "request_headers_too_large")
            for message in _error_response(431, body, _request_id(scope)):
                await send(message)
            return
        if declared > self.max_bytes:
            for message in _error_response(413, self._too_large().body(), _request_id(scope)):
                await send(message)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise self._too_large()
            return message

        await self.app(scope, limited_receive, send)

    def _too_large(self) -> BodyTooLarge:
        return BodyTooLarge(f"The request body exceeds {self.max_bytes} bytes.")
