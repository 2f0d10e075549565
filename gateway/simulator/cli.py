"""`costroute simulate`: serve the OpenAI-compatible upstream simulator from the command line.

`app` has no sub-commands: its callback is the command, so `add_typer(app, name="simulate")`
gives `costroute simulate --port 8100`, and standalone it runs as
`python -m gateway.simulator --port 8100`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from gateway.simulator.app import create_simulator_app
from gateway.simulator.config import SimulatorConfig
from gateway.simulator.profiles import ProfileError
from gateway.simulator.server import (
    READY_PREFIX,
    SimulatorServer,
    bind_socket,
    url_of,
    uvicorn_config,
)
from pricing import TokenizerRegistry

app = typer.Typer(
    help="The OpenAI-compatible upstream simulator (recorded and synthetic answers).",
    add_completion=False,
)


def _fail(message: str) -> typer.Exit:
    typer.echo(f"costroute simulate: {message}", err=True)
    return typer.Exit(code=2)


@app.callback(invoke_without_command=True)
def run(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(help="TCP port; 0 picks a free one (printed at start).")
    ] = 8100,
    latency_scale: Annotated[
        float, typer.Option("--latency-scale", help="Multiply simulated latency; 0 answers at once.")
    ] = 1.0,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic answers.")] = 0,
    api_key_env: Annotated[
        str | None,
        typer.Option("--api-key-env", help="Require `Authorization: Bearer $NAME` on /v1."),
    ] = None,
    models: Annotated[
        Path | None,
        typer.Option("--models", help="A models YAML replacing gateway/simulator/models.yaml."),
    ] = None,
    recordings: Annotated[
        Path | None,
        typer.Option("--recordings", help="Recordings (.jsonl.gz) replacing the shipped GSM8K "
                     "ones; `python -m gateway.simulator.routing_data` writes them."),
    ] = None,
    judge_flip: Annotated[
        float, typer.Option("--judge-flip",
                            help="ε: chance costroute-simulated-judge flips a recorded grade."),
    ] = 0.0,
    no_control: Annotated[
        bool, typer.Option("--no-control", help="Disable the /_simulator/* endpoints.")
    ] = False,
    access_log: Annotated[bool, typer.Option("--access-log", help="Log every request.")] = False,
) -> None:
    """Serve simulated OpenAI-compatible models until interrupted."""
    if not 0 <= port <= 65535:
        raise _fail(f"--port must be between 0 and 65535, got {port}")
    if latency_scale < 0:
        raise _fail(f"--latency-scale must be >= 0, got {latency_scale}")
    if not 0 <= judge_flip <= 1:
        raise _fail(f"--judge-flip must be between 0 and 1, got {judge_flip}")
    api_key = _api_key(api_key_env)
    tokenizers = TokenizerRegistry()
    config = SimulatorConfig(
        latency_scale=latency_scale,
        seed=seed,
        api_key=api_key,
        models_path=models,
        recordings_path=recordings,
        judge_flip=judge_flip,
        control=not no_control,
        tokenizers=tokenizers,
    )
    try:
        simulator_app = create_simulator_app(config)
    except ProfileError as exc:
        raise _fail(str(exc)) from None
    # Load every tokenizer now, so the first request is not the one that pays for it.
    for profile in simulator_app.state.simulator.profiles.values():
        tokenizers.get(profile.tokenizer)
    try:
        sock = bind_socket(host, port)
    except OSError as exc:
        raise _fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    typer.echo(f"{READY_PREFIX}{url_of(sock)}/v1", color=False)
    server = SimulatorServer(
        uvicorn_config(simulator_app, log_level="info" if access_log else "warning",
                       access_log=access_log, console_logs=True)
    )
    server.run(sockets=[sock])


def _api_key(env_name: str | None) -> str | None:
    if env_name is None:
        return None
    value = os.environ.get(env_name, "").strip()
    if not value:
        raise _fail(f"--api-key-env {env_name}: that environment variable is not set")
    return value
