"""The floor: a FastAPI forwarder with no auth, pricing or ledger, on a chosen HTTP client.

`--client aiohttp-transport` (httpx's API over aiohttp, the costroute gateway's transport) is
the floor the benchmark compares with; `httpx` (httpx 0.28's own pool) is kept beside it as a
reference; `aiohttp` (a bare ClientSession) shows what httpx's API costs on top.
Usage: python bench/overhead/forwarder.py LISTEN_PORT UPSTREAM_PORT [--client NAME]
"""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from starlette.responses import Response, StreamingResponse

CLIENTS = ("aiohttp-transport", "httpx", "aiohttp")
HEADERS = {"content-type": "application/json"}
Forward = Callable[[bytes], Awaitable[Response]]


def _relay(chunks: AsyncIterator[bytes], close: Callable[[], Awaitable[None]]) -> Response:
    async def relay() -> AsyncIterator[bytes]:
        try:
            async for chunk in chunks:
                yield chunk
        finally:
            await close()
    return StreamingResponse(relay(), media_type="text/event-stream")


def _httpx_forward(client: Any, url: str) -> Forward:
    async def forward(body: bytes) -> Response:
        upstream = await client.send(client.build_request("POST", url, content=body,
                                                          headers=HEADERS), stream=True)
        if upstream.headers.get("content-type", "").startswith("text/event-stream"):
            return _relay(upstream.aiter_raw(), upstream.aclose)
        content = await upstream.aread()
        await upstream.aclose()
        return Response(content, media_type="application/json")
    return forward


def _aiohttp_forward(session: Any, url: str) -> Forward:
    async def forward(body: bytes) -> Response:
        upstream = await session.post(url, data=body, headers=HEADERS)
        if upstream.content_type == "text/event-stream":
            async def close() -> None:
                upstream.release()
            return _relay(upstream.content.iter_any(), close)
        content = await upstream.read()
        upstream.release()
        return Response(content, media_type="application/json")
    return forward


@asynccontextmanager
async def _client(name: str, url: str) -> AsyncIterator[Forward]:
    import aiohttp
    import httpx

    if name == "httpx":
        limits = httpx.Limits(max_connections=512, max_keepalive_connections=512)
        async with httpx.AsyncClient(limits=limits) as client:
            yield _httpx_forward(client, url)
        return
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=512))
    async with session:
        if name == "aiohttp":
            yield _aiohttp_forward(session, url)
            return
        from httpx_aiohttp import AiohttpTransport

        async with httpx.AsyncClient(transport=AiohttpTransport(client=session)) as client:
            yield _httpx_forward(client, url)


def build(upstream_port: int, client: str) -> FastAPI:
    url = f"http://127.0.0.1:{upstream_port}/v1/chat/completions"
    holder: dict[str, Forward] = {}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with _client(client, url) as forward:
            holder["forward"] = forward
            yield

    app = FastAPI(lifespan=lifespan, docs_url=None, redoc_url=None)

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> Response:
        return await holder["forward"](await request.body())

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("port", type=int)
    parser.add_argument("upstream_port", type=int)
    parser.add_argument("--client", choices=CLIENTS, default="aiohttp-transport")
    args = parser.parse_args()
    uvicorn.run(build(args.upstream_port, args.client), host="127.0.0.1", port=args.port,
                log_level="warning", access_log=False, loop="uvloop", http="httptools")


if __name__ == "__main__":
    main()
