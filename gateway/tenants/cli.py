"""`costroute tenants ...`: check tenants.yaml and issue API keys."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
import yaml

from gateway.tenants.keys import add_key
from gateway.tenants.loader import TenantConfigError, default_tenants_path, read_tenants
from gateway.tenants.yaml_edit import EditError, UnknownTenant

app = typer.Typer(help="Manage tenants and their API keys.", no_args_is_help=True,
                  add_completion=False)

FileOption = Annotated[
    Path | None,
    typer.Option("--file", "-f", help="tenants.yaml (default: $COSTROUTE_TENANTS_FILE or ./tenants.yaml)"),
]


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


@app.command("add-key")
def add_key_command(
    tenant: Annotated[str, typer.Argument(help="Name of the tenant that gets the key")],
    file: FileOption = None,
    create: Annotated[bool, typer.Option(
        "--create", help="Add TENANT (and the file) if missing, with no budgets yet")] = False,
) -> None:
    """Create an API key for TENANT: print it once, store only its SHA-256 in the file."""
    path = file or default_tenants_path()
    try:
        new = add_key(path, tenant, create=create)
    except FileNotFoundError:
        _fail(f"{path}: no such file (--create starts one)")
        return
    except UnknownTenant as exc:
        _fail(f"{exc} (--create adds it)")
        return
    except (EditError, TenantConfigError, yaml.YAMLError, OSError) as exc:
        _fail(str(exc))
        return
    if new.added_tenant:
        typer.echo(f"added tenant {tenant!r} to {path}; it has no budgets until you give it "
                   "`budgets:` there", err=True)
    typer.echo(f"new key for {tenant!r} (shown only this once; its hash is in {path}):",
               err=True)
    typer.echo(new.key)


@app.command()
def check(
    file: FileOption = None,
    config: Annotated[Path | None, typer.Option(
        help="gateway.yaml: also check that each learning block names models it serves "
             "(as the gateway does when it loads the file)")] = None,
) -> None:
    """Validate tenants.yaml; errors name the line and field."""
    from gateway.config import ConfigError, load_config
    from gateway.learning.checks import learning_check, served_models
    from pricing import CatalogError

    path = file or default_tenants_path()
    try:
        models = served_models(load_config(config)) if config is not None else None
        checked = read_tenants(path, learning_check(models))
    except (TenantConfigError, ConfigError, CatalogError) as exc:
        _fail(str(exc))
        return
    for warning in checked.warnings:
        typer.echo(f"warning: {warning}", err=True)
    loaded = checked.tenants
    keys = sum(len(t.key_sha256) for t in loaded.tenants)
    typer.echo(f"{path}: {len(loaded.tenants)} tenants, {keys} keys: OK")
