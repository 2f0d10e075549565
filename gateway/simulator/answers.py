"""Decides what a simulated model says, and bills it honestly with the model's tokenizer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import orjson

from gateway.simulator.judge import SIMULATED_JUDGE, SimulatedJudge
from gateway.simulator.profiles import ModelProfile
from gateway.simulator.recordings import RecordingBook, prompt_of
from gateway.simulator.request import ChatRequest
from gateway.simulator.synthetic import synthetic_answer
from gateway.simulator.tools import forced_tool_call
from pricing import Tokenizer, TokenizerRegistry, Usage, count_messages
from pricing.images import image_tokens

Source = Literal["script", "recording", "synthetic", "judge"]
FinishReason = Literal["stop", "length", "tool_calls"]


@dataclass(frozen=True)
class Answer:
    """The text one request gets, why it ends, what it costs in tokens, and where it came from."""

    text: str
    finish_reason: FinishReason
    usage: Usage
    source: Source
    tool_calls: tuple[dict[str, Any], ...] = ()


class Answerer:
    """Answers a chat request as one simulated model: scripted, recorded or synthetic."""

    def __init__(self, book: RecordingBook, tokenizers: TokenizerRegistry, seed: int = 0,
                 judge_flip: float = 0.0):
        self._book = book
        self._tokenizers = tokenizers
        self._seed = seed
        self._judge = SimulatedJudge(book, judge_flip, seed)

    def tokenizer(self, profile: ModelProfile) -> Tokenizer:
        return self._tokenizers.get(profile.tokenizer)

    def answer(self, profile: ModelProfile, request: ChatRequest, scripted: str | None) -> Answer:
        """What `profile` says to `request`; `scripted` (if any) wins over recordings."""
        call = forced_tool_call(request.body)
        if call is not None:
            return self._tool_answer(profile, request, call)
        text, source = self._raw_text(profile, request, scripted)
        tokenizer = self.tokenizer(profile)
        text, finish_reason = cut_at_stop(text, request.stop)
        if request.max_tokens is not None:
            truncated = truncate_to_tokens(tokenizer, text, request.max_tokens)
            if truncated != text:
                text, finish_reason = truncated, "length"
        usage = Usage(
            # Images are billed as the provider's tile formula says (pricing/images.py).
            prompt_tokens=count_messages(tokenizer, request.messages)
            + image_tokens(profile.price, request.messages),
            completion_tokens=tokenizer.count(text),
            estimated=tokenizer.estimated,
        )
        return Answer(text=text, finish_reason=finish_reason, usage=usage, source=source)

    def _tool_answer(self, profile: ModelProfile, request: ChatRequest,
                     call: dict[str, Any]) -> Answer:
        tokenizer = self.tokenizer(profile)
        billed = orjson.dumps(call["function"]).decode()
        usage = Usage(prompt_tokens=count_messages(tokenizer, request.messages),
                      completion_tokens=tokenizer.count(billed), estimated=tokenizer.estimated)
        return Answer("", "tool_calls", usage, "synthetic", (call,))

    def _raw_text(
        self, profile: ModelProfile, request: ChatRequest, scripted: str | None
    ) -> tuple[str, Source]:
        if scripted is not None:
            return scripted, "script"
        prompt = prompt_of(request.messages)
        if profile.name == SIMULATED_JUDGE:
            return self._judge.reply(prompt), "judge"
        if profile.replays is not None:
            recorded = self._book.answer(profile.replays, prompt)
            if recorded is not None:
                return recorded, "recording"
        return synthetic_answer(profile.name, prompt, self._seed, profile.synthetic_tokens), (
            "synthetic"
        )


def cut_at_stop(text: str, stop: tuple[str, ...]) -> tuple[str, FinishReason]:
    """`text` up to (excluding) the earliest stop sequence, as OpenAI returns it."""
    positions = [i for i in (text.find(s) for s in stop) if i >= 0]
    return (text[: min(positions)], "stop") if positions else (text, "stop")


def truncate_to_tokens(tokenizer: Tokenizer, text: str, limit: int) -> str:
    """The longest prefix of `text` that costs at most `limit` tokens."""
    if tokenizer.count(text) <= limit:
        return text
    # Binary search on characters: token count grows (almost) monotonically with the prefix,
    # and this works with any Tokenizer, which only exposes `count`.
    low, high = 0, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        if tokenizer.count(text[:middle]) <= limit:
            low = middle
        else:
            high = middle - 1
    return text[:low]
