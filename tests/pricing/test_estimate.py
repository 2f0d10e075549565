"""Pre-flight estimates: each model's own tokenizer, language-aware output, settle on usage."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from pricing.catalog import PriceCatalog, UnknownModelError
from pricing.estimate import CostEstimate, Estimator, OutputLengthTracker, relative_error
from pricing.langid import LanguageGuess
from pricing.premium import shipped_premiums
from pricing.prices import ModelPrice
from pricing.tokenizers import TokenizerRegistry
from pricing.usage import Usage, cost_usd

HINDI = [{"role": "user", "content": "कृपया मुझे बताइए कि भारत की राजधानी दिल्ली का इतिहास क्या है "
                                      "और वहाँ घूमने के लिए सबसे अच्छी जगहें कौन सी हैं।"}]
ENGLISH = [{"role": "user", "content": "Please tell me about the history of Delhi, the capital "
                                       "of India, and the best places to visit there."}]

SAME_PRICE = {"input_per_mtok": 1.0, "output_per_mtok": 4.0, "context_window": 100_000,
              "max_output_tokens": 4_000}


@dataclass
class FixedLanguage:
    language: str

    def identify(self, text: str) -> LanguageGuess:
        return LanguageGuess(self.language, 1.0, self.language)


@pytest.fixture
def twins() -> PriceCatalog:
    """Two models with equal prices that differ only in tokenizer."""
    return PriceCatalog.from_mapping({"models": {
        "new-tok": {**SAME_PRICE, "tokenizer": "o200k_base"},
        "old-tok": {**SAME_PRICE, "tokenizer": "cl100k_base"},
        "local": {"input_per_mtok": 0, "output_per_mtok": 0, "tokenizer": "heuristic"},
    }})


def test_cheaper_tokenizer_for_the_language_wins(twins: PriceCatalog,
                                                 registry: TokenizerRegistry) -> None:
    estimator = Estimator(twins, registry)  # real language identification
    hindi = estimator.estimate_all(["new-tok", "old-tok"], HINDI)
    assert {e.language for e in hindi.values()} == {"hin"}
    assert hindi["new-tok"].prompt_tokens < hindi["old-tok"].prompt_tokens
    assert hindi["new-tok"].expected_output_tokens < hindi["old-tok"].expected_output_tokens
    cheapest = min(hindi.values(), key=lambda e: e.expected_cost_usd)
    assert cheapest.model == "new-tok"


def test_expected_output_scales_with_the_language_premium(twins: PriceCatalog,
                                                          registry: TokenizerRegistry) -> None:
    tracker = OutputLengthTracker(prior=200)
    estimator = Estimator(twins, registry, tracker, identifier=FixedLanguage("hin"))
    premiums = shipped_premiums()
    for model, tokenizer in (("new-tok", "o200k_base"), ("old-tok", "cl100k_base")):
        expected = round(200 * premiums[tokenizer]["hin"])
        assert estimator.estimate(model, HINDI).expected_output_tokens == expected
    english = Estimator(twins, registry, tracker, identifier=FixedLanguage("eng"))
    assert english.estimate("old-tok", ENGLISH).expected_output_tokens == 200


def test_prompt_is_counted_with_the_models_tokenizer(twins: PriceCatalog,
                                                     registry: TokenizerRegistry,
                                                     reference_encodings: dict[str, Any]) -> None:
    estimate = Estimator(twins, registry, identifier=FixedLanguage("hin")).estimate(
        "old-tok", HINDI)
    content = len(reference_encodings["cl100k_base"].encode_ordinary(HINDI[0]["content"]))
    assert estimate.prompt_tokens == content + 1 + 3 + 3  # role "user", framing, priming
    assert not estimate.tokens_estimated


def test_costs_follow_the_prices(twins: PriceCatalog, registry: TokenizerRegistry) -> None:
    estimate = Estimator(twins, registry, identifier=FixedLanguage("eng")).estimate(
        "new-tok", ENGLISH, max_tokens=1000)
    p, e = estimate.prompt_tokens, estimate.expected_output_tokens
    assert estimate.expected_cost_usd == pytest.approx((p * 1.0 + e * 4.0) / 1e6)
    assert estimate.max_cost_usd == pytest.approx((p * 1.0 + 1000 * 4.0) / 1e6)


def test_max_tokens_and_context_cap_the_output(registry: TokenizerRegistry) -> None:
    catalog = PriceCatalog.from_mapping({"tiny": {**SAME_PRICE, "context_window": 50,
                                                  "tokenizer": "o200k_base"}})
    estimator = Estimator(catalog, registry, identifier=FixedLanguage("eng"))
    estimate = estimator.estimate("tiny", ENGLISH, max_tokens=10_000)
    assert estimate.max_output_tokens == 50 - estimate.prompt_tokens
    assert estimator.estimate("tiny", ENGLISH, max_tokens=5).expected_output_tokens <= 5


def test_unknown_model_names_itself(twins: PriceCatalog, registry: TokenizerRegistry) -> None:
    with pytest.raises(UnknownModelError, match="gpt-17"):
        Estimator(twins, registry, identifier=FixedLanguage("eng")).estimate_all(
            ["new-tok", "gpt-17"], ENGLISH)


def test_tracker_learns_per_model_and_per_route() -> None:
    tracker = OutputLengthTracker(prior=100, weight=0.05)
    assert tracker.expected("m") == 100
    tracker.observe("m", 300, route="summarise")
    assert tracker.expected("m", "summarise") == 200  # prior counts as one observation
    assert tracker.expected("m", "chat") == 200  # unknown route: the model's mean
    tracker.observe("m", 20, route="chat")
    assert tracker.expected("m", "chat") == 60
    assert tracker.expected("m", "summarise") == 200
    assert tracker.expected("other") == 100


def test_settle_learns_in_english_equivalent_tokens(twins: PriceCatalog,
                                                    registry: TokenizerRegistry) -> None:
    tracker = OutputLengthTracker(prior=100, weight=0.05)
    estimator = Estimator(twins, registry, tracker, identifier=FixedLanguage("hin"))
    estimate = estimator.estimate("old-tok", HINDI, route="r")
    premium = shipped_premiums()["cl100k_base"]["hin"]
    estimator.settle(estimate, Usage(estimate.prompt_tokens, round(300 * premium)))
    assert tracker.expected_raw("old-tok", "r") == pytest.approx(200, abs=1)


def test_relative_error_of_cost() -> None:
    price = ModelPrice(model="m", input_per_mtok=1.0, output_per_mtok=3.0)
    estimate = CostEstimate("m", 100, 100, 1000, (100 + 300) / 1e6, (100 + 3000) / 1e6,
                            False, price=price)
    actual = Usage(100, 300)  # costs (100 + 900) / 1e6
    assert relative_error(estimate, actual) == pytest.approx((400 - 1000) / 1000)
    assert cost_usd(price, actual) == pytest.approx(1000 / 1e6)


def test_relative_error_falls_back_to_tokens_for_free_models() -> None:
    free = ModelPrice(model="local", input_per_mtok=0, output_per_mtok=0)
    estimate = CostEstimate("local", 100, 50, 500, 0.0, 0.0, True, price=free)
    assert relative_error(estimate, Usage(100, 100)) == pytest.approx((150 - 200) / 200)
    bare = CostEstimate("local", 0, 1, 1, 0.0, 0.0, True)
    assert relative_error(bare, Usage(0, 0)) == pytest.approx(1.0)


def test_warm_up_loads_what_the_models_need(twins: PriceCatalog,
                                            registry: TokenizerRegistry) -> None:
    estimator = Estimator(twins, registry, identifier=FixedLanguage("eng"))
    estimator.warm_up(["new-tok", "local"])
    with pytest.raises(UnknownModelError):
        estimator.warm_up(["gpt-17"])
