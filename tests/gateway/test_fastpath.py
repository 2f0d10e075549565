"""ChatFastPath: the chat route past FastAPI, other paths through it, errors in our shape."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from starlette.responses import JSONResponse, Response

from gateway.app import _unexpected, error_response
from gateway.errors import InvalidRequest
from gateway.fastpath import ChatCall, ChatFastPath
from gateway.middleware import BodyLimitMiddleware, RequestIdMiddleware


def _app(handler):  # type: ignore[no-untyped-def]
    app = FastAPI()

    @app.get("/other")
    async def other() -> Response:
        return JSONResponse({"via": "fastapi"})

    rest = RequestIdMiddleware(BodyLimitMiddleware(app, 64))
    return ChatFastPath(app, "/v1/chat", handler, error_response, _unexpected, rest=rest,
                        max_body_bytes=64)


async def _call(asgi, method: str, path: str, **kw) -> httpx.Response:  # type: ignore[no-untyped-def]
    transport = httpx.ASGITransport(app=asgi)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return await client.request(method, path, **kw)


async def test_the_chat_route_reaches_its_handler_and_others_reach_fastapi() -> None:
    async def handler(call: ChatCall) -> Response:
        assert call.app.state is not None  # the FastAPI app: its state holds the gateway
        return JSONResponse({"via": "fast path"})

    asgi = _app(handler)
    assert (await _call(asgi, "POST", "/v1/chat")).json() == {"via": "fast path"}
    assert (await _call(asgi, "GET", "/other")).json() == {"via": "fastapi"}
    # Another method on the path is FastAPI's to answer (this app has no such route).
    assert (await _call(asgi, "GET", "/v1/chat")).status_code == 404


async def test_errors_leave_in_the_openai_shape() -> None:
    async def invalid(call: ChatCall) -> Response:
        raise InvalidRequest("bad body", param="messages")

    async def broken(call: ChatCall) -> Response:
        raise RuntimeError("a bug")

    r = await _call(_app(invalid), "POST", "/v1/chat")
    assert r.status_code == 400 and r.json()["error"]["param"] == "messages"
    r = await _call(_app(broken), "POST", "/v1/chat")
    assert r.status_code == 500 and "a bug" not in r.text
    assert r.json()["error"]["message"] == "The gateway failed to process the request."


async def test_the_fast_path_does_the_middlewares_work_inline() -> None:
    """Request ids, the client's id echoed, the first of repeated headers, body limits."""
    seen: list[ChatCall] = []

    async def handler(call: ChatCall) -> Response:
        seen.append(call)
        await call.body()
        return JSONResponse({"ok": True}, headers={"x-request-id": "the-app's"})

    asgi = _app(handler)
    r = await _call(asgi, "POST", "/v1/chat", content=b"{}",
                    headers=[("x-client-request-id", "mine-1"), ("x-a", "1"), ("x-a", "2")])
    assert r.status_code == 200
    assert r.headers.get_list("x-request-id") == [seen[0].request_id]
    assert seen[0].request_id.startswith("req_") and seen[0].client_request_id == "mine-1"
    assert r.headers["x-client-request-id"] == "mine-1" and seen[0].headers["x-a"] == "1"
    other = await _call(asgi, "POST", "/v1/chat", content=b"{}")
    assert other.headers["x-request-id"] != r.headers["x-request-id"]
    assert "x-client-request-id" not in other.headers
    # A body over the limit, declared or streamed, is a 413 in our shape with our id.
    declared = await _call(asgi, "POST", "/v1/chat", content=b"x" * 65)
    assert declared.status_code == 413 and declared.headers["x-request-id"].startswith("req_")

    async def chunks():  # type: ignore[no-untyped-def]
        for _ in range(5):
            yield b"x" * 20

    streamed = await _call(asgi, "POST", "/v1/chat", content=chunks())
    assert streamed.status_code == 413
    assert streamed.json()["error"]["code"] == "request_too_large"
    big = await _call(asgi, "POST", "/v1/chat", headers={"x-big": "y" * 70_000})
    assert big.status_code == 431
