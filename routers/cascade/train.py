"""Training a cascade from routing data with responses: scorer, frontier, chosen strategy.

1. Keep the rows where every model has an outcome and a cost (models covering under half
   the rows are dropped first, so one sparse model does not empty the data).
2. Embed each distinct prompt and answer once; fit one head per model on all rows, then
   score every answer out-of-fold (k folds by prompt, each fold warm-started from the
   all-rows head). `--scorer auto` picks fast or full on at most `CHOICE_ROWS` rows and
   embeds the answers of those rows only, unless it keeps the full scorer: an answer costs
   about three prompts of MiniLM, and the fast scorer never reads their vectors.
3. Search orderings of up to `max_depth` models (all of them with few models; with many,
   the cost-ascending chains plus the extensions of the pairs near the two-stage front:
   see `search.py`) over the observed thresholds on the out-of-fold scores: the Pareto set
   of (mean cost, accuracy).
4. Choose the strategy: most accurate within `budget_usd`, or cheapest reaching
   `quality_target`, or by default the cheapest matching the best single model.
5. Compare with FrugalGPT's solver on the same scores (its brute-force grid per
   permutation is too slow for many models: skipped above `FRUGALGPT_MAX_ORDERINGS`).

Each phase shows a progress bar when a `TrainProgress` is given (the CLI gives Rich's).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import numpy as np

from routers.cascade.artifact import CascadeArtifact
from routers.cascade.features import FEATURE_NAMES
from routers.cascade.fit_scorer import (
    EncodedData,
    IntArray,
    ScorerConfig,
    encode,
    fit_heads,
    out_of_fold_scores,
    with_answer_vectors,
)
from routers.cascade.metrics import auroc, auroc_by_task
from routers.cascade.search import DEFAULT_MAX_CUTS, Frontier, Outcomes, pareto_frontier
from routers.cascade.strategy import Strategy, replay
from routers.datasets.format import RoutingDataset
from routers.datasets.text import text_hash
from routers.embedding import Embedder
from routers.train_progress import NullTrainProgress, TrainProgress

MIN_MODEL_COVERAGE = 0.5
COMPARISON_BUDGETS = 5
# The fast scorer skips embedding the answer (tens of ms of MiniLM per stage on a CPU); it is
# kept when it loses at most this much mean out-of-fold AUROC.
FAST_SCORER_TOLERANCE = 0.01
# The fast/full choice is made on at most this many rows (a seeded sample): on 10k rows the
# full scorer's out-of-fold fits alone would take minutes, and 2,000 rows measure the
# AUROC gap to about ±0.01.
CHOICE_ROWS = 2000
# FrugalGPT's solver brute-forces 40^(depth-1) grid points per permutation and budget: about
# 5 s per 100 permutations here, so with 11 models (990) it would dominate training.
FRUGALGPT_MAX_ORDERINGS = 120


@dataclass(frozen=True)
class CascadeConfig:
    """What to optimise: at most one of `budget_usd` (per query) and `quality_target`."""

    budget_usd: float | None = None
    quality_target: float | None = None
    max_depth: int = 3
    max_cuts: int = DEFAULT_MAX_CUTS
    scorer: ScorerConfig = field(default_factory=ScorerConfig)
    seed: int = 0
    compare_frugalgpt: bool = True
    # Also fit the fast scorer (no answer embedding) and keep it unless the full one's
    # out-of-fold AUROC on TRAIN is better by more than FAST_SCORER_TOLERANCE.
    choose_scorer: bool = False
    choice_rows: int = CHOICE_ROWS  # the most rows the choice is made on


@dataclass
class TrainedCascade:
    """The artifact plus what the benchmarks reuse: encoded data and out-of-fold scores."""

    artifact: CascadeArtifact
    encoded: EncodedData
    oof_scores: np.ndarray[Any, Any]
    frontier: Frontier


def usable_rows(ds: RoutingDataset) -> RoutingDataset:
    """`ds` without sparse models and without rows where a kept model has no outcome/cost."""
    known = ~np.isnan(ds.scores) & ~np.isnan(ds.costs)
    keep = [m for j, m in enumerate(ds.models) if known[:, j].mean() >= MIN_MODEL_COVERAGE]
    if not keep:
        raise ValueError(f"{ds.name}: no model has outcomes and costs on half of the rows")
    ds = ds.with_models(keep)
    rows = np.flatnonzero(~np.isnan(ds.scores).any(axis=1) & ~np.isnan(ds.costs).any(axis=1))
    if len(rows) == 0:
        raise ValueError(f"{ds.name}: no row has outcomes and costs for every model")
    return ds.subset(rows)


def choose(
    frontier: Frontier, config: CascadeConfig, outcomes: Outcomes
) -> tuple[Strategy, dict[str, Any]]:
    """The strategy the config asks for, and a description of the objective."""
    if config.budget_usd is not None and config.quality_target is not None:
        raise ValueError("give a budget or a quality target, not both")
    if config.budget_usd is not None:
        chosen = frontier.best_within(config.budget_usd)
        if chosen is None:
            raise ValueError(
                f"no cascade costs ≤ ${config.budget_usd:g}/query on this data; the cheapest "
                f"costs ${frontier.strategies[0].cost_usd:.6g}"
            )
        return chosen, {"kind": "budget", "usd_per_query": config.budget_usd}
    target = config.quality_target
    kind = "quality_target"
    if target is None:
        target = float(np.max(outcomes.outcomes.mean(axis=0)))
        kind = "match_best_single_model"
    chosen = frontier.cheapest_reaching(target)
    if chosen is None:
        return frontier.strategies[-1], {"kind": kind, "accuracy": target, "reached": False}
    return chosen, {"kind": kind, "accuracy": target, "reached": True}


def scorer_metrics(encoded: EncodedData, oof: np.ndarray[Any, Any]) -> dict[str, Any]:
    """Out-of-fold AUROC per scored model, overall and within each task."""
    ds = encoded.dataset
    out: dict[str, Any] = {}
    for model in encoded.models:
        j = ds.models.index(model)
        rows = encoded.answered_rows(model)
        tasks = [ds.eval_names[i] for i in rows]
        out[model] = {
            "auroc": auroc(oof[rows, j], ds.scores[rows, j]),
            "auroc_by_task": auroc_by_task(oof[rows, j], ds.scores[rows, j], tasks),
            "rows": len(rows),
        }
    return out


def sample_rows(prompts: list[str], max_rows: int, seed: int) -> IntArray:
    """The rows of the `max_rows` prompts ranking first by a seeded hash of their text
    (all rows when there are no more), ascending.

    A hash, not a draw over row numbers: a retrain on more traffic keeps most of the
    previous retrain's sample, whose answer vectors the records store then already holds.
    """
    n = len(prompts)
    if n <= max_rows:
        return np.arange(n, dtype=np.int64)
    keys = [text_hash(f"{seed}:{p}") for p in prompts]
    return np.sort(np.argsort(keys, kind="stable")[:max_rows]).astype(np.int64)


def subset_encoded(encoded: EncodedData, rows: IntArray) -> EncodedData:
    """`encoded` restricted to `rows` (itself when they are all of its rows)."""
    if len(rows) == len(encoded.dataset):
        return encoded
    return EncodedData(
        encoded.dataset.subset(rows),
        encoded.query_vectors[rows],
        list(encoded.models),
        encoded.embed_answer,
        {m: v[rows] for m, v in encoded.answer_vectors.items()},
    )


def choose_scorer_variant(
    encoded: EncodedData, embedder: Embedder, config: CascadeConfig,
    progress: TrainProgress | None = None,
) -> tuple[EncodedData, ScorerConfig, dict[str, Any]]:
    """The fast or the full scorer, by out-of-fold AUROC on (a sample of) this training
    data; returns the data encoded for the kept variant.

    `encoded` holds the prompts' vectors; the answers are embedded for the sample, and for
    every row only when the full scorer is kept.
    """
    progress = progress or NullTrainProgress()
    rows = sample_rows(encoded.dataset.prompts, config.choice_rows, config.seed)
    fast_sample = subset_encoded(
        EncodedData(encoded.dataset, encoded.query_vectors, list(encoded.models),
                    embed_answer=False), rows)
    sampled = (f" of the {len(rows):,}-row sample that chooses the scorer"
               if len(rows) < len(encoded.dataset) else "")
    sample = with_answer_vectors(fast_sample, embedder, progress, sampled)
    full_config = replace(config.scorer, embed_answer=True)
    fast_config = replace(config.scorer, embed_answer=False)
    aurocs: dict[str, dict[str, float]] = {}
    oof: dict[str, np.ndarray[Any, Any]] = {}
    for name, data, scorer in (("full", sample, full_config), ("fast", fast_sample, fast_config)):
        progress.stage(
            f"choosing the scorer: {name}, {len(data.dataset):,} rows",
            len(data.models) * (scorer.folds + 1),
        )
        start = fit_heads(data, None, scorer, progress=progress)
        oof[name] = out_of_fold_scores(data, scorer, config.seed, start, progress)
        metrics = scorer_metrics(data, oof[name])
        aurocs[name] = {m: float(v["auroc"]) for m, v in metrics.items()}
    mean = {name: float(np.nanmean(list(v.values()))) for name, v in aurocs.items()}
    keep_fast = mean["full"] - mean["fast"] <= FAST_SCORER_TOLERANCE
    choice = {
        "chosen": "fast" if keep_fast else "full",
        "rows": len(sample.dataset),
        "of_rows": len(encoded.dataset),
        "sample": "the rows whose prompts rank first by a seeded hash of their text",
        "out_of_fold_auroc": aurocs,
        "mean_out_of_fold_auroc": mean,
        "reason": (f"fast kept unless full's mean out-of-fold AUROC is better by more than "
                   f"{FAST_SCORER_TOLERANCE}: full {mean['full']:.4f}, fast {mean['fast']:.4f}"),
    }
    fast = EncodedData(encoded.dataset, encoded.query_vectors, list(encoded.models),
                       embed_answer=False)
    if keep_fast:
        return fast, fast_config, choice
    if len(rows) < len(encoded.dataset):
        return with_answer_vectors(fast, embedder, progress, known=sample), full_config, choice
    return sample, full_config, choice


def frugalgpt_comparison(
    frontier: Frontier, outcomes: Outcomes, max_depth: int, progress: TrainProgress | None = None
) -> list[dict[str, Any]]:
    """Ours vs FrugalGPT's solver at budgets spread over the frontier, on the same scores."""
    from routers.cascade.frugal import frugalgpt_solve

    costs = [s.cost_usd for s in frontier.strategies]
    budgets = (
        np.geomspace(min(costs), max(costs), COMPARISON_BUDGETS)
        if min(costs) > 0
        else (np.linspace(min(costs), max(costs), COMPARISON_BUDGETS))
    )
    rows = []
    for budget in budgets:
        ours = frontier.best_within(float(budget))
        theirs = frugalgpt_solve(outcomes, float(budget), depth=max_depth)
        rows.append(
            {
                "budget_usd": float(budget),
                "ours": None
                if ours is None
                else {"accuracy": ours.accuracy, "cost_usd": ours.cost_usd},
                "frugalgpt": None
                if theirs is None
                else {"accuracy": theirs.accuracy, "cost_usd": theirs.cost_usd},
            }
        )
        if progress is not None:
            progress.advance()
    return rows


def fit_cascade(
    ds: RoutingDataset,
    embedder: Embedder,
    config: CascadeConfig = CascadeConfig(),
    progress: TrainProgress | None = None,
) -> TrainedCascade:
    """Trains scorer and strategy on all of `ds` (hold your test split out before)."""
    from routers.knn.artifact import data_hash

    progress = progress or NullTrainProgress()
    started = time.perf_counter()
    ds = usable_rows(ds)
    cheapest = float(ds.costs.mean(axis=0).min())
    if config.budget_usd is not None and config.budget_usd < cheapest:
        raise ValueError(
            f"no cascade costs ≤ ${config.budget_usd:g}/query on this data; the "
            f"cheapest model alone costs ${cheapest:.6g}"
        )
    # With `choose_scorer` the answers are embedded once the choice says which are needed.
    embed_answer = config.scorer.embed_answer and not config.choose_scorer
    encoded = encode(ds, embedder, embed_answer, progress)
    if not encoded.models:
        raise ValueError(
            f"{ds.name}: no model has recorded responses (M|model_response) to "
            "train the answer scorer on"
        )
    choice: dict[str, Any] | None = None
    if config.choose_scorer:
        encoded, scorer_config, choice = choose_scorer_variant(encoded, embedder, config,
                                                               progress)
        config = replace(config, scorer=scorer_config)
    kind = "full" if config.scorer.embed_answer else "fast"
    progress.stage(
        f"fitting {kind} scorer heads (all rows, {config.scorer.folds} folds)",
        len(encoded.models) * (config.scorer.folds + 1),
    )
    heads = fit_heads(encoded, None, config.scorer, progress=progress)
    oof = out_of_fold_scores(encoded, config.scorer, config.seed, heads, progress)
    outcomes = Outcomes(list(ds.models), oof, ds.scores, ds.costs)
    frontier = pareto_frontier(outcomes, config.max_depth, config.max_cuts, progress=progress)
    chosen, objective = choose(frontier, config, outcomes)
    check = replay(chosen, ds.models, oof, ds.scores, ds.costs)
    manifest: dict[str, Any] = {
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "data_hash": data_hash(ds.prompts, ds.models, ds.scores, ds.costs),
        "data_rows": len(ds),
        "models": list(ds.models),
        "objective": objective,
        "scorer": {
            "embedder": embedder.name,
            "dim": embedder.dim,
            "features": list(FEATURE_NAMES),
            "l2_embedding": config.scorer.l2_embedding,
            "l2_hand": config.scorer.l2_hand,
            "folds": config.scorer.folds,
            "embed_answer": config.scorer.embed_answer,
        },
        "search": {
            "max_depth": config.max_depth,
            "orderings": frontier.orderings,
            "exact": frontier.exact,
            "max_cuts": config.max_cuts,
        },
        "metrics": {
            "scorer_out_of_fold": scorer_metrics(encoded, oof),
            "single_models": {
                m: {
                    "accuracy": float(ds.scores[:, j].mean()),
                    "cost_usd": float(ds.costs[:, j].mean()),
                }
                for j, m in enumerate(ds.models)
            },
            "chosen_replay": {
                "accuracy": check.accuracy,
                "cost_usd": check.cost_usd,
                "stage_share": list(check.stage_share),
            },
        },
    }
    if choice is not None:
        manifest["scorer"]["choice"] = choice
    if config.compare_frugalgpt:
        depth = min(config.max_depth, len(ds.models))
        permutations = math.perm(len(ds.models), depth)
        if permutations <= FRUGALGPT_MAX_ORDERINGS:
            progress.stage("FrugalGPT's solver on the same scores", COMPARISON_BUDGETS)
            manifest["metrics"]["frugalgpt_comparison"] = frugalgpt_comparison(
                frontier, outcomes, config.max_depth, progress
            )
        else:
            manifest["metrics"]["frugalgpt_comparison_skipped"] = (
                f"{permutations} permutations of {depth} models > {FRUGALGPT_MAX_ORDERINGS}"
            )
    manifest["training"] = {"seconds": round(time.perf_counter() - started, 2), "seed": config.seed}
    artifact = CascadeArtifact(heads, chosen, frontier.strategies, manifest)
    return TrainedCascade(artifact, encoded, oof, frontier)
