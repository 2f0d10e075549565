"""EventStreamResponse: streams as Starlette's, and a client that leaves ends the body."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
from starlette.types import Message

from gateway.event_stream import EventStreamResponse


async def test_streams_every_event_and_runs_its_background() -> None:
    ran: list[str] = []

    async def events() -> AsyncIterator[bytes]:
        for i in range(3):
            yield f"data: {i}\n\n".encode()

    async def background() -> None:
        ran.append("background")

    async def app(scope, receive, send):  # type: ignore[no-untyped-def]
        from starlette.background import BackgroundTask

        response = EventStreamResponse(events(), media_type="text/event-stream",
                                       background=BackgroundTask(background))
        await response(scope, receive, send)

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        r = await client.get("/")
    assert r.text == "data: 0\n\ndata: 1\n\ndata: 2\n\n" and ran == ["background"]


async def test_a_client_that_leaves_cancels_the_body_and_the_response_ends_quietly() -> None:
    closed = asyncio.Event()
    first_sent = asyncio.Event()
    never = asyncio.Event()

    async def events() -> AsyncIterator[bytes]:
        try:
            yield b"data: 1\n\n"
            await never.wait()  # an upstream that stalls
            yield b"data: 2\n\n"
        finally:
            closed.set()

    gone = asyncio.Event()
    messages: list[Message] = [{"type": "http.request", "body": b"", "more_body": False}]

    async def receive() -> Message:
        if messages:
            return messages.pop()
        await gone.wait()
        return {"type": "http.disconnect"}

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)
        if message.get("body"):
            first_sent.set()

    scope = {"type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"}}
    call = asyncio.ensure_future(EventStreamResponse(events())(scope, receive, send))
    await first_sent.wait()
    gone.set()
    await asyncio.wait_for(call, 30)  # returns, without raising
    assert closed.is_set()
    assert [m.get("body") for m in sent[1:]] == [b"data: 1\n\n"]
