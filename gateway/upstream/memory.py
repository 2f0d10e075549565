"""An in-process `Upstream` for unit tests: canned answers, scripted failures, no network."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from gateway.upstream.base import UpstreamFailure


def completion(model: str, content: str, prompt_tokens: int = 10,
               completion_tokens: int | None = None) -> dict[str, Any]:
    completion_tokens = len(content.split()) if completion_tokens is None else completion_tokens
    return {
        "id": "chatcmpl-memory", "object": "chat.completion", "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": content}}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                  "total_tokens": prompt_tokens + completion_tokens},
    }


@dataclass
class _ListStream:
    events: list[dict[str, Any]]
    fail_after: UpstreamFailure | None = None

    def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        return self._iter()

    async def _iter(self) -> AsyncIterator[dict[str, Any]]:
        for event in self.events:
            yield event
        if self.fail_after is not None:
            raise self.fail_after

    async def aclose(self) -> None:
        return None


@dataclass
class MemoryUpstream:
    """Answers `content` for every request, after raising each queued failure once."""

    name: str
    content: str = "hello from memory"
    failures: list[UpstreamFailure] = field(default_factory=list)
    calls: list[Mapping[str, Any]] = field(default_factory=list)

    async def complete(self, body: Mapping[str, Any]) -> dict[str, Any]:
        self.calls.append(body)
        if self.failures:
            raise self.failures.pop(0)
        return completion(self.name, self.content)

    async def open_stream(self, body: Mapping[str, Any]) -> _ListStream:
        self.calls.append(body)
        if self.failures:
            raise self.failures.pop(0)
        words = self.content.split()
        base = {"id": "chatcmpl-memory", "object": "chat.completion.chunk",
                "created": int(time.time()), "model": self.name}
        events = [{**base, "choices": [{"index": 0, "delta": {"role": "assistant",
                                                                "content": ""}}]}]
        events += [{**base, "choices": [{"index": 0, "delta": {"content": w + " "}}]}
                   for w in words]
        events.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        events.append({**base, "choices": [], "usage": completion(self.name, self.content)["usage"]})
        return _ListStream(events)

    async def aclose(self) -> None:
        return None
