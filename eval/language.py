"""Per-language cost premium: what a candidate charges per prompt, and per correct answer, in
each language relative to the base language (English by default).

Tokenizers split most languages into more tokens than English, so the same request costs
more ("Double Jeopardy"; Petrov et al. 2023). A premium of 2.0 means twice the base cost.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import numpy as np

from eval.metrics import cost_of_pass, mean_known
from eval.results import LanguagePremium
from eval.types import FloatArray


def is_base_language(language: str, base: str) -> bool:
    """Whether `language` is `base` or a regional/script variant of it ("en-US", "en_Latn")."""
    lang, want = language.strip().lower(), base.strip().lower()
    return lang == want or re.split(r"[-_]", lang)[0] == re.split(r"[-_]", want)[0]


def language_premiums(
    candidate: str,
    languages: Sequence[str] | np.ndarray,
    scores: FloatArray,
    costs: FloatArray,
    base: str = "en",
) -> list[LanguagePremium]:
    """One entry per language (base first), premiums relative to the `base` language.

    Premiums are NaN when the dataset has no prompt in the base language.
    """
    langs = np.asarray(languages, dtype=object)
    costs = np.where(np.isnan(scores), np.nan, costs)
    base_rows = np.array([is_base_language(str(x), base) for x in langs], dtype=bool)
    base_cost = mean_known(costs[base_rows]) if base_rows.any() else math.nan
    base_cop = (
        cost_of_pass(base_cost, mean_known(scores[base_rows])) if base_rows.any() else math.nan
    )
    ordered = sorted({str(x) for x in langs}, key=lambda x: (not is_base_language(x, base), x))
    out = []
    for language in ordered:
        rows = langs == language
        acc, cost = mean_known(scores[rows]), mean_known(costs[rows])
        cop = cost_of_pass(cost, acc)
        out.append(
            LanguagePremium(
                candidate=candidate,
                language=language,
                n_prompts=int(rows.sum()),
                accuracy=acc,
                mean_cost_usd=cost,
                cost_of_pass_usd=cop,
                cost_premium=_ratio(cost, base_cost),
                cost_of_pass_premium=_ratio(cop, base_cop),
            )
        )
    return out


def _ratio(value: float, base: float) -> float:
    if math.isnan(value) or math.isnan(base) or base == 0 or math.isinf(base):
        return math.nan
    return value / base
