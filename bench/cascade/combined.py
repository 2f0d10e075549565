"""Does "route first, escalate if unsure" (k-NN pick starts the cascade) beat either alone?

Reads the per-seed results `gsm8k.py` writes (it calls `compare` itself at the end of its
report). Two readings, each on the test split:

* the cost to match the best single model's test accuracy (gsm8k.py's headline), per
  method, and which method is cheapest;
* at the same budgets (16 points, log-spaced between the cheapest and the dearest single
  model's mean test cost), the strategy each method would deploy, chosen on train (the most
  accurate train point whose train cost fits), and its test accuracy and cost.

Usage: .venv/bin/python bench/cascade/combined.py [--json bench/results/cascade/gsm8k.json]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from common import RESULTS, header, pct

METHODS = ("cascade", "knn", "knn_then_cascade")
BUDGET_POINTS = 16
Point = tuple[float, float]  # (mean cost per query, accuracy)


def deployed(train: Sequence[Point], test: Sequence[Point], budget: float) -> Point | None:
    """The test (cost, accuracy) of the most accurate train point costing ≤ budget on train."""
    fitting = [i for i, (c, _) in enumerate(train) if c <= budget + 1e-15]
    if not fitting:
        return None
    best = max(fitting, key=lambda i: (train[i][1], -train[i][0]))
    return test[best][0], test[best][1]


def same_budget(result: dict[str, Any]) -> dict[str, list[Point | None]]:
    """Per method, the deployed test point at each of the seed's budgets."""
    singles = [c for c, _ in result["singles_test"].values()]
    budgets = np.geomspace(min(singles), max(singles), BUDGET_POINTS)
    return {
        m: [deployed(result[m]["train"], result[m]["test"], float(b)) for b in budgets]
        for m in METHODS
    }


def tally(ours: list[Point | None], theirs: list[Point | None]) -> tuple[int, int, int, float]:
    """(better, equal, worse, mean accuracy difference) where both have a point."""
    pairs = [(a, b) for a, b in zip(ours, theirs) if a is not None and b is not None]
    diffs = [a[1] - b[1] for a, b in pairs]
    better = sum(d > 1e-12 for d in diffs)
    equal = sum(abs(d) <= 1e-12 for d in diffs)
    return better, equal, len(diffs) - better - equal, float(np.mean(diffs)) if diffs else 0.0


def compare(results: Sequence[dict[str, Any]]) -> None:
    """Prints, per seed, whether k-NN → cascade beats the cascade alone and k-NN alone."""
    if not all(m in r for r in results for m in METHODS):
        print("\nk-NN → cascade: not measured (run gsm8k.py without --no-knn)")
        return
    print("\nk-NN → cascade vs either alone (test split)")
    print("  cost to match the best single model, % of its cost (cheapest marked *):")
    cheapest = dict.fromkeys(METHODS, 0)
    for r in results:
        base = r["best_model"]["test_cost"]
        costs = {m: r[m]["curve_cost"] for m in METHODS}
        reached = {m: c for m, c in costs.items() if c is not None}
        winner = min(reached, key=lambda m: reached[m]) if reached else None
        if winner is not None:
            cheapest[winner] += 1
        cells = [f"{m} {pct(costs[m], base)}{'*' if m == winner else ''}" for m in METHODS]
        print(f"    seed {r['seed']}: " + ", ".join(cells))
    print("    cheapest in " + ", ".join(f"{m} {n}" for m, n in cheapest.items()) + " seeds")
    print(
        f"  same budget ({BUDGET_POINTS} budgets, strategy chosen on train), k-NN → cascade "
        "vs each alone: test accuracy better/equal/worse, mean difference; mean test accuracy"
    )
    totals = {m: [0, 0, 0] for m in ("cascade", "knn")}
    for r in results:
        points = same_budget(r)
        cells = []
        for other in ("cascade", "knn"):
            b, e, w, d = tally(points["knn_then_cascade"], points[other])
            totals[other] = [t + x for t, x in zip(totals[other], (b, e, w))]
            cells.append(f"vs {other} {b}/{e}/{w} {d:+.4f}")
        means = [f"{m} {np.mean([p[1] for p in points[m] if p is not None]):.4f}" for m in METHODS]
        print(f"    seed {r['seed']}: " + "; ".join(cells) + " | " + ", ".join(means))
    for other, (b, e, w) in totals.items():
        print(f"    all seeds vs {other}: better {b}, equal {e}, worse {w}")


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", type=Path, default=RESULTS / "gsm8k.json")
    args = parser.parse_args(argv)
    header("combined.py", argv)
    if not args.json.is_file():
        print(f"{args.json}: not found; run bench/cascade/gsm8k.py first")
        raise SystemExit(2)
    compare(json.loads(args.json.read_text()))


if __name__ == "__main__":
    main(sys.argv[1:])
