"""Exact-match grading where the client supplied a reference answer.

A client attaches the reference with the `x-costroute-reference-answer` header (a header, so
it never reaches the upstream). Multiple-choice references (one letter) compare the answer's
chosen letter, numeric references the answer's last number, anything else the normalised
text. Grades are 1.0 or 0.0; an answer with no readable choice or number scores 0.0.
"""

from __future__ import annotations

import math
import re
import unicodedata

REFERENCE_HEADER = "x-costroute-reference-answer"
EXACT_GRADER = "exact"

_CHOICE = re.compile(r"^[A-Ea-e]$")
_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")
_ANSWER_IS = re.compile(r"answer\s*(?:is|:)?\s*\(?([A-E])\)?\b", re.IGNORECASE)
_LEADING = re.compile(r"^\W*\(?([A-E])\)?(?:\W|$)")


def exact_grade(answer: str, reference: str) -> float:
    reference = reference.strip()
    if _CHOICE.match(reference):
        return float(chosen_letter(answer) == reference.upper())
    expected = _as_number(reference)
    if expected is not None:
        numbers = _NUMBER.findall(answer)
        got = _as_number(numbers[-1]) if numbers else None
        return float(got is not None and math.isclose(got, expected, rel_tol=1e-6, abs_tol=1e-9))
    return float(_normal(answer) == _normal(reference))


def chosen_letter(answer: str) -> str | None:
    text = answer.strip()
    m = _ANSWER_IS.search(text) or _LEADING.match(text)
    return m.group(1).upper() if m else None


def _as_number(text: str) -> float | None:
    try:
        return float(text.replace(",", ""))
    except ValueError:
        return None


def _normal(text: str) -> str:
    folded = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(re.sub(r"[^\w\s]", " ", folded).split())
