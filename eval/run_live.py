"""The `costroute eval live` pipeline: load prompts, call, grade, write outcomes."""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from eval.graders import make_grader
from eval.live import HttpTransport, LiveItem, LiveRunner, LiveStats
from eval.live_cache import ResponseCache
from eval.live_inputs import load_live_items
from eval.metrics import format_usd
from eval.progress import NullProgress, ProgressReporter, RichProgress
from eval.run_replay import load_catalog
from pricing import PriceCatalog
from routers.datasets import RoutingDataset, save_routerbench


@dataclass(frozen=True)
class LiveRequest:
    """Everything `costroute eval live` was asked to do."""

    data: str
    out: Path
    models: list[str]
    base_url: str = "http://localhost:8000/v1"
    api_key_env: str = "COSTROUTE_API_KEY"
    grader: str = "exact"
    concurrency: int = 8
    cache: Path | None = None
    max_tokens: int = 512
    limit: int | None = None
    shared_data: Path = Path("../shared/data")
    prices: Path | None = None
    progress: bool = False


def run_live_command(request: LiveRequest) -> str:
    """Run the live evaluation, write the dataset, and return a summary for the terminal."""
    if request.out.suffix not in (".csv", ".jsonl"):
        raise ValueError(f"--out {request.out}: must end in .csv or .jsonl")
    items = load_live_items(request.data, request.shared_data, request.limit)
    catalog = load_catalog(request.prices)
    cache = ResponseCache(request.cache or request.out.with_suffix(request.out.suffix + ".cache"))
    reporter: ProgressReporter = RichProgress() if request.progress else NullProgress()
    try:
        dataset, stats = asyncio.run(_run(request, items, catalog, cache, reporter))
    finally:
        reporter.close()
    request.out.parent.mkdir(parents=True, exist_ok=True)
    save_routerbench(dataset, request.out)
    return _summary(dataset, stats, request.out)


async def _run(
    request: LiveRequest,
    items: list[LiveItem],
    catalog: PriceCatalog,
    cache: ResponseCache,
    reporter: ProgressReporter,
) -> tuple[RoutingDataset, LiveStats]:
    transport = HttpTransport(request.base_url, os.environ.get(request.api_key_env))
    runner = LiveRunner(
        transport, catalog, cache, request.concurrency, request.max_tokens, progress=reporter
    )
    try:
        grader = make_grader(request.grader, runner.judge_call)
        dataset = await runner.run(items, request.models, grader)
    finally:
        await transport.aclose()
    return dataset, runner.stats


def _summary(dataset: RoutingDataset, stats: LiveStats, out: Path) -> str:
    lines = [
        f"{len(dataset)} prompts x {len(dataset.models)} models -> {out}",
        (
            f"paid calls {stats.paid_calls} ({format_usd(stats.spent_usd)}), "
            f"from cache {stats.cached_calls} ({format_usd(stats.cached_usd)} not paid again)"
        ),
    ]
    for j, model in enumerate(dataset.models):
        known = dataset.scores[:, j][~np.isnan(dataset.scores[:, j])]
        acc = f"{100 * known.mean():.2f}%" if known.size else "n/a"
        lines.append(f"  {model}: accuracy {acc} over {known.size} answered")
    if stats.errors:
        lines.append(f"{len(stats.errors)} calls failed (rerun to retry); first: {stats.errors[0]}")
    return "\n".join(lines)
