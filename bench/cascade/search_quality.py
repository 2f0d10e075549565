"""Pruned chain search vs exhaustive search: same scores, validation quality and time.

Fits the fast scorer on the RouterBench TRAIN split (70/30 by prompt, seed 0, as
`routerbench.py`), searches chains on its out-of-fold scores both ways, and replays both
Pareto sets on the validation split: AIQ over the same cost range, and the accuracy each
reaches at the budgets of the exhaustive front.

Usage: .venv/bin/python bench/cascade/search_quality.py [--models 11] [--data DIR]
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np
from common import RESULTS, SHARED, embedder, header

from eval.curves import aiq
from routers.cascade.fit_scorer import ScorerConfig, encode, score_rows
from routers.cascade.search import Outcomes, pareto_frontier
from routers.cascade.strategy import replay
from routers.cascade.train import CascadeConfig, fit_cascade, usable_rows
from routers.datasets import load_routerbench, split


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", type=int, default=11, help="the N cheapest models")
    parser.add_argument("--data", default=str(SHARED / "routing" / "routerbench"))
    args = parser.parse_args()
    header("search_quality.py", sys.argv[1:])
    ds = load_routerbench(args.data)
    keep = [ds.models[j] for j in np.argsort(np.nanmean(ds.costs, axis=0))[: args.models]]
    ds = ds.with_models(keep)
    train, val = split(ds, 0.3, 0)
    emb = embedder()
    config = CascadeConfig(scorer=ScorerConfig(embed_answer=False), compare_frugalgpt=False)
    trained = fit_cascade(train, emb, config)
    train, val = trained.encoded.dataset, usable_rows(val)
    val_scores = score_rows(encode(val, emb, False), trained.artifact.heads)
    o = Outcomes(list(train.models), trained.oof_scores, train.scores, train.costs)
    out: dict[str, dict[str, float]] = {}
    points: dict[str, np.ndarray] = {}
    for name, exhaustive in (("exhaustive", True), ("pruned", False)):
        t0 = time.perf_counter()
        front = pareto_frontier(o, 3, exhaustive=exhaustive)
        seconds = time.perf_counter() - t0
        pts = np.array([
            (r.cost_usd, r.accuracy)
            for r in (replay(s, val.models, val_scores, val.scores, val.costs)
                      for s in front.strategies)
        ])
        points[name] = pts
        out[name] = {"orderings": front.orderings, "seconds": round(seconds, 2),
                     "train_best_accuracy": front.strategies[-1].accuracy}
    lo = min(p[:, 0].min() for p in points.values())
    hi = max(p[:, 0].max() for p in points.values())
    for name, pts in points.items():
        out[name]["val_aiq"] = aiq(pts[:, 0], pts[:, 1], lo, hi)
        print(f"{name:10} {out[name]['orderings']:5d} orderings  {out[name]['seconds']:7.2f} s  "
              f"validation AIQ {out[name]['val_aiq']:.4f} over ${lo:.6f}-${hi:.6f}/prompt")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"search_quality_{args.models}.json").write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
