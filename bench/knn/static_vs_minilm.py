"""Routing AIQ of the k-NN router with the static (model2vec) encoder vs MiniLM, per dataset.

For every shared routing dataset, one k-NN artifact per encoder is fitted on TRAIN in the raw
embedding space (so the two differ only by encoder; the CSCR projection is not trained: on a
shared 2-core machine it costs minutes per fit), and TEST is replayed once with both, beside every single model and the per-task lookup (fitted on
TRAIN). Reported per dataset: AIQ of each encoder's router and of the lookup, each router's
paired-bootstrap AIQ gain over the lookup, and static − MiniLM with its paired interval.

Datasets (../shared/data/routing; `COSTROUTE_SHARED_DATA` points elsewhere):
* routellm   RouteLLM MMLU (seeded sample of --mmlu-sample rows) + GSM8K, 80/20 by prompt;
* mt_bench   MT-Bench turn 1 (80 questions, out of distribution): the routellm routers as
             trained, RouteLLM's GPT-4 judge scores / 10;
* llmrouter  LLMRouter dcrouter: its train file (seeded sample of --llmrouter-train rows,
             prompts also in test removed) and its test file;
* routerbench RouterBench ARC-Challenge + MBPP + Winogrande (train files only): 80/20 by
             prompt, so TEST here is a validation split carved from their train files.
The samples keep MiniLM's embedding time within reach of a shared 2-core machine; both
encoders see exactly the same rows. MiniLM vectors are cached on disk between runs.

Run:  .venv/bin/python bench/knn/static_vs_minilm.py [--dataset NAME ...] [--resamples 1000]
      .venv/bin/python bench/knn/static_vs_minilm.py --embed-only   # fill MiniLM's cache
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from common import CACHE, REPO, ROUTING, SEED, TEST_FRACTION, embedder, header

from eval.config import EvalConfig
from eval.paired import aiq_difference
from eval.replay import replay, standard_candidates
from eval.scoring import evaluate
from pricing import PriceCatalog
from routers.datasets import (
    RoutingDataset,
    concat,
    load_llmrouter,
    load_routellm_gsm8k,
    load_routellm_mmlu,
    load_routerbench,
    remove_overlap,
    split,
)
from routers.datasets.text import embedding_text
from routers.embedding import Embedder
from routers.knn.fit import FitConfig, fit_from_vectors
from routers.knn.replay import KnnReplayable
from routers.knn.router import KnnRouter
from routers.knn.train import TrainConfig
from routers.static_embedding import StaticEmbedder

RESULTS = REPO / "bench" / "results" / "knn"
ROUTERBENCH_FILES = ("arc_challenge_train.csv", "mbpp_train.csv", "winograde_train.csv")
Split = tuple[RoutingDataset, RoutingDataset]


def sample(ds: RoutingDataset, n: int | None) -> RoutingDataset:
    if n is None or n >= len(ds):
        return ds
    rows = np.sort(np.random.default_rng(SEED).choice(len(ds), n, replace=False))
    return ds.subset(rows)


def routellm(mmlu_sample: int) -> Split:
    mmlu = sample(load_routellm_mmlu(ROUTING / "routellm" / "mmlu"), mmlu_sample)
    gsm8k = load_routellm_gsm8k(ROUTING / "routellm" / "gsm8k")
    return split(concat([mmlu, gsm8k], name="routellm_mmlu+gsm8k"), TEST_FRACTION, SEED)


def mt_bench() -> RoutingDataset:
    import sys

    sys.path.insert(0, str(REPO / "bench" / "eval"))
    from prepare_shared import mt_bench as load_mt_bench

    return load_mt_bench(ROUTING / "routellm" / "mt_bench", PriceCatalog.shipped())


def llmrouter(train_rows: int) -> Split:
    test = load_llmrouter(ROUTING / "llmrouter", "test")
    train = remove_overlap(load_llmrouter(ROUTING / "llmrouter", "train"), test)
    return sample(train, train_rows), test


def routerbench() -> Split:
    parts = [load_routerbench(ROUTING / "routerbench" / f) for f in ROUTERBENCH_FILES]
    return split(concat(parts, name="routerbench_arc+mbpp+winogrande"), TEST_FRACTION, SEED)


def add_dataset_options(parser: argparse.ArgumentParser) -> None:
    """The options `datasets` reads: which datasets, and the sizes of the sampled ones."""
    names = ["routerbench", "llmrouter", "routellm", "mt_bench"]
    parser.add_argument("--dataset", nargs="+", default=names, choices=names)
    parser.add_argument("--mmlu-sample", type=int, default=2000)
    parser.add_argument("--llmrouter-train", type=int, default=2500)


def datasets(args: argparse.Namespace) -> Iterator[tuple[str, RoutingDataset, RoutingDataset]]:
    """(name, train, test) in the order they run; mt_bench reuses routellm's TRAIN."""
    if "routerbench" in args.dataset:
        yield ("routerbench", *routerbench())
    if "llmrouter" in args.dataset:
        yield ("llmrouter", *llmrouter(args.llmrouter_train))
    if {"routellm", "mt_bench"} & set(args.dataset):
        train, test = routellm(args.mmlu_sample)
        if "routellm" in args.dataset:
            yield "routellm", train, test
        if "mt_bench" in args.dataset:
            yield "mt_bench", train, mt_bench()


FIT = FitConfig(space="raw", train=TrainConfig(epochs=1))


def fit_routers(
    train: RoutingDataset, encoders: dict[str, Embedder]
) -> tuple[list[KnnReplayable], dict[str, object]]:
    """One raw-space k-NN router per encoder, fitted on `train`."""
    routers, fitted = [], {}
    for label, emb in encoders.items():
        started = time.perf_counter()
        raw = emb.embed([embedding_text(p) for p in train.prompts])
        embedded = time.perf_counter() - started
        artifact = fit_from_vectors(train, raw, FIT, emb.name)
        held = artifact.manifest["metrics"]["held_out"]["raw"]
        fitted[label] = {"embed_train_s": round(embedded, 1), "held_out_aiq": round(held["aiq"], 4)}
        print(f"  {label:6s}: embedded TRAIN ({len(train)}) in {embedded:.1f} s; held-out "
              f"(from TRAIN) AIQ {held['aiq']:.4f}", flush=True)
        routers.append(KnnReplayable(KnnRouter(artifact, embedder=emb), name=f"knn-{label}"))
    return routers, fitted


def compare(
    name: str, train: RoutingDataset, test: RoutingDataset,
    fitted_routers: tuple[list[KnnReplayable], dict[str, object]], resamples: int,
) -> dict[str, object]:
    routers, fitted = fitted_routers
    encoders = [r.name.removeprefix("knn-") for r in routers]
    candidates = standard_candidates(test, train) + routers
    curves = replay(test, candidates)
    result = evaluate(test, curves, EvalConfig(bootstrap_resamples=resamples))
    pooled = result.pooled
    by_name = {c.name: c for c in pooled.candidates}
    gains = {d.candidate: d for d in pooled.versus_lookup}
    curve = {c.name: c for c in curves}
    every = np.arange(len(test))
    diff = aiq_difference(
        curve["knn-static"], curve["knn-minilm"], every, pooled.aiq_cost_range,
        resamples, 0.95,
    )
    best = max((c for c in pooled.candidates if c.kind == "model"), key=lambda c: c.aiq)
    out: dict[str, object] = {
        "train": len(train), "test": len(test), "models": len(train.models),
        "lookup_aiq": round(by_name["task-lookup"].aiq, 4),
        "best_single": {best.name: round(best.aiq, 4)}, "fitted": fitted,
        "static_minus_minilm": _diff_json(diff),
    }
    report_vs_lookup(by_name, gains, best, encoders, out)
    print(f"  static - minilm: {diff.difference:+.4f} [{diff.ci.low:+.4f}, {diff.ci.high:+.4f}] "
          f"(paired bootstrap, {diff.n_resamples} resamples; share <= 0: "
          f"{diff.share_not_above:.2f})")
    return out


def report_vs_lookup(by_name: dict[str, Any], gains: dict[str, Any], best: Any,
                     labels: Sequence[str], out: dict[str, object]) -> None:
    """Prints the TEST AIQ of each `knn-<label>` router against the lookup, into `out` too."""
    print(f"  TEST AIQ: lookup {by_name['task-lookup'].aiq:.4f}, best single model "
          f"{best.name} {best.aiq:.4f}")
    for label in labels:
        c, g = by_name[f"knn-{label}"], gains[f"knn-{label}"]
        out[label] = {"aiq": round(c.aiq, 4), "vs_lookup": _diff_json(g)}
        print(f"  knn-{label:6s} AIQ {c.aiq:.4f}  vs lookup {g.difference:+.4f} "
              f"[{g.ci.low:+.4f}, {g.ci.high:+.4f}]")


def _diff_json(d: object) -> dict[str, float]:
    from eval.paired import AiqDifference

    assert isinstance(d, AiqDifference)
    return {"difference": round(d.difference, 4), "low": round(d.ci.low, 4),
            "high": round(d.ci.high, 4), "share_not_above": round(d.share_not_above, 3)}


def embed_only(args: argparse.Namespace, minilm: Callable[[], Embedder]) -> None:
    """Embed every prompt the comparison needs with MiniLM, in chunks (progress survives)."""
    texts: list[str] = []
    for _, train, test in datasets(args):
        texts += [embedding_text(p) for p in train.prompts + test.prompts]
    todo = list(dict.fromkeys(texts))
    emb = minilm()
    started = time.perf_counter()
    for start in range(0, len(todo), 256):
        emb.embed(todo[start : start + 256])
        print(f"  {min(start + 256, len(todo))}/{len(todo)} texts, "
              f"{time.perf_counter() - started:.0f} s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_dataset_options(parser)
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--embed-only", action="store_true")
    parser.add_argument("--out", type=Path, default=RESULTS / "static_vs_minilm.json")
    args = parser.parse_args()
    header("static_vs_minilm.py", [f"--dataset {' '.join(args.dataset)}"])
    if args.embed_only:
        embed_only(args, embedder)
        return
    static = StaticEmbedder()
    print(f"static encoder: {static.name} ({static.dim} dims) from {static.path}; MiniLM "
          f"vectors cached in {CACHE / 'minilm.npz'}")
    encoders: dict[str, Embedder] = {"minilm": embedder(), "static": static}
    report = {}
    fits: dict[int, tuple[list[KnnReplayable], dict[str, object]]] = {}
    for name, train, test in datasets(args):
        print(f"\n=== {name}: train {len(train)} / test {len(test)} prompts, "
              f"{len(train.models)} models", flush=True)
        if id(train) not in fits:  # mt_bench replays the routellm routers as trained
            fits[id(train)] = fit_routers(train, encoders)
        report[name] = compare(name, train, test, fits[id(train)], args.resamples)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
