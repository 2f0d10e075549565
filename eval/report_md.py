"""`report.md`: the replay result for people, with the plots linked."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from eval.metrics import Interval, cost_of_pass, format_usd
from eval.results import CandidateResult, DatasetResult, ScopeResult


def render_markdown(
    results: Sequence[DatasetResult],
    settings: Mapping[str, Any],
    plots: Mapping[str, Sequence[str]],
) -> str:
    """The whole report; `plots` maps a dataset name to its PNG file names."""
    lines = ["# costroute offline evaluation (replay)", ""]
    lines += [
        (
            "Recorded outcomes only: no model was called. Cost-of-pass = mean cost / accuracy "
            "(Erol et al. 2025); ∞ when accuracy is 0. Intervals are "
            f"{settings.get('confidence', 0.95):.0%} percentile bootstrap over prompts "
            f"({settings.get('bootstrap_resamples')} resamples). AIQ is RouterBench's normalised "
            "area under the non-decreasing convex hull over the cost range of all candidates in "
            "the scope. APGR/CPT (RouteLLM) are given for 2-model datasets. A swept candidate is "
            "summarised at its lowest-cost-of-pass knob."
        ),
        "",
    ]
    for result in results:
        lines += _dataset_section(result, plots.get(result.name, ()))
    return "\n".join(lines) + "\n"


def _dataset_section(result: DatasetResult, plots: Sequence[str]) -> list[str]:
    lines = [
        f"## {result.name}",
        "",
        f"{result.n_prompts} prompts, {len(result.tasks)} tasks, models: "
        + ", ".join(f"`{m}`" for m in result.models),
        "",
    ]
    lines += [f"- {note}" for note in result.notes]
    if result.notes:
        lines.append("")
    lines += ["### Pooled", ""] + _candidate_table(result.pooled) + [""]
    lines += _versus_lookup(result.pooled)
    lines += _frontier_section(result.pooled)
    if result.pooled.language_premium:
        lines += _language_section(result.pooled)
    lines += ["### Per task", ""] + _task_table(result.tasks) + [""]
    lines += [f"![{name}]({name})" for name in plots] + [""]
    return lines


def _candidate_table(scope: ScopeResult) -> list[str]:
    two_models = scope.weak_strong is not None
    header = (
        "| candidate | kind | accuracy | mean cost | cost-of-pass | AIQ | most accurate point |"
    )
    rule = "|---|---|---|---|---|---|---|"
    if two_models:
        header += " APGR | CPT(50%) |"
        rule += "---|---|"
    rows = [header, rule]
    for c in sorted(scope.candidates, key=_order_key):
        row = (
            f"| {c.name} | {c.kind}{_knob(c)} | {_pct(c.accuracy)} {_pct_ci(c.accuracy_ci)} | "
            f"{format_usd(c.mean_cost_usd)} | {format_usd(c.cost_of_pass_usd)} "
            f"{_usd_ci(c.cost_of_pass_ci)} | {_num(c.aiq)} | {_top_point(c)} |"
        )
        if two_models:
            half = c.cpt.get("50%") if c.cpt else None
            row += f" {_num(c.apgr)} | {_pct(half) if half is not None else '–'} |"
        rows.append(row)
    return rows


def _versus_lookup(scope: ScopeResult) -> list[str]:
    if not scope.versus_lookup:
        return []
    first = scope.versus_lookup[0]
    lines = [
        (
            f"AIQ gain over `{first.baseline}`, paired bootstrap over prompts "
            f"({first.n_resamples} resamples; share of resamples with no gain):"
        ),
        "",
    ]
    for d in scope.versus_lookup:
        lines.append(
            f"- {d.candidate}: {d.difference:+.4f} [{d.ci.low:+.4f}, {d.ci.high:+.4f}], "
            f"not ahead in {d.share_not_above:.1%}"
        )
    return lines + [""]


def _top_point(c: CandidateResult) -> str:
    """A swept candidate's most accurate setting (the cheapest among equals)."""
    if len(c.points) <= 1:
        return "–"
    top = max(c.points, key=lambda p: (_nan_low(p.accuracy), -p.mean_cost_usd))
    knob = "" if top.knob is None else f" @{top.knob:.3g}"
    return f"{_pct(top.accuracy)} at {format_usd(top.mean_cost_usd)}{knob}"


def _frontier_section(scope: ScopeResult) -> list[str]:
    f = scope.frontier
    if f.human_cost_usd is not None:
        basis = (
            f"; the human-expert cost {format_usd(f.human_cost_usd)} stands in "
            "wherever no model is cheaper (or none solves the problem)"
        )
    else:
        basis = f" ({f.n_unsolved} of {scope.n_prompts} problems solved by no model)"
    shares = ", ".join(
        f"{k} {v:.1%}" for k, v in sorted(f.attained_by.items(), key=lambda kv: -kv[1])
    )
    lines = [
        "### Frontier cost-of-pass",
        "",
        f"- Over the models: **{format_usd(f.cost_of_pass_usd)}** per problem{basis}.",
    ]
    if math.isinf(f.cost_of_pass_usd):
        lines.append(
            "- Over the problems some model solves (not the paper's measure): "
            f"{format_usd(f.solved_only_usd)}."
        )
    lines += [
        (
            "- Over every candidate (routers, cascades, baselines): "
            f"{format_usd(f.with_candidates_usd)}."
        ),
        f"- Cheapest per problem: {shares or 'n/a'}.",
        "",
        "| removed | frontier without it | rise | rise % |",
        "|---|---|---|---|",
    ]
    for cf in f.counterfactual:
        lines.append(
            f"| {cf.removed} | {format_usd(cf.cost_of_pass_usd)} | {format_usd(cf.rise_usd)} | "
            f"{_num(cf.rise_pct, 1)} |"
        )
    if math.isinf(f.cost_of_pass_usd):
        lines += [
            "",
            (
                "The frontier is ∞ because some problems are solved by no model; set "
                "`human_expert_cost_usd` in the config to bound it, as the paper does."
            ),
        ]
    return [*lines, ""]


def _language_section(scope: ScopeResult) -> list[str]:
    lines = [
        "### Cost premium per language",
        "",
        (
            "| candidate | language | prompts | accuracy | mean cost | cost premium | "
            "cost-of-pass premium |"
        ),
        "|---|---|---|---|---|---|---|",
    ]
    for p in scope.language_premium:
        lines.append(
            f"| {p.candidate} | {p.language} | {p.n_prompts} | {_pct(p.accuracy)} | "
            f"{format_usd(p.mean_cost_usd)} | {_num(p.cost_premium)}× | "
            f"{_num(p.cost_of_pass_premium)}× |"
        )
    return lines + [""]


def _task_table(tasks: Sequence[ScopeResult]) -> list[str]:
    rows = [
        (
            "| task | prompts | frontier cost-of-pass | lowest cost-of-pass (not oracle) | "
            "its accuracy | most accurate model |"
        ),
        "|---|---|---|---|---|---|",
    ]
    for scope in tasks:
        real = [c for c in scope.candidates if c.kind != "oracle"]
        best = min(real, key=_order_key) if real else None
        models = [c for c in scope.candidates if c.kind == "model"]
        top = (
            max(models, key=lambda c: (_nan_low(c.accuracy), -c.mean_cost_usd)) if models else None
        )
        rows.append(
            f"| {scope.task} | {scope.n_prompts} | "
            f"{format_usd(scope.frontier.cost_of_pass_usd)} | "
            + (
                f"{best.name}: {format_usd(best.cost_of_pass_usd)} | {_pct(best.accuracy)} | "
                if best
                else "– | – | "
            )
            + (f"{top.name}: {_pct(top.accuracy)} |" if top else "– |")
        )
    return rows


def _order_key(c: CandidateResult) -> tuple[float, float]:
    v = cost_of_pass(c.mean_cost_usd, c.accuracy)
    return (math.inf if math.isnan(v) else v, -_nan_low(c.accuracy))


def _nan_low(x: float) -> float:
    return -1.0 if math.isnan(x) else x


def _knob(c: CandidateResult) -> str:
    if len(c.points) <= 1 or c.headline_knob is None:
        return ""
    return f" @{c.headline_knob:.3g}"


def _pct(x: float | None) -> str:
    if x is None or math.isnan(x):
        return "n/a"
    return "∞" if math.isinf(x) else f"{100 * x:.2f}%"


def _pct_ci(ci: Interval) -> str:
    if math.isnan(ci.low):
        return ""
    return f"[{100 * ci.low:.1f}, {100 * ci.high:.1f}]"


def _usd_ci(ci: Interval) -> str:
    if math.isnan(ci.low):
        return ""
    return f"[{format_usd(ci.low)}, {format_usd(ci.high)}]"


def _num(x: float | None, digits: int = 3) -> str:
    if x is None or math.isnan(x):
        return "–"
    return "∞" if math.isinf(x) else f"{x:.{digits}f}"
