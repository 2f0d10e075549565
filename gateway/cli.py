"""The `costroute` command line."""

from __future__ import annotations

import contextlib
import importlib
import os
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="costroute: a cost-aware, OpenAI-compatible LLM gateway.",
                  no_args_is_help=True, add_completion=False)


@app.callback()
def _root() -> None:
    """costroute: a cost-aware, OpenAI-compatible LLM gateway."""


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


@app.command()
def serve(
    config: Annotated[Path | None, typer.Option(help="gateway.yaml; default: embedded defaults")] = None,
    host: Annotated[str, typer.Option(help="Interface to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to bind")] = 8000,
    local_model_url: Annotated[str | None, typer.Option(
        help="With embedded defaults: base URL of a llama.cpp server for the local tier")] = None,
    local_model: Annotated[bool, typer.Option(
        "--local-model", help="With embedded defaults: start SmolLM2-135M (llama.cpp) as the "
        "local tier; needs the `local` extra")] = False,
    log_level: Annotated[str, typer.Option(help="debug, info, warning")] = "info",
    workers: Annotated[int, typer.Option(
        help="Worker processes on one port (one per core); more than 1 needs a Redis store",
        min=1)] = 1,
    tenants: Annotated[Path | None, typer.Option(
        help="With embedded defaults: serve the tenants of this tenants.yaml (their keys, "
        "budgets, learning) instead of the demo tenant")] = None,
) -> None:
    """Serve the gateway (OpenAI-compatible API under /v1)."""
    from gateway.logs import configure_logging

    configure_logging(log_level)
    # The server's stderr is its JSON-lines log: a progress bar from loading an embedding
    # model (transformers' "Loading weights") would break it. Workers inherit this.
    os.environ.setdefault("TQDM_DISABLE", "1")
    with contextlib.ExitStack() as stack:
        if local_model and config is None and local_model_url is None:
            from gateway.localmodel import LocalModelUnavailable, serve_local_model

            try:
                local_model_url = stack.enter_context(serve_local_model())
            except LocalModelUnavailable as exc:
                _fail(str(exc))
            typer.echo(f"local tier: SmolLM2-135M at {local_model_url}", err=True)
        _serve(config, host, port, local_model_url, workers, log_level, tenants)


def _serve(config: Path | None, host: str, port: int, local_model_url: str | None,
           workers: int = 1, log_level: str = "info", tenants: Path | None = None) -> None:
    import uvicorn

    from gateway.config import ConfigError, load_config
    from gateway.defaults import DEMO_KEY_ENV, default_config, demo_tenant, new_demo_key
    from gateway.server import ServeOptions, make_app
    from gateway.tenants.loader import TenantConfigError
    from pricing import CatalogError

    try:
        if config is None:
            sim_host = "127.0.0.1" if host in ("0.0.0.0", "::") else host
            gateway_config = default_config(f"http://{sim_host}:{port}/simulator/v1",
                                            local_model_url)
            if tenants is not None:
                # Watched and reloaded like any tenants_file: `costroute tenants add-key`
                # against it takes effect while serving.
                gateway_config.tenants_file = str(tenants.resolve())
                options = ServeOptions(gateway_config)
            else:
                key = os.environ.get(DEMO_KEY_ENV)
                if not key:
                    key = new_demo_key()
                    typer.echo(f"demo tenant API key (set {DEMO_KEY_ENV} to choose it): {key}",
                               err=True)
                options = ServeOptions(gateway_config, [demo_tenant(key)])
        elif tenants is not None:
            _fail("--tenants is for the embedded defaults; with --config, name the file as "
                  "`tenants_file` in gateway.yaml")
            return
        else:
            options = ServeOptions(load_config(config))
        if workers > 1:
            from gateway.workers import check_workers

            check_workers(options.config, workers)
        asgi = make_app(options)
    except (ConfigError, CatalogError, TenantConfigError, ValueError) as exc:
        _fail(str(exc))
        return
    # uvicorn's own start-up lines are off (log level warning): say where to point clients.
    shown = f"[{host}]" if ":" in host else host
    typer.echo(f"costroute: serving http://{shown}:{port}/v1 (console http://{shown}:{port}/ui/"
               f"{f', {workers} workers' if workers > 1 else ''})", err=True)
    if workers > 1 and config is not None:
        from uvicorn.config import STARTUP_FAILURE

        from gateway.workers import run_workers, shared_metrics, worker_env

        worker_env(config, log_level)
        with shared_metrics():
            served = run_workers(uvicorn.Config(
                "gateway.workers:app_from_env", factory=True, workers=workers, host=host,
                port=port, log_level="warning", access_log=False,
                timeout_graceful_shutdown=int(options.config.server.drain_timeout_s)))
        if not served:
            typer.echo("error: a worker failed to start (its error is above); the server "
                       "stopped", err=True)
            raise typer.Exit(STARTUP_FAILURE)
        return
    from gateway.gc_tuning import after_startup

    uvicorn.run(after_startup(asgi), host=host, port=port, log_level="warning",
                access_log=False,
                timeout_graceful_shutdown=int(options.config.server.drain_timeout_s))


def _mount(module: str, name: str, help_text: str, attribute: str = "app") -> None:
    """Adds a package's own Typer sub-app, if that package provides one."""
    try:
        sub = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name and module.startswith(exc.name):
            return
        raise
    sub_app = getattr(sub, attribute, None)
    if sub_app is not None:
        app.add_typer(sub_app, name=name, help=help_text)


def main() -> None:
    from gateway.ledger.cli import spend

    app.command("spend", help="Print recorded spend by tenant, period, model and route.")(spend)
    _mount("gateway.simulator.cli", "simulate", "Run the bundled OpenAI-compatible simulator.")
    _mount("gateway.tenants.cli", "tenants", "Manage tenants and their API keys.")
    _mount("pricing.cli", "pricing", "Price catalog, token counts and language premiums.")
    _mount("routers.cli", "train", "Train routers and cascades from routing data.")
    _mount("routers.cli", "calibrate", "Map a traffic share or USD budget to a router knob.",
           "calibrate_app")
    _mount("routers.cli", "knn", "Inspect and grow k-NN router artifacts.", "knn_app")
    _mount("gateway.artifacts.cli", "router",
           "Router artifact versions: evaluate, promote, roll back.")
    _mount("eval.cli", "eval", "Offline evaluation: cost-of-pass and router curves.")
    _mount("gateway.records.cli", "learn", "Learning from traffic: captured records and labels.")
    app(prog_name="costroute")


if __name__ == "__main__":
    main()
