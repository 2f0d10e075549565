"""Splits are deterministic, sized as asked, and never share a prompt across sides."""

from __future__ import annotations

import numpy as np
import pytest

from routers.datasets import RoutingDataset, normalise, remove_overlap, split


def _dataset(prompts: list[str]) -> RoutingDataset:
    n = len(prompts)
    return RoutingDataset(
        prompts=prompts,
        eval_names=["t"] * n,
        models=["m"],
        scores=np.arange(n, dtype=float).reshape(n, 1) / n,
        costs=np.ones((n, 1)),
    )


def test_same_seed_same_split() -> None:
    ds = _dataset([f"question {i}" for i in range(200)])
    a_train, a_test = split(ds, 0.25, seed=3)
    b_train, b_test = split(ds, 0.25, seed=3)
    assert a_test.prompts == b_test.prompts and a_train.prompts == b_train.prompts
    assert len(a_test) == 50 and len(a_train) == 150
    _, c_test = split(ds, 0.25, seed=4)
    assert c_test.prompts != a_test.prompts


def test_duplicates_never_straddle_the_split() -> None:
    base = [f"question {i}" for i in range(100)]
    # Case and whitespace variants of the same prompt count as duplicates.
    ds = _dataset(base + [p.upper() + "  " for p in base[:40]])
    for seed in range(5):
        train, test = split(ds, 0.3, seed=seed)
        assert not {normalise(p) for p in train.prompts} & {normalise(p) for p in test.prompts}
        assert len(train) + len(test) == len(ds)


def test_remove_overlap_drops_shared_prompts_from_train() -> None:
    train = _dataset(["a", "b", "c"])
    test = _dataset(["B ", "d"])
    assert remove_overlap(train, test).prompts == ["a", "c"]


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.1])
def test_bad_fraction_is_rejected(fraction: float) -> None:
    with pytest.raises(ValueError):
        split(_dataset(["a", "b"]), fraction)
