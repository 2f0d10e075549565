"""Which of a prompt's labels count now: shared by every RecordStore implementation."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from gateway.records.base import Label

# A client's own rating outranks a judge's grade of the same answer, which outranks an
# exact-match check only where both exist (a judge sees the whole answer).
SOURCE_RANK = {"feedback": 3, "judge": 2, "exact": 1}


def current_scores(labels: Iterable[Label]) -> Mapping[str, float]:
    """model -> score: the best-ranked source's latest label for each model."""
    best: dict[str, tuple[int, float, float]] = {}
    for label in labels:
        key = (SOURCE_RANK.get(label.source, 0), label.created_at, label.score)
        if label.model not in best or key[:2] >= best[label.model][:2]:
            best[label.model] = key
    return {model: score for model, (_, _, score) in best.items()}
