"""Deterministic train/test splits with no prompt on both sides."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from routers.datasets.format import RoutingDataset
from routers.datasets.text import normalise

IntArray = npt.NDArray[np.int64]


def split(
    ds: RoutingDataset, test_fraction: float, seed: int = 0
) -> tuple[RoutingDataset, RoutingDataset]:
    """(train, test): the same `seed` always gives the same split.

    Rows are grouped by normalised prompt text and whole groups are assigned to one side,
    so a prompt duplicated in the data never appears in both train and test.
    """
    train_rows, test_rows = split_rows(ds.prompts, test_fraction, seed)
    return ds.subset(train_rows), ds.subset(test_rows)


def split_rows(
    prompts: list[str], test_fraction: float, seed: int = 0
) -> tuple[IntArray, IntArray]:
    """(train rows, test rows), sorted, as `split` assigns them."""
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    groups: dict[str, list[int]] = {}
    for i, prompt in enumerate(prompts):
        groups.setdefault(normalise(prompt), []).append(i)
    keys = sorted(groups)
    order = np.random.default_rng(seed).permutation(len(keys))
    target = round(test_fraction * len(prompts))
    test_rows: list[int] = []
    train_rows: list[int] = []
    for k in order:
        rows = groups[keys[k]]
        (test_rows if len(test_rows) < target else train_rows).extend(rows)
    return np.array(sorted(train_rows), dtype=np.int64), np.array(sorted(test_rows), dtype=np.int64)


def fold_ids(prompts: list[str], folds: int, seed: int = 0) -> IntArray:
    """The cross-validation fold of each row, in [0, folds); duplicates share a fold."""
    groups: dict[str, list[int]] = {}
    for i, prompt in enumerate(prompts):
        groups.setdefault(normalise(prompt), []).append(i)
    keys = sorted(groups)
    ids = np.empty(len(prompts), dtype=np.int64)
    for position, k in enumerate(np.random.default_rng(seed).permutation(len(keys))):
        ids[groups[keys[k]]] = position % folds
    return ids


def remove_overlap(train: RoutingDataset, test: RoutingDataset) -> RoutingDataset:
    """`train` without the rows whose normalised prompt also occurs in `test`."""
    seen = {normalise(p) for p in test.prompts}
    keep = [i for i, p in enumerate(train.prompts) if normalise(p) not in seen]
    return train.subset(keep)
