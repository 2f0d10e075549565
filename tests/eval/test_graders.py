"""Graders on hand-written answers, and the response cache."""

from __future__ import annotations

from pathlib import Path

import pytest

from eval.graders import ExactMatch, MultipleChoice, NumericAnswer, choice_letter, final_number
from eval.live_cache import ResponseCache, cache_key


@pytest.mark.parametrize(
    ("text", "letter"),
    [
        ("The answer is (C).", "C"),
        ("Answer: b", "B"),
        ("D. Paris", "D"),
        ("A", "A"),
        ("I pick (B) because", "B"),
        ("no letter here", None),
    ],
)
def test_choice_letter(text: str, letter: str | None) -> None:
    assert choice_letter(text) == letter


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("so she has 18 apples.\n#### 18", 18.0),
        ("total $1,234.50", 1234.5),
        ("\\boxed{42} and later 7", 42.0),
        ("The answer is 3, not 5", 3.0),
        ("none", None),
        ("it drops to -4", -4.0),
    ],
)
def test_final_number(text: str, number: float | None) -> None:
    assert final_number(text) == number


async def test_graders_score_zero_or_one() -> None:
    assert await ExactMatch().grade("q", "  Up.\nbecause gold rose", "up") == 1.0
    assert await ExactMatch().grade("q", "down", "up") == 0.0
    assert await MultipleChoice().grade("q", "The answer is (c)", "C") == 1.0
    assert await NumericAnswer().grade("q", "= 18.0 apples", "#### 18") == 1.0
    assert await NumericAnswer().grade("q", "no number", "18") == 0.0


def test_cache_round_trip_and_corrupt_entries(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path)
    key = cache_key("m", {"messages": [{"role": "user", "content": "hi"}]})
    assert key == cache_key("m", {"messages": [{"content": "hi", "role": "user"}]})
    assert key != cache_key("other", {"messages": [{"role": "user", "content": "hi"}]})
    assert cache.get(key) is None
    cache.put(key, {"body": {"x": 1}})
    assert cache.get(key) == {"body": {"x": 1}} and len(cache) == 1
    (tmp_path / key[:2] / f"{key}.json").write_text("{trunc")
    assert cache.get(key) is None
