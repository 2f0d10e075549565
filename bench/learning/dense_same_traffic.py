"""How much of the closed loop's gap is the traffic's size: a dense k-NN on the same prompts.

    .venv/bin/python bench/learning/dense_same_traffic.py --dataset llmrouter --sizes 2000,5000

For each traffic seed (closed_loop.traffic_order) and N, the k-NN is fitted on the first N
traffic prompts with their TRUE outcomes for EVERY model (no judge, no sparsity) and scored on
TEST beside the offline router (the whole pool). The closed loop's judged, sparse table of the
same N and seed can at best reach this figure; the rest of its gap is labels, not prompts.
`--select novelty` labels N prompts of the WHOLE traffic instead of its first N: streaming
through it, a prompt is labelled with a probability that grows with its novelty (one minus its
mean cosine similarity to the 8 nearest prompts labelled so far, against the median of the
last 500), paced to spend N labels over the traffic: what a shadow sampler that prefers
prompts unlike what it has labelled could reach with N judged prompts at a lower rate.
A diagnostic only: nothing is chosen on it. Results: bench/results/learning/
dense_same_traffic_<dataset>[_novelty].md.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.learning.closed_loop import CACHE, DATA, OUT, ROUTING, traffic_order
from bench.learning.scoring import Split, knn_aiq
from bench.machine import machine
from routers.datasets import load_llmrouter, load_routerbench, split
from routers.datasets.text import embedding_text
from routers.embedding import minilm_embedder
from routers.knn.embed_cache import DiskCachedEmbedder


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=["routerbench", "llmrouter"], default="llmrouter")
    parser.add_argument("--sizes", default="2000")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--select", choices=["first", "novelty"], default="first")
    parser.add_argument("--power", type=float, default=1.0,
                        help="novelty's exponent in the labelling probability")
    args = parser.parse_args(argv)
    header = [f"command: .venv/bin/python bench/learning/dense_same_traffic.py {' '.join(argv)}",
              machine(), ""]
    print("\n".join(header))
    started = time.perf_counter()
    if args.dataset == "routerbench":
        pool, test = split(load_routerbench(DATA), 0.2, 0)
        limit = len(pool)
    else:
        pool = load_llmrouter(ROUTING / "llmrouter", "train")
        test = load_llmrouter(ROUTING / "llmrouter", "test")
        limit = len(pool) - 500  # closed_loop's default-style seed rows are never traffic
    embedder = DiskCachedEmbedder(minilm_embedder(), CACHE)
    raw_pool = embedder.embed([embedding_text(p) for p in pool.prompts])
    raw_test = embedder.embed([embedding_text(p) for p in test.prompts])
    data = Split(test, raw_test, pool, raw_pool)
    offline = knn_aiq(pool, raw_pool, data, 0)["aiq"]
    lines = header + [(f"{args.dataset}: offline k-NN (whole pool {len(pool)}) AIQ on TEST "
              f"{offline:.4f}"), "",
             f"| N | seed | dense k-NN on {'the first' if args.select == 'first' else 'novelty-chosen'} N traffic prompts | gap to offline |",
             "|---|---|---|---|"]
    gaps: dict[int, list[float]] = {}
    for n in (min(int(s), limit) for s in args.sizes.split(",")):
        for seed in (int(s) for s in args.seeds.split(",")):
            order = traffic_order(len(pool), limit, seed)[:limit]
            order = order[:n] if args.select == "first" else \
                novelty_choice(order, raw_pool, n, args.power, seed)
            a = knn_aiq(pool.subset(order), raw_pool[order], data, 0)["aiq"]
            gaps.setdefault(n, []).append(a - offline)
            lines.append(f"| {n} | {seed} | {a:.4f} | {a - offline:+.4f} |")
            print(lines[-1], flush=True)
    lines += ["", "| N | seeds | mean gap | sd |", "|---|---|---|---|"]
    lines += [f"| {n} | {len(g)} | {np.mean(g):+.4f} | {np.std(g):.4f} |"
              for n, g in gaps.items()]
    lines.append(f"\n{time.perf_counter() - started:.0f} s in all.")
    text = "\n".join(lines) + "\n"
    suffix = "" if args.select == "first" else f"_novelty_p{args.power:g}"
    (OUT / f"dense_same_traffic_{args.dataset}{suffix}.md").write_text(text)
    print(text)
    return 0


def novelty_choice(order: np.ndarray, raw: np.ndarray, n: int, power: float, seed: int,
                   k: int = 8, warm: int = 50) -> np.ndarray:
    """`n` rows of `order` (the traffic), each labelled as it streams past with a probability
    paced to spend `n` labels over the traffic and scaled by its novelty ** `power`."""
    rng = np.random.default_rng(1000 + seed)
    chosen: list[int] = []
    labelled = np.empty((n, raw.shape[1]), np.float32)
    recent: list[float] = []
    for position, row in enumerate(order):
        if len(chosen) >= n:
            break
        if len(chosen) < warm:
            novelty = 1.0
        else:
            sims = labelled[: len(chosen)] @ raw[row]
            novelty = float(1.0 - np.partition(sims, -k)[-k:].mean())
        recent = (recent + [novelty])[-500:]
        pace = (n - len(chosen)) / (len(order) - position)
        scale = (novelty / max(float(np.median(recent)), 1e-6)) ** power
        if rng.random() < min(1.0, pace * scale):
            labelled[len(chosen)] = raw[row]
            chosen.append(int(row))
    return np.array(chosen, dtype=np.int64)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
