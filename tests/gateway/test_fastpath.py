"""ChatFastPath: the chat route past FastAPI, other paths through it, errors in our shape."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from gateway.app import _unexpected_error, error_response
from gateway.errors import InvalidRequest
from gateway.fastpath import ChatFastPath


def _app(handler):  # type: ignore[no-untyped-def]
    app = FastAPI()

    @app.get("/other")
    async def other() -> Response:
        return JSONResponse({"via": "fastapi"})

    return ChatFastPath(app, "/v1/chat", handler, error_response, _unexpected_error)


async def _call(asgi, method: str, path: str) -> httpx.Response:  # type: ignore[no-untyped-def]
    transport = httpx.ASGITransport(app=asgi)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return await client.request(method, path)


async def test_the_chat_route_reaches_its_handler_and_others_reach_fastapi() -> None:
    async def handler(request: Request) -> Response:
        assert request.app.state is not None  # the FastAPI app, as Starlette would set it
        return JSONResponse({"via": "fast path"})

    asgi = _app(handler)
    assert (await _call(asgi, "POST", "/v1/chat")).json() == {"via": "fast path"}
    assert (await _call(asgi, "GET", "/other")).json() == {"via": "fastapi"}
    # Another method on the path is FastAPI's to answer (this app has no such route).
    assert (await _call(asgi, "GET", "/v1/chat")).status_code == 404


async def test_errors_leave_in_the_openai_shape() -> None:
    async def invalid(request: Request) -> Response:
        raise InvalidRequest("bad body", param="messages")

    async def broken(request: Request) -> Response:
        raise RuntimeError("a bug")

    r = await _call(_app(invalid), "POST", "/v1/chat")
    assert r.status_code == 400 and r.json()["error"]["param"] == "messages"
    r = await _call(_app(broken), "POST", "/v1/chat")
    assert r.status_code == 500 and "a bug" not in r.text
    assert r.json()["error"]["message"] == "The gateway failed to process the request."
