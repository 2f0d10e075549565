"""Pre-flight cost estimates: what a request will cost on a given model, before it runs.

Each model's prompt is counted with that model's own tokenizer. The expected answer length
is a running mean per model (and per route) kept in *English-equivalent* tokens, scaled by
the model tokenizer's premium for the prompt's language: a Hindi answer from a model whose
tokenizer splits Devanagari finely costs more tokens than the same answer in English. So a
model whose tokenizer is cheap for the prompt's language comes out cheaper, and a router
comparing estimates picks it where quality is equal.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pricing.catalog import PriceCatalog
from pricing.images import image_tokens
from pricing.iso639 import UNDETERMINED
from pricing.langid import LanguageIdentifier, Py3LangidIdentifier, identify_messages
from pricing.premium import shipped_premiums
from pricing.prices import ModelPrice
from pricing.tokenizers import TokenizerRegistry, base_tokenizer, count_messages
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
    language: str = UNDETERMINED
    route: str | None = None
    price: ModelPrice | None = None


class OutputLengthTracker:
    """Running mean of completion tokens per model and per (model, route).

    The prior counts as one observation, so the first real answers move the mean quickly;
    after about 1/weight answers it becomes an exponential moving average that follows drift.
    """

    def __init__(self, prior: int = DEFAULT_EXPECTED_OUTPUT_TOKENS, weight: float = 0.05):
        self._prior = prior
        self._weight = weight
        self._means: dict[tuple[str, str | None], tuple[float, int]] = {}
        self._lock = threading.Lock()

    def expected_raw(self, model: str, route: str | None = None) -> float:
        """The running mean for (model, route), else for the model, else the prior."""
        for key in ((model, route), (model, None)):
            if key in self._means:
                return self._means[key][0]
        return float(self._prior)

    def expected(self, model: str, route: str | None = None) -> int:
        return max(1, round(self.expected_raw(model, route)))

    def observe(self, model: str, completion_tokens: float, route: str | None = None) -> None:
        keys: list[tuple[str, str | None]] = [(model, None)]
        if route is not None:
            keys.append((model, route))
        with self._lock:
            for key in keys:
                mean, seen = self._means.get(key, (float(self._prior), 0))
                step = max(self._weight, 1.0 / (seen + 2))
                self._means[key] = (mean + step * (completion_tokens - mean), seen + 1)


class Estimator:
    """Estimates request cost per model from its own tokenizer, prices and language."""

    def __init__(
        self,
        catalog: PriceCatalog,
        tokenizers: TokenizerRegistry,
        output_lengths: OutputLengthTracker | None = None,
        identifier: LanguageIdentifier | None = None,
        premiums: Mapping[str, Mapping[str, float]] | None = None,
    ):
        self.catalog = catalog
        self.tokenizers = tokenizers
        self.output_lengths = output_lengths or OutputLengthTracker()
        self.identifier: LanguageIdentifier = identifier or Py3LangidIdentifier()
        self._premiums = premiums
        self._lock = threading.Lock()

    def warm_up(self, models: Iterable[str] = ()) -> None:
        """Load the language model, the premium table and the tokenizers of `models` now,
        so that the first request does not pay for it (the language model takes 1-2 s)."""
        self.premiums()
        self.identifier.identify("warm up")
        for model in models:
            self.tokenizers.get(self.catalog[model].tokenizer).count("warm up")

    def premiums(self) -> Mapping[str, Mapping[str, float]]:
        """Tokenizer -> language -> premium (the shipped table unless one was given)."""
        if self._premiums is None:
            with self._lock:
                if self._premiums is None:
                    self._premiums = shipped_premiums()
        return self._premiums

    def premium(self, price: ModelPrice, language: str) -> float:
        """How many tokens `price`'s tokenizer spends on `language` per English token."""
        table = self.premiums().get(base_tokenizer(price.tokenizer), {})
        return table.get(language, 1.0)

    def language_of(self, messages: Sequence[Mapping[str, Any]]) -> str:
        return identify_messages(self.identifier, messages).language

    def prompt_tokens(self, price: ModelPrice, messages: Sequence[Mapping[str, Any]]) -> int:
        return (count_messages(self.tokenizers.get(price.tokenizer), messages)
                + image_tokens(price, messages))

    def estimate(
        self,
        model: str,
        messages: Sequence[Mapping[str, Any]],
        max_tokens: int | None = None,
        route: str | None = None,
        language: str | None = None,
        counts: dict[str, int] | None = None,
    ) -> CostEstimate:
        """Expected and worst-case cost of `messages` on `model` (UnknownModelError if absent).

        `counts` (tokenizer name -> prompt tokens) is shared by the estimates of one request,
        so the prompt is counted once per tokenizer, not once per candidate model."""
        price = self.catalog[model]
        if language is None:
            language = self.language_of(messages)
        tokenizer = self.tokenizers.get(price.tokenizer)
        if counts is None:
            prompt = count_messages(tokenizer, messages)
        elif (known := counts.get(price.tokenizer)) is not None:
            prompt = known
        else:
            prompt = counts[price.tokenizer] = count_messages(tokenizer, messages)
        prompt += image_tokens(price, messages)
        room = max(1, price.context_window - prompt)
        cap = max(1, min(max_tokens or price.max_output_tokens, price.max_output_tokens, room))
        english = self.output_lengths.expected_raw(model, route)
        expected = max(1, min(cap, round(english * self.premium(price, language))))
        return CostEstimate(
            model=model,
            prompt_tokens=prompt,
            expected_output_tokens=expected,
            max_output_tokens=cap,
            expected_cost_usd=cost_usd(price, Usage(prompt, expected)),
            max_cost_usd=cost_usd(price, Usage(prompt, cap)),
            tokens_estimated=tokenizer.estimated,
            language=language,
            route=route,
            price=price,
        )

    def estimate_all(
        self,
        models: Iterable[str],
        messages: Sequence[Mapping[str, Any]],
        max_tokens: int | None = None,
        route: str | None = None,
    ) -> dict[str, CostEstimate]:
        """One estimate per model: the prompt's language identified once for all of them,
        its tokens counted once per tokenizer."""
        language = self.language_of(messages)
        counts: dict[str, int] = {}
        return {
            model: self.estimate(model, messages, max_tokens, route=route, language=language,
                                 counts=counts)
            for model in models
        }

    def settle(self, estimate: CostEstimate, usage: Usage) -> float:
        """Learn from a finished call's usage; the estimate's relative cost error."""
        price = estimate.price or self.catalog[estimate.model]
        english = usage.completion_tokens / self.premium(price, estimate.language)
        self.output_lengths.observe(estimate.model, english, estimate.route)
        return relative_error(estimate, usage)


def relative_error(estimate: CostEstimate, actual_usage: Usage) -> float:
    """(estimated - actual) / actual: of the cost when the estimate carries its price and the
    call cost something, else of the token count (local models cost nothing)."""
    if estimate.price is not None:
        actual_cost = cost_usd(estimate.price, actual_usage)
        if actual_cost > 0:
            return (estimate.expected_cost_usd - actual_cost) / actual_cost
    estimated = estimate.prompt_tokens + estimate.expected_output_tokens
    actual = actual_usage.total_tokens
    return (estimated - actual) / max(actual, 1)
