"""Captured, labelled traffic (a RecordStore's outcomes) as a routing dataset.

This is the one conversion from the gateway's records to what the trainers take: one row
per captured traffic prompt, one column per model that has a label on any of them. A cell
is the model's current score on that prompt (feedback over judge over exact match, as
the store resolves it) and the USD its answer cost; NaN where the model was never asked
or never graded. `eval_name` is the route that served the prompt, so the per-task lookup
baseline sees one "task" per route.

With `answers` (request id -> model -> answer text, as the cascade trainer needs them), the
dataset also carries each model's recorded answer (`responses`; None where none is usable),
the equivalent of RouterBench's `M|model_response` columns.

The held-out slice is chosen by a hash of the request id, not by time or by drawing: a
request is on the same side in every training run, so versions trained at different
times are compared on prompts none of them trained on, and new traffic keeps joining both
sides in the same proportion.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol

import numpy as np

from routers.datasets.format import RoutingDataset

HELD_OUT_FRACTION = 0.2
HELD_OUT_RULE = "sha256(request_id)[:8] / 2**32 < {fraction}"


class OutcomeRow(Protocol):
    """What the conversion reads of `gateway.records.base.Outcome` (routers never import
    the gateway)."""

    @property
    def request_id(self) -> str: ...

    @property
    def route(self) -> str: ...

    @property
    def prompt(self) -> str: ...

    @property
    def scores(self) -> Mapping[str, float]: ...

    @property
    def costs(self) -> Mapping[str, float]: ...


class NoOutcomesError(ValueError):
    """There is nothing labelled to train on or to evaluate against."""


def outcomes_to_dataset(
    outcomes: Iterable[OutcomeRow],
    models: Sequence[str] | None = None,
    name: str = "records",
    answers: Mapping[str, Mapping[str, str]] | None = None,
) -> RoutingDataset:
    """Rows of labelled outcomes; columns `models` (default: every labelled model, sorted);
    with `answers`, each model's answer text per row as `responses`."""
    rows = [o for o in outcomes if o.scores]
    if not rows:
        raise NoOutcomesError(f"{name}: no labelled outcomes")
    columns = list(models) if models is not None else sorted({m for o in rows for m in o.scores})
    index = {m: j for j, m in enumerate(columns)}
    scores = np.full((len(rows), len(columns)), np.nan)
    costs = np.full_like(scores, np.nan)
    for i, outcome in enumerate(rows):
        for model, score in outcome.scores.items():
            if model in index:
                scores[i, index[model]] = min(1.0, max(0.0, float(score)))
        for model, cost in outcome.costs.items():
            if model in index:
                costs[i, index[model]] = float(cost)
    responses: dict[str, list[str | None]] = {}
    if answers is not None:
        responses = {m: [answers.get(o.request_id, {}).get(m) for o in rows] for m in columns}
    return RoutingDataset(
        prompts=[o.prompt for o in rows],
        eval_names=[o.route for o in rows],
        models=columns,
        scores=scores,
        costs=costs,
        responses=responses,
        name=name,
    )


def answered(ds: RoutingDataset) -> RoutingDataset:
    """The rows of `ds` where every labelled model's answer is known (what replaying a
    cascade needs: its scorer must judge the answer of each stage it reaches)."""
    has = np.zeros(ds.scores.shape, dtype=bool)
    for j, model in enumerate(ds.models):
        has[:, j] = [r is not None for r in ds.responses.get(model, [None] * len(ds))]
    keep = np.flatnonzero((has | np.isnan(ds.scores)).all(axis=1))
    return ds.subset(keep)


def is_held_out(request_id: str, fraction: float = HELD_OUT_FRACTION) -> bool:
    """Whether a request belongs to the held-out slice (stable for a given id)."""
    digest = hashlib.sha256(request_id.encode("utf-8")).hexdigest()
    return int(digest[:8], 16) / 2**32 < fraction


def split_outcomes(
    outcomes: Sequence[OutcomeRow], fraction: float = HELD_OUT_FRACTION
) -> tuple[list[OutcomeRow], list[OutcomeRow]]:
    """(training rows, held-out rows) by `is_held_out`."""
    train = [o for o in outcomes if not is_held_out(o.request_id, fraction)]
    held = [o for o in outcomes if is_held_out(o.request_id, fraction)]
    return train, held


def label_count(ds: RoutingDataset) -> int:
    return int((~np.isnan(ds.scores)).sum())
