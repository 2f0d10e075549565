"""`costroute learn export`: a tenant's labelled traffic as a RouterBench-format file.

The same conversion the trainers use (routers.datasets.records.outcomes_to_dataset): one
row per captured, labelled traffic prompt; per model its current score, its cost and, where
the store kept it unredacted, its answer (`M|model_response`). `sample_id` is the request
id, so a row can be joined with the feedback and spend of that request. The file loads
wherever a dataset does (`--data` of `costroute eval replay`, `train knn`, `train cascade`),
so traffic can be studied, merged with offline labels, or routed by another tool.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from gateway.artifacts.answers import AnswerCounts, usable_answers
from gateway.records.base import Outcome, RecordStore
from routers.datasets.records import label_count, outcomes_to_dataset, split_outcomes
from routers.datasets.routerbench import save_routerbench

Split = Literal["all", "train", "held-out"]


@dataclass(frozen=True)
class Exported:
    rows: int
    models: list[str]
    labels: int
    answers: AnswerCounts | None


async def export_outcomes(store: RecordStore, path: Path, tenant: str | None, *,
                          metric: str = "default", since: float | None = None,
                          split: Split = "all", answers: bool = True) -> Exported:
    """Writes the labelled outcomes to `path` (.csv or .jsonl); NoOutcomesError if none."""
    # Only labelled rows, as outcomes_to_dataset keeps: then row i is outcomes[i], and the
    # sample ids line up with the rows by construction.
    outcomes: list[Outcome] = [o for o in await store.outcomes(tenant, metric=metric,
                                                               since=since) if o.scores]
    if split != "all":
        # The slice the trainers hold out (a hash of the request id), or the rest of it.
        train, held = split_outcomes(outcomes)
        outcomes = [o for o in (held if split == "held-out" else train)
                    if isinstance(o, Outcome)]
    texts, counts = None, None
    if answers and outcomes:
        texts, counts = usable_answers(outcomes, await store.answers(tenant, since=since))
    name = f"records:{tenant or 'all'}"
    ds = outcomes_to_dataset(outcomes, name=name, answers=texts)
    save_routerbench(ds, path, sample_ids=[o.request_id for o in outcomes])
    return Exported(len(ds), list(ds.models), label_count(ds), counts)
