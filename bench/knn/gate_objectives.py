"""Does the two-stage gate, fitted on max_utility knobs, hold under the other objectives?

The gate's threshold (routers/knn/gate.py) is fitted on TRAIN, out of fold, for max_utility
knobs only; a route may instead ask for cheapest_within_eps or quality_target. Per dataset
(the splits of static_vs_minilm.py), this fits the two-stage artifact as hybrid_vs_minilm.py
does, predicts TEST with both stages, and per objective and knob reports the share of TEST
prompts the static stage decides, the share of decisions equal to MiniLM's alone (the
gate's fitted rule asks for >= 95% on max_utility), and the recorded mean score and cost of
the two stages against MiniLM alone. TEST only measures here: nothing is fitted on it.

Run:  .venv/bin/python bench/knn/gate_objectives.py [--dataset NAME ...]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from common import CACHE, embedder, header
from hybrid_vs_minilm import fit
from static_vs_minilm import RESULTS, add_dataset_options, datasets

from routers.datasets import RoutingDataset
from routers.datasets.text import embedding_text
from routers.embedding import Embedder
from routers.knn.artifact import KnnArtifact
from routers.knn.evaluate import replay_choices
from routers.knn.gate import Predictions, objective_knobs, two_stage_choices
from routers.knn.predict import choose
from routers.knn.router import KnnRouter
from routers.static_embedding import StaticEmbedder


def measure(train: RoutingDataset, test: RoutingDataset, artifact: KnnArtifact,
            minilm: Embedder, static: Embedder, one_threshold: bool) -> dict[str, object]:
    assert artifact.stage1 is not None
    texts = [embedding_text(p) for p in test.prompts]
    first = Predictions(*KnnRouter(artifact.stage1.artifact, embedder=static).predict(
        static.embed(texts)))
    second = Predictions(*KnnRouter(artifact, embedder=minilm).predict(minilm.embed(texts)))
    gate = artifact.stage1.gate
    out: dict[str, object] = {"gate": gate.to_json()}
    for objective in ("max_utility", "cheapest_within_eps", "quality_target"):
        # --one-threshold: max_utility's threshold for every objective (artifacts before
        # per-objective gates); otherwise each objective's own.
        threshold = gate.threshold if one_threshold else gate.threshold_for(objective)  # type: ignore[arg-type]
        rows = []
        # The knobs a gate is fitted on; quality targets at quantiles of TEST's estimates.
        for knob in objective_knobs(objective, train.costs, second.quality):  # type: ignore[arg-type]
            picked, sure = two_stage_choices(first, second, knob, threshold,
                                             objective=objective)  # type: ignore[arg-type]
            alone = choose(second.quality, second.cost, objective, knob)  # type: ignore[arg-type]
            cost2, score2 = replay_choices(picked, test.scores, test.costs)
            cost1, score1 = replay_choices(alone, test.scores, test.costs)
            rows.append({"knob": knob, "share_stage1": float(sure.mean()),
                         "agreement": float((picked == alone).mean()),
                         "score_two_stage": score2, "score_minilm": score1,
                         "cost_two_stage": cost2, "cost_minilm": cost1})
        agreement = [r["agreement"] for r in rows]
        shares = [r["share_stage1"] for r in rows]
        delta = [r["score_two_stage"] - r["score_minilm"] for r in rows]
        print(f"  {objective:20s} margin >= {threshold:.4g}: agreement mean {np.mean(agreement):.1%} (min "
              f"{np.min(agreement):.1%}); stage 1 decides {np.mean(shares):.1%}; score "
              f"two-stage - MiniLM mean {np.mean(delta):+.4f} (min {np.min(delta):+.4f})",
              flush=True)
        out[objective] = {"threshold": threshold, "knobs": rows}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_dataset_options(parser)
    parser.add_argument("--one-threshold", action="store_true",
                        help="gate every objective on max_utility's threshold (as before)")
    parser.add_argument("--out", type=Path, default=RESULTS / "gate_objectives.json")
    args = parser.parse_args()
    header("gate_objectives.py", [f"--dataset {' '.join(args.dataset)}"]
           + (["--one-threshold"] if args.one_threshold else []))
    static, minilm = StaticEmbedder(), embedder()
    print(f"MiniLM vectors cached in {CACHE / 'minilm.npz'}")
    report, fitted = {}, {}
    for name, train, test in datasets(args):
        print(f"\n=== {name}: train {len(train)} / test {len(test)} prompts, "
              f"{len(train.models)} models", flush=True)
        if id(train) not in fitted:
            fitted[id(train)] = fit(train, minilm, static)
        report[name] = measure(train, test, fitted[id(train)], minilm, static,
                               args.one_threshold)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
