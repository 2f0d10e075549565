"""Hand features: the arithmetic check and the final-answer reader."""

from __future__ import annotations

import pytest

from routers.cascade.features import (
    FEATURE_NAMES,
    answer_text,
    equation_checks,
    final_answer,
    hand_features,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3 x 60 = 180", (1, 0)),
        ("3 * 60 = 181", (1, 1)),
        ("<<3*60=180>>180 and $1,200 / 3 = $400", (2, 0)),
        ("2 + 3 * 4 = 14", (1, 0)),  # * before +
        ("10 / 3 = 3.33", (1, 0)),  # right to the stated precision
        ("10 / 3 = 3.5", (1, 1)),
        ("no arithmetic here", (0, 0)),
        ("5 / 0 = 1", (0, 0)),  # not checkable
    ],
)
def test_equation_checks(text: str, expected: tuple[int, int]) -> None:
    assert equation_checks(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("so it is 12.\n#### 1,200", "1200"),
        ("The answer is $45.50.", "45.5"),
        ("no number", None),
    ],
)
def test_final_answer(text: str, expected: str | None) -> None:
    assert final_answer(text) == expected


def test_features_have_one_value_per_name_and_handle_empty_answers() -> None:
    assert len(hand_features("", "")) == len(FEATURE_NAMES)
    empty = dict(zip(FEATURE_NAMES, hand_features("", "what is 2 + 2?")))
    assert empty["empty"] == 1.0 and empty["question_numbers_used"] == 0.0
    used = dict(zip(FEATURE_NAMES, hand_features("2 + 2 = 4", "what is 2 + 2?")))
    assert used["question_numbers_used"] == 1.0 and used["equations_wrong"] == 0.0


def test_long_answers_are_embedded_by_their_conclusion() -> None:
    text = "x" * 5000 + " #### 42"
    assert answer_text(text).endswith("#### 42")
    assert len(answer_text(text)) < len(text)
