"""Cheap hand features of an answer, and which text of a query and an answer gets embedded.

The embedding carries the topic and style of a query/answer pair; these features carry what
MiniLM cannot see: how long the answer is, whether it commits to a final answer, whether it
hedges. All are computed with a few regular expressions, in microseconds.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

# MiniLM reads about 256 word pieces; the end of an answer holds its conclusion, so when an
# answer is longer than this we embed its tail.
ANSWER_TAIL_CHARS = 1000

_NUMBER = re.compile(r"-?\$?\d[\d,]*(?:\.\d+)?")
_FINAL_MARKER = re.compile(
    r"(####|\\boxed\{|final answer|the answer is|answer:|therefore|so the answer)", re.I
)
_HEDGE = re.compile(
    r"\b(not sure|unsure|cannot|can't|unclear|assum\w*|approximately|maybe|perhaps|"
    r"sorry|i apologi[sz]e|however|unfortunately|insufficient|ambiguous)\b",
    re.I,
)
_WORD = re.compile(r"\w+")

FEATURE_NAMES: tuple[str, ...] = (
    "log_chars",
    "log_words",
    "log_lines",
    "numbers_per_100_words",
    "has_final_marker",
    "last_line_has_number",
    "ends_with_number",
    "hedges",
    "distinct_word_ratio",
    "empty",
)

FloatMatrix = npt.NDArray[np.float64]


def answer_text(answer: str) -> str:
    """The part of an answer to embed: all of it, or its last `ANSWER_TAIL_CHARS` chars."""
    stripped = answer.strip()
    return stripped[-ANSWER_TAIL_CHARS:] if len(stripped) > ANSWER_TAIL_CHARS else stripped


def final_answer(answer: str) -> str | None:
    """The answer's final number (after `####` when present), normalised; None if none."""
    marked = answer.rsplit("####", 1)
    tail = marked[1] if len(marked) == 2 else answer[-300:]
    numbers = _NUMBER.findall(tail)
    if not numbers:
        return None
    value = numbers[-1].replace("$", "").replace(",", "").rstrip(".")
    try:
        number = float(value)
    except ValueError:
        return None
    return f"{number:g}"


def hand_features(answer: str) -> list[float]:
    """The `FEATURE_NAMES` values of one answer."""
    text = answer.strip()
    words = _WORD.findall(text)
    lines = [line for line in text.splitlines() if line.strip()]
    last_line = lines[-1] if lines else ""
    numbers = _NUMBER.findall(text)
    return [
        math.log1p(len(text)),
        math.log1p(len(words)),
        math.log1p(len(lines)),
        100.0 * len(numbers) / max(len(words), 1),
        1.0 if _FINAL_MARKER.search(text[-400:]) else 0.0,
        1.0 if _NUMBER.search(last_line) else 0.0,
        1.0 if re.search(r"\d[.)!]?\s*$", text) else 0.0,
        float(len(_HEDGE.findall(text))),
        len({w.lower() for w in words}) / max(len(words), 1),
        0.0 if text else 1.0,
    ]


def hand_feature_matrix(answers: Sequence[str]) -> FloatMatrix:
    """(len(answers), len(FEATURE_NAMES)) hand features."""
    out = np.zeros((len(answers), len(FEATURE_NAMES)), dtype=np.float64)
    for i, answer in enumerate(answers):
        out[i] = hand_features(answer)
    return out
