"""`costroute learn status` and `learn purge`: what the records store holds, and retention.

    costroute learn status [--config gateway.yaml] [--tenant T] [--gateway-url URL] [--json]
    costroute learn purge --older-than 30d [--tenant T] [--dry-run] [--config ...] [--json]
    costroute learn export --out traffic.csv [--tenant T] [--split all|train|held-out] ...

The store is the one gateway.yaml's `records:` names (default: records.sqlite3 in the data
directory, as `costroute serve` uses). `--gateway-url` also reads a running gateway's
/metrics for its outbox: depth, written, dropped and failed writes (in --json: `depth`,
`written`, `dropped`, `failed_writes`, whole numbers). Status names the routes that are never
shadow-labelled (multi-call: cascade, minions), and a `--tenant` with no records is said to
be unknown when the tenants file lacks it too (exit 2), else noted on stderr.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from gateway.config import GatewayConfig, RecordsConfig
from gateway.records.base import PurgeCounts, RecordStore, RecordStoreUnavailable
from gateway.records.spend_sql import DAY_S

T = TypeVar("T")
_AGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNIT_S = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86_400.0, "w": 604_800.0}

app = typer.Typer(help="The learning loop: captured traffic and its labels.",
                  no_args_is_help=True, add_completion=False)

# metric -> (key in --json, label in the table)
OUTBOX_METRICS = {
    "costroute_records_outbox_depth": ("depth", "outbox depth"),
    "costroute_records_written_total": ("written", "written"),
    "costroute_records_dropped_total": ("dropped", "dropped"),
    "costroute_records_write_failures_total": ("failed_writes", "failed writes (retried)"),
}
OUTBOX_LABELS = dict(OUTBOX_METRICS.values())
# Route kinds that answer with several calls: captured and rated, never shadow-labelled.
MULTI_CALL_ROUTERS = frozenset({"cascade", "minion", "minions"})


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
    gateway_config = _gateway_config(config)
    settings = gateway_config.records if config is not None else RecordsConfig()
    counts = _with_store(settings, lambda store: store.counts(tenant))
    if tenant is not None and counts.requests == 0 and not counts.labels_by_source:
        _no_records_of(tenant, gateway_config)
    outbox = _outbox_figures(gateway_url) if gateway_url else None
    unlabelled = multi_call_routes(gateway_config)
    if as_json:
        typer.echo(json.dumps({"tenant": tenant, "requests": counts.requests,
                               "captured": counts.captured,
                               "labels_by_model": dict(counts.labels_by_model),
                               "labels_by_route": dict(counts.labels_by_route),
                               "labels_by_source": dict(counts.labels_by_source),
                               "not_shadow_labelled_routes": unlabelled,
                               "outbox": outbox}, indent=2))
        return
    console = Console()
    summary = Table(title=f"records{f' of {tenant}' if tenant else ''}", show_header=False)
    summary.add_row("requests", str(counts.requests))
    summary.add_row("captured (with prompt)", str(counts.captured))
    summary.add_row("labels", str(sum(counts.labels_by_source.values())))
    for key, value in (outbox or {}).items():
        summary.add_row(OUTBOX_LABELS[key], str(value))
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
    if unlabelled:
        console.print(f"not shadow-labelled: {', '.join(unlabelled)} (multi-call routes: their "
                      "answer is several models' work, so it is captured and rated by client "
                      "feedback only)", soft_wrap=True, markup=False)


def multi_call_routes(config: GatewayConfig) -> list[str]:
    """The routes whose requests are never shadow-labelled (cascade, minions), sorted."""
    return sorted(alias for alias, route in config.routes.items()
                  if route.router in MULTI_CALL_ROUTERS)


def _gateway_config(config: Path | None) -> GatewayConfig:
    """gateway.yaml's config, else the embedded defaults (`costroute serve` without one)."""
    from gateway.config import ConfigError, load_config

    if config is None:
        from gateway.defaults import default_config

        return default_config("http://127.0.0.1:8000/simulator/v1")
    try:
        return load_config(config)
    except ConfigError as exc:
        _fail(str(exc))
        raise


def _no_records_of(tenant: str, config: GatewayConfig) -> None:
    """No request and no label of `tenant`: an error if the tenants file does not know the
    name either (a typo), else a note on stderr."""
    from gateway.tenants.loader import TenantConfigError, load_tenants, tenants_path_from_env

    named = config.tenants_file or tenants_path_from_env()
    path = Path(named) if named else Path("tenants.yaml")
    if named or path.exists():
        try:
            names = [t.name for t in load_tenants(path).tenants]
        except TenantConfigError:
            names = None  # a broken file says nothing about the name; `tenants check` does
        if names is not None and tenant not in names:
            _fail(f"no tenant {tenant!r} in {path} (its tenants: {', '.join(names) or 'none'}),"
                  " and no records of it")
    typer.echo(f"note: no records of tenant {tenant!r} (is the name right? tenants capture "
               "with `learning: {capture: true}`)", err=True)


def _settings(config: Path | None) -> RecordsConfig:
    from gateway.config import ConfigError, load_config

    try:
        return load_config(config).records if config else RecordsConfig()
    except ConfigError as exc:
        _fail(str(exc))
        raise


def _with_store(settings: RecordsConfig, work: Callable[[RecordStore], Awaitable[T]]) -> T:
    """Runs `work` on the records store gateway.yaml names, and closes it."""
    from gateway.config import ConfigError
    from gateway.paths import data_dir
    from gateway.records.factory import open_record_store

    try:
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

    async def run() -> T:
        try:
            return await work(store)
        finally:
            await store.aclose()

    try:
        return asyncio.run(run())
    except RecordStoreUnavailable as exc:
        _fail(str(exc))
        raise


def parse_age(text: str) -> float:
    """`30d`, `12h`, `90m`, `3600s`, `2w` -> seconds; ValueError otherwise."""
    match = _AGE.match(text)
    if match is None or float(match.group(1)) <= 0:
        raise ValueError(f"{text!r} is not an age: a positive number and a unit, one of "
                         "s, m, h, d, w (for example 30d)")
    return float(match.group(1)) * _UNIT_S[match.group(2)]


@app.command()
def purge(
    older_than: Annotated[str | None, typer.Option(
        help="Delete records older than this: 30d, 12h, 90m, 3600s, 2w; default: "
             "gateway.yaml's records.retention_days (with --spend, spend_retention_days)")
    ] = None,
    tenant: Annotated[str | None, typer.Option(help="Only this tenant's records")] = None,
    spend: Annotated[bool, typer.Option(
        "--spend", help="Delete per-request spend rows instead (the by-request listing); "
        "the daily and hourly spend totals stay")] = False,
    hourly: Annotated[bool, typer.Option(
        "--hourly", help="With --spend: delete the hourly spend totals of the whole days "
        "before the age instead (default age: spend_hourly_retention_days); the daily "
        "totals stay")] = False,
    config: Annotated[Path | None, typer.Option(
        help="gateway.yaml whose `records:` to purge; default: the embedded SQLite file")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Count, delete nothing")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead")] = False,
) -> None:
    """Deletes captured requests older than an age, their labels and their text vectors."""
    if hourly and not spend:
        _fail("--hourly goes with --spend: it purges the hourly spend totals")
    settings = _settings(config)
    days, setting = ((settings.spend_hourly_retention_days, "spend_hourly_retention_days")
                     if hourly else
                     (settings.spend_retention_days, "spend_retention_days") if spend
                     else (settings.retention_days, "retention_days"))
    if older_than is not None:
        try:
            age_s = parse_age(older_than)
        except ValueError as exc:
            _fail(str(exc))
            raise
    elif days is not None:
        age_s = days * DAY_S
    else:
        _fail(f"say how old: --older-than 30d (or set records.{setting} in gateway.yaml)")
        raise AssertionError
    before = time.time() - age_s
    stamp = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(before))
    whose = f"tenant {tenant}'s" if tenant else "all tenants'"
    verb = "would delete" if dry_run else "deleted"
    if spend:
        rows: int = _with_store(settings, lambda store: _purge_spend(store, before, tenant,
                                                                     dry_run, hourly))
        if as_json:
            key = "hourly_rows" if hourly else "spend_rows"
            typer.echo(json.dumps({"tenant": tenant, "before": before, "dry_run": dry_run,
                                   key: rows}, indent=2))
            return
        if hourly:
            day = time.strftime("%Y-%m-%d", time.gmtime(before))
            typer.echo(f"{verb} {whose} hourly spend totals of the days before {day}: {rows} "
                       "(daily totals kept)")
            return
        typer.echo(f"{verb} {whose} per-request spend rows from before {stamp}: {rows} "
                   "(daily and hourly totals kept)")
        return
    counts: PurgeCounts = _with_store(
        settings, lambda store: store.purge(before, tenant, dry_run=dry_run))
    if as_json:
        typer.echo(json.dumps({"tenant": tenant, "before": before, "dry_run": dry_run,
                               **counts.as_dict()}, indent=2))
        return
    typer.echo(f"{verb} {whose} records from before {stamp}: {counts.requests} requests, "
               f"{counts.labels} labels, {counts.vectors} text vectors"
               + (" (at most)" if dry_run and tenant is None else ""))


async def _purge_spend(store: RecordStore, before: float, tenant: str | None,
                       dry_run: bool, hourly: bool) -> int:
    from gateway.records.spend_history import SpendHistory

    if not isinstance(store, SpendHistory):  # sqlite and postgres do; _with_store refused the rest
        raise TypeError(f"{type(store).__name__} keeps no spend history")
    purge = store.purge_spend_hourly if hourly else store.purge_spend
    return await purge(before, tenant, dry_run=dry_run)


@app.command()
def export(
    out: Annotated[Path, typer.Option(help="The file to write: .csv or .jsonl")],
    tenant: Annotated[str | None, typer.Option(help="Only this tenant's traffic")] = None,
    metric: Annotated[str, typer.Option(help="Which feedback metric's labels")] = "default",
    since: Annotated[float | None, typer.Option(
        help="Only traffic after this unix time")] = None,
    split: Annotated[str, typer.Option(
        help="all, or the trainers' split of it: train, held-out")] = "all",
    answers: Annotated[bool, typer.Option(
        help="Also each model's answer (where kept unredacted)")] = True,
    config: Annotated[Path | None, typer.Option(
        help="gateway.yaml whose `records:` to read; default: the embedded SQLite file")] = None,
) -> None:
    """Labelled traffic as a RouterBench-format dataset (loads in eval replay and train)."""
    from gateway.records.export import export_outcomes
    from routers.datasets.records import NoOutcomesError
    from routers.datasets.routerbench import SUFFIXES

    if out.suffix not in SUFFIXES:
        _fail(f"{out}: the file must end in .csv or .jsonl")
    if split not in ("all", "train", "held-out"):
        _fail(f"--split {split!r}: one of all, train, held-out")
    if not out.parent.is_dir():  # before reading the store: say it at once
        _fail(f"{out}: no such directory: {out.parent}")
    try:
        done = _with_store(_settings(config), lambda store: export_outcomes(
            store, out, tenant, metric=metric, since=since, split=split,  # type: ignore[arg-type]
            answers=answers))
    except NoOutcomesError as exc:
        _fail(f"nothing to export: {exc}")
        raise
    except OSError as exc:  # not writable, a directory, the disk full...
        _fail(f"cannot write {out}: {exc.strerror or exc}")
        raise
    kept = ""
    if done.answers is not None:
        kept = (f"; answers: {done.answers.usable} kept, {done.answers.redacted} redacted "
                f"(left out), {done.answers.not_recorded} not recorded")
    typer.echo(f"wrote {out}: {done.rows} prompts x {len(done.models)} models, "
               f"{done.labels} labels{kept}")


def _outbox_figures(url: str) -> dict[str, int]:
    import httpx
    from prometheus_client.parser import text_string_to_metric_families

    try:
        text = httpx.get(f"{url.rstrip('/')}/metrics", timeout=5, trust_env=False).text
    except httpx.HTTPError as exc:
        _fail(f"{url}/metrics: {exc}")
    found: dict[str, int] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            named = OUTBOX_METRICS.get(sample.name)
            if named is not None:  # counts and a depth: whole numbers (summed over workers)
                found[named[0]] = found.get(named[0], 0) + int(sample.value)
    return found
