"""Cost arithmetic: cached, cache-write and reasoning tokens are subsets, never billed twice."""

from __future__ import annotations

from typing import Any

import pytest

from pricing.prices import ModelPrice
from pricing.usage import Usage, cost_usd, streamed_usage

# Round numbers so every expected figure below is checkable by hand.
PRICE = ModelPrice(model="m", input_per_mtok=2.0, output_per_mtok=8.0,
                   cached_input_per_mtok=0.5, cache_write_per_mtok=2.5)
FEE = ModelPrice(model="f", input_per_mtok=1.0, output_per_mtok=1.0, per_request_usd=0.005)


def test_plain_usage() -> None:
    assert cost_usd(PRICE, Usage(1_000_000, 1_000_000)) == pytest.approx(10.0)


def test_cached_tokens_are_a_subset_of_prompt_tokens() -> None:
    # 1M prompt tokens of which 400K cached: 600K at $2 + 400K at $0.5, no extra 400K.
    usage = Usage(prompt_tokens=1_000_000, completion_tokens=0, cached_prompt_tokens=400_000)
    assert cost_usd(PRICE, usage) == pytest.approx(1.2 + 0.2)
    assert cost_usd(PRICE, usage) < cost_usd(PRICE, Usage(1_000_000, 0))


def test_all_cached() -> None:
    usage = Usage(prompt_tokens=2_000_000, completion_tokens=0, cached_prompt_tokens=2_000_000)
    assert cost_usd(PRICE, usage) == pytest.approx(1.0)


def test_no_cache_discount_means_input_rate() -> None:
    flat = ModelPrice(model="x", input_per_mtok=2.0, output_per_mtok=8.0)
    usage = Usage(prompt_tokens=1_000_000, completion_tokens=0, cached_prompt_tokens=500_000)
    assert cost_usd(flat, usage) == pytest.approx(2.0)


def test_reasoning_tokens_are_a_subset_of_completion_tokens() -> None:
    usage = Usage(prompt_tokens=0, completion_tokens=1_000_000, reasoning_tokens=900_000)
    assert cost_usd(PRICE, usage) == pytest.approx(8.0)


def test_per_request_fee_is_added_once() -> None:
    assert cost_usd(FEE, Usage(0, 0)) == pytest.approx(0.005)
    assert cost_usd(FEE, Usage(1_000_000, 0)) == pytest.approx(1.005)


def test_openai_usage_with_details() -> None:
    usage = Usage.from_openai({
        "prompt_tokens": 2000, "completion_tokens": 3000, "total_tokens": 5000,
        "prompt_tokens_details": {"cached_tokens": 1024, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 2500},
    })
    assert (usage.prompt_tokens, usage.cached_prompt_tokens) == (2000, 1024)
    assert (usage.completion_tokens, usage.reasoning_tokens) == (3000, 2500)
    expected = (976 * 2.0 + 1024 * 0.5 + 3000 * 8.0) / 1e6
    assert cost_usd(PRICE, usage) == pytest.approx(expected)
    assert usage.to_openai()["total_tokens"] == 5000


def test_openai_usage_with_null_or_inconsistent_details() -> None:
    usage = Usage.from_openai({"prompt_tokens": 10, "completion_tokens": 5,
                               "prompt_tokens_details": None,
                               "completion_tokens_details": {"reasoning_tokens": None}})
    assert usage == Usage(10, 5)
    clamped = Usage.from_openai({"prompt_tokens": 10, "completion_tokens": 5,
                                 "prompt_tokens_details": {"cached_tokens": 50}})
    assert clamped.cached_prompt_tokens == 10


def test_anthropic_input_tokens_exclude_cache_reads_and_writes() -> None:
    usage = Usage.from_anthropic({"input_tokens": 100_000, "output_tokens": 200_000,
                                  "cache_read_input_tokens": 1_000_000,
                                  "cache_creation_input_tokens": 400_000})
    assert usage.prompt_tokens == 1_500_000
    assert usage.uncached_prompt_tokens == 100_000
    # 100K at $2 + 1M at $0.5 + 400K at $2.5 + 200K at $8
    assert cost_usd(PRICE, usage) == pytest.approx(0.2 + 0.5 + 1.0 + 1.6)


def test_gemini_thoughts_are_billed_as_output() -> None:
    usage = Usage.from_gemini({"promptTokenCount": 1_000_000, "cachedContentTokenCount": 500_000,
                               "candidatesTokenCount": 100_000, "thoughtsTokenCount": 400_000})
    assert usage.completion_tokens == 500_000 and usage.reasoning_tokens == 400_000
    assert cost_usd(PRICE, usage) == pytest.approx(1.0 + 0.25 + 4.0)


def test_streamed_usage_takes_the_final_report() -> None:
    chunks: list[dict[str, Any]] = [
        {"choices": [{"delta": {"content": "Hel"}}]},
        {"choices": [{"delta": {"content": "lo"}}], "usage": None},
        {"choices": [], "usage": {"prompt_tokens": 12, "completion_tokens": 2,
                                  "prompt_tokens_details": {"cached_tokens": 8}}},
    ]
    usage = streamed_usage(chunks)
    assert usage == Usage(12, 2, cached_prompt_tokens=8)


def test_streamed_running_totals_are_not_summed() -> None:
    chunks = [{"usage": {"prompt_tokens": 12, "completion_tokens": n}} for n in (1, 2, 3)]
    assert streamed_usage(chunks) == Usage(12, 3)


def test_stream_without_usage_reports_none() -> None:
    assert streamed_usage([{"choices": [{"delta": {"content": "x"}}]}]) is None


@pytest.mark.parametrize("kwargs", [
    {"prompt_tokens": -1, "completion_tokens": 0},
    {"prompt_tokens": 5, "completion_tokens": 0, "cached_prompt_tokens": 6},
    {"prompt_tokens": 5, "completion_tokens": 1, "reasoning_tokens": 2},
    {"prompt_tokens": 5, "completion_tokens": 0, "cached_prompt_tokens": 3,
     "cache_write_prompt_tokens": 3},
])
def test_inconsistent_usage_is_refused(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        Usage(**kwargs)
