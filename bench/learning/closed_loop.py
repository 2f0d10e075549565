"""The closed loop: traffic -> shadow labels by a simulated judge -> k-NN -> AIQ on TEST.

    .venv/bin/python bench/learning/closed_loop.py                     # the reported grid
    .venv/bin/python bench/learning/closed_loop.py --http-n 100 --sizes 250,500 --eps 0.1
    .venv/bin/python bench/learning/closed_loop.py --shadow-k 0 --starts empty  # ask all
    .venv/bin/python bench/learning/closed_loop.py --dataset llmrouter --http-n 0 \
        --sizes 250,500,1000,2000,5000

`--shadow-k` is `shadow_models_per_prompt` (the least-labelled k other models per shadowed
prompt; 0: all). `--starts empty,default`: train on the labels alone, and on them appended to
the shipped default's rows (bench/learning/seed.py; LLMRouter: a default-style seed).
LLMRouter's train file is the traffic and its test file the TEST split (no carving).

Data: RouterBench's shared TRAIN files (11 models, recorded answers and costs). A TEST split
(20%, grouped by normalised prompt, seed 0) is carved out first and never trained on; the
rest is the TRAIN pool whose first N prompts are the "traffic".

1. HTTP (the real path): `--http-n` pool prompts through a uvicorn gateway, the simulator
   child process answering as the 11 models plus `costroute-simulated-judge` (ε = 0.1), the
   official openai client in its own process; shadow rates 1.0 and 0.1 (0: the control,
   capture alone). Reports the p50 latency of a learning tenant beside a non-learning one
   (alternating, same prompts, same run) as the client sees it and as the gateway's access
   log times it (reading the request to the answer's response; no client noise), failed
   client requests, and learning spend (shadow + judge) as a share of the traffic's spend,
   read from the spend ledger's `purpose`. The captured labels also train a k-NN.
2. In process (for larger N): the same labelling (simulated judge via the v1 rubric prompt
   and grade parser, MemoryRecordStore, outcomes_to_routing_table) for N in `--sizes`, shadow
   rates 1.0 and 0.1, ε in `--eps`.
Each table trains the k-NN (routers.knn.fit, MiniLM embeddings); AIQ on TEST is reported
beside the k-NN trained offline on the whole pool with true outcomes, the per-task lookup
and the best single model. Results: bench/results/learning/closed_loop.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tqdm import tqdm

from bench.learning.http_phase import run_http
from bench.learning.inprocess import judged_tables
from bench.learning.paths import DATA, OUT, ROUTING
from bench.learning.scoring import Split, baselines, knn_aiq
from bench.learning.seed import default_seed, llmrouter_seed, with_seed
from bench.machine import machine
from gateway.simulator.routing_data import write_simulation
from routers.datasets import load_llmrouter, load_routerbench, split
from routers.datasets.text import embedding_text
from routers.embedding import minilm_embedder
from routers.knn.embed_cache import DiskCachedEmbedder

# Its own cache file: a cache shared with other benchmarks running at once gets overwritten.
CACHE = Path.home() / ".cache" / "costroute" / "bench" / "learning_minilm.npz"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="250,500,1000,all")
    parser.add_argument("--eps", default="0,0.1,0.25")
    parser.add_argument("--rates", default="1.0,0.1")
    parser.add_argument("--http-n", type=int, default=250)
    parser.add_argument("--latency-scale", type=float, default=0.02)
    # 0: the k-NN in raw MiniLM space (no CSCR projection trained), for every table and the
    # offline router alike; on a shared 2-core machine 24+ projection trainings do not fit.
    parser.add_argument("--epochs", type=int, default=0)
    parser.add_argument("--dataset", choices=["routerbench", "llmrouter"], default="routerbench")
    # Other models a shadowed prompt asks (least-labelled first); 0: every other model.
    parser.add_argument("--shadow-k", type=int, default=2)
    parser.add_argument("--starts", default="empty,default")
    # Traffic seeds: 0 is the pool's file order (the runs before); another seed shuffles which
    # pool prompts are the traffic and reseeds the judge's flips and the shadow picks.
    parser.add_argument("--seeds", default="0")
    # k of a sparsely labelled model (KnnParams.sparse_k); unset: KnnParams' default, 0: k.
    parser.add_argument("--sparse-k", type=int, default=None)
    parser.add_argument("--out-suffix", default="")
    args = parser.parse_args(argv)
    k = args.shadow_k or None
    print(f"command: .venv/bin/python bench/learning/closed_loop.py {' '.join(argv)}".rstrip())
    print(machine())
    started = time.perf_counter()
    if args.dataset == "routerbench":
        ds = load_routerbench(DATA)
        pool, test = split(ds, 0.2, 0)
        print(f"RouterBench TRAIN files: {len(ds)} prompts x {len(ds.models)} models; "
              f"TEST carved: {len(test)}, pool: {len(pool)}")
    else:
        ds = pool = load_llmrouter(ROUTING / "llmrouter", "train")
        test = load_llmrouter(ROUTING / "llmrouter", "test")
        print(f"LLMRouter dcrouter: train {len(pool)} x {len(pool.models)} models, "
              f"test {len(test)}")
    embedder = DiskCachedEmbedder(minilm_embedder(), CACHE)
    print("embedding prompts with MiniLM (cached on disk) ...", flush=True)
    raw_pool = embedder.embed([embedding_text(p) for p in pool.prompts])
    raw_test = embedder.embed([embedding_text(p) for p in test.prompts])
    seeds: dict[str, Any] = {"empty": None}
    if "default" in args.starts:
        seeds["default"] = (default_seed(pool.models) if args.dataset == "routerbench"
                            else llmrouter_seed(pool, raw_pool))
    data = Split(test, raw_test, pool, raw_pool)
    row_of = {p: i for i, p in enumerate(pool.prompts)}
    results: dict[str, Any] = {"dataset": args.dataset, "pool": len(pool),
                               "test": len(test), "models": pool.models, "args": vars(args)}
    print("baselines and the offline router ...", flush=True)
    results["baselines"] = baselines(data)
    results["offline_knn"] = knn_aiq(pool, raw_pool, data, args.epochs)
    print(f"  offline k-NN AIQ {results['offline_knn']['aiq']:.4f}; task lookup "
          f"{results['baselines']['task_lookup_aiq']:.4f}; best single "
          f"{results['baselines']['best_single_model']} "
          f"quality {results['baselines']['best_single_quality']:.4f}", flush=True)
    rates = [float(r) for r in args.rates.split(",")]
    results["http"] = []
    if args.http_n:
        with tempfile.TemporaryDirectory() as tmp:
            sim_files = write_simulation(ds, Path(tmp))
            prompts = pool.prompts[: args.http_n]
            for rate in rates:
                with tqdm(total=len(prompts), desc=f"HTTP rate {rate} eps 0.1",
                          file=sys.stdout) as bar:
                    r = run_http(pool, prompts, rate, 0.1, sim_files, args.latency_scale, bar,
                                 k)
                # The captured prompt is the request's last user message as the gateway
                # read it (whitespace may differ from the file): match stripped, else embed.
                stripped = {q.strip(): i for i, q in enumerate(pool.prompts)}
                raw = np.stack([raw_pool[stripped[p.strip()]] if p.strip() in stripped
                                else embedder.embed([embedding_text(p)])[0]
                                for p in r.table.prompts]) \
                    if len(r.table) else np.empty((0, raw_pool.shape[1]), np.float32)
                row = {"n": r.n, "rate": rate, "eps": 0.1, "start": "empty", "k": k, "p50_plain_ms": r.p50_plain_ms,
                       "p50_learner_ms": r.p50_learner_ms,
                       "p50_server_plain_ms": r.p50_server_plain_ms,
                       "p50_server_learner_ms": r.p50_server_learner_ms, "failed": r.failed,
                       "traffic_usd": r.traffic_usd, "learning_usd": r.learning_usd,
                       "learning_share": r.learning_usd / r.traffic_usd if r.traffic_usd else None,
                       "counts": r.counts, "judged_prompts": len(r.table),
                       "knn": knn_aiq(r.table, raw, data, args.epochs)}
                results["http"].append(row)
                print(f"  HTTP rate {rate}: p50 plain {r.p50_plain_ms:.1f} ms, learner "
                      f"{r.p50_learner_ms:.1f} ms, failed {r.failed}, learning spend "
                      f"{row['learning_share']:.2%} of traffic, {len(r.table)} judged prompts, "
                      f"k-NN AIQ {row['knn']['aiq']}", flush=True)
    # The llmrouter default-style seed is the pool's last rows: traffic never reaches them,
    # whichever --starts run, so a traffic seed draws the same prompts in every run.
    reserved = 0
    if args.dataset == "llmrouter":
        reserved = len((seeds.get("default") or llmrouter_seed(pool, raw_pool))[0])
    limit = len(pool) - reserved
    sizes = [limit if s == "all" else min(int(s), limit) for s in args.sizes.split(",")]
    grid = [(rate, float(e)) for rate in rates for e in args.eps.split(",")]
    results["inprocess"] = []
    runs = [(seed, rate, eps) for seed in (int(x) for x in args.seeds.split(","))
            for rate, eps in grid]
    for seed, rate, eps in tqdm(runs, desc="in-process grid (label, fit, score)",
                                file=sys.stdout):
        spend: dict[int, tuple[float, float]] = {}
        traffic = pool.subset(traffic_order(len(pool), limit, seed))
        for n, table in judged_tables(traffic, sizes, rate, eps, seed=seed, k=k,
                                      spend=spend).items():
            for start in args.starts.split(","):
                _score_table(results, data, raw_pool, row_of, n, rate, eps, table, args.epochs,
                             start, seeds[start], spend.get(n), k, seed, args.sparse_k)
    results["seconds"] = round(time.perf_counter() - started, 1)
    OUT.mkdir(parents=True, exist_ok=True)
    stem = "closed_loop" if args.dataset == "routerbench" else f"closed_loop_{args.dataset}"
    stem += "" if args.shadow_k == 2 else f"_k{args.shadow_k or 'all'}"
    stem += args.out_suffix
    (OUT / f"{stem}.json").write_text(json.dumps(results, indent=2, default=float))
    (OUT / f"{stem}.md").write_text(markdown(results))
    print(markdown(results))
    return 0


def traffic_order(rows: int, limit: int, seed: int) -> np.ndarray:
    """Pool rows in traffic order: the file's for seed 0, else the first `limit` shuffled."""
    order = np.arange(rows)
    if seed:
        order[:limit] = np.random.default_rng(seed).permutation(limit)
    return order


def _score_table(results: dict[str, Any], data: Split, raw_pool: np.ndarray,
                 row_of: dict[str, int], n: int, rate: float, eps: float, table: Any,
                 epochs: int, start: str, seed: Any, spend: tuple[float, float] | None,
                 k: int | None, traffic_seed: int = 0, sparse_k: int | None = None) -> None:
    raw = np.stack([raw_pool[row_of[p]] for p in table.prompts]) if len(table) \
        else np.empty((0, raw_pool.shape[1]), np.float32)
    judged = len(table)
    if seed is not None:
        table, raw = with_seed(seed, table, raw)
    score = knn_aiq(table, raw, data, epochs, sparse_k)
    share = spend[1] / spend[0] if spend and spend[0] else None
    results["inprocess"].append({"n": n, "rate": rate, "eps": eps, "start": start, "k": k,
                                 "seed": traffic_seed, "judged_prompts": judged, "knn": score,
                                 "shadow_share_served_first": share})
    tqdm.write(f"  seed={traffic_seed} N={n} rate={rate} eps={eps} start={start}: {judged} "
               f"judged prompts, AIQ {score['aiq']}")


def markdown(r: dict[str, Any]) -> str:
    b, off = r["baselines"], r["offline_knn"]
    lines = [
        (f"{r['dataset']}: pool {r['pool']} prompts, TEST {r['test']} (never trained on); "
         f"{len(r['models'])} models; AIQ on TEST; shadow models per prompt "
         f"{r['args']['shadow_k'] or 'all'}."), "",
        "| router | AIQ |", "|---|---|",
        f"| k-NN trained offline on the whole pool (true outcomes) | {off['aiq']:.4f} |",
        f"| per-task lookup (whole pool) | {b['task_lookup_aiq']:.4f} |",
        f"| single models' hull | {b['single_models_aiq']:.4f} |",
        (f"| best single model ({b['best_single_model']}): quality "
         f"{b['best_single_quality']:.4f} at ${b['best_single_cost_usd']:.6f}/prompt | - |"), "",
        ("| path | start | seed | N | shadow rate | ε | judged prompts | AIQ | gap to offline | "
         "shadow $ / traffic $ (served = first model) |"),
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    offline = off["aiq"]
    for row in r["http"] + r["inprocess"]:
        a = row["knn"]["aiq"]
        path = "HTTP" if "p50_plain_ms" in row else "in-process"
        share = row.get("shadow_share_served_first")
        lines.append(f"| {path} | {row.get('start', 'empty')} | {row.get('seed', 0)} | "
                     f"{row['n']} | {row['rate']} | "
                     f"{row['eps']} | {row['judged_prompts']} | "
                     f"{'-' if a is None else f'{a:.4f}'} | "
                     f"{'-' if a is None else f'{a - offline:+.4f}'} | "
                     f"{'-' if share is None else f'{share:.1%}'} |")
    lines += _over_seeds(r["inprocess"], offline)
    if r["http"]:
        lines += ["", ("| HTTP shadow rate | client p50 off | client p50 on | added | gateway p50 "
                       "off | gateway p50 on | added | failed | learning spend / traffic spend |"),
                  "|---|---|---|---|---|---|---|---|---|"]
        for row in r["http"]:
            share = row["learning_share"]
            off, on = row.get("p50_server_plain_ms", math.nan), row.get("p50_server_learner_ms",
                                                                        math.nan)
            lines.append(f"| {row['rate']} | {row['p50_plain_ms']:.1f} ms | "
                         f"{row['p50_learner_ms']:.1f} ms | "
                         f"{row['p50_learner_ms'] - row['p50_plain_ms']:+.1f} ms | "
                         f"{off:.2f} ms | {on:.2f} ms | {on - off:+.2f} ms | "
                         f"{row['failed']} | {'-' if share is None else f'{share:.1%}'} |")
    lines.append(f"\n{r['seconds']} s in all.")
    return "\n".join(lines) + "\n"


def _over_seeds(rows: list[dict[str, Any]], offline: float) -> list[str]:
    """Mean and spread of the gap over traffic seeds, per (start, N, rate, ε)."""
    cells: dict[tuple[Any, ...], list[float]] = {}
    for row in rows:
        if row["knn"]["aiq"] is not None:
            key = (row["start"], row["n"], row["rate"], row["eps"])
            cells.setdefault(key, []).append(row["knn"]["aiq"] - offline)
    if not any(len(v) > 1 for v in cells.values()):
        return []
    out = ["", "| start | N | shadow rate | ε | seeds | mean gap to offline | sd | min | max |",
           "|---|---|---|---|---|---|---|---|---|"]
    for (start, n, rate, eps), gaps in cells.items():
        out.append(f"| {start} | {n} | {rate} | {eps} | {len(gaps)} | {np.mean(gaps):+.4f} | "
                   f"{np.std(gaps):.4f} | {min(gaps):+.4f} | {max(gaps):+.4f} |")
    return out


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
