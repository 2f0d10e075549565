"""Quality vs cost of the k-NN router on held-out test splits, against every baseline.

Datasets: RouteLLM MMLU (5,000-row seeded sample) + GSM8K, 2 models, 80/20 split by
normalised prompt (seed 0); LLMRouter dcrouter, 9 models, its own train/test files.
The router is trained on TRAIN only (its own validation split is carved out of TRAIN);
TEST is replayed once. Baselines come from `eval`: every single model, the oracle, the
per-task lookup (fitted on TRAIN), a random mixture of the cheapest and the most accurate
model. Metrics: RouterBench AIQ, RouteLLM APGR and CPT on the 2-model data, and the cheapest
router setting that matches the best single model's accuracy, as % of that model's cost.

Run: .venv/bin/python bench/knn/quality_cost.py [--dataset routellm|llmrouter|both]
"""

from __future__ import annotations

import argparse
import math
import time
from dataclasses import replace

import numpy as np
from common import (
    PRICES_LLMROUTER,
    PRICES_ROUTELLM,
    embedder,
    header,
    llmrouter_split,
    routellm_split,
)

from eval.config import EvalConfig
from eval.curves import aiq
from eval.replay import replay, standard_candidates
from eval.results import CandidateResult, ScopeResult
from eval.scoring import evaluate
from routers.datasets import RoutingDataset, embedding_text
from routers.knn.fit import FitConfig, fit_from_vectors
from routers.knn.replay import KnnReplayable
from routers.knn.router import KnnRouter


def cost_to_match(router: CandidateResult, scope: ScopeResult) -> str:
    singles = [c for c in scope.candidates if c.kind == "model"]
    best = max(singles, key=lambda c: (c.accuracy, -c.mean_cost_usd))
    reaching = [p.mean_cost_usd for p in router.points if p.accuracy >= best.accuracy]
    if not reaching:
        top = max(router.points, key=lambda p: p.accuracy)
        return f"never reaches {best.name} ({best.accuracy:.4f}); best {top.accuracy:.4f}"
    return (
        f"{100 * min(reaching) / best.mean_cost_usd:.1f}% of {best.name}'s cost "
        f"(${best.mean_cost_usd:.3e}/prompt, acc {best.accuracy:.4f})"
    )


def run(name: str, train: RoutingDataset, test: RoutingDataset, prices: str) -> None:
    print(f"\n=== {name}: train {len(train)} / test {len(test)} prompts, {len(train.models)} models")
    print(f"prices: {prices}")
    emb = embedder()
    raw = emb.embed([embedding_text(p) for p in train.prompts])
    started = time.perf_counter()
    artifact = fit_from_vectors(train, raw, FitConfig(), emb.name)
    print(f"training (projection + held-out replay of both spaces): "
          f"{time.perf_counter() - started:.1f} s on 2 torch threads, "
          f"projection alone {artifact.manifest['training']['seconds']} s")
    held = artifact.manifest["metrics"]["held_out"]
    for space in ("raw", "cscr"):
        m = held[space]
        pct = m["cost_to_match_best_pct"]
        print(f"  validation (from TRAIN) {space:4s}: AIQ {m['aiq']:.4f}  cost to match "
              f"{m['best_single_model']}: {'never' if pct is None else f'{pct:.1f}%'}")
    print(f"  default space: {artifact.default_space} ({artifact.manifest['default_space_reason']})")
    other = "raw" if artifact.default_space == "cscr" else "cscr"
    variant = replace(artifact, default_space=other, index=None)
    routers = [
        KnnReplayable(KnnRouter(artifact, embedder=emb), name=f"knn[{artifact.default_space}]"),
        KnnReplayable(KnnRouter(variant, embedder=emb), name=f"knn[{other}]"),
    ]
    candidates = standard_candidates(test, train) + routers
    result = evaluate(test, replay(test, candidates), EvalConfig(bootstrap_resamples=200))
    scope = result.pooled
    lo, hi = scope.aiq_cost_range
    singles = [c for c in scope.candidates if c.kind == "model"]
    hull = aiq(np.array([c.mean_cost_usd for c in singles]),
               np.array([c.accuracy for c in singles]), lo, hi)
    print(f"TEST pooled ({scope.n_prompts} prompts); AIQ over ${lo:.3e}..${hi:.3e}/prompt; "
          f"convex hull of single models (random mixtures) AIQ {hull:.4f}")
    print(f"  {'candidate':42s} {'kind':8s} {'AIQ':>7s} {'APGR':>7s} {'CPT50':>7s} {'CPT80':>7s}"
          f" {'head acc':>8s} {'head $/prompt':>13s}")
    for c in sorted(scope.candidates, key=lambda c: -c.aiq if not math.isnan(c.aiq) else 0):
        apgr = f"{c.apgr:.4f}" if c.apgr is not None else "-"
        cpt = c.cpt or {}
        print(f"  {c.name[:42]:42s} {c.kind:8s} {c.aiq:7.4f} {apgr:>7s} "
              f"{cpt.get('50%', math.nan):7.3f} {cpt.get('80%', math.nan):7.3f} "
              f"{c.accuracy:8.4f} {c.mean_cost_usd:13.3e}")
    for router in (c for c in scope.candidates if c.kind == "router"):
        print(f"  {router.name}: matches the best single model at {cost_to_match(router, scope)}")
        print(f"  {router.name} curve (knob, $/prompt, accuracy, strong share):")
        for p in router.points[:: max(1, len(router.points) // 12)]:
            share = f"{p.strong_fraction:.3f}" if p.strong_fraction is not None else "-"
            print(f"    {p.knob:10.4g} {p.mean_cost_usd:11.3e} {p.accuracy:.4f} {share}")
    lookup = next(c for c in scope.candidates if c.name == "task-lookup")
    best_router = max((c for c in scope.candidates if c.kind == "router"), key=lambda c: c.aiq)
    print(f"  per-task lookup AIQ {lookup.aiq:.4f} vs {best_router.name} {best_router.aiq:.4f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dataset", default="both", choices=["routellm", "llmrouter", "both"])
    args = parser.parse_args()
    header("quality_cost.py", [f"--dataset {args.dataset}"])
    if args.dataset in ("routellm", "both"):
        run("RouteLLM MMLU+GSM8K (2 models)", *routellm_split(), PRICES_ROUTELLM)
    if args.dataset in ("llmrouter", "both"):
        run("LLMRouter dcrouter (9 models)", *llmrouter_split(), PRICES_LLMROUTER)


if __name__ == "__main__":
    main()
