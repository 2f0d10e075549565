"""`Upstream` speaking Anthropic's Messages API natively, for chat requests.

The pipeline speaks chat completions; this adapter translates each request to Messages
(anthropic_translate), and the answer, or each stream event, back to chat: the rest of
the gateway (routing, budgets, settlement) never sees Anthropic's wire format.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Mapping
from typing import Any

import aiohttp
import orjson
from yarl import URL

from gateway.upstream.anthropic_translate import (
    FINISH_REASONS,
    chat_usage,
    to_chat_completion,
    to_messages_body,
)
from gateway.upstream.base import UpstreamFailure
from gateway.upstream.http import (
    HttpUpstream,
    Redactor,
    decode_event,
    drain,
    stream_read_failure,
)
from gateway.upstream.pool import ConnectionPool

ANTHROPIC_VERSION = "2023-06-01"


class AnthropicUpstream(HttpUpstream):
    """One Anthropic-compatible base URL (ending in `/v1`); the key goes in `x-api-key`."""

    def __init__(self, name: str, pool: ConnectionPool, base_url: str, *,
                 api_key: str | None, upstream_model: str, connect_s: float,
                 first_byte_s: float, total_s: float):
        super().__init__(name, pool, base_url, api_key=None, upstream_model=upstream_model,
                         connect_s=connect_s, first_byte_s=first_byte_s, total_s=total_s)
        self._url = URL(base_url.rstrip("/") + "/messages")
        self._headers = {"content-type": "application/json",
                         "anthropic-version": ANTHROPIC_VERSION}
        if api_key:
            self._headers["x-api-key"] = api_key
        self._redact = Redactor([api_key] if api_key else [])

    def _messages_payload(self, body: Mapping[str, Any], stream: bool) -> bytes:
        return orjson.dumps(to_messages_body(body, self._upstream_model, stream=stream))

    async def complete(self, body: Mapping[str, Any]) -> dict[str, Any]:
        data = await self._json_reply(self._messages_payload(body, False))
        if data.get("type") != "message":
            raise UpstreamFailure(502, f"{self.name} sent no message", retryable=True)
        return to_chat_completion(data)

    async def open_stream(self, body: Mapping[str, Any]) -> _MessagesStream:  # type: ignore[override]
        deadline = time.monotonic() + self._total_s
        response = await self._stream_response(self._messages_payload(body, True))
        return _MessagesStream(self.name, response, deadline, self._redact)


class _MessagesStream:
    """Messages stream events in, chat-completion chunks out; ends at `message_stop`."""

    def __init__(self, name: str, response: aiohttp.ClientResponse, deadline: float,
                 redact: Redactor):
        self._name = name
        self._response = response
        self._deadline = deadline
        self._redact = redact
        self._head: dict[str, Any] = {"object": "chat.completion.chunk",
                                      "created": int(time.time())}
        self._usage: dict[str, Any] = {}
        self._tool_index = -1

    def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        return self._chunks()

    def _chunk(self, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {**self._head, "choices": [{"index": 0, "delta": delta, "logprobs": None,
                                           "finish_reason": finish}]}

    async def _chunks(self) -> AsyncIterator[dict[str, Any]]:
        stopped = False
        try:
            async for raw in self._response.content:
                if time.monotonic() > self._deadline:
                    raise UpstreamFailure(0, f"{self._name} stream exceeded its total timeout",
                                          retryable=False, timeout=True)
                line = raw.decode("utf-8", "replace")
                if not line.startswith("data:"):
                    continue
                event = self._decode(line[5:].strip())
                for chunk in self._translate(event):
                    yield chunk
                if event.get("type") == "message_stop":
                    stopped = True
                    break
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise stream_read_failure(self._name, exc) from None
        if not stopped:
            raise UpstreamFailure(502, f"{self._name} stream ended without message_stop",
                                  retryable=False)
        await drain(self._response)

    def _decode(self, data: str) -> dict[str, Any]:
        return decode_event(self._name, data, self._redact, lambda e: e.get("type") == "error")

    def _translate(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        kind = event.get("type")
        if kind == "message_start":
            message = event.get("message") or {}
            self._head.update(id=f"chatcmpl-{message.get('id', '')}",
                              model=message.get("model", ""))
            self._usage.update(message.get("usage") or {})
            return [self._chunk({"role": "assistant", "content": ""})]
        if kind == "content_block_start":
            block = event.get("content_block") or {}
            if block.get("type") == "tool_use":
                self._tool_index += 1
                return [self._chunk({"tool_calls": [{
                    "index": self._tool_index, "id": block.get("id"), "type": "function",
                    "function": {"name": block.get("name"), "arguments": ""}}]})]
            return []
        if kind == "content_block_delta":
            delta = event.get("delta") or {}
            if delta.get("type") == "text_delta":
                return [self._chunk({"content": delta.get("text", "")})]
            if delta.get("type") == "input_json_delta":
                return [self._chunk({"tool_calls": [{"index": self._tool_index, "function": {
                    "arguments": delta.get("partial_json", "")}}]})]
            return []
        if kind == "message_delta":
            self._usage.update({k: v for k, v in (event.get("usage") or {}).items()
                                if v is not None})
            reason = (event.get("delta") or {}).get("stop_reason")
            return [self._chunk({}, FINISH_REASONS.get(str(reason), "stop"))]
        if kind == "message_stop":
            return [{**self._head, "choices": [], "usage": chat_usage(self._usage)}]
        return []  # ping, content_block_stop

    async def aclose(self) -> None:
        self._response.release()
