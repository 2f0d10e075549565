"""Writing a replay's report directory: report.json, report.md and the PNG plots."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from eval.report_json import write_report_json
from eval.report_md import render_markdown
from eval.results import DatasetResult


def write_report(
    out_dir: Path,
    results: Sequence[DatasetResult],
    settings: Mapping[str, Any],
    plots: bool = True,
) -> list[Path]:
    """Create `out_dir` and write the report into it; returns the files written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = [out_dir / "report.json", out_dir / "report.md"]
    write_report_json(written[0], results, settings)
    plot_names: dict[str, list[str]] = {}
    if plots:
        from eval.plots import write_plots

        for result in results:
            plot_names[result.name] = write_plots(result, out_dir)
            written += [out_dir / name for name in plot_names[result.name]]
    written[1].write_text(render_markdown(results, settings, plot_names), encoding="utf-8")
    return written
