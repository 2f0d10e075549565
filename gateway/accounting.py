"""What a finished call cost: usage from the upstream, or counted when it sent none."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pricing import Estimator, Usage, cost_usd
from pricing.tokenizers import message_text


def usage_of(
    estimator: Estimator,
    model: str,
    messages: Sequence[Mapping[str, Any]],
    reported: Mapping[str, Any] | None,
    completion_text: str,
) -> Usage:
    """The upstream's usage when it sent one; else our own count, flagged estimated."""
    if reported and (reported.get("prompt_tokens") or reported.get("completion_tokens")):
        try:
            return Usage.from_openai(reported)
        except (ValueError, TypeError, AttributeError):
            pass  # an upstream's inconsistent usage: count it ourselves, flagged estimated
    price = estimator.catalog[model]
    tokenizer = estimator.tokenizers.get(price.tokenizer)
    prompt = estimator.prompt_tokens(price, messages)
    completion = tokenizer.count(completion_text) if completion_text else 0
    return Usage(prompt, completion, estimated=True)


def price_usage(estimator: Estimator, model: str, usage: Usage) -> float:
    return cost_usd(estimator.catalog[model], usage)


def response_text(response: Mapping[str, Any]) -> str:
    parts = []
    for choice in response.get("choices") or []:
        message = choice.get("message") or {}
        parts.append(message_text(message.get("content")))
        for call in message.get("tool_calls") or []:
            function = call.get("function") or {}
            parts.append(str(function.get("name", "")) + str(function.get("arguments", "")))
    return "".join(parts)
