"""The `costroute eval replay` pipeline: load data and artifacts, replay, score, report."""

from __future__ import annotations

import platform
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from eval.config import EvalConfig, load_config
from eval.inputs import DataError, LoadedData, load_data
from eval.metrics import format_usd
from eval.progress import NullProgress, ProgressReporter, RichProgress
from eval.registry import load_artifact
from eval.replay import replay, standard_candidates
from eval.report import write_report
from eval.results import DatasetResult
from eval.scoring import evaluate
from eval.sweep import Renamed, ReplayableRouter
from pricing import PriceCatalog
from routers.datasets import RoutingDataset, load_routerbench


@dataclass(frozen=True)
class ReplayRequest:
    """Everything `costroute eval replay` was asked to do."""

    data: list[str]
    out: Path
    routers: list[Path] = field(default_factory=list)
    train: Path | None = None
    shared_data: Path = Path("../shared/data")
    config: Path | None = None
    prices: Path | None = None
    bootstrap: int | None = None
    plots: bool = True
    progress: bool = False


def run_replay(request: ReplayRequest) -> str:
    """Run the replay, write the report, and return a short summary for the terminal."""
    started = time.perf_counter()
    config = load_config(request.config)
    if request.bootstrap is not None:
        config = replace(config, bootstrap_resamples=request.bootstrap)
    catalog = load_catalog(request.prices)
    loaded = [load_data(spec, request.shared_data, catalog) for spec in request.data]
    train = load_routerbench(request.train, catalog) if request.train else None
    routers = _distinct_names([load_artifact(path) for path in request.routers], request.routers)
    reporter: ProgressReporter = (
        RichProgress(spend_label="replayed") if request.progress else NullProgress()
    )
    try:
        results = [_one_dataset(d, routers, train, config, reporter) for d in loaded]
    finally:
        reporter.close()
    _check_routers_used(routers, results)
    written = write_report(request.out, results, _settings(request, config), request.plots)
    return _summary(results, written, time.perf_counter() - started)


def load_catalog(prices: Path | None) -> PriceCatalog:
    """The shipped catalog, with the overrides in `prices` (YAML) merged over it."""
    catalog = PriceCatalog.shipped()
    if prices is None:
        return catalog
    if not prices.is_file():
        raise DataError(f"--prices {prices}: no such file")
    raw = yaml.safe_load(prices.read_text(encoding="utf-8")) or {}
    models = raw.get("models", raw) if isinstance(raw, dict) else None
    if not isinstance(models, dict):
        raise DataError(f"--prices {prices}: expected a mapping of model name to prices")
    return catalog.with_overrides(models)


def _one_dataset(
    data: LoadedData,
    routers: list[ReplayableRouter],
    train: RoutingDataset | None,
    config: EvalConfig,
    reporter: ProgressReporter,
) -> DatasetResult:
    ds = data.dataset
    candidates = standard_candidates(ds, data.train or _fitting(train, ds), config.seed)
    notes = list(data.notes)
    candidates += routers
    curves = replay(ds, candidates, reporter, skipped=notes)
    result = evaluate(ds, curves, config, data.languages)
    return replace(result, notes=notes)


def _fitting(train: RoutingDataset | None, ds: RoutingDataset) -> RoutingDataset | None:
    """`train` if it scores every model of `ds`; else None (the lookup is cross-fitted)."""
    if train is None or not set(ds.models) <= set(train.models):
        return None
    return train


def _distinct_names(
    routers: list[ReplayableRouter], paths: Sequence[Path]
) -> list[ReplayableRouter]:
    """Artifacts that share a name (two k-NN artifacts are both `knn[raw]`) get their
    directory's name added, so reports, notes and the fits-no-dataset check tell them apart."""
    counts = Counter(router.name for router in routers)
    return [
        Renamed(router, f"{router.name} ({path.name})") if counts[router.name] > 1
        else router
        for router, path in zip(routers, paths)
    ]


def _check_routers_used(routers: list[ReplayableRouter], results: list[DatasetResult]) -> None:
    for router in routers:
        if not any(
            c.name.split("#")[0] == router.name for r in results for c in r.pooled.candidates
        ):
            reasons = [n for r in results for n in r.notes if n.startswith(router.name)]
            raise DataError(f"--router {router.name}: fits no dataset ({'; '.join(reasons)})")


def _settings(request: ReplayRequest, config: EvalConfig) -> dict[str, Any]:
    return {
        "command": "costroute eval replay",
        "data": request.data,
        "routers": [str(p) for p in request.routers],
        "bootstrap_resamples": config.bootstrap_resamples,
        "confidence": config.confidence,
        "seed": config.seed,
        "human_expert_cost_usd": dict(config.human_expert_cost_usd),
        "model_classes": dict(config.model_classes),
        "base_language": config.base_language,
        "machine": f"{platform.node()} {platform.machine()} python {platform.python_version()}",
    }


def _summary(results: list[DatasetResult], written: list[Path], seconds: float) -> str:
    lines = []
    for r in results:
        lines.append(
            f"{r.name}: {r.n_prompts} prompts, frontier cost-of-pass "
            f"{format_usd(r.pooled.frontier.cost_of_pass_usd)}"
        )
        for c in sorted(r.pooled.candidates, key=lambda c: c.mean_cost_usd):
            lines.append(
                f"  {c.name:<45} {c.kind:<8} acc {100 * c.accuracy:6.2f}%  "
                f"cost {format_usd(c.mean_cost_usd):>12}  "
                f"cost-of-pass {format_usd(c.cost_of_pass_usd):>12}"
            )
    lines.append(
        f"wrote {', '.join(str(p) for p in written[:2])} and {len(written) - 2} plots "
        f"in {seconds:.1f}s"
    )
    return "\n".join(lines)
