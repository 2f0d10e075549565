"""One route served past FastAPI: the chat completions hot path.

The chat route reads its body raw and maps its own errors, so FastAPI's routing, dependency
solving and middleware stack add nothing to it but CPU (about a quarter of the gateway's
samples at 32 connections under py-spy, bench/overhead/profile.py). `ChatFastPath` calls
the route's handler directly; every other request, and the OpenAPI schema, stay FastAPI's.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from gateway.errors import GatewayError

Handler = Callable[[Request], Awaitable[Response]]
ErrorHandler = Callable[[Request, Exception], Awaitable[Response]]


class ChatFastPath:
    """ASGI: `POST path` to `handler`, errors in the app's own shapes; the rest to `app`."""

    def __init__(self, app: FastAPI, path: str, handler: Handler,
                 gateway_error: Callable[[GatewayError], Response], unexpected: ErrorHandler):
        self.app = app
        self.path = path
        self.handler = handler
        self.gateway_error = gateway_error
        self.unexpected = unexpected

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (scope["type"] != "http" or scope["path"] != self.path
                or scope["method"] != "POST" or scope.get("root_path")):
            await self.app(scope, receive, send)
            return
        scope["app"] = self.app  # what Starlette sets, so `request.app.state` works
        request = Request(scope, receive)
        try:
            response = await self.handler(request)
        except GatewayError as exc:
            response = self.gateway_error(exc)
        except Exception as exc:  # noqa: BLE001 - as FastAPI's handler: a 500 in our shape
            response = await self.unexpected(request, exc)
        await response(scope, receive, send)
