"""Graders: a score in [0, 1] for a model's answer against the reference answer.

`exact` compares normalised text, `choice` the multiple-choice letter, `numeric` the final
number (GSM8K's "#### 42" and LaTeX `\\boxed{42}` understood), and `judge:<model>` asks another
model through the same endpoint whether the answer matches the reference.
"""

from __future__ import annotations

import math
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

# Sends a chat (model, user message) and returns the reply text; used by the judge.
JudgeCall = Callable[[str, str], Awaitable[str]]


class Grader(Protocol):
    """Scores one answer."""

    @property
    def name(self) -> str: ...

    async def grade(self, prompt: str, answer: str, reference: str) -> float: ...


def normalise_text(text: str) -> str:
    """Lower-case, single-spaced, without surrounding punctuation or quotes."""
    text = re.sub(r"\s+", " ", text.strip().lower())
    return text.strip(" .,:;!?\"'`")


@dataclass(frozen=True)
class ExactMatch:
    """1 when the normalised answer equals the normalised reference (or its first line does)."""

    name: str = "exact"

    async def grade(self, prompt: str, answer: str, reference: str) -> float:
        want = normalise_text(reference)
        first_line = answer.strip().splitlines()[0] if answer.strip() else ""
        return float(want in (normalise_text(answer), normalise_text(first_line)))


_LETTER_PATTERNS = (
    re.compile(r"answer\s*(?:is|:)?\s*\(?([A-J])\b\)?", re.IGNORECASE),
    re.compile(r"^\s*\(?([A-J])[\).:]", re.MULTILINE),
    re.compile(r"^\s*([A-J])\s*$", re.MULTILINE),
    re.compile(r"\(([A-J])\)"),
)


def choice_letter(text: str) -> str | None:
    """The multiple-choice letter an answer commits to, if it states one."""
    for pattern in _LETTER_PATTERNS:
        match = pattern.search(text)
        if match:
            return match.group(1).upper()
    return None


@dataclass(frozen=True)
class MultipleChoice:
    """1 when the answer's letter is the reference letter."""

    name: str = "choice"

    async def grade(self, prompt: str, answer: str, reference: str) -> float:
        want = choice_letter(reference) or reference.strip().upper()[:1]
        return float(choice_letter(answer) == want)


_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?|-?\.\d+")


def final_number(text: str) -> float | None:
    """The number an answer ends on: after "####", inside \\boxed{}, else the last one."""
    for marker in (r"####\s*([^\n]+)", r"\\boxed\{([^}]*)\}", r"answer is[:\s]*([^\n]+)"):
        match = re.search(marker, text, re.IGNORECASE)
        if match:
            found = _NUMBER.findall(match.group(1))
            if found:
                return _to_float(found[0])
    found = _NUMBER.findall(text)
    return _to_float(found[-1]) if found else None


def _to_float(token: str) -> float | None:
    try:
        return float(token.replace(",", ""))
    except ValueError:
        return None


@dataclass(frozen=True)
class NumericAnswer:
    """1 when the answer's final number equals the reference's (relative tolerance 1e-6)."""

    name: str = "numeric"

    async def grade(self, prompt: str, answer: str, reference: str) -> float:
        got, want = final_number(answer), final_number(reference)
        if got is None or want is None:
            return 0.0
        return float(math.isclose(got, want, rel_tol=1e-6, abs_tol=1e-9))


JUDGE_TEMPLATE = (
    "You grade answers. Question:\n{prompt}\n\nReference answer:\n{reference}\n\n"
    "Candidate answer:\n{answer}\n\nIs the candidate answer correct? Reply YES or NO only."
)


@dataclass(frozen=True)
class Judge:
    """Asks `model` whether the answer matches the reference; 1 for a reply starting YES."""

    model: str
    call: JudgeCall
    name: str = "judge"

    async def grade(self, prompt: str, answer: str, reference: str) -> float:
        reply = await self.call(
            self.model, JUDGE_TEMPLATE.format(prompt=prompt, reference=reference, answer=answer)
        )
        return float(reply.strip().upper().startswith("YES"))


def make_grader(spec: str, judge_call: JudgeCall | None = None) -> Grader:
    """The grader `spec` names: exact, choice, numeric, or judge:<model>."""
    simple: dict[str, Grader] = {
        "exact": ExactMatch(),
        "choice": MultipleChoice(),
        "numeric": NumericAnswer(),
    }
    if spec in simple:
        return simple[spec]
    if spec.startswith("judge:") and spec[6:]:
        if judge_call is None:
            raise ValueError("the judge grader needs a chat endpoint")
        return Judge(spec[6:], judge_call)
    raise ValueError(f"--grader {spec!r}: use exact, choice, numeric or judge:<model>")
