"""Streams from a real HTTP/1.1 upstream over loopback: connections go back to the pool."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import orjson
import pytest

from gateway.upstream.http import HttpUpstream
from gateway.upstream.pool import ConnectionPool


def _sse(extra_length: int = 0) -> bytes:
    chunk = orjson.dumps({"id": "c", "object": "chat.completion.chunk", "created": 1,
                          "model": "m", "choices": [{"index": 0, "delta": {"content": "hi"},
                                                     "finish_reason": None}]})
    body = b"data: " + chunk + b"\n\ndata: [DONE]\n\n"
    return (b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-length: "
            + str(len(body) + extra_length).encode() + b"\r\n\r\n" + body)


class CountingUpstream:
    """Answers every request with one SSE response; counts the TCP connections it accepts.

    `stall_after_done` declares a body longer than what it sends, so the response never ends
    after [DONE]: an upstream that hangs there.
    """

    def __init__(self, stall_after_done: bool = False):
        self.connections = 0
        self.response = _sse(extra_length=10 if stall_after_done else 0)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length:")), 0)
                await reader.readexactly(length)
                writer.write(self.response)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@pytest.fixture
async def upstream_factory() -> AsyncIterator[object]:
    servers: list[asyncio.Server] = []

    async def start(fake: CountingUpstream) -> str:
        server = await asyncio.start_server(fake.handle, "127.0.0.1", 0)
        servers.append(server)
        return f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/v1"

    yield start
    for server in servers:
        server.close()
        await server.wait_closed()


async def _stream_once(upstream: HttpUpstream) -> list[dict[str, object]]:
    stream = await upstream.open_stream({"messages": [], "stream": True})
    try:
        return [event async for event in stream]
    finally:
        await stream.aclose()


def _upstream(pool: ConnectionPool, base_url: str) -> HttpUpstream:
    return HttpUpstream("m", pool, base_url, api_key=None, upstream_model="m",
                        connect_s=5, first_byte_s=5, total_s=10)


async def test_streams_reuse_one_pooled_connection(upstream_factory) -> None:  # type: ignore[no-untyped-def]
    fake = CountingUpstream()
    base_url = await upstream_factory(fake)
    pool = ConnectionPool()
    try:
        upstream = _upstream(pool, base_url)
        for _ in range(3):
            events = await _stream_once(upstream)
            assert [e["choices"][0]["delta"]["content"] for e in events] == ["hi"]  # type: ignore[index]
    finally:
        await pool.aclose()
    assert fake.connections == 1


async def test_an_upstream_stalling_after_done_still_ends_the_stream(upstream_factory) -> None:  # type: ignore[no-untyped-def]
    fake = CountingUpstream(stall_after_done=True)
    base_url = await upstream_factory(fake)
    pool = ConnectionPool()
    try:
        upstream = _upstream(pool, base_url)
        for _ in range(2):
            events = await _stream_once(upstream)
            assert len(events) == 1
    finally:
        await pool.aclose()
    assert fake.connections == 2  # the stalled connection was dropped, not reused
