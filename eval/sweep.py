"""What a replayable candidate produces: one step per setting of its cost knob.

A step is either the model each prompt is routed to (`Choices`, for routers that call one
model) or the per-prompt cost and score it ends with (`Outcomes`, for cascades and anything
that may call several models). Replay turns both into `Outcomes` against a dataset.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

import numpy as np

from eval.types import BoolArray, FloatArray, IntArray
from routers.datasets.format import RoutingDataset

CandidateKind = Literal["model", "router", "cascade", "oracle", "baseline"]
KINDS: tuple[CandidateKind, ...] = ("model", "router", "cascade", "oracle", "baseline")


@dataclass(frozen=True, slots=True)
class Choices:
    """The dataset column (model index) each prompt goes to at one knob setting."""

    knob: float | None
    models: IntArray


@dataclass(frozen=True, slots=True)
class Outcomes:
    """Per-prompt USD cost and score at one knob setting.

    `calls` (n, n_models), when known, marks which models each prompt called; it gives the
    share of calls to the strong model that RouteLLM's APGR and CPT are measured against.
    """

    knob: float | None
    cost: FloatArray
    score: FloatArray
    calls: BoolArray | None = None


SweepStep = Choices | Outcomes


@runtime_checkable
class ReplayableRouter(Protocol):
    """Anything replay can score: a model, a baseline, or a trained router or cascade."""

    @property
    def name(self) -> str:
        """Unique, human-readable name in reports."""
        ...

    @property
    def kind(self) -> CandidateKind:
        """model, router, cascade, oracle or baseline."""
        ...

    def sweep(self, dataset: RoutingDataset) -> Sequence[SweepStep]:
        """One step per knob setting, each covering every prompt of `dataset` in order."""
        ...


def as_outcomes(step: SweepStep, dataset: RoutingDataset) -> Outcomes:
    """`step` scored against the recorded outcomes of `dataset`."""
    n, m = dataset.scores.shape
    if isinstance(step, Outcomes):
        if step.cost.shape != (n,) or step.score.shape != (n,):
            raise ValueError(f"outcomes cover {step.cost.shape[0]} prompts, dataset has {n}")
        return step
    choice = np.asarray(step.models, dtype=np.int64)
    if choice.shape != (n,):
        raise ValueError(f"choices cover {choice.shape[0]} prompts, dataset has {n}")
    if n and (choice.min() < 0 or choice.max() >= m):
        raise ValueError(f"a choice is outside the dataset's {m} models")
    rows = np.arange(n)
    calls = np.zeros((n, m), dtype=np.bool_)
    calls[rows, choice] = True
    return Outcomes(step.knob, dataset.costs[rows, choice], dataset.scores[rows, choice], calls)


def column_of(dataset: RoutingDataset, model: str) -> int:
    """The dataset column of `model`, or a ValueError naming the models it has."""
    try:
        return dataset.models.index(model)
    except ValueError:
        raise ValueError(
            f"model {model!r} is not in dataset {dataset.name} (it has {dataset.models})"
        ) from None


@dataclass(frozen=True)
class Renamed:
    """A replayable router under another name (reports and results are keyed by name)."""

    inner: ReplayableRouter
    name: str

    @property
    def kind(self) -> CandidateKind:
        return self.inner.kind

    def sweep(self, dataset: RoutingDataset) -> Sequence[SweepStep]:
        return self.inner.sweep(dataset)
