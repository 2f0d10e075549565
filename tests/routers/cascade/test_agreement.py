"""Answer agreement: choices and numbers exactly, free text by embedding cosine."""

from __future__ import annotations

import numpy as np
import pytest

from routers.cascade.agreement import agreement, agreement_tensor, normalised, unwrap


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("['C']", "choice:C"),
        ("['A\\n']", "choice:A"),
        ("B) Logan", "choice:B"),
        ("Answer: d", "choice:D"),
        ("The answer is (B)", "choice:B"),
        ("The correct answer is: C.", "choice:C"),
        ("Option A", "choice:A"),
        ("(D)", "choice:D"),
        ("Option 2", "number:2"),
        ("Aria", None),  # a Winogrande name, not the letter A
        ("I do not have enough context", None),  # a refusal (claude-v2 on RouterBench)
        ("so 3 + 4 = 7. The answer is 7", "number:7"),
        ("#### 1,200", "number:1200"),
        ("```python\ndef f(x):\n    return 2\n```", None),
        ("A long free-text answer about photosynthesis and light.", None),
    ],
)
def test_normalised(answer: str, expected: str | None) -> None:
    assert normalised(answer) == expected


def test_unwrap_reads_routerbench_cells_and_leaves_other_text() -> None:
    assert unwrap("['x', 'y']") == "x\ny"
    assert unwrap("[not a list") == "[not a list"


def test_agreement_exact_cosine_unknown_and_missing() -> None:
    v = np.array([[1, 0], [1, 0], [0.6, 0.8], [1, 0]], dtype=np.float32)
    w = np.array([[1, 0], [0, 1], [1, 0], [1, 0]], dtype=np.float32)
    got = agreement(["['A']", "['A']", "some text", None], ["A", "['B']", "other", "A"], v, w)
    assert got[0] == 1.0 and got[1] == 0.0
    assert got[2] == pytest.approx(0.6)
    assert np.isnan(got[3])
    tensor = agreement_tensor([["A"], ["A"], ["B"]], [None, None, None])
    assert tensor.shape == (1, 3, 3)
    assert tensor[0, 0, 1] == 1.0 and tensor[0, 0, 2] == 0.0 and tensor[0, 2, 2] == 1.0
