"""Agreement between answers as a correctness signal (MoT answer consistency, 2310.03094).

Two cheap models that give the same answer are right more often than either alone, and an
expensive stage that repeats an earlier stage's answer is more likely right. How "same" is
read depends on the answer:

* a choice ("A".."E", or "1"/"2" for two-option tasks): the letter, exact;
* a number: the final number, normalised (`features.final_answer`);
* free text and code: the cosine similarity of the answers' embeddings (in [0, 1]), or,
  without embeddings, the Jaccard similarity of their word sets (no model call: what the
  RouterBench benchmark uses, since embedding 3,300 code answers took minutes here).

RouterBench stores answers as a stringified one-element list ("['C']"); `unwrap` removes
that so the same code reads a live answer and a recorded one.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from routers.cascade.features import final_answer

FloatArray = npt.NDArray[np.float64]
Vectors = npt.NDArray[np.float32]

# A choice answer is short: a letter with at most a few words around it ("B", "B) Logan",
# "The answer is (B)", "Option C"). RouterBench's recorded answers are almost all the bare
# letter (`bench/cascade/agreement_signal.py`); live chat models add the lead-in.
_CHOICE = re.compile(
    r"^\W*(?:(?:the\s+)?(?:correct\s+|best\s+|final\s+)?(?:answer|option|choice)\s*"
    r"(?:is)?\s*:?\s*)?\(?([A-E])\b",
    re.IGNORECASE,
)
CHOICE_MAX_CHARS = 40
_WORD = re.compile(r"\w+")


def unwrap(answer: str) -> str:
    """The text of a RouterBench answer cell ("['text']") or the answer itself."""
    text = answer.strip()
    if text.startswith("[") and text.endswith("]"):
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            return text
        if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            return "\n".join(value).strip()
    return text


def normalised(answer: str) -> str | None:
    """The answer's exact-comparable form: "choice:B", "number:42"; None for free text."""
    text = unwrap(answer)
    if len(text) <= CHOICE_MAX_CHARS:
        match = _CHOICE.match(text)
        if match:
            return f"choice:{match.group(1).upper()}"
    if len(text) <= 400 or "####" in text:
        number = final_answer(text)
        if number is not None and not _looks_like_code(text):
            return f"number:{number}"
    return None


def _looks_like_code(text: str) -> bool:
    return "def " in text or "```" in text


def agreement(
    first: Sequence[str | None],
    second: Sequence[str | None],
    first_vectors: Vectors | None = None,
    second_vectors: Vectors | None = None,
) -> FloatArray:
    """Per row, how much two answers agree: 1/0 when both normalise, else the cosine of their
    (unit) embeddings clipped to [0, 1], else their word-set Jaccard; NaN where an answer is
    missing."""
    out = np.full(len(first), np.nan)
    for i, (a, b) in enumerate(zip(first, second, strict=True)):
        if a is None or b is None:
            continue
        na, nb = normalised(a), normalised(b)
        if na is not None and nb is not None:
            out[i] = 1.0 if na == nb else 0.0
        elif first_vectors is not None and second_vectors is not None:
            cosine = float(np.dot(first_vectors[i], second_vectors[i]))
            out[i] = min(max(cosine, 0.0), 1.0)
        else:
            out[i] = jaccard(a, b)
    return out


def jaccard(a: str, b: str) -> float:
    """Word-set overlap of two texts (1.0 for two empty texts)."""
    wa, wb = set(_WORD.findall(unwrap(a).lower())), set(_WORD.findall(unwrap(b).lower()))
    return len(wa & wb) / len(wa | wb) if wa | wb else 1.0


def agreement_tensor(
    answers: Sequence[Sequence[str | None]], vectors: Sequence[Vectors | None]
) -> npt.NDArray[np.float64]:
    """(n, m, m): agreement of model j's answer with model k's on each row (1 on j == k)."""
    m = len(answers)
    n = len(answers[0]) if m else 0
    out = np.ones((n, m, m))
    for j in range(m):
        for k in range(j + 1, m):
            a = agreement(answers[j], answers[k], vectors[j], vectors[k])
            out[:, j, k] = a
            out[:, k, j] = a
    return out
