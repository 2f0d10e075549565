"""Pre-flight cost estimates: what a request will cost on a given model, before it runs."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pricing.catalog import PriceCatalog
from pricing.prices import ModelPrice
from pricing.tokenizers import TokenizerRegistry, count_messages
from pricing.usage import Usage, cost_usd

DEFAULT_EXPECTED_OUTPUT_TOKENS = 256


@dataclass(frozen=True, slots=True)
class CostEstimate:
    """The expected and worst-case cost of one request on one model."""

    model: str
    prompt_tokens: int
    expected_output_tokens: int
    max_output_tokens: int
    expected_cost_usd: float
    max_cost_usd: float
    tokens_estimated: bool


class OutputLengthTracker:
    """Running mean of completion tokens per model, used when a request sets no max_tokens."""

    def __init__(self, prior: int = DEFAULT_EXPECTED_OUTPUT_TOKENS, weight: float = 0.05):
        self._prior = prior
        self._weight = weight
        self._means: dict[str, float] = {}
        self._lock = threading.Lock()

    def expected(self, model: str) -> int:
        return max(1, round(self._means.get(model, self._prior)))

    def observe(self, model: str, completion_tokens: int) -> None:
        with self._lock:
            mean = self._means.get(model, float(self._prior))
            self._means[model] = mean + self._weight * (completion_tokens - mean)


class Estimator:
    """Estimates request cost per model from its own tokenizer and prices."""

    def __init__(
        self,
        catalog: PriceCatalog,
        tokenizers: TokenizerRegistry,
        output_lengths: OutputLengthTracker | None = None,
    ):
        self.catalog = catalog
        self.tokenizers = tokenizers
        self.output_lengths = output_lengths or OutputLengthTracker()

    def prompt_tokens(self, price: ModelPrice, messages: Sequence[Mapping[str, Any]]) -> int:
        return count_messages(self.tokenizers.get(price.tokenizer), messages)

    def estimate(
        self,
        model: str,
        messages: Sequence[Mapping[str, Any]],
        max_tokens: int | None = None,
    ) -> CostEstimate:
        price = self.catalog[model]
        tokenizer = self.tokenizers.get(price.tokenizer)
        prompt = count_messages(tokenizer, messages)
        room = max(1, price.context_window - prompt)
        cap = min(max_tokens or price.max_output_tokens, price.max_output_tokens, room)
        expected = min(cap, self.output_lengths.expected(model))
        return CostEstimate(
            model=model,
            prompt_tokens=prompt,
            expected_output_tokens=expected,
            max_output_tokens=cap,
            expected_cost_usd=cost_usd(price, Usage(prompt, expected)),
            max_cost_usd=cost_usd(price, Usage(prompt, cap)),
            tokens_estimated=tokenizer.estimated,
        )
