from __future__ import annotations

import pytest

from gateway.learning.graders import chosen_letter, exact_grade
from gateway.learning.rubrics import UnknownRubric, parse_grade, rubric, split_rubric_prompt


@pytest.mark.parametrize(("reply", "grade"), [
    ("The answer is right.\nSCORE: 1", 1.0),
    ("SCORE: 0.25", 0.25),
    ("score = 0.7", 0.7),
    ("**Score:** 0.4", 0.4),
    ("Score: 8/10", 0.8),
    ("Grade: 3 out of 5", 0.6),
    ("Rating: 90%", 0.9),
    ("SCORE: 8", 0.8),  # a 0-10 judge
    ("I'd give it 7/10.", 0.7),
    ("SCORE: 1.5", 0.15),  # read on 0-10, never above 1
    ("Verdict: correct", 1.0),
    ("Score: incorrect", 0.0),
    ("PASS", 1.0),
    ("0.3", 0.3),
    ("first SCORE: 0.2 then, on reflection, SCORE: 0.9", 0.9),
])
def test_grades_are_read_robustly(reply: str, grade: float) -> None:
    assert parse_grade(reply) == pytest.approx(grade)


@pytest.mark.parametrize("reply", ["", "I cannot grade this.", "Score: n/a", "SCORE: 3/0"])
def test_unreadable_grades_are_none(reply: str) -> None:
    assert parse_grade(reply) is None


def test_rubric_prompt_carries_question_and_answer_between_markers() -> None:
    messages = rubric("v1").messages("What is 2+2?\nThink.", "It is 4.")
    assert split_rubric_prompt(messages[-1]["content"]) == ("What is 2+2?\nThink.", "It is 4.")
    assert split_rubric_prompt("no markers") is None


def test_unknown_rubric_names_the_known_ones() -> None:
    with pytest.raises(UnknownRubric, match="v1"):
        rubric("v999")


@pytest.mark.parametrize(("answer", "reference", "grade"), [
    ("B", "B", 1.0), ("['C']", "C", 1.0), ("(A) dry palms", "A", 1.0),
    ("The answer is D.", "D", 1.0), ("B", "C", 0.0), ("no idea", "A", 0.0),
    ("so 3 * 180 = 540 meters\n#### 540", "540", 1.0), ("#### 1,000", "1000", 1.0),
    ("it is 41", "42", 0.0), ("Paris.", "paris", 1.0), ("Lyon", "Paris", 0.0),
])
def test_exact_grades(answer: str, reference: str, grade: float) -> None:
    assert exact_grade(answer, reference) == grade


def test_chosen_letter_needs_a_choice() -> None:
    assert chosen_letter("Because of friction") is None
