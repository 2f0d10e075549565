"""`costroute spend`: spend by tenant, period, model and route, from the durable log."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from gateway.ledger.base import LedgerCorrupt, SettledEntry, StoreUnavailable
from gateway.ledger.journal import read_journal
from gateway.ledger.redis_store import RedisSpendStore
from gateway.ledger.report import SpendRow, check_dimensions, summarize, total
from gateway.ledger.snapshot import read_header
from gateway.paths import data_dir

SPEND_LOG_ENV = "COSTROUTE_SPEND_LOG"
REDIS_URL_ENV = "COSTROUTE_REDIS_URL"

def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def spend(
    log: Annotated[Path | None, typer.Option(
        "--log", help=f"Spend log of the embedded store (default ${SPEND_LOG_ENV}, else "
        "the one `costroute serve` keeps in its data dir)")] = None,
    redis_url: Annotated[str | None, typer.Option(
        "--redis-url", help=f"Read the Redis ledger instead (default ${REDIS_URL_ENV})")] = None,
    prefix: Annotated[str, typer.Option(help="Redis key prefix of the ledger")] = "costroute",
    tenant: Annotated[str | None, typer.Option(help="Only this tenant")] = None,
    by: Annotated[str, typer.Option(
        help="Comma-separated: tenant, period, model, route, language, tier")
    ] = "tenant,period,model,route",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON rows instead")] = False,
) -> None:
    """Print spend grouped by tenant, period, model and route."""
    dimensions = [d.strip() for d in by.split(",") if d.strip()]
    try:
        check_dimensions(dimensions)
    except ValueError as exc:
        _fail(str(exc))
    entries = _read_entries(log, redis_url, prefix, tenant)
    rows = summarize(entries, dimensions)
    if as_json:
        typer.echo(json.dumps({
            "by": dimensions,
            "rows": [row.as_dict(dimensions) for row in rows],
            "total": total(entries).as_dict(()),
        }, indent=2))
        return
    Console().print(_table(rows, dimensions, total(entries)))


# A one-command app (Typer runs `spend` directly); mount the function itself as a top-level
# command: `app.command("spend")(gateway.ledger.cli.spend)`.
app = typer.Typer(help="Spend reports from the budget ledger.", add_completion=False)
app.command("spend")(spend)


def _read_entries(log: Path | None, redis_url: str | None, prefix: str,
                  tenant: str | None) -> list[SettledEntry]:
    if log is not None and redis_url is not None:
        _fail("give one of --log or --redis-url, not both")
    redis_url = redis_url or (None if log else os.environ.get(REDIS_URL_ENV))
    log = log or (None if redis_url else _env_path(SPEND_LOG_ENV))
    if log is None and redis_url is None:
        # What `costroute serve` writes when its config names no store path (make serve).
        log = data_dir() / "spend.jsonl"
        if not log.exists():
            _fail(f"no spend log at {log}, where `costroute serve` keeps it by default: give "
                  f"--log or --redis-url (or ${SPEND_LOG_ENV} / ${REDIS_URL_ENV})")
    try:
        if log is not None:
            if not log.exists():
                _fail(f"{log}: no such file")
            _warn_if_compacted(log)
            entries = read_journal(log)[0]
            return [e for e in entries if tenant is None or e.record.tenant == tenant]
        assert redis_url is not None
        return asyncio.run(_redis_entries(redis_url, prefix, tenant))
    except (LedgerCorrupt, StoreUnavailable, OSError, ValueError) as exc:
        _fail(str(exc).splitlines()[0])
    return []


async def _redis_entries(url: str, prefix: str, tenant: str | None) -> list[SettledEntry]:
    store = RedisSpendStore.from_url(url, prefix=prefix)
    try:
        entries = await store.entries(tenant)
        drained = await store.drained(tenant)
    finally:
        await store.close()
    if drained:
        # As for a compacted spend log: the report would pass for the whole history.
        were = "entry was" if drained == 1 else "entries were"
        typer.echo(f"note: {drained:,} {were} already drained from Redis into the records "
                   "database and trimmed from its log streams, so this report leaves them "
                   "out. GET /v1/costroute/spend reports the whole history.", err=True)
    return entries


def _warn_if_compacted(log: Path) -> None:
    """A journal cut after its entries were drained into the records database no longer holds
    them: say so, or the report would pass for the whole history."""
    with open(log, "rb") as handle:
        header = read_header(handle)
    if header.generation > 0:
        typer.echo(f"note: {log} was compacted (generation {header.generation}): the entries "
                   "already drained into the records database are not in it. "
                   "GET /v1/costroute/spend reports the whole history.", err=True)


def _env_path(name: str) -> Path | None:
    value = os.environ.get(name)
    return Path(value) if value else None


def _table(rows: list[SpendRow], dimensions: list[str], overall: SpendRow) -> Table:
    table = Table(title="Spend", show_footer=True)
    for position, dimension in enumerate(dimensions):
        footer = "total (each request once)" if position == 0 else ""
        # Every cell folds rather than being cut with an ellipsis on a narrow terminal: two
        # models that share a prefix must stay apart, and no amount may lose digits.
        table.add_column(dimension, footer=footer, overflow="fold")
    numbers = [("requests", overall.requests), ("prompt tokens", overall.prompt_tokens),
               ("completion tokens", overall.completion_tokens)]
    for title, value in numbers:
        table.add_column(title, justify="right", footer=f"{value:,}", overflow="fold")
    table.add_column("cost USD", justify="right", footer=f"{overall.cost_usd:,.6f}",
                     overflow="fold")
    for row in rows:
        table.add_row(*row.group, f"{row.requests:,}", f"{row.prompt_tokens:,}",
                      f"{row.completion_tokens:,}", f"{row.cost_usd:,.6f}")
    return table
