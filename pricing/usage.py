"""Token usage of one upstream call, as billed, and its cost."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pricing.prices import ModelPrice


@dataclass(frozen=True, slots=True)
class Usage:
    """Billed token counts of one call.

    `cached_prompt_tokens` is a *subset* of `prompt_tokens` and `reasoning_tokens` a subset of
    `completion_tokens`, exactly as OpenAI reports them; pricing must never add them on top
    (the double-billing bug LiteLLM's tracker has had more than once).
    """

    prompt_tokens: int
    completion_tokens: int
    cached_prompt_tokens: int = 0
    reasoning_tokens: int = 0
    estimated: bool = False

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    @classmethod
    def from_openai(cls, usage: Mapping[str, Any]) -> Usage:
        """Read an OpenAI `usage` object, tolerating missing or null detail fields."""
        prompt = int(usage.get("prompt_tokens") or 0)
        completion = int(usage.get("completion_tokens") or 0)
        prompt_details = usage.get("prompt_tokens_details") or {}
        completion_details = usage.get("completion_tokens_details") or {}
        cached = int(prompt_details.get("cached_tokens") or 0)
        reasoning = int(completion_details.get("reasoning_tokens") or 0)
        return cls(
            prompt_tokens=prompt,
            completion_tokens=completion,
            cached_prompt_tokens=min(cached, prompt),
            reasoning_tokens=min(reasoning, completion),
        )

    def to_openai(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.total_tokens,
        }
        if self.cached_prompt_tokens:
            out["prompt_tokens_details"] = {"cached_tokens": self.cached_prompt_tokens}
        if self.reasoning_tokens:
            out["completion_tokens_details"] = {"reasoning_tokens": self.reasoning_tokens}
        return out


def cost_usd(price: ModelPrice, usage: Usage) -> float:
    """USD billed for `usage` at `price`: cached input at its own rate, reasoning as output."""
    uncached = usage.prompt_tokens - usage.cached_prompt_tokens
    cached_rate = (
        price.cached_input_per_mtok
        if price.cached_input_per_mtok is not None
        else price.input_per_mtok
    )
    return (
        uncached * price.input_per_mtok
        + usage.cached_prompt_tokens * cached_rate
        + usage.completion_tokens * price.output_per_mtok
    ) / 1_000_000 + price.per_request_usd
