"""A ~0 ms OpenAI-shaped stub upstream for overhead benchmarks (raw asyncio, keep-alive).

Not a simulator: it answers every POST with one canned completion (or a 3-chunk SSE stream
when the body asks for `"stream": true`), so that measured latency is the gateway's own.
Usage: python bench/overhead/stub_upstream.py PORT
"""

from __future__ import annotations

import asyncio
import sys

import orjson

COMPLETION = orjson.dumps({
    "id": "chatcmpl-stub", "object": "chat.completion", "created": 1700000000,
    "model": "stub", "choices": [{"index": 0, "finish_reason": "stop",
                                  "message": {"role": "assistant", "content": "Hello there!"}}],
    "usage": {"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15},
})


def _chunk(delta: dict[str, object], finish: str | None = None) -> bytes:
    return b"data: " + orjson.dumps({
        "id": "chatcmpl-stub", "object": "chat.completion.chunk", "created": 1700000000,
        "model": "stub", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }) + b"\n\n"


STREAM = (
    _chunk({"role": "assistant", "content": ""}) + _chunk({"content": "Hello"})
    + _chunk({"content": " there!"}) + _chunk({}, "stop")
    + b"data: " + orjson.dumps({"id": "chatcmpl-stub", "object": "chat.completion.chunk",
                                "created": 1700000000, "model": "stub", "choices": [],
                                "usage": {"prompt_tokens": 12, "completion_tokens": 3,
                                          "total_tokens": 15}}) + b"\n\n"
    + b"data: [DONE]\n\n"
)


def _response(body: bytes, content_type: bytes) -> bytes:
    return (b"HTTP/1.1 200 OK\r\ncontent-type: " + content_type + b"\r\ncontent-length: "
            + str(len(body)).encode() + b"\r\nconnection: keep-alive\r\n\r\n" + body)


JSON_RESPONSE = _response(COMPLETION, b"application/json")
SSE_RESPONSE = _response(STREAM, b"text/event-stream")


class StubProtocol(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            head_end = self.buffer.find(b"\r\n\r\n")
            if head_end < 0:
                return
            head = self.buffer[:head_end].lower()
            length = 0
            for line in head.split(b"\r\n"):
                if line.startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            end = head_end + 4 + length
            if len(self.buffer) < end:
                return
            body = self.buffer[head_end + 4:end]
            self.buffer = self.buffer[end:]
            streaming = b'"stream":true' in body.replace(b" ", b"")
            self.transport.write(SSE_RESPONSE if streaming else JSON_RESPONSE)  # type: ignore[attr-defined]


async def main(port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(StubProtocol, "127.0.0.1", port, backlog=1024)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
