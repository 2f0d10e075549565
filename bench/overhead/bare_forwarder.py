"""The practical floor: a bare Starlette + httpx forwarder with no auth, pricing or ledger.

Usage: python bench/overhead/bare_forwarder.py LISTEN_PORT UPSTREAM_PORT
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route


def build(upstream_port: int) -> Starlette:
    client = httpx.AsyncClient(base_url=f"http://127.0.0.1:{upstream_port}",
                               limits=httpx.Limits(max_connections=512, max_keepalive_connections=512))

    async def forward(request: Request) -> Response:
        body = await request.body()
        upstream = await client.send(
            client.build_request("POST", "/v1/chat/completions", content=body,
                                 headers={"content-type": "application/json"}), stream=True)
        if upstream.headers.get("content-type", "").startswith("text/event-stream"):
            async def relay() -> AsyncIterator[bytes]:
                async for chunk in upstream.aiter_raw():
                    yield chunk
                await upstream.aclose()
            return StreamingResponse(relay(), media_type="text/event-stream")
        content = await upstream.aread()
        await upstream.aclose()
        return Response(content, media_type="application/json")

    return Starlette(routes=[Route("/v1/chat/completions", forward, methods=["POST"])])


if __name__ == "__main__":
    uvicorn.run(build(int(sys.argv[2])), host="127.0.0.1", port=int(sys.argv[1]),
                log_level="warning", access_log=False)
