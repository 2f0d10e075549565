"""`costroute eval`: offline replay reports and live evaluation runs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from eval.errors import EXPECTED_ERRORS, describe

app = typer.Typer(
    help="Evaluate models, routers and cascades: cost-of-pass, frontier, curves.",
    no_args_is_help=True,
)

DEFAULT_SHARED_DATA = Path("../shared/data")


@app.command()
def replay(
    data: Annotated[
        list[str],
        typer.Option(
            "--data",
            help="RouterBench-format CSV/JSONL file or folder, or a built-in name: "
            "routellm-mmlu, routellm-gsm8k, llmrouter. Repeatable.",
        ),
    ],
    out: Annotated[Path, typer.Option("--out", help="Report directory to write.")],
    router: Annotated[
        list[Path] | None,
        typer.Option("--router", help="Trained router or cascade artifact directory. Repeatable."),
    ] = None,
    train: Annotated[
        Path | None,
        typer.Option(
            "--train",
            help="Training outcomes for the per-task lookup baseline (default: "
            "cross-fitted on the evaluation data).",
        ),
    ] = None,
    shared_data: Annotated[
        Path, typer.Option("--shared-data", help="Folder holding the built-in datasets.")
    ] = DEFAULT_SHARED_DATA,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            help="YAML: human_expert_cost_usd, model_classes, base_language, "
            "bootstrap_resamples, confidence, seed.",
        ),
    ] = None,
    prices: Annotated[
        Path | None,
        typer.Option("--prices", help="YAML price overrides merged over the shipped catalog."),
    ] = None,
    bootstrap: Annotated[
        int | None,
        typer.Option("--bootstrap", help="Bootstrap resamples (overrides the config).", min=0),
    ] = None,
    plots: Annotated[bool, typer.Option(help="Write PNG plots.")] = True,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bar.")] = False,
) -> None:
    """Score every model, baseline and --router artifact against recorded outcomes."""
    from eval.run_replay import ReplayRequest, run_replay

    request = ReplayRequest(
        data=list(data),
        out=out,
        routers=list(router or []),
        train=train,
        shared_data=shared_data,
        config=config,
        prices=prices,
        bootstrap=bootstrap,
        plots=plots,
        progress=not quiet,
    )
    try:
        summary = run_replay(request)
    except EXPECTED_ERRORS as exc:
        typer.echo(f"error: {describe(exc)}", err=True)
        raise typer.Exit(2) from None
    typer.echo(summary)


@app.command()
def live(
    data: Annotated[
        str,
        typer.Option("--data", help="Dataset with prompts (and answers in an `answer` column)."),
    ],
    out: Annotated[Path, typer.Option("--out", help="RouterBench-format CSV/JSONL to write.")],
    model: Annotated[
        list[str],
        typer.Option(
            "--model", help="Model (or gateway route alias) to send every prompt to. Repeatable."
        ),
    ],
    base_url: Annotated[
        str,
        typer.Option(
            "--base-url",
            help="Gateway or OpenAI-compatible base URL, e.g. http://localhost:8000/v1.",
        ),
    ] = "http://localhost:8000/v1",
    api_key_env: Annotated[
        str, typer.Option("--api-key-env", help="Environment variable holding the API key.")
    ] = "COSTROUTE_API_KEY",
    grader: Annotated[
        str, typer.Option("--grader", help="exact | choice | numeric | judge:<model>")
    ] = "exact",
    concurrency: Annotated[int, typer.Option("--concurrency", min=1)] = 8,
    cache: Annotated[
        Path | None,
        typer.Option("--cache", help="Response cache directory (default: <out>.cache)."),
    ] = None,
    max_tokens: Annotated[int, typer.Option("--max-tokens", min=1)] = 512,
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, help="Only the first N prompts.")
    ] = None,
    shared_data: Annotated[Path, typer.Option("--shared-data")] = DEFAULT_SHARED_DATA,
    prices: Annotated[
        Path | None,
        typer.Option("--prices", help="YAML price overrides, for responses without a cost header."),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bar.")] = False,
) -> None:
    """Send a dataset's prompts through a gateway, grade the answers, write outcomes."""
    from eval.run_live import LiveRequest, run_live_command

    request = LiveRequest(
        data=data,
        out=out,
        models=list(model),
        base_url=base_url,
        api_key_env=api_key_env,
        grader=grader,
        concurrency=concurrency,
        cache=cache,
        max_tokens=max_tokens,
        limit=limit,
        shared_data=shared_data,
        prices=prices,
        progress=not quiet,
    )
    try:
        summary = run_live_command(request)
    except EXPECTED_ERRORS as exc:
        typer.echo(f"error: {describe(exc)}", err=True)
        raise typer.Exit(2) from None
    typer.echo(summary)
