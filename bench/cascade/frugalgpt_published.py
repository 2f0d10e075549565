"""FrugalGPT's published 2024 trade-offs, read the same way as our headline, beside ours.

The shared `frugalgpt/` folder has, per dataset, the published summary (test accuracy and
cost per query of FrugalGPT at each budget and of each single 2024 model), and for
HEADLINES the queries and reference answers, but no per-model responses or outcomes: our
cascade cannot be run on those datasets, so only the published curves are compared.

Usage: .venv/bin/python bench/cascade/frugalgpt_published.py
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

from common import RESULTS, SHARED, header

DATASETS = ("HEADLINES", "SCIQ", "AGNEWS", "OVERRULING", "COQA")
PUBLISHED_SAVINGS = {"HEADLINES": 94, "SCIQ": 88, "AGNEWS": 72, "OVERRULING": 57}


def read(dataset: str) -> list[dict[str, str]]:
    path = next((SHARED / "frugalgpt").glob(f"summary_summary_{dataset}_*_2024.csv"))
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def main(argv: list[str]) -> None:
    header("frugalgpt_published.py", argv)
    print(
        "dataset     best single model (test acc, $/query)           FrugalGPT matching it"
        "            cost %   savings  (published)"
    )
    for dataset in DATASETS:
        rows = read(dataset)
        singles = [r for r in rows if r["Method"] != "FrugalGPT"]
        frugal = [r for r in rows if r["Method"] == "FrugalGPT"]
        best = min(singles, key=lambda r: (-float(r["Test_acc"]), float(r["Test_cost"])))
        acc, cost = float(best["Test_acc"]), float(best["Test_cost"])
        reaching = [r for r in frugal if float(r["Test_acc"]) >= acc - 1e-12]
        if not reaching:
            print(f"{dataset:<11} {best['Method']:<30} {acc:.4f} ${cost:.3g}   not reached")
            continue
        match = min(reaching, key=lambda r: float(r["Test_cost"]))
        share = 100 * float(match["Test_cost"]) / cost
        published = PUBLISHED_SAVINGS.get(dataset)
        print(
            f"{dataset:<11} {best['Method']:<30} {acc:.4f} ${cost:.3g}   "
            f"{float(match['Test_acc']):.4f} ${float(match['Test_cost']):.3g}   "
            f"{share:6.1f}%  {100 - share:5.1f}%  ({published if published else '-'}%)"
        )
    ours = RESULTS / "gsm8k.json"
    if ours.is_file():
        results = json.loads(ours.read_text())
        shares = [
            r["cascade"]["curve_cost"] / r["best_model"]["test_cost"]
            for r in results
            if r["cascade"]["curve_cost"] is not None
        ]
        if shares:
            mean = 100 * sum(shares) / len(shares)
            print(
                f"ours: RouteLLM GSM8K (Mixtral-8x7B → GPT-4-1106), same reading, mean over "
                f"{len(shares)} seeds: {mean:.1f}% of GPT-4's cost, savings {100 - mean:.1f}% "
                f"(from {ours.relative_to(Path.cwd()) if ours.is_relative_to(Path.cwd()) else ours})"
            )
    print("Prices: FrugalGPT's own 2024 list prices as in its summaries; ours: see gsm8k.py.")


if __name__ == "__main__":
    main(sys.argv[1:])
