"""One route served past FastAPI and the middleware stack: the chat completions hot path.

The chat route reads its body raw and maps its own errors, so FastAPI's routing, dependency
solving and the stacked ASGI middlewares add nothing to it but CPU (bench/overhead/profile.py
under py-spy). `ChatFastPath` does their work for that route inline — the request id, the
header and body size limits — and calls the route's handler with a `ChatCall` (the few parts
of the request it reads) instead of a Starlette Request; every other request, and the
OpenAPI schema, go to `rest` (the app behind the middlewares).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.errors import GatewayError
from gateway.middleware import (
    MAX_HEADER_BYTES,
    client_request_id,
    new_request_id,
    read_body,
    send_error,
    size_refusal,
    with_ids,
)


@dataclass(slots=True)
class ChatCall:
    """What the chat handler reads of an HTTP request."""

    app: Any  # the FastAPI app: its `state` holds the gateway
    headers: Mapping[str, str]  # lower-case names; the first of repeated ones
    request_id: str
    client_request_id: str | None
    body: Callable[[], Awaitable[bytes]]  # raises BodyTooLarge past the limit


Handler = Callable[[ChatCall], Awaitable[Response]]
Unexpected = Callable[[Exception, str], Response]


class ChatFastPath:
    """ASGI: `POST path` to `handler`, errors in the app's own shapes; the rest to `rest`."""

    def __init__(self, app: Any, path: str, handler: Handler,
                 gateway_error: Callable[[GatewayError], Response], unexpected: Unexpected,
                 *, rest: ASGIApp | None = None, max_body_bytes: int = 1 << 62,
                 max_header_bytes: int = MAX_HEADER_BYTES):
        self.app = app
        self.rest: ASGIApp = rest if rest is not None else app
        self.path = path
        self.handler = handler
        self.gateway_error = gateway_error
        self.unexpected = unexpected
        self.max_body_bytes = max_body_bytes
        self.max_header_bytes = max_header_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (scope["type"] != "http" or scope["path"] != self.path
                or scope["method"] != "POST" or scope.get("root_path")):
            await self.rest(scope, receive, send)
            return
        raw: list[tuple[bytes, bytes]] = scope["headers"]
        client_id = client_request_id(raw)
        request_id = new_request_id()
        refusal = size_refusal(raw, self.max_body_bytes, self.max_header_bytes)
        if refusal is not None:
            await send_error(send, *refusal, request_id, client_id)
            return
        max_bytes = self.max_body_bytes

        def body() -> Awaitable[bytes]:
            return read_body(receive, max_bytes)

        # Reversed, so that the first of a repeated header wins (as Starlette's `get`).
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in reversed(raw)}
        call = ChatCall(self.app, headers, request_id.decode(),
                        client_id.decode() if client_id else None, body)
        try:
            response = await self.handler(call)
        except GatewayError as exc:
            response = self.gateway_error(exc)
        except Exception as exc:  # noqa: BLE001 - as FastAPI's handler: a 500 in our shape
            response = self.unexpected(exc, call.request_id)
        response.raw_headers = with_ids(response.raw_headers, request_id, client_id)
        await response(scope, receive, send)
