"""A streaming response whose watch for the client leaving is one plain asyncio task."""

from __future__ import annotations

import asyncio

from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send


class EventStreamResponse(StreamingResponse):
    """Starlette's StreamingResponse, with the disconnect watch in plain asyncio.

    Under ASGI spec versions below 2.4 (uvicorn's is 2.3) Starlette streams the body and
    listens for the client's disconnect in an anyio task group per response: a cancel scope
    and two wrapped tasks, a measurable part of each streamed request's CPU. The behaviour
    here is the same: the body streams in a task of its own, a client that leaves cancels it
    (the body's `finally` blocks run: the relay settles what was streamed) and the response
    then ends quietly, as it ends when the body is done.
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        spec = scope.get("asgi", {}).get("spec_version", "2.0")
        if scope["type"] != "http" or tuple(map(int, spec.split("."))) >= (2, 4):
            await super().__call__(scope, receive, send)
            return
        body = asyncio.ensure_future(self.stream_response(send))

        async def watch() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            body.cancel()

        watcher = asyncio.ensure_future(watch())
        try:
            await body
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise  # this request itself was cancelled, not only its body
        finally:
            watcher.cancel()
        if self.background is not None:
            await self.background()
