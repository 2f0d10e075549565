"""Labelled outcomes from the records store as a routing dataset, and the held-out slice."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pytest

from routers.datasets.records import (
    NoOutcomesError,
    is_held_out,
    outcomes_to_dataset,
    split_outcomes,
)


@dataclass(frozen=True)
class Row:
    request_id: str
    route: str
    prompt: str
    scores: dict[str, float]
    costs: dict[str, float] = field(default_factory=dict)


def test_rows_become_a_wide_matrix_with_nan_for_missing_cells() -> None:
    ds = outcomes_to_dataset([
        Row("r1", "auto", "p1", {"a": 1.0, "b": 0.0}, {"a": 0.001, "b": 0.01}),
        Row("r2", "router:knn", "p2", {"b": 1.0}, {"b": 0.02}),
        Row("r3", "auto", "p3", {}),  # no label: not a training row
    ])
    assert ds.models == ["a", "b"] and ds.prompts == ["p1", "p2"]
    assert ds.eval_names == ["auto", "router:knn"]
    assert math.isnan(ds.scores[1, 0]) and ds.scores[1, 1] == 1.0
    assert ds.costs[0, 1] == 0.01 and math.isnan(ds.costs[1, 0])


def test_given_columns_keep_their_order_and_drop_others() -> None:
    ds = outcomes_to_dataset([Row("r1", "auto", "p", {"a": 0.5, "c": 2.0})], models=["c", "a"])
    assert ds.models == ["c", "a"] and ds.scores.tolist() == [[1.0, 0.5]]  # clipped to [0, 1]


def test_no_labelled_rows_is_a_clear_error() -> None:
    with pytest.raises(NoOutcomesError):
        outcomes_to_dataset([Row("r", "auto", "p", {})])


def test_the_held_out_slice_is_stable_and_about_a_fifth() -> None:
    ids = [f"req-{i}" for i in range(4000)]
    held = [i for i in ids if is_held_out(i)]
    assert 0.17 < len(held) / len(ids) < 0.23
    assert held == [i for i in ids if is_held_out(i)]
    rows = [Row(i, "auto", i, {"a": 1.0}) for i in ids[:100]]
    train, test = split_outcomes(rows)
    assert {r.request_id for r in test} == {i for i in ids[:100] if is_held_out(i)}
    assert len(train) + len(test) == 100
