"""Token usage of one upstream call, as billed, and its cost.

Every provider reports cache and reasoning tokens differently; each is read here into one
shape in which the subsets are explicit, so that pricing never bills a token twice:

    prompt_tokens          = uncached + cached_prompt_tokens + cache_write_prompt_tokens
    completion_tokens      = visible output + reasoning_tokens
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pricing.prices import ModelPrice


@dataclass(frozen=True, slots=True)
class Usage:
    """Billed token counts of one call.

    `cached_prompt_tokens` and `cache_write_prompt_tokens` are *subsets* of `prompt_tokens`,
    and `reasoning_tokens` a subset of `completion_tokens`, exactly as OpenAI reports them;
    pricing must never add them on top (the double-billing bug LiteLLM's tracker has had
    more than once).
    """

    prompt_tokens: int
    completion_tokens: int
    cached_prompt_tokens: int = 0
    reasoning_tokens: int = 0
    estimated: bool = False
    cache_write_prompt_tokens: int = 0

    def __post_init__(self) -> None:
        counts = (self.prompt_tokens, self.completion_tokens, self.cached_prompt_tokens,
                  self.reasoning_tokens, self.cache_write_prompt_tokens)
        if min(counts) < 0:
            raise ValueError(f"token counts cannot be negative: {counts}")
        if self.cached_prompt_tokens + self.cache_write_prompt_tokens > self.prompt_tokens:
            raise ValueError("cached and cache-write tokens are part of prompt_tokens")
        if self.reasoning_tokens > self.completion_tokens:
            raise ValueError("reasoning tokens are part of completion_tokens")

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    @property
    def uncached_prompt_tokens(self) -> int:
        return self.prompt_tokens - self.cached_prompt_tokens - self.cache_write_prompt_tokens

    @classmethod
    def from_openai(cls, usage: Mapping[str, Any]) -> Usage:
        """Read an OpenAI `usage` object, tolerating missing or null detail fields."""
        prompt = _int(usage.get("prompt_tokens"))
        completion = _int(usage.get("completion_tokens"))
        prompt_details = usage.get("prompt_tokens_details") or {}
        completion_details = usage.get("completion_tokens_details") or {}
        cached = min(_int(prompt_details.get("cached_tokens")), prompt)
        reasoning = _int(completion_details.get("reasoning_tokens"))
        # `cache_write_tokens`: prompt tokens written to the provider's cache (OpenAI's
        # field; the Anthropic adapter reports cache_creation_input_tokens there).
        written = min(_int(prompt_details.get("cache_write_tokens")), prompt - cached)
        return cls(
            prompt_tokens=prompt,
            completion_tokens=completion,
            cached_prompt_tokens=cached,
            reasoning_tokens=min(reasoning, completion),
            cache_write_prompt_tokens=written,
        )

    @classmethod
    def from_anthropic(cls, usage: Mapping[str, Any]) -> Usage:
        """Read an Anthropic `usage`, whose `input_tokens` *excludes* cache reads and writes."""
        read = _int(usage.get("cache_read_input_tokens"))
        write = _int(usage.get("cache_creation_input_tokens"))
        return cls(
            prompt_tokens=_int(usage.get("input_tokens")) + read + write,
            completion_tokens=_int(usage.get("output_tokens")),
            cached_prompt_tokens=read,
            cache_write_prompt_tokens=write,
        )

    @classmethod
    def from_gemini(cls, usage: Mapping[str, Any]) -> Usage:
        """Read a Gemini `usageMetadata`: thinking tokens are billed as output but reported
        outside `candidatesTokenCount`; cached tokens are inside `promptTokenCount`."""
        prompt = _int(usage.get("promptTokenCount"))
        thoughts = _int(usage.get("thoughtsTokenCount"))
        return cls(
            prompt_tokens=prompt,
            completion_tokens=_int(usage.get("candidatesTokenCount")) + thoughts,
            cached_prompt_tokens=min(_int(usage.get("cachedContentTokenCount")), prompt),
            reasoning_tokens=thoughts,
        )

    def to_openai(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.total_tokens,
        }
        if self.cached_prompt_tokens or self.cache_write_prompt_tokens:
            out["prompt_tokens_details"] = {"cached_tokens": self.cached_prompt_tokens}
            if self.cache_write_prompt_tokens:
                out["prompt_tokens_details"]["cache_write_tokens"] = (
                    self.cache_write_prompt_tokens)
        if self.reasoning_tokens:
            out["completion_tokens_details"] = {"reasoning_tokens": self.reasoning_tokens}
        return out


def _int(value: Any) -> int:
    return max(0, int(value or 0))


def streamed_usage(chunks: Iterable[Mapping[str, Any]]) -> Usage | None:
    """The usage an OpenAI stream reported (`stream_options.include_usage`), if any.

    OpenAI sends it once, on a final chunk with empty `choices`; some compatible servers
    repeat a running total on every chunk. Either way the last one seen is the bill.
    """
    last: Mapping[str, Any] | None = None
    for chunk in chunks:
        usage = chunk.get("usage")
        if usage:
            last = usage
    return Usage.from_openai(last) if last is not None else None


def cost_usd(price: ModelPrice, usage: Usage) -> float:
    """USD billed for `usage` at `price`: each prompt token at exactly one input rate
    (uncached, cache read or cache write), every completion token (reasoning included) at
    the output rate, plus the per-request fee."""
    return (
        usage.uncached_prompt_tokens * price.input_per_mtok
        + usage.cached_prompt_tokens * price.cached_rate
        + usage.cache_write_prompt_tokens * price.cache_write_rate
        + usage.completion_tokens * price.output_per_mtok
    ) / 1_000_000 + price.per_request_usd
