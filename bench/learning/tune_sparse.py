"""Choosing the sparse-label k-NN estimator's settings on VALIDATION, never on TEST.

    .venv/bin/python bench/learning/tune_sparse.py --dataset llmrouter
    .venv/bin/python bench/learning/tune_sparse.py --dataset routerbench

The closed loop's TRAIN pool (closed_loop.py: RouterBench minus its carved TEST; LLMRouter's
train file) is split again, 20% grouped by prompt with seed 1, into traffic and VALIDATION.
The traffic is labelled as in closed_loop.py (in process, 2 shadow models per prompt, shadow
rate 1.0 and 0.1, ε in --eps); each table's k-NN (raw MiniLM space, exact search) predicts
VALIDATION with every setting in the grid, and the AIQ of each setting is printed, averaged
over the tables, beside the dense (true outcomes on all the traffic) router's. The TEST split
is never loaded. Results: bench/results/learning/tune_sparse_<dataset>.md.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.learning.closed_loop import CACHE, DATA, OUT, ROUTING, traffic_order
from bench.learning.inprocess import judged_tables
from bench.machine import machine
from routers.datasets import load_llmrouter, load_routerbench, split
from routers.datasets.format import RoutingDataset
from routers.datasets.text import embedding_text
from routers.embedding import minilm_embedder
from routers.knn.embed_cache import DiskCachedEmbedder
from routers.knn.evaluate import summarise, sweep, utility_knobs
from routers.knn.predict import KnnParams, model_priors, neighbour_predictions
from routers.knn.sparse import model_ks, search_depth


def _pool(dataset: str) -> RoutingDataset:
    if dataset == "routerbench":
        return split(load_routerbench(DATA), 0.2, 0)[0]
    return load_llmrouter(ROUTING / "llmrouter", "train")


def _aiq(table: RoutingDataset, raw: np.ndarray, val: RoutingDataset, raw_val: np.ndarray,
         params: KnnParams, knobs: list[float]) -> float:
    known = ~np.isnan(table.scores).all(axis=1)
    scores, costs, ref = table.scores[known], table.costs[known], raw[known]
    ks = model_ks(scores, params.k, params.sparse_k)
    depth = min(len(ref), search_depth(scores, ks, params.depth_factor))
    sims = raw_val @ ref.T
    idx = np.argsort(-sims, axis=1)[:, :depth]
    top = np.take_along_axis(sims, idx, 1).astype(np.float32)
    quality, cost = neighbour_predictions(top, idx.astype(np.int64), scores, costs, params,
                                          model_priors(scores), ks)
    mean_cost = np.nanmean(np.where(np.isnan(scores), np.nan, costs), axis=0)
    cost = np.where(np.isnan(cost), np.nan_to_num(mean_cost)[None, :], cost)
    points = sweep(quality, cost, val.scores, val.costs, knobs)
    return float(summarise(points, val.scores, val.costs, val.models)["aiq"])


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=["routerbench", "llmrouter"], default="llmrouter")
    parser.add_argument("--sizes", default="500,2000,4000")
    parser.add_argument("--eps", default="0,0.1,0.25")
    parser.add_argument("--rates", default="1.0,0.1")
    parser.add_argument("--k", default="32")
    parser.add_argument("--tau", default="0.2")
    parser.add_argument("--beta", default="1,4")
    parser.add_argument("--depth", default="1,8", help="max search depth as a multiple of k")
    parser.add_argument("--sparse-k", default="0", help="k of sparsely labelled models; 0: k")
    # Traffic seeds: 0 is the file order; others shuffle the traffic (closed_loop.traffic_order)
    # and reseed the judge's flips and the shadow picks.
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--out-suffix", default="")
    parser.add_argument("--shadow-k", type=int, default=2, help="shadow models per prompt; 0: all")
    args = parser.parse_args(argv)
    print(f"command: .venv/bin/python bench/learning/tune_sparse.py {' '.join(argv)}".rstrip())
    print(machine())
    started = time.perf_counter()
    pool = _pool(args.dataset)
    traffic, val = split(pool, 0.2, 1)
    embedder = DiskCachedEmbedder(minilm_embedder(), CACHE)
    raw_t = embedder.embed([embedding_text(p) for p in traffic.prompts])
    raw_v = embedder.embed([embedding_text(p) for p in val.prompts])
    row_of = {p: i for i, p in enumerate(traffic.prompts)}
    knobs = utility_knobs(traffic.costs)
    sizes = [min(int(s), len(traffic)) for s in args.sizes.split(",")]
    grid = [KnnParams(k=int(k), tau=float(t), prior_weight=float(b), depth_factor=int(d),
                      sparse_k=int(sk))
            for k, t, b, d, sk in itertools.product(
                args.k.split(","), args.tau.split(","), args.beta.split(","),
                args.depth.split(","), args.sparse_k.split(","))]
    dense = {p: _aiq(traffic, raw_t, val, raw_v, p, knobs) for p in grid}
    rows: list[dict[str, Any]] = []
    for seed, rate, eps in itertools.product(
            [int(x) for x in args.seeds.split(",")], args.rates.split(","), args.eps.split(",")):
        order = traffic_order(len(traffic), len(traffic), seed)
        for n, table in judged_tables(traffic.subset(order), sizes, float(rate), float(eps),
                                      seed=seed, k=args.shadow_k or None).items():
            raw = np.stack([raw_t[row_of[p]] for p in table.prompts])
            for p in grid:
                rows.append({"rate": rate, "eps": eps, "n": n, "params": p, "seed": seed,
                             "aiq": _aiq(table, raw, val, raw_v, p, knobs)})
            print(f"  seed {seed} rate {rate} eps {eps} N {n}: " + ", ".join(
                f"{r['aiq']:.4f}" for r in rows[-len(grid):]), flush=True)
    lines = [(f"{args.dataset}: traffic {len(traffic)}, VALIDATION {len(val)} (TEST unused); "
              "AIQ on VALIDATION"), "",
             (f"seeds {args.seeds}; sizes {args.sizes}; ε {args.eps}; shadow rates {args.rates}; "
              f"shadow models per prompt {args.shadow_k or 'all'}"),
             "",
             ("| k | sparse k | τ | β | depth ≤ k × | dense | mean sparse | mean ε=0.1, rate 1 | "
              f"N={min(2000, len(traffic))} ε=0.1 rate 1 (sd over seeds) |"), "|---|---|---|---|---|---|---|---|---|"]
    for p in grid:
        mine = [r for r in rows if r["params"] == p]
        e01 = [r["aiq"] for r in mine if r["eps"] == "0.1" and r["rate"] == "1.0"]
        n2k = [r["aiq"] for r in mine if r["eps"] == "0.1" and r["rate"] == "1.0"
               and r["n"] == min(2000, len(traffic))]
        sd = f" ({np.std(n2k):.4f})" if len(n2k) > 1 else ""
        lines.append(f"| {p.k} | {p.sparse_k or p.k} | {p.tau} | {p.prior_weight} | "
                     f"{p.depth_factor} | {dense[p]:.4f} | "
                     f"{np.mean([r['aiq'] for r in mine]):.4f} | "
                     f"{np.mean(e01) if e01 else float('nan'):.4f} | "
                     f"{np.mean(n2k) if n2k else float('nan'):.4f}{sd} |")
    lines.append(f"\n{time.perf_counter() - started:.0f} s in all.")
    text = "\n".join(lines) + "\n"
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"tune_sparse_{args.dataset}{args.out_suffix}.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
