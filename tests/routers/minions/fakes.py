"""Scripted stand-ins for the gateway's `CallModel`: they record every call and answer from
per-model scripts, so protocol tests see exactly what each model was sent."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pricing import Usage
from pricing.estimate import CostEstimate
from pricing.tokenizers import HeuristicTokenizer, count_messages
from routers.base import Candidate, StageResult, Tier

LOCAL = "local-small"
REMOTE = "remote-big"
REMOTE_USD_PER_TOKEN = 1e-5  # any positive price: the tests compare sums, not amounts

Responder = Callable[[Sequence[Mapping[str, Any]]], str]


@dataclass
class Call:
    model: str
    messages: list[dict[str, Any]]
    params: dict[str, Any]

    @property
    def text(self) -> str:
        return "\n".join(str(m.get("content", "")) for m in self.messages)


@dataclass
class FakeModels:
    """Answers `remote` from a queue of replies and `local` from a function of the prompt."""

    remote: list[str] = field(default_factory=list)
    local: Responder = lambda messages: '{"explanation": "", "citation": "", "answer": null}'
    yields: int = 0  # event-loop turns each call takes, so concurrent calls overlap
    fail_local: Callable[[Sequence[Mapping[str, Any]]], bool] = lambda messages: False
    calls: list[Call] = field(default_factory=list)
    in_flight: int = 0
    peak_in_flight: dict[str, int] = field(default_factory=dict)

    async def __call__(self, model: str, messages: Sequence[Mapping[str, Any]],
                       params: Mapping[str, Any]) -> StageResult:
        self.calls.append(Call(model, [dict(m) for m in messages], dict(params)))
        self.in_flight += 1
        self.peak_in_flight[model] = max(self.peak_in_flight.get(model, 0), self.in_flight)
        try:
            for _ in range(self.yields):
                await asyncio.sleep(0)
            if model == LOCAL and self.fail_local(messages):
                raise ConnectionError("local model down")
            text = self._answer(model, messages)
        finally:
            self.in_flight -= 1
        return stage(model, messages, text)

    def _answer(self, model: str, messages: Sequence[Mapping[str, Any]]) -> str:
        if model == REMOTE:
            if not self.remote:
                raise AssertionError("the remote was called more often than scripted")
            return self.remote.pop(0)
        return self.local(messages)

    def to(self, model: str) -> list[Call]:
        return [c for c in self.calls if c.model == model]


def stage(model: str, messages: Sequence[Mapping[str, Any]], text: str) -> StageResult:
    tokenizer = HeuristicTokenizer()
    usage = Usage(count_messages(tokenizer, messages), tokenizer.count(text), estimated=True)
    tier: Tier = "remote" if model == REMOTE else "local"
    cost = usage.total_tokens * REMOTE_USD_PER_TOKEN if tier == "remote" else 0.0
    response = {"id": "x", "object": "chat.completion", "model": model,
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": text}}]}
    return StageResult(model, response, usage, cost, tier)


def candidates() -> list[Candidate]:
    def estimate(model: str) -> CostEstimate:
        return CostEstimate(model, 10, 10, 10, 0.0, 0.0, True)
    return [Candidate(REMOTE, "remote", estimate(REMOTE)),
            Candidate(LOCAL, "local", estimate(LOCAL))]


def as_json(value: Any) -> str:
    return json.dumps(value)


def job_reply(answer: str | None, citation: str = "") -> str:
    return json.dumps({"explanation": "read the chunk", "citation": citation, "answer": answer})


def chunk_text(messages: Sequence[Mapping[str, Any]]) -> str:
    """The chunk a MinionS local job was given (between the triple quotes)."""
    for message in messages:
        content = str(message.get("content", ""))
        if message.get("role") == "user" and '"""' in content:
            return content.split('"""')[1]
    return ""
