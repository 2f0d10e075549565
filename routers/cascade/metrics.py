"""How well a scorer separates right answers from wrong ones: AUROC, overall and per task."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


def auroc(scores: FloatArray, labels: FloatArray) -> float | None:
    """P(score of a random positive > score of a random negative), ties counted half.

    Labels are binarised at 0.5. None when one class is absent (AUROC is undefined).
    """
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(labels, dtype=np.float64) >= 0.5
    pos, neg = int(y.sum()), int((~y).sum())
    if pos == 0 or neg == 0:
        return None
    ranks = _average_ranks(s)
    return float((ranks[y].sum() - pos * (pos + 1) / 2) / (pos * neg))


def auroc_by_task(
    scores: FloatArray, labels: FloatArray, tasks: Sequence[str]
) -> dict[str, float | None]:
    """AUROC within each task; a mixed-task AUROC can be high from task identity alone."""
    names = np.asarray(list(tasks))
    return {
        str(task): auroc(scores[names == task], labels[names == task])
        for task in sorted(set(tasks))
    }


def _average_ranks(values: FloatArray) -> FloatArray:
    order = np.argsort(values, kind="mergesort")
    sorted_values = values[order]
    ranks = np.empty(len(values), dtype=np.float64)
    start = 0
    while start < len(values):
        end = start
        while end + 1 < len(values) and sorted_values[end + 1] == sorted_values[start]:
            end += 1
        ranks[order[start : end + 1]] = (start + end) / 2 + 1
        start = end + 1
    return ranks
