"""Benchmark: `eval` replay of 100k prompts x 10 models (synthetic) must take under a minute.

Replays every single model, the oracle, the cross-fitted per-task lookup, a random mixture
and a router that scores cached per-prompt quality predictions (standing in for a kNN router
whose embeddings are cached) over 21 knob settings; then scores everything pooled and per
task with 1000 bootstrap resamples, and writes report.json, report.md and the plots.

    python bench/eval/run.py [--prompts 100000] [--models 10] [--out /tmp/bench-eval]
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

# One BLAS thread: on a small shared machine, BLAS threads spin and double the CPU time of
# the bootstrap's matrix products (measured: 2.3 s vs 4.0 s CPU for 1000 resamples).
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from eval.config import EvalConfig
from eval.replay import replay, standard_candidates
from eval.report import write_report
from eval.scoring import evaluate
from eval.sweep import CandidateKind, Choices, SweepStep
from routers.datasets.format import RoutingDataset


def synthetic(n: int, m: int, tasks: int, seed: int = 0) -> tuple[RoutingDataset, np.ndarray]:
    """Outcomes from a logistic skill-vs-difficulty model, and noisy predictions of them."""
    rng = np.random.default_rng(seed)
    skill = np.linspace(-1.0, 1.5, m)
    price = 2e-6 * 3.0 ** np.arange(m)  # each model 3x the previous
    task = rng.integers(0, tasks, n)
    difficulty = rng.normal(0, 1, n) + rng.normal(0, 0.5, tasks)[task]
    p_right = 1 / (1 + np.exp(-2.0 * (skill[None, :] - difficulty[:, None])))
    scores = (rng.random((n, m)) < p_right).astype(np.float64)
    tokens = rng.lognormal(5.5, 0.6, n)
    costs = tokens[:, None] * price[None, :] * rng.uniform(0.9, 1.1, (n, m))
    predicted = np.clip(p_right + rng.normal(0, 0.15, (n, m)), 0, 1)
    ds = RoutingDataset(
        prompts=[f"prompt {i}" for i in range(n)],
        eval_names=[f"task{t:02d}" for t in task],
        models=[f"model-{j}" for j in range(m)],
        scores=scores,
        costs=costs,
        name="synthetic",
    )
    return ds, predicted


@dataclass(frozen=True)
class CachedPredictionRouter:
    """Routes by cached per-prompt quality predictions: argmax q - λ * expected cost."""

    predicted: np.ndarray
    lambdas: Sequence[float]
    name: str = "cached-prediction-router"
    kind: CandidateKind = "router"

    def sweep(self, dataset: RoutingDataset) -> Sequence[SweepStep]:
        expected_cost = np.nanmean(dataset.costs, axis=0)
        return [
            Choices(lam, np.argmax(self.predicted - lam * expected_cost[None, :], axis=1))
            for lam in self.lambdas
        ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=100_000)
    parser.add_argument("--models", type=int, default=10)
    parser.add_argument("--tasks", type=int, default=20)
    parser.add_argument("--bootstrap", type=int, default=1000)
    parser.add_argument("--out", type=Path, default=Path("/tmp/bench-eval"))
    args = parser.parse_args()
    print("command:", shlex.join([sys.executable, *sys.argv]))
    print(
        "threads:",
        f"OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}",
    )
    print(
        "machine:",
        platform.node(),
        platform.machine(),
        f"nproc={os.cpu_count()}",
        f"ram={_ram_gib():.1f} GiB",
        f"python {platform.python_version()}",
        f"numpy {np.__version__}",
    )

    t0 = time.perf_counter()
    ds, predicted = synthetic(args.prompts, args.models, args.tasks)
    t1 = time.perf_counter()
    cpu1 = time.process_time()
    scale = float(np.median(np.nanmean(ds.costs, axis=0)))
    router = CachedPredictionRouter(predicted, [0.0, *np.logspace(-3, 3, 20) / scale])
    candidates = [*standard_candidates(ds), router]
    curves = replay(ds, candidates)
    t2 = time.perf_counter()
    result = evaluate(ds, curves, EvalConfig(bootstrap_resamples=args.bootstrap))
    t3 = time.perf_counter()
    write_report(args.out, [result], {"bootstrap_resamples": args.bootstrap})
    t4 = time.perf_counter()
    cpu4 = time.process_time()

    points = sum(len(c.steps) for c in curves)
    print(
        f"data: {args.prompts} prompts x {args.models} models, {args.tasks} tasks; "
        f"{len(curves)} candidates, {points} sweep points"
    )
    print(f"generate synthetic data   {t1 - t0:7.2f} s (not part of replay)")
    print(f"replay (all sweeps)       {t2 - t1:7.2f} s")
    print(f"score pooled + per task   {t3 - t2:7.2f} s  ({args.bootstrap} bootstrap resamples)")
    print(f"write report + 3 plots    {t4 - t3:7.2f} s")
    total = t4 - t1
    print(
        f"replay total              {total:7.2f} s  -> {'PASS' if total < 60 else 'FAIL'} (< 60 s)"
        f"; CPU {cpu4 - cpu1:.2f} s; load average {os.getloadavg()[0]:.1f}"
    )
    best = min(result.pooled.candidates, key=lambda c: c.cost_of_pass_usd)
    print(f"lowest cost-of-pass: {best.name} ({best.kind}) ${best.cost_of_pass_usd:.3e}")


def _ram_gib() -> float:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError):
        return float("nan")


if __name__ == "__main__":
    main()
