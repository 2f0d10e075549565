"""The logistic head and AUROC against first principles."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from routers.cascade.logistic import fit_logistic, sigmoid
from routers.cascade.metrics import auroc, auroc_by_task


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.booleans()), min_size=2, max_size=30))
def test_auroc_is_the_share_of_correctly_ordered_pairs(rows: list[tuple[int, bool]]) -> None:
    scores = np.array([float(s) for s, _ in rows])
    labels = np.array([1.0 if y else 0.0 for _, y in rows])
    pairs = [
        (p, q)
        for p, q in itertools.product(range(len(rows)), repeat=2)
        if labels[p] == 1 and labels[q] == 0
    ]
    got = auroc(scores, labels)
    if not pairs:
        assert got is None
        return
    wins = sum(
        1.0 if scores[p] > scores[q] else 0.5 if scores[p] == scores[q] else 0.0 for p, q in pairs
    )
    assert got is not None and abs(got - wins / len(pairs)) < 1e-12


def test_auroc_by_task_scores_each_task_alone() -> None:
    # Each task alone is perfectly ranked, but pooled the tasks' base rates interleave.
    scores = np.array([0.1, 0.2, 0.8, 0.9])
    labels = np.array([0.0, 1.0, 0.0, 1.0])
    by_task = auroc_by_task(scores, labels, ["a", "a", "b", "b"])
    assert by_task == {"a": 1.0, "b": 1.0}
    assert auroc(scores, labels) == 0.75


def test_logistic_head_reaches_the_penalised_optimum() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 5))
    y = (rng.random(400) < sigmoid(x @ np.array([2.0, -1.0, 0.0, 0.5, 0.0]))).astype(float)
    head = fit_logistic(x, y, l2=1.0)
    z = (x - head.mean) / head.scale
    p = head.predict(x)
    # Stationarity: the gradient of cross-entropy + ½·l2·|w|² vanishes at the fit.
    assert np.allclose(z.T @ (p - y) + 1.0 * head.weights, 0.0, atol=1e-6)
    assert abs(float((p - y).sum())) < 1e-6
    assert head.weights[0] > 0 > head.weights[1]


def test_soft_targets_are_accepted() -> None:
    x = np.linspace(-1, 1, 50)[:, None]
    head = fit_logistic(x, np.full(50, 0.3), l2=1.0)
    assert np.allclose(head.predict(x), 0.3, atol=1e-6)
