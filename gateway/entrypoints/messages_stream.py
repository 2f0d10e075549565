"""A chat-completions chunk stream re-told as Anthropic's Messages stream events.

    message_start, ping, (content_block_start, content_block_delta..., content_block_stop)*,
    message_delta (stop_reason, usage), message_stop; or an `error` event when the
    upstream stream fails.

The settled cost rides on message_delta (or on the error event) as `x_costroute`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import orjson

from gateway.entrypoints.chat_chunks import first_choice
from gateway.entrypoints.messages_translate import STOP_REASONS, new_message_id, usage_object


def event_bytes(event: dict[str, Any]) -> bytes:
    return b"event: " + str(event["type"]).encode() + b"\ndata: " + orjson.dumps(event) + b"\n\n"


class MessagesEvents:
    """Turns chat chunks into Messages stream events; one instance per stream."""

    def __init__(self, model: str):
        self._model = model
        self._block = -1  # index of the open content block; -1 before the first
        self._open: str | None = None  # "text" or the chat index of the open tool call
        self._finish: str | None = None
        self._usage: dict[str, Any] | None = None
        self._cost: dict[str, Any] | None = None

    async def events(self, chunks: AsyncIterator[dict[str, Any]]) -> AsyncIterator[bytes]:
        yield event_bytes({"type": "message_start", "message": {
            "id": new_message_id(), "type": "message", "role": "assistant",
            "model": self._model, "content": [], "stop_reason": None, "stop_sequence": None,
            "usage": {"input_tokens": 0, "output_tokens": 0}}})
        yield event_bytes({"type": "ping"})
        async for chunk in chunks:
            if "error" in chunk:
                error = chunk.get("error") or {}
                event: dict[str, Any] = {"type": "error", "error": {
                    "type": "api_error", "message": str(error.get("message") or "stream failed")}}
                if chunk.get("x_costroute") is not None:
                    event["x_costroute"] = chunk["x_costroute"]
                yield event_bytes(event)
                return
            for out in self._feed(chunk):
                yield event_bytes(out)
        for out in self._close():
            yield event_bytes(out)
        delta: dict[str, Any] = {"type": "message_delta", "delta": {
            "stop_reason": STOP_REASONS.get(self._finish or "stop", "end_turn"),
            "stop_sequence": None}, "usage": usage_object(self._usage)}
        if self._cost is not None:
            delta["x_costroute"] = self._cost
        yield event_bytes(delta)
        yield event_bytes({"type": "message_stop"})

    def _feed(self, chunk: dict[str, Any]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        if chunk.get("usage"):
            self._usage = chunk["usage"]
            self._cost = chunk.get("x_costroute")
        for choice, delta in first_choice(chunk):
            if delta.get("content"):
                if self._open != "text":
                    out += self._start({"type": "text", "text": ""}, "text")
                out.append({"type": "content_block_delta", "index": self._block,
                            "delta": {"type": "text_delta", "text": str(delta["content"])}})
            for call in delta.get("tool_calls") or ():
                key = f"tool:{call.get('index', 0)}"
                function = call.get("function") or {}
                if self._open != key:
                    out += self._start({"type": "tool_use", "id": call.get("id") or
                                        new_message_id(), "name": function.get("name") or "",
                                        "input": {}}, key)
                if function.get("arguments"):
                    out.append({"type": "content_block_delta", "index": self._block, "delta": {
                        "type": "input_json_delta", "partial_json": str(function["arguments"])}})
            if choice.get("finish_reason"):
                self._finish = choice["finish_reason"]
        return out

    def _start(self, block: dict[str, Any], key: str) -> list[dict[str, Any]]:
        out = self._close()
        self._block += 1
        self._open = key
        out.append({"type": "content_block_start", "index": self._block, "content_block": block})
        return out

    def _close(self) -> list[dict[str, Any]]:
        if self._open is None:
            return []
        self._open = None
        return [{"type": "content_block_stop", "index": self._block}]
