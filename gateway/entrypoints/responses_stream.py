"""A chat-completions chunk stream re-told as the Responses API's semantic events.

    response.created, response.in_progress
    response.output_item.added (message) -> response.content_part.added
        -> response.output_text.delta ... -> response.output_text.done
        -> response.content_part.done -> response.output_item.done
    response.output_item.added (function_call) -> response.function_call_arguments.delta ...
        -> response.function_call_arguments.done -> response.output_item.done
    response.completed | response.incomplete (with usage), or error + response.failed

The settled cost rides on the last event as `x_costroute` (the headers left before it
was known), as it rides on chat's usage chunk.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import orjson

from gateway.entrypoints.chat_chunks import first_choice
from gateway.entrypoints.responses_translate import (
    call_item,
    message_item,
    new_id,
    response_object,
    status_of,
    usage_object,
)
from gateway.entrypoints.responses_wire import ResponsesRequest


def event_bytes(event: dict[str, Any]) -> bytes:
    return b"event: " + str(event["type"]).encode() + b"\ndata: " + orjson.dumps(event) + b"\n\n"


@dataclass
class _Call:
    output_index: int
    item_id: str
    call_id: str
    name: str
    arguments: list[str] = field(default_factory=list)


class ResponsesEvents:
    """Turns chat chunks into Responses events; one instance per stream."""

    def __init__(self, request: ResponsesRequest, model: str):
        self._request = request
        self._model = model
        self._id = new_id("resp")
        self._created = int(time.time())
        self._seq = 0
        self._items: list[dict[str, Any]] = []  # finished output items, in order
        self._text_item: tuple[int, str] | None = None  # (output_index, item_id) while open
        self._text: list[str] = []
        self._calls: dict[int, _Call] = {}
        self._finish: str | None = None
        self._usage: dict[str, Any] | None = None
        self._cost: dict[str, Any] | None = None

    def _event(self, kind: str, **fields: Any) -> dict[str, Any]:
        event = {"type": kind, "sequence_number": self._seq, **fields}
        self._seq += 1
        return event

    def _response(self, status: str, **extra: Any) -> dict[str, Any]:
        return response_object(self._request, self._id, self._model, status=status,
                               output=list(self._items), created_at=self._created, **extra)

    async def events(self, chunks: AsyncIterator[dict[str, Any]]) -> AsyncIterator[bytes]:
        yield event_bytes(self._event("response.created",
                                      response=self._response("in_progress")))
        yield event_bytes(self._event("response.in_progress",
                                      response=self._response("in_progress")))
        async for chunk in chunks:
            if "error" in chunk:
                for event in self._failed(chunk):
                    yield event_bytes(event)
                return
            for event in self._feed(chunk):
                yield event_bytes(event)
        for event in self._close_items():
            yield event_bytes(event)
        status, incomplete = status_of(self._finish)
        final = self._event(f"response.{status}", response=self._response(
            status, usage=usage_object(self._usage), incomplete=incomplete))
        if self._cost is not None:
            final["x_costroute"] = self._cost
        yield event_bytes(final)

    def _feed(self, chunk: dict[str, Any]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        if chunk.get("usage"):
            self._usage = chunk["usage"]
            self._cost = chunk.get("x_costroute")
        for choice, delta in first_choice(chunk):
            if delta.get("content"):
                out += self._text_delta(str(delta["content"]))
            for call in delta.get("tool_calls") or ():
                out += self._call_delta(call)
            if choice.get("finish_reason"):
                self._finish = choice["finish_reason"]
        return out

    def _text_delta(self, text: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        if self._text_item is None:
            index, item_id = len(self._items) + len(self._calls), new_id("msg")
            self._text_item = (index, item_id)
            empty = {**message_item(item_id, "", "in_progress"), "content": []}
            out.append(self._event("response.output_item.added", output_index=index,
                                   item=empty))
            out.append(self._event("response.content_part.added", item_id=item_id,
                                   output_index=index, content_index=0,
                                   part={"type": "output_text", "text": "",
                                         "annotations": []}))
        index, item_id = self._text_item
        self._text.append(text)
        out.append(self._event("response.output_text.delta", item_id=item_id,
                               output_index=index, content_index=0, delta=text, logprobs=[]))
        return out

    def _call_delta(self, call: dict[str, Any]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        key = int(call.get("index", 0))
        function = call.get("function") or {}
        state = self._calls.get(key)
        if state is None:
            out += self._close_text()  # items are told one after another
            state = _Call(len(self._items) + len(self._calls), new_id("fc"),
                          call.get("id") or new_id("call"), function.get("name") or "")
            self._calls[key] = state
            added = call_item(state.item_id, {"id": state.call_id,
                                              "function": {"name": state.name}}, "in_progress")
            out.append(self._event("response.output_item.added",
                                   output_index=state.output_index, item=added))
        delta = function.get("arguments")
        if delta:
            state.arguments.append(str(delta))
            out.append(self._event("response.function_call_arguments.delta",
                                   item_id=state.item_id, output_index=state.output_index,
                                   delta=str(delta)))
        return out

    def _close_text(self) -> list[dict[str, Any]]:
        if self._text_item is None:
            return []
        index, item_id = self._text_item
        text = "".join(self._text)
        item = message_item(item_id, text)
        self._items.append(item)
        self._text_item, self._text = None, []
        return [
            self._event("response.output_text.done", item_id=item_id, output_index=index,
                        content_index=0, text=text, logprobs=[]),
            self._event("response.content_part.done", item_id=item_id, output_index=index,
                        content_index=0, part=item["content"][0]),
            self._event("response.output_item.done", output_index=index, item=item),
        ]

    def _close_items(self) -> list[dict[str, Any]]:
        out = self._close_text()
        for _, state in sorted(self._calls.items()):
            arguments = "".join(state.arguments)
            item = call_item(state.item_id, {"id": state.call_id, "function": {
                "name": state.name, "arguments": arguments}})
            self._items.append(item)
            out.append(self._event("response.function_call_arguments.done",
                                   item_id=state.item_id, output_index=state.output_index,
                                   name=state.name, arguments=arguments))
            out.append(self._event("response.output_item.done",
                                   output_index=state.output_index, item=item))
        self._calls = {}
        return out

    def _failed(self, chunk: dict[str, Any]) -> list[dict[str, Any]]:
        error = chunk.get("error") or {}
        message = str(error.get("message") or "The upstream stream failed.")
        code = str(error.get("code") or "server_error")
        failed = self._event("response.failed", response=self._response(
            "failed", error={"code": "server_error", "message": message}))
        if chunk.get("x_costroute") is not None:
            failed["x_costroute"] = chunk["x_costroute"]  # the partial answer was charged
        return [self._event("error", code=code, message=message, param=None), failed]
