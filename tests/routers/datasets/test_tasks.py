"""The task-label rules give the label their docstring promises."""

from __future__ import annotations

import pytest

from routers.datasets.tasks import infer_task


@pytest.mark.parametrize(
    ("question", "label"),
    [
        ('\ndef add(a: int, b: int):\n    """Add two numbers.\n    >>> add(1, 2)\n    3\n    """\n',
         "code_function"),
        ("Write a python function to reverse a string.", "code_spec"),
        ("Write a function to sort a list of tuples.", "code_spec"),
        ("Q: There are 3 houses in a row, numbered 1 to 3. Who owns the fish?", "logic_puzzle"),
        ("apple, river, jump, cat, blue, sing, desk, cloud, rope, tree, salt", "word_list"),
        ("Compute $\\frac{3}{4} + \\frac{1}{8}$.", "math_competition"),
        ("Let $x$ be a real number with $x^2 = 4$. Find $x$.", "math_competition"),
        ("Tom has 3 apples and buys 5 more. How many apples does Tom have now?", "math_word"),
        ("Which of the following is a mammal?", "multiple_choice"),
        ("who sang the national anthem at the super bowl", "open_qa_lower"),
        ("Which river flows through Paris?", "trivia"),
        ("A plant needs sunlight in order to", "completion"),
    ],
)
def test_rules(question: str, label: str) -> None:
    assert infer_task(question) == label


def test_long_passage_is_reading() -> None:
    passage = "Tom lives in a small town. He likes music. " * 12
    assert infer_task(passage + "We can learn from the passage that _ .") == "reading"
