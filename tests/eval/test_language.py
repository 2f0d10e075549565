"""Per-language cost premium on hand-made rows."""

from __future__ import annotations

import math

import numpy as np
import pytest

from eval.language import is_base_language, language_premiums


def test_premium_is_the_ratio_to_the_base_language() -> None:
    # en: costs 1, 1, both right -> C 1, v 1.   hi: costs 3, 5, one right -> C 4, v 8.
    langs = ["en", "hi", "en", "hi"]
    scores = np.array([1.0, 1.0, 1.0, 0.0])
    costs = np.array([1.0, 3.0, 1.0, 5.0])
    en, hi = language_premiums("m", langs, scores, costs, base="en")
    assert (en.language, en.cost_premium, en.cost_of_pass_premium) == ("en", 1.0, 1.0)
    assert (hi.language, hi.n_prompts, hi.mean_cost_usd) == ("hi", 2, 4.0)
    assert hi.cost_premium == 4.0 and hi.cost_of_pass_premium == 8.0


def test_no_base_language_gives_unknown_premiums() -> None:
    (fr,) = language_premiums("m", ["fr"], np.array([1.0]), np.array([2.0]), base="en")
    assert math.isnan(fr.cost_premium)


@pytest.mark.parametrize("lang", ["en", "EN", "en-US", "en_GB"])
def test_base_language_variants(lang: str) -> None:
    assert is_base_language(lang, "en")
    assert not is_base_language("eng_Latn", "en")
