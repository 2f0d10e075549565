"""Server-sent events: the chunk sequence of a streamed answer, faults included, and its sender."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

import orjson
from starlette.types import Receive, Scope, Send

from gateway.simulator.answers import Answer
from gateway.simulator.faults import Fault, FaultKind
from gateway.simulator.pacing import Pacing, pause
from gateway.simulator.transport import reset_connection, wait_for_disconnect
from gateway.simulator.wire import chunk_body, usage_chunk_body

DONE = b"data: [DONE]\n\n"
MALFORMED_LINE = b'data: {"id": "chatcmpl-sim", "choices": [{"delta": {"content": "\n\n'
_PIECES = re.compile(r"\s*\S+|\s+\Z")


class StreamAction(Enum):
    RESET = "reset"  # abort the connection with a TCP reset, now


StreamEvent = bytes | StreamAction


def sse(data: Mapping[str, Any]) -> bytes:
    return b"data: " + orjson.dumps(data) + b"\n\n"


def split_pieces(text: str) -> list[str]:
    """`text` cut into word-sized deltas (leading whitespace kept) that join back to `text`."""
    return _PIECES.findall(text)


@dataclass(frozen=True)
class StreamIds:
    completion_id: str
    created: int
    model: str


async def chat_events(
    ids: StreamIds,
    answer: Answer,
    pacing: Pacing,
    include_usage: bool,
    fault: Fault | None = None,
    more: Sequence[Answer] = (),
) -> AsyncIterator[StreamEvent]:
    """The SSE events of one streamed answer, as OpenAI orders them, with `fault` applied.

    `more` are choices 1.. of an `n` > 1 request: they follow choice 0, each with its own
    index, unpaced; `answer.usage` is then the whole request's."""
    head = (ids.completion_id, ids.created, ids.model)
    pieces = split_pieces(answer.text)
    piece_s = pacing.per_token_s * answer.usage.completion_tokens / max(1, len(pieces))
    await pause(pacing.ttft_s + _fault_delay(fault, FaultKind.SLOW))
    # A fault set after more chunks than the answer has strikes just before the finish chunk.
    fault_at = min(fault.after_chunks, len(pieces)) if fault is not None else -1
    role = {"role": "assistant", "content": "", "refusal": None}
    yield sse(chunk_body(*head, role, include_usage=include_usage))
    for index, call in enumerate(answer.tool_calls):
        # As OpenAI streams a call: id and name first, then the arguments in pieces.
        function = call["function"]
        opening = {**call, "index": index, "function": {"name": function["name"],
                                                        "arguments": ""}}
        yield sse(chunk_body(*head, {"tool_calls": [opening]}, include_usage=include_usage))
        for piece in split_pieces(function["arguments"]):
            yield sse(chunk_body(*head, {"tool_calls": [{"index": index, "function": {
                "arguments": piece}}]}, include_usage=include_usage))
    for position in range(len(pieces) + 1):
        if fault is not None and position == fault_at:
            if fault.kind is FaultKind.RESET:
                yield StreamAction.RESET
                return
            if fault.kind is FaultKind.TRUNCATED_SSE:
                return
            if fault.kind is FaultKind.MALFORMED_SSE:
                yield MALFORMED_LINE
            await pause(_fault_delay(fault, FaultKind.STALL))
        if position < len(pieces):
            await pause(piece_s)
            yield sse(chunk_body(*head, {"content": pieces[position]}, include_usage=include_usage))
    yield sse(chunk_body(*head, {}, answer.finish_reason, include_usage=include_usage))
    for index, choice in enumerate(more, start=1):
        deltas: list[dict[str, Any]] = [role, *({"content": p} for p in split_pieces(choice.text))]
        for delta in deltas:
            yield sse(chunk_body(*head, delta, include_usage=include_usage, index=index))
        yield sse(chunk_body(*head, {}, choice.finish_reason, include_usage=include_usage,
                             index=index))
    if include_usage and not (fault is not None and fault.kind is FaultKind.NO_USAGE):
        yield sse(usage_chunk_body(*head, answer.usage))
    yield DONE


def _fault_delay(fault: Fault | None, kind: FaultKind) -> float:
    return fault.delay_s if fault is not None and fault.kind is kind else 0.0


class EventStreamResponse:
    """An ASGI response that sends SSE events, headers with the first one, and can reset.

    Headers wait for the first event so that time-to-first-byte is the simulated
    time-to-first-token. If the client goes away the stream stops early; when `events` may
    pause (`waits`), each pause is raced against the disconnect, which costs a task per event,
    so unpaced streams skip it.
    """

    def __init__(
        self, events: AsyncIterator[StreamEvent], headers: Mapping[str, str], waits: bool = True
    ):
        self._events = events
        self._waits = waits
        self._headers = [
            (b"content-type", b"text/event-stream; charset=utf-8"),
            (b"cache-control", b"no-cache"),
            *((k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()),
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        watcher = asyncio.ensure_future(wait_for_disconnect(receive, timeout_s=float("inf")))
        started = False
        try:
            while (event := await self._next(watcher)) is not None:
                if event is StreamAction.RESET:
                    watcher.cancel()
                    await reset_connection(scope, receive)
                    return
                if not started:
                    await send({"type": "http.response.start", "status": 200,
                                "headers": self._headers})
                    started = True
                await send({"type": "http.response.body", "body": event, "more_body": True})
            if watcher.done():
                return
            if not started:
                await send({"type": "http.response.start", "status": 200,
                            "headers": self._headers})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            watcher.cancel()
            await _close(self._events)

    async def _next(self, watcher: asyncio.Future[bool]) -> StreamEvent | None:
        """The next event, or None when the stream ends or the client has left."""
        if watcher.done():
            return None
        if not self._waits:
            return await anext(self._events, None)
        return await _next_unless_gone(self._events, watcher)


async def _next_unless_gone(
    events: AsyncIterator[StreamEvent], watcher: asyncio.Future[bool]
) -> StreamEvent | None:
    pending: asyncio.Future[StreamEvent | None] = asyncio.ensure_future(anext(events, None))
    both: list[asyncio.Future[Any]] = [pending, watcher]
    await asyncio.wait(both, return_when=asyncio.FIRST_COMPLETED)
    if pending.done():
        return pending.result()
    pending.cancel()
    # Let the cancellation land, so the generator is idle before anyone closes it.
    await asyncio.wait({pending})
    return None


async def _close(events: AsyncIterator[StreamEvent]) -> None:
    aclose = getattr(events, "aclose", None)
    if aclose is not None:
        await aclose()
