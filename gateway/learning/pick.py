"""Which other models a shadowed prompt asks: the k with the fewest labels so far.

Asking every candidate on every shadowed prompt makes learning cost about (pool size) times
the traffic's own spend per shadowed prompt. Asking only `k` of them, always those with the
fewest labels on that route so far (ties broken at random), spreads the labels evenly: every
candidate keeps getting outcomes, so the k-NN trained from the records (which reads a missing
label as unknown, never as 0) still learns each model. The served model's answer is judged
on every shadowed prompt as well, at no extra shadow cost.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence


class ShadowPicker:
    """Per (tenant, route): how many labels each model was asked for, and the next k to ask."""

    def __init__(self, seed: int | None = None):
        self._rng = random.Random(seed)
        self._asked: dict[tuple[str, str], Counter[str]] = {}

    def pick(self, tenant: str, route: str, served: str, others: Sequence[str],
             k: int | None) -> tuple[str, ...]:
        """`k` of `others` (all of them when k is None or k >= len(others))."""
        counts = self._asked.setdefault((tenant, route), Counter())
        counts[served] += 1
        if k is None or k >= len(others):
            chosen = list(others)
        else:
            order = sorted(others, key=lambda m: (counts[m], self._rng.random()))
            chosen = order[:k]
        for model in chosen:
            counts[model] += 1
        return tuple(chosen)

    def counts(self, tenant: str, route: str) -> dict[str, int]:
        return dict(self._asked.get((tenant, route), Counter()))
