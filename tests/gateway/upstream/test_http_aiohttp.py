"""The aiohttp-backed HttpUpstream against raw HTTP/1.1 servers on loopback: statuses,
retry-after, timeouts, events split across reads, and connection reuse."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import orjson
import pytest

from gateway.upstream.base import UpstreamFailure, event_batches
from gateway.upstream.http import HttpUpstream
from gateway.upstream.pool import ConnectionPool

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
COMPLETION = orjson.dumps({"id": "c", "object": "chat.completion", "created": 1, "model": "m",
                           "choices": [{"index": 0, "message": {"role": "assistant",
                                                                "content": "hi"}}]})


def _chunk(text: str) -> bytes:
    return b"data: " + orjson.dumps({"choices": [{"index": 0, "delta": {"content": text}}]})


async def _read_request(reader: asyncio.StreamReader) -> None:
    head = await reader.readuntil(b"\r\n\r\n")
    length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                   if line.lower().startswith(b"content-length:")), 0)
    await reader.readexactly(length)


def _response(status: bytes, body: bytes, extra: bytes = b"",
              content_type: bytes = b"application/json") -> bytes:
    return (b"HTTP/1.1 " + status + b"\r\ncontent-type: " + content_type + b"\r\n"
            + extra + b"content-length: " + str(len(body)).encode() + b"\r\n\r\n" + body)


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[Handler], Awaitable[tuple[HttpUpstream, list[int]]]]]:
    servers: list[asyncio.Server] = []
    pool = ConnectionPool()

    async def start(handler: Handler, first_byte_s: float = 5,
                    total_s: float = 10) -> tuple[HttpUpstream, list[int]]:
        connections: list[int] = []

        async def counted(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            connections.append(1)
            try:
                await handler(reader, writer)
            except (asyncio.IncompleteReadError, ConnectionError):
                pass
            finally:
                writer.close()

        server = await asyncio.start_server(counted, "127.0.0.1", 0)
        servers.append(server)
        url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/v1"
        return HttpUpstream("m", pool, url, api_key="sk-secret-value", upstream_model="m",
                            connect_s=5, first_byte_s=first_byte_s,
                            total_s=total_s), connections

    yield start  # type: ignore[misc]
    await pool.aclose()
    for server in servers:
        server.close()
        await server.wait_closed()


async def test_completions_reuse_one_connection(serve) -> None:  # type: ignore[no-untyped-def]
    async def ok(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            await _read_request(reader)
            writer.write(_response(b"200 OK", COMPLETION))
            await writer.drain()

    upstream, connections = await serve(ok)
    for _ in range(3):
        assert (await upstream.complete({"messages": []}))["choices"][0]["message"]["content"] == "hi"
    assert len(connections) == 1


async def test_429_carries_retry_after_and_the_key_is_redacted(serve) -> None:  # type: ignore[no-untyped-def]
    async def limited(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        body = b'{"error": {"message": "slow down, sk-secret-value"}}'
        writer.write(_response(b"429 Too Many Requests", body, b"retry-after: 2.5\r\n"))
        await writer.drain()

    upstream, _ = await serve(limited)
    with pytest.raises(UpstreamFailure) as caught:
        await upstream.complete({"messages": []})
    failure = caught.value
    assert failure.status == 429 and failure.retryable and failure.retry_after_s == 2.5
    assert "sk-secret-value" not in failure.message and "***" in failure.message


async def test_a_silent_upstream_times_out_on_first_byte(serve) -> None:  # type: ignore[no-untyped-def]
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        await asyncio.sleep(3)

    upstream, _ = await serve(silent, first_byte_s=0.3, total_s=2)
    with pytest.raises(UpstreamFailure) as caught:
        await upstream.complete({"messages": []})
    assert caught.value.timeout and caught.value.retryable


async def test_a_reset_connection_is_a_retryable_transport_failure(serve) -> None:  # type: ignore[no-untyped-def]
    async def reset(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.transport.abort()

    upstream, _ = await serve(reset)
    with pytest.raises(UpstreamFailure) as caught:
        await upstream.complete({"messages": []})
    assert caught.value.status == 0 and caught.value.retryable and not caught.value.timeout


async def test_events_split_across_reads_are_parsed_whole(serve) -> None:  # type: ignore[no-untyped-def]
    body = _chunk("a") + b"\n\n" + _chunk("b") + b"\n\n" + _chunk("c") + b"\n\ndata: [DONE]\n\n"

    async def trickle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        head = (b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-length: "
                + str(len(body)).encode() + b"\r\n\r\n")
        writer.write(head)
        for i in range(0, len(body), 7):  # cuts lines, and JSON, mid-way
            writer.write(body[i:i + 7])
            await writer.drain()
            await asyncio.sleep(0.001)
        await asyncio.sleep(1)

    upstream, _ = await serve(trickle)
    stream = await upstream.open_stream({"messages": [], "stream": True})
    try:
        batches = [batch async for batch in event_batches(stream)]
    finally:
        await stream.aclose()
    texts = [e["choices"][0]["delta"]["content"] for batch in batches for e in batch]
    assert texts == ["a", "b", "c"]


async def test_a_stream_without_done_fails(serve) -> None:  # type: ignore[no-untyped-def]
    async def cut(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(_response(b"200 OK", _chunk("a") + b"\n\n",
                               content_type=b"text/event-stream"))
        await writer.drain()

    upstream, _ = await serve(cut)
    stream = await upstream.open_stream({"messages": [], "stream": True})
    with pytest.raises(UpstreamFailure, match="without \\[DONE\\]"):
        async for _ in stream:
            pass
    await stream.aclose()
