"""Adding post-generation signals to a trained cascade: stacked heads, parallel stages, search.

From `fit_cascade`'s result (base scorer heads and their out-of-fold scores on the training
rows), this computes each answer's agreement with every other model's answer and, when
asked, the code verifier's features in the sandbox; fits the stacked heads
(`signals.py`) out-of-fold for the search and on all rows for serving; searches chains over
the real models plus parallel stages (pairs, and votes of `group_sizes` >= 3) of the
`pair_models` cheapest scorable models; and
returns an artifact whose strategy and Pareto set come from that search and which holds
the stacked heads, so that serving it uses the same signals (`live.py`).

Logprob features are fitted when `logprobs` is given (n, m, 2: mean and min token logprob,
NaN where none); recorded data without logprobs leaves them out.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from itertools import combinations
from typing import Any

import numpy as np
import numpy.typing as npt

from routers.cascade.agreement import agreement_tensor
from routers.cascade.artifact import CascadeArtifact
from routers.cascade.parallel import Extended, extended
from routers.cascade.search import Frontier, pareto_frontier
from routers.cascade.signal_heads import SignalConfig, SignalHeads
from routers.cascade.signals import Group, Scored, Signals, fit_stacked, out_of_fold_stacked
from routers.cascade.train import CascadeConfig, TrainedCascade, choose
from routers.cascade.verifier import Sandbox, verifier_matrix
from routers.train_progress import NullTrainProgress, TrainProgress

Tensor = npt.NDArray[np.float64]


@dataclass(frozen=True)
class SignalTrainConfig:
    agreement: bool = True
    verifier: bool = False
    pair_models: int = 4  # parallel stages among this many cheapest scorable models
    # Sizes of the parallel stages among them: 2 is a pair, 3 or more a majority vote.
    group_sizes: tuple[int, ...] = (2,)
    max_depth: int = 3
    seed: int = 0


@dataclass
class SignalInputs:
    """Row-aligned agreement and verifier inputs of one data set."""

    agree: Tensor
    verifier: Tensor
    logprobs: Tensor | None = None


def signal_inputs(
    ds: Any,
    sandbox: Sandbox | None,
    verifier_cache: dict[str, list[float]] | None = None,
    logprobs: Tensor | None = None,
) -> SignalInputs:
    """Agreement of every pair of answers (word-set Jaccard for free text) and, with a
    sandbox, the verifier's features of every answer."""
    answers = [ds.responses.get(m, [None] * len(ds)) for m in ds.models]
    agree = agreement_tensor(answers, [None] * len(answers))
    if sandbox is None:
        verifier = np.zeros((len(ds), len(ds.models), 5))
    else:
        verifier = np.stack(
            [verifier_matrix(sandbox, col, ds.prompts, verifier_cache) for col in answers], axis=1
        )
    return SignalInputs(agree, verifier, logprobs)


@dataclass
class SignalCascade:
    artifact: CascadeArtifact
    extended: Extended  # the training columns (out-of-fold), for replays
    frontier: Frontier
    signals: Signals
    oof: Scored


def cheap_pairs(trained: TrainedCascade, scorable: list[int], count: int) -> list[tuple[int, int]]:
    return [(g[0], g[1]) for g in cheap_groups(trained, scorable, count, (2,))]


def cheap_groups(
    trained: TrainedCascade, scorable: list[int], count: int, sizes: tuple[int, ...]
) -> list[Group]:
    """Every group of each size in `sizes` among the `count` cheapest scorable models (by
    mean cost on the training rows), members in cost order."""
    ds = trained.encoded.dataset
    order = np.argsort(np.nanmean(ds.costs, axis=0), kind="stable")
    cheap = [int(j) for j in order if int(j) in scorable][:count]
    return [g for size in sizes for g in combinations(cheap, size)]


def fit_signal_cascade(
    trained: TrainedCascade,
    inputs: SignalInputs,
    config: SignalTrainConfig = SignalTrainConfig(),
    cascade: CascadeConfig | None = None,
    progress: TrainProgress | None = None,
) -> SignalCascade:
    """The cascade of `trained` re-searched with signals; the artifact serves them."""
    progress = progress or NullTrainProgress()
    ds = trained.encoded.dataset
    models = list(ds.models)
    scorable = [models.index(m) for m in trained.artifact.heads]
    pairs = (cheap_groups(trained, scorable, config.pair_models, config.group_sizes)
             if config.agreement else [])
    use_logprobs = inputs.logprobs is not None and bool(np.any(~np.isnan(inputs.logprobs)))
    signals = Signals(trained.oof_scores, inputs.agree, inputs.verifier, config.agreement,
                      config.verifier, inputs.logprobs, use_logprobs)
    progress.stage("fitting stacked signal heads (out-of-fold and all rows)", 2)
    oof = out_of_fold_stacked(signals, ds.scores, scorable, pairs, config.seed)
    progress.advance()
    heads = fit_stacked(signals, ds.scores, scorable, pairs)
    progress.advance()
    ext = extended(models, oof, ds.scores, ds.costs, pairs)
    frontier = pareto_frontier(ext.outcomes, config.max_depth, progress=progress)
    chosen, objective = choose(frontier, cascade or CascadeConfig(), ext.outcomes)
    signal_config = SignalConfig(
        models=tuple(models),
        agreement=config.agreement,
        verifier=config.verifier,
        logprobs=use_logprobs,
        pairs=tuple(tuple(models[j] for j in group) for group in pairs),
    )
    manifest = dict(trained.artifact.manifest)
    manifest["objective"] = objective
    manifest["search"] = {**manifest.get("search", {}), "orderings": frontier.orderings,
                          "exact": frontier.exact, "parallel_stages": len(pairs)}
    artifact = replace(
        trained.artifact,
        strategy=chosen,
        pareto=frontier.strategies,
        manifest=manifest,
        signals=SignalHeads.from_stacked(signal_config, heads),
    )
    return SignalCascade(artifact, ext, frontier, signals, oof)
