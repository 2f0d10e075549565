"""A four-prompt, two-model dataset whose every metric is worked out by hand in the tests.

prompt  task  cheap (score, $)  strong (score, $)
p0      a     1, 1              1, 10
p1      a     0, 1              1, 10
p2      b     0, 1              1, 10
p3      b     1, 1              0, 10
"""

from __future__ import annotations

import numpy as np

from routers.datasets.format import RoutingDataset

CHEAP, STRONG = "cheap", "strong"


def tiny_dataset() -> RoutingDataset:
    return RoutingDataset(
        prompts=["p0", "p1", "p2", "p3"],
        eval_names=["a", "a", "b", "b"],
        models=[CHEAP, STRONG],
        scores=np.array([[1, 1], [0, 1], [0, 1], [1, 0]], dtype=np.float64),
        costs=np.array([[1, 10]] * 4, dtype=np.float64),
        name="tiny",
    )


def tiny_csv_rows() -> list[dict[str, object]]:
    ds = tiny_dataset()
    rows = []
    for i, prompt in enumerate(ds.prompts):
        row: dict[str, object] = {"prompt": prompt, "eval_name": ds.eval_names[i]}
        for j, model in enumerate(ds.models):
            row[model] = ds.scores[i, j]
            row[f"{model}|total_cost"] = ds.costs[i, j]
        rows.append(row)
    return rows
