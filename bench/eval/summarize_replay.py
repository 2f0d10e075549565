"""A one-page summary of a replay's report.json: per dataset, the figures worth quoting.

    .venv/bin/python bench/eval/summarize_replay.py bench/results/replay/report.json \
        [--cascade-artifact DIR ...]

For each dataset: the most accurate single model and the one with the lowest cost-of-pass,
every router, cascade and baseline (at its lowest-cost-of-pass point, as report.md
summarises it, plus its most accurate point and the cheapest point of its curve that matches
the most accurate model), the oracle, the frontier, and why a candidate did not apply.
With `--cascade-artifact`, also the test result of the strategy the cascade chose on its
training data (its manifest's `strategy`), the figure a deployment would get.
Everything is read from the report and the manifests; nothing is recomputed or tuned.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

Candidate = Mapping[str, Any]


def number(value: Any) -> float:
    """A report.json number ("inf" for infinity, null for unknown) as a float."""
    return math.nan if value is None else float(value)


def usd(value: Any) -> str:
    v = number(value)
    if math.isnan(v):
        return "n/a"
    if math.isinf(v):
        return "∞"
    return f"${v:.3e}" if v and abs(v) < 1e-3 else f"${v:.4f}"


def pct(value: Any) -> str:
    v = number(value)
    return "n/a" if math.isnan(v) else f"{100 * v:.2f}%"


def matching_point(candidate: Candidate, target: float) -> Mapping[str, Any] | None:
    """The cheapest point of the candidate's curve with accuracy ≥ `target`."""
    reaching = [p for p in candidate["points"] if number(p["accuracy"]) >= target - 1e-12]
    return min(reaching, key=lambda p: number(p["mean_cost_usd"])) if reaching else None


def top_point(candidate: Candidate) -> Mapping[str, Any]:
    """The most accurate point (cheapest among equals)."""
    return max(
        candidate["points"],
        key=lambda p: (number(p["accuracy"]), -number(p["mean_cost_usd"])),
    )


def trained_choices(artifacts: Sequence[Path]) -> list[tuple[str, float]]:
    """(description, knob) of the strategy each cascade artifact chose on its training data."""
    out = []
    for directory in artifacts:
        manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
        strategy = manifest["strategy"]
        stages = [
            f"{s['model']} ≥ {s['accept_at']:.3f}" if "accept_at" in s else s["model"]
            for s in strategy["stages"]
        ]
        objective = manifest.get("objective", {}).get("kind", "?")
        out.append((f"{' → '.join(stages)} ({objective} on TRAIN)", float(strategy["cost_usd"])))
    return out


def choice_lines(
    candidates: Sequence[Candidate], choices: Sequence[tuple[str, float]]
) -> list[str]:
    """Where a cascade's sweep holds a trained choice's knob: that point's test figures."""
    lines = []
    for c in candidates:
        if c["kind"] != "cascade":
            continue
        for description, knob in choices:
            for p in c["points"]:
                if p["knob"] is not None and math.isclose(number(p["knob"]), knob, rel_tol=1e-9):
                    cop = number(p["mean_cost_usd"]) / number(p["accuracy"])
                    lines.append(
                        f"- {c['name']}'s own choice, {description}: {pct(p['accuracy'])} at "
                        f"{usd(p['mean_cost_usd'])}, cost-of-pass {usd(cop)}"
                    )
    return lines


def dataset_section(ds: Mapping[str, Any], choices: Sequence[tuple[str, float]] = ()) -> list[str]:
    pooled = ds["pooled"]
    candidates: Sequence[Candidate] = pooled["candidates"]
    models = [c for c in candidates if c["kind"] == "model"]
    best = max(models, key=lambda c: (number(c["accuracy"]), -number(c["mean_cost_usd"])))
    cheapest = min(models, key=lambda c: number(c["cost_of_pass_usd"]))
    shown = [best] if best is cheapest else [best, cheapest]
    shown += [c for c in candidates if c["kind"] in ("router", "cascade", "baseline")]
    shown += [c for c in candidates if c["kind"] == "oracle"]
    target = number(best["accuracy"])
    lines = [
        f"## {ds['name']} ({ds['n_prompts']} prompts, {len(ds['models'])} models)",
        "",
        (
            f"| candidate | kind | accuracy | mean cost | cost-of-pass | AIQ | most accurate "
            f"point | cheapest point ≥ {best['name']}'s accuracy |"
        ),
        "|---|---|---|---|---|---|---|---|",
    ]
    for c in shown:
        lines.append(_row(c, best, target))
    frontier = pooled["frontier"]
    lines += [
        "",
        (
            f"Frontier cost-of-pass: **{usd(frontier['cost_of_pass_usd'])}** per problem over the "
            f"models; {usd(frontier['with_candidates_usd'])} over every candidate."
        ),
    ]
    lines += choice_lines(candidates, choices)
    lines += [
        f"- AIQ gain of {g['candidate']} over {g['baseline']}: {number(g['difference']):+.4f}, "
        f"paired bootstrap interval [{number(g['ci'][0]):+.4f}, {number(g['ci'][1]):+.4f}], "
        f"not ahead in {number(g['share_not_above']):.1%} of {g['n_resamples']} resamples"
        for g in pooled.get("versus_lookup", [])
    ]
    lines += [f"- {n}" for n in ds.get("notes", []) if " skipped on " in n]
    return [*lines, ""]


def _row(c: Candidate, best: Candidate, target: float) -> str:
    swept = len(c["points"]) > 1
    top = top_point(c) if swept else None
    match = matching_point(c, target) if swept and c is not best else None
    if match is not None:
        share = number(match["mean_cost_usd"]) / number(best["mean_cost_usd"])
        matched = f"{pct(match['accuracy'])} at {usd(match['mean_cost_usd'])} ({share:.1%})"
    else:
        matched = "not reached" if swept and c is not best else "–"
    top_text = "–" if top is None else f"{pct(top['accuracy'])} at {usd(top['mean_cost_usd'])}"
    aiq = number(c["aiq"])
    return (
        f"| {c['name']} | {c['kind']} | {pct(c['accuracy'])} | {usd(c['mean_cost_usd'])} | "
        f"{usd(c['cost_of_pass_usd'])} | {'n/a' if math.isnan(aiq) else f'{aiq:.3f}'} | "
        f"{top_text} | {matched} |"
    )


def summarize(
    report: Mapping[str, Any], choices: Sequence[tuple[str, float]] = (), about: str = ""
) -> str:
    lines = ["# Replay summary", "", *([about.strip(), ""] if about else [])]
    lines += [
        (
            "Read from [report.json](report.json); full tables, per-task results and plots in "
            "[report.md](report.md). Accuracy, cost and cost-of-pass of a swept candidate are at "
            "its lowest-cost-of-pass point (as report.md summarises it); the last column is the "
            "cheapest point of its curve that matches the most accurate single model, with its "
            "cost as a share of that model's."
        ),
        "",
    ]
    for ds in report["datasets"]:
        lines += dataset_section(ds, choices)
    return "\n".join(lines)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", type=Path)
    parser.add_argument("--cascade-artifact", type=Path, action="append", default=[])
    parser.add_argument("--about", type=Path, help="Markdown to put under the title")
    args = parser.parse_args(argv)
    report = json.loads(args.report.read_text(encoding="utf-8"))
    about = args.about.read_text(encoding="utf-8") if args.about else ""
    print(summarize(report, trained_choices(args.cascade_artifact), about))


if __name__ == "__main__":
    main(sys.argv[1:])
