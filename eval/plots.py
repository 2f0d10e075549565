"""PNG plots of a replay: cost vs accuracy with router curves and the hull, cost-of-pass per
task, and the frontier with its counterfactuals. matplotlib is imported only when plotting.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from eval.curves import non_decreasing_convex_hull
from eval.results import DatasetResult, ScopeResult


def write_plots(result: DatasetResult, out_dir: Path) -> list[str]:
    """Write this dataset's plots into `out_dir`; returns their file names."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    stem = slug(result.name)
    names = [f"{stem}_cost_vs_accuracy.png", f"{stem}_cost_of_pass.png", f"{stem}_frontier.png"]
    drawers = (_scatter, _cost_of_pass_bars, _frontier)
    for name, draw in zip(names, drawers):
        fig = draw(plt, result)
        fig.savefig(out_dir / name, dpi=110, bbox_inches="tight")
        plt.close(fig)
    return names


def slug(name: str) -> str:
    """A file-name-safe version of `name`."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_") or "dataset"


def _scatter(plt: Any, result: DatasetResult) -> Any:
    scope = result.pooled
    fig, ax = plt.subplots(figsize=(8, 5.5))
    model_costs, model_accs = [], []
    for c in scope.candidates:
        xs = [p.mean_cost_usd for p in c.points]
        ys = [100 * p.accuracy for p in c.points]
        if c.kind == "model":
            ax.scatter(xs, ys, s=40, zorder=3)
            ax.annotate(
                _short(c.name),
                (xs[0], ys[0]),
                fontsize=7,
                xytext=(4, 3),
                textcoords="offset points",
            )
            model_costs += xs
            model_accs += ys
        elif c.kind == "oracle":
            ax.scatter(
                xs, ys, marker="*", s=140, color="gold", edgecolor="k", zorder=4, label="oracle"
            )
        else:
            order = np.argsort(xs)
            ax.plot(
                np.array(xs)[order],
                np.array(ys)[order],
                marker=".",
                lw=1.2,
                label=f"{c.name} ({c.kind})",
            )
    if model_costs:
        hull = non_decreasing_convex_hull(np.array(model_costs), np.array(model_accs))
        ax.plot(
            hull.costs,
            hull.qualities,
            ls="--",
            color="grey",
            lw=1,
            label="convex hull of single models",
        )
    _log_x_if_wide(ax, [p.mean_cost_usd for c in scope.candidates for p in c.points])
    ax.set_xlabel("mean cost per prompt (USD)")
    ax.set_ylabel("accuracy (%)")
    ax.set_title(f"{result.name}: cost vs accuracy ({result.n_prompts} prompts)")
    ax.legend(fontsize=7, loc="lower right")
    ax.grid(alpha=0.3)
    return fig


def _cost_of_pass_bars(plt: Any, result: DatasetResult) -> Any:
    scopes = result.tasks or [result.pooled]
    shown = _shown_candidates(result.pooled)
    height = max(3.0, 0.22 * len(scopes) * max(1, len(shown)) + 1.0)
    fig, ax = plt.subplots(figsize=(9, min(height, 60)))
    bar = 0.8 / max(1, len(shown))
    for k, name in enumerate(shown):
        values = [_candidate_cop(s, name) for s in scopes]
        ys = np.arange(len(scopes)) + k * bar
        finite = [v if math.isfinite(v) else 0.0 for v in values]
        ax.barh(ys, finite, height=bar, label=_short(name))
        for y, v in zip(ys, values):
            if math.isinf(v):
                ax.text(0.002, y, "∞", va="center", fontsize=7, transform=ax.get_yaxis_transform())
    ax.set_yticks(np.arange(len(scopes)) + 0.4 - bar / 2)
    ax.set_yticklabels([s.task for s in scopes], fontsize=7)
    ax.invert_yaxis()
    positive = [_candidate_cop(s, n) for s in scopes for n in shown]
    _log_x_if_wide(ax, positive, axis="x")
    ax.set_xlabel("cost-of-pass (USD per correct answer)")
    ax.set_title(f"{result.name}: cost-of-pass per task")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return fig


def _frontier(plt: Any, result: DatasetResult) -> Any:
    scopes = [result.pooled, *result.tasks]
    fig, ax = plt.subplots(figsize=(9, max(3.0, 0.25 * len(scopes) + 1.0)))
    ys = np.arange(len(scopes))
    values = [s.frontier.cost_of_pass_usd for s in scopes]
    finite = [v if math.isfinite(v) else math.nan for v in values]
    solved = [
        s.frontier.solved_only_usd if not math.isfinite(v) else math.nan
        for s, v in zip(scopes, values)
    ]
    ax.barh(ys, np.nan_to_num(finite), color="tab:blue", label="frontier (all models)")
    if any(math.isfinite(v) for v in solved):
        # The paper's frontier is ∞ here; show the solved problems' mean, marked as such.
        ax.barh(
            ys,
            np.nan_to_num(solved),
            color="none",
            edgecolor="tab:blue",
            hatch="//",
            label="∞ frontier: mean over solved problems only",
        )
    removed = [cf.removed for cf in result.pooled.frontier.counterfactual]
    for k, name in enumerate(removed):
        without = [_counterfactual(s, name) for s in scopes]
        xs = [v for v in without if math.isfinite(v)]
        y_at = [y for y, v in zip(ys, without) if math.isfinite(v)]
        if xs:
            ax.scatter(
                xs,
                y_at,
                marker="ox^s+vD*<>"[k % 10],
                s=40,
                zorder=3,
                label=f"without {_short(name)}",
            )
    ax.set_yticks(ys)
    ax.set_yticklabels([s.task for s in scopes], fontsize=7)
    ax.invert_yaxis()
    everything = finite + solved + [_counterfactual(s, n) for s in scopes for n in removed]
    _log_x_if_wide(ax, everything, axis="x")
    ax.set_xlabel("frontier cost-of-pass (USD per problem)")
    ax.set_title(f"{result.name}: frontier and counterfactual frontiers")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return fig


def _shown_candidates(pooled: ScopeResult, limit: int = 6) -> list[str]:
    """The models plus the best non-model candidates, at most `limit` bars per task."""
    models = [c.name for c in pooled.candidates if c.kind == "model"]
    others = sorted(
        (c for c in pooled.candidates if c.kind not in ("model", "oracle")),
        key=lambda c: c.cost_of_pass_usd if math.isfinite(c.cost_of_pass_usd) else math.inf,
    )
    return (
        (models + [c.name for c in others])[:limit]
        if len(models) < limit
        else (
            sorted(models, key=lambda n: _candidate_cop(pooled, n))[: limit - 1]
            + [c.name for c in others[:1]]
        )
    )


def _candidate_cop(scope: ScopeResult, name: str) -> float:
    for c in scope.candidates:
        if c.name == name:
            return c.cost_of_pass_usd
    return math.nan


def _counterfactual(scope: ScopeResult, removed: str) -> float:
    for cf in scope.frontier.counterfactual:
        if cf.removed == removed:
            return cf.cost_of_pass_usd
    return math.nan


def _log_x_if_wide(ax: Any, values: Sequence[float], axis: str = "x") -> None:
    positive = [v for v in values if math.isfinite(v) and v > 0]
    if positive and max(positive) / min(positive) > 20:
        ax.set_xscale("log")


def _short(name: str, width: int = 28) -> str:
    tail = name.rsplit("/", 1)[-1]
    return tail if len(tail) <= width else tail[: width - 1] + "…"
