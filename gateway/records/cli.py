"""`costroute learn status`: how much captured and labelled traffic the records store holds.

    costroute learn status [--config gateway.yaml] [--tenant T] [--gateway-url URL] [--json]

The store is the one gateway.yaml's `records:` names (default: records.sqlite3 in the data
directory, as `costroute serve` uses). `--gateway-url` also reads a running gateway's
/metrics for its outbox: depth, written, dropped and failed writes.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from gateway.records.base import LabelCounts, RecordStoreUnavailable

app = typer.Typer(help="The learning loop: captured traffic and its labels.",
                  no_args_is_help=True, add_completion=False)

OUTBOX_METRICS = {
    "costroute_records_outbox_depth": "outbox depth",
    "costroute_records_written_total": "written",
    "costroute_records_dropped_total": "dropped",
    "costroute_records_write_failures_total": "failed writes (retried)",
}


@app.callback()
def _group() -> None:
    """The learning loop: captured traffic and its labels."""


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


@app.command()
def status(
    config: Annotated[Path | None, typer.Option(
        help="gateway.yaml whose `records:` to read; default: the embedded SQLite file")] = None,
    tenant: Annotated[str | None, typer.Option(help="Only this tenant")] = None,
    gateway_url: Annotated[str | None, typer.Option(
        help="A running gateway (http://host:port): also show its outbox figures")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead")] = False,
) -> None:
    """Requests captured, and labels per model, route and source."""
    counts = _counts(config, tenant)
    outbox = _outbox_figures(gateway_url) if gateway_url else None
    if as_json:
        typer.echo(json.dumps({"tenant": tenant, "requests": counts.requests,
                               "captured": counts.captured,
                               "labels_by_model": dict(counts.labels_by_model),
                               "labels_by_route": dict(counts.labels_by_route),
                               "labels_by_source": dict(counts.labels_by_source),
                               "outbox": outbox}, indent=2))
        return
    console = Console()
    summary = Table(title=f"records{f' of {tenant}' if tenant else ''}", show_header=False)
    summary.add_row("requests", str(counts.requests))
    summary.add_row("captured (with prompt)", str(counts.captured))
    summary.add_row("labels", str(sum(counts.labels_by_source.values())))
    for name, value in (outbox or {}).items():
        summary.add_row(name, f"{value:g}")
    console.print(summary)
    for title, column in (("labels per model", "model"), ("labels per route", "route"),
                          ("labels per source", "source")):
        rows = getattr(counts, f"labels_by_{column}")
        table = Table(title=title)
        table.add_column(column)
        table.add_column("labels", justify="right")
        for key, n in sorted(rows.items(), key=lambda kv: (-kv[1], kv[0])):
            table.add_row(key, str(n))
        if not rows:
            table.add_row("(none yet)", "0")
        console.print(table)


def _counts(config: Path | None, tenant: str | None) -> LabelCounts:
    from gateway.config import ConfigError, RecordsConfig, load_config
    from gateway.paths import data_dir
    from gateway.records.factory import open_record_store

    try:
        settings = load_config(config).records if config else RecordsConfig()
        store = open_record_store(settings, data_dir())
    except ConfigError as exc:
        _fail(str(exc))
        raise
    if store is None:
        _fail("this gateway keeps no records (`records: {kind: none}`)")
        raise AssertionError
    if settings.kind == "memory":
        _fail("`records: {kind: memory}` lives inside the gateway process; use --gateway-url")
    path = getattr(store, "path", None)
    if isinstance(path, Path) and not path.exists():
        _fail(f"{path}: no records yet (no tenant has `learning: {{capture: true}}`?)")

    async def read() -> LabelCounts:
        try:
            return await store.counts(tenant)
        finally:
            await store.aclose()

    try:
        return asyncio.run(read())
    except RecordStoreUnavailable as exc:
        _fail(str(exc))
        raise


def _outbox_figures(url: str) -> dict[str, float]:
    import httpx
    from prometheus_client.parser import text_string_to_metric_families

    try:
        text = httpx.get(f"{url.rstrip('/')}/metrics", timeout=5, trust_env=False).text
    except httpx.HTTPError as exc:
        _fail(f"{url}/metrics: {exc}")
    found: dict[str, Any] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            label = OUTBOX_METRICS.get(sample.name)
            if label is not None:
                found[label] = found.get(label, 0.0) + sample.value
    return found
