"""Deterministic train/test splits with no prompt on both sides."""

from __future__ import annotations

import numpy as np

from routers.datasets.format import RoutingDataset
from routers.datasets.text import normalise


def split(
    ds: RoutingDataset, test_fraction: float, seed: int = 0
) -> tuple[RoutingDataset, RoutingDataset]:
    """(train, test): the same `seed` always gives the same split.

    Rows are grouped by normalised prompt text and whole groups are assigned to one side,
    so a prompt duplicated in the data never appears in both train and test.
    """
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    groups: dict[str, list[int]] = {}
    for i, prompt in enumerate(ds.prompts):
        groups.setdefault(normalise(prompt), []).append(i)
    keys = sorted(groups)
    order = np.random.default_rng(seed).permutation(len(keys))
    target = round(test_fraction * len(ds))
    test_rows: list[int] = []
    train_rows: list[int] = []
    for k in order:
        rows = groups[keys[k]]
        (test_rows if len(test_rows) < target else train_rows).extend(rows)
    return ds.subset(sorted(train_rows)), ds.subset(sorted(test_rows))


def remove_overlap(train: RoutingDataset, test: RoutingDataset) -> RoutingDataset:
    """`train` without the rows whose normalised prompt also occurs in `test`."""
    seen = {normalise(p) for p in test.prompts}
    keep = [i for i, p in enumerate(train.prompts) if normalise(p) not in seen]
    return train.subset(keep)
