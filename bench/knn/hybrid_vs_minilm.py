"""Routing AIQ of the two-stage k-NN (static first, MiniLM when unsure) vs MiniLM and static.

The sibling of static_vs_minilm.py, on the same datasets, splits and samples (see its
docstring). Per dataset, one two-stage artifact is fitted on TRAIN in the raw space
(`fit_from_vectors` with a static stage): its MiniLM stage alone is the MiniLM router, its
static stage alone the static router, and the gate between them is fitted out of fold on
TRAIN (routers.knn.hybrid.fit_stage1), never on TEST. TEST is replayed once with all
three beside every single model and the per-task lookup (fitted on TRAIN). Reported: TEST
AIQ of each router and of the lookup, each router's paired-bootstrap gain over the lookup,
hybrid − MiniLM and static − MiniLM with paired intervals, the gate and its held-out
figures, and the share of TEST prompts stage 1 decided (over the swept knobs).

Run:  .venv/bin/python bench/knn/hybrid_vs_minilm.py [--dataset NAME ...] [--resamples 1000]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from common import CACHE, embedder, header
from static_vs_minilm import (
    FIT,
    RESULTS,
    _diff_json,
    add_dataset_options,
    datasets,
    report_vs_lookup,
)

from eval.config import EvalConfig
from eval.paired import aiq_difference
from eval.replay import replay, standard_candidates
from eval.scoring import evaluate
from routers.datasets import RoutingDataset
from routers.datasets.text import embedding_text
from routers.embedding import Embedder
from routers.knn.artifact import KnnArtifact
from routers.knn.fit import fit_from_vectors
from routers.knn.hybrid import HybridKnnRouter
from routers.knn.replay import KnnReplayable
from routers.knn.router import KnnRouter
from routers.static_embedding import StaticEmbedder

LABELS = ("minilm", "static", "hybrid")


def fit(train: RoutingDataset, minilm: Embedder, static: Embedder) -> KnnArtifact:
    """The two-stage artifact for `train` (raw space, as static_vs_minilm.py fits)."""
    texts = [embedding_text(p) for p in train.prompts]
    started = time.perf_counter()
    second = minilm.embed(texts)
    first = static.embed(texts)
    artifact = fit_from_vectors(train, second, FIT, minilm.name, stage1=(static.name, first))
    assert artifact.stage1 is not None
    gate = artifact.stage1.gate
    print(f"  fitted in {time.perf_counter() - started:.1f} s; gate: margin >= "
          f"{gate.threshold:.4g} ({gate.fitted['n_prompts']} prompts of "
          f"{gate.fitted['on']}; AIQ two-stage {gate.fitted['aiq_two_stage']:.4f}, MiniLM "
          f"{gate.fitted['aiq_second_stage']:.4f}, static {gate.fitted['aiq_first_stage']:.4f}; "
          f"MiniLM's decision {gate.fitted['agreement']:.1%} (static alone "
          f"{gate.fitted['agreement_first_stage']:.1%}); stage 1 decides "
          f"{gate.fitted['share_first_stage']:.1%})", flush=True)
    return artifact


def routers(artifact: KnnArtifact, minilm: Embedder, static: Embedder) -> list[KnnReplayable]:
    assert artifact.stage1 is not None
    return [
        KnnReplayable(KnnRouter(artifact, embedder=minilm), name="knn-minilm"),
        KnnReplayable(KnnRouter(artifact.stage1.artifact, embedder=static), name="knn-static"),
        KnnReplayable(HybridKnnRouter(artifact, embedder=minilm, stage1_embedder=static),
                      name="knn-hybrid"),
    ]


def compare(train: RoutingDataset, test: RoutingDataset, artifact: KnnArtifact,
            candidates: list[KnnReplayable], resamples: int) -> dict[str, object]:
    curves = replay(test, standard_candidates(test, train) + candidates)
    pooled = evaluate(test, curves, EvalConfig(bootstrap_resamples=resamples)).pooled
    by_name = {c.name: c for c in pooled.candidates}
    gains = {d.candidate: d for d in pooled.versus_lookup}
    curve = {c.name: c for c in curves}
    every = np.arange(len(test))
    best = max((c for c in pooled.candidates if c.kind == "model"), key=lambda c: c.aiq)
    assert artifact.stage1 is not None
    shares = candidates[-1].first_stage_shares or []
    out: dict[str, object] = {
        "train": len(train), "test": len(test), "models": len(train.models),
        "lookup_aiq": round(by_name["task-lookup"].aiq, 4),
        "best_single": {best.name: round(best.aiq, 4)},
        "gate": artifact.stage1.gate.to_json(),
        "test_share_stage1": {"mean_over_knobs": round(float(np.mean(shares)), 4),
                              "min_over_knobs": round(float(np.min(shares)), 4),
                              "per_knob": [round(s, 4) for s in shares]},
    }
    report_vs_lookup(by_name, gains, best, LABELS, out)
    for label in ("hybrid", "static"):
        diff = aiq_difference(curve[f"knn-{label}"], curve["knn-minilm"], every,
                              pooled.aiq_cost_range, resamples, 0.95)
        out[f"{label}_minus_minilm"] = _diff_json(diff)
        print(f"  {label} - minilm: {diff.difference:+.4f} [{diff.ci.low:+.4f}, "
              f"{diff.ci.high:+.4f}] (paired bootstrap, {diff.n_resamples} resamples; "
              f"share <= 0: {diff.share_not_above:.2f})")
    print(f"  stage 1 decided {np.mean(shares):.1%} of TEST decisions over the "
          f"{len(shares)} swept knobs (fewest at one knob: {np.min(shares):.1%})")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_dataset_options(parser)
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--out", type=Path, default=RESULTS / "hybrid_vs_minilm.json")
    args = parser.parse_args()
    header("hybrid_vs_minilm.py", [f"--dataset {' '.join(args.dataset)}"])
    static = StaticEmbedder()
    minilm = embedder()
    print(f"static encoder: {static.name} ({static.dim} dims) from {static.path}; MiniLM "
          f"vectors cached in {CACHE / 'minilm.npz'}")
    report = {}
    fitted: dict[int, tuple[KnnArtifact, list[KnnReplayable]]] = {}
    for name, train, test in datasets(args):
        print(f"\n=== {name}: train {len(train)} / test {len(test)} prompts, "
              f"{len(train.models)} models", flush=True)
        if id(train) not in fitted:  # mt_bench replays the routellm routers as trained
            artifact = fit(train, minilm, static)
            fitted[id(train)] = (artifact, routers(artifact, minilm, static))
        report[name] = compare(train, test, *fitted[id(train)], args.resamples)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
