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
    r"(####|\\boxed\{|final answer|the answer is|answer:|therefore|so the answer)", re.IGNORECASE
)
_HEDGE = re.compile(
    r"\b(not sure|unsure|cannot|can't|unclear|assum\w*|approximately|maybe|perhaps|"
    r"sorry|i apologi[sz]e|however|unfortunately|insufficient|ambiguous)\b",
    re.IGNORECASE,
)
_WORD = re.compile(r"\w+")

# "12 * 3 = 36", "$15 + $25 = $40", "<<3*60=180>>": a checkable computation.
_OPERAND = r"\$?\d[\d,]*(?:\.\d+)?"
_EQUATION = re.compile(
    rf"(?<![\d.])({_OPERAND}(?:\s*[-+*/x×÷]\s*{_OPERAND})+)\s*=\s*({_OPERAND})(?![\d%])"
)
_TOKEN = re.compile(rf"{_OPERAND}|[-+*/x×÷]")

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
    "equations_checked",
    "equations_wrong",
    "any_equation_wrong",
    "final_is_integer",
    "log_final_magnitude",
    "question_numbers_used",
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


def _number(token: str) -> float:
    return float(token.replace("$", "").replace(",", ""))


def _evaluate(expression: str) -> float | None:
    """The value of `a op b op c ...` with * and / before + and -; None if malformed."""
    tokens = _TOKEN.findall(expression)
    if len(tokens) < 3 or len(tokens) % 2 == 0:
        return None
    terms: list[float] = []
    sign = 1.0
    current = _number(tokens[0])
    for op, operand in zip(tokens[1::2], tokens[2::2]):
        value = _number(operand)
        if op in "*x×":
            current *= value
        elif op in "/÷":
            if value == 0:
                return None
            current /= value
        else:
            terms.append(sign * current)
            sign = 1.0 if op == "+" else -1.0
            current = value
    terms.append(sign * current)
    return sum(terms)


def equation_checks(answer: str) -> tuple[int, int]:
    """(checked, wrong): arithmetic claims in the answer and how many are false."""
    checked = wrong = 0
    for match in _EQUATION.finditer(answer):
        value = _evaluate(match.group(1))
        if value is None:
            continue
        claimed_text = match.group(2).replace("$", "").replace(",", "")
        decimals = len(claimed_text.split(".")[1]) if "." in claimed_text else 0
        checked += 1
        # Rounded results ("10 / 3 = 3.33") are right to the precision they state.
        if abs(value - float(claimed_text)) > 0.51 * 10.0 ** (-decimals) + 1e-9:
            wrong += 1
    return checked, wrong


def _question_numbers_used(query: str, answer: str) -> float:
    asked = {n for n in (_norm_number(t) for t in _NUMBER.findall(query)) if n is not None}
    if not asked:
        return 1.0
    used = {n for n in (_norm_number(t) for t in _NUMBER.findall(answer)) if n is not None}
    return len(asked & used) / len(asked)


def _norm_number(token: str) -> str | None:
    try:
        return f"{_number(token.rstrip('.')):g}"
    except ValueError:
        return None


def hand_features(answer: str, query: str = "") -> list[float]:
    """The `FEATURE_NAMES` values of one answer to `query`."""
    text = answer.strip()
    words = _WORD.findall(text)
    lines = [line for line in text.splitlines() if line.strip()]
    last_line = lines[-1] if lines else ""
    numbers = _NUMBER.findall(text)
    checked, wrong = equation_checks(text)
    final = final_answer(text)
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
        math.log1p(checked),
        math.log1p(wrong),
        1.0 if wrong else 0.0,
        1.0 if final is not None and float(final) == round(float(final)) else 0.0,
        math.log1p(abs(float(final))) if final is not None else 0.0,
        _question_numbers_used(query, text),
    ]


def hand_feature_matrix(answers: Sequence[str], queries: Sequence[str]) -> FloatMatrix:
    """(len(answers), len(FEATURE_NAMES)) hand features of answers to their queries."""
    out = np.zeros((len(answers), len(FEATURE_NAMES)), dtype=np.float64)
    for i, (answer, query) in enumerate(zip(answers, queries, strict=True)):
        out[i] = hand_features(answer, query)
    return out
