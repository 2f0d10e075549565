"""`costroute train cascade`: scorer + cascade strategy + Pareto set from routing data.

Bad input ends with a one-line message and exit code 2. Heavy imports (torch,
sentence-transformers, scipy) happen inside the command, never when the CLI loads.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from routers.cli_support import ERRORS
from routers.cli_support import build_embedder as _embedder
from routers.cli_support import fail as _fail


def train_cascade(
    data: Annotated[
        Path | None,
        typer.Option(
            help="RouterBench-format CSV/JSONL file or folder, with M|model_response columns"
        ),
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Artifact directory to write")] = None,
    budget: Annotated[
        float | None,
        typer.Option(help="Maximise accuracy with mean cost ≤ this many USD per query"),
    ] = None,
    quality_target: Annotated[
        float | None,
        typer.Option(
            help="Minimise cost with accuracy ≥ this (0-1); default: the best single model's"
        ),
    ] = None,
    max_depth: Annotated[int, typer.Option(help="Longest cascade searched (1-3)")] = 3,
    seed: Annotated[int, typer.Option(help="Seed of the scorer's folds")] = 0,
    embedder: Annotated[str, typer.Option(help="minilm, or hashing (tests only)")] = "minilm",
    embedding_cache: Annotated[
        Path | None, typer.Option(help="A .npz file keeping embeddings between runs")
    ] = None,
    scorer: Annotated[
        str,
        typer.Option(
            help="full (query + answer embeddings), fast (query embedding + hand features: "
            "no MiniLM call per stage), or auto: fast unless full's out-of-fold AUROC on "
            "this data is better by more than 0.01"
        ),
    ] = "auto",
    compare_frugalgpt: Annotated[
        bool, typer.Option(help="Also run FrugalGPT's solver on the same scores and record both")
    ] = True,
    signals: Annotated[
        str,
        typer.Option(
            help="none, agreement (stacked heads on answer agreement, and parallel stages of "
            "the cheapest models), or agreement+verifier (also run code answers in the "
            "sandbox); the served cascade uses the same signals"
        ),
    ] = "none",
    pair_models: Annotated[
        int, typer.Option(help="Parallel stages among this many cheapest models (with signals)")
    ] = 4,
    vote_sizes: Annotated[str, typer.Option(
        help="Sizes of those parallel stages, comma-separated: 2 is a pair, 3 or more a "
        "majority vote (e.g. 2,3)")] = "2",
    from_records: Annotated[bool, typer.Option(
        "--from-records", help="Train a new registry version on a tenant's labelled traffic "
        "and recorded answers (the records store of --config) instead of --data")] = False,
    tenant: Annotated[str | None, typer.Option(help="With --from-records: whose traffic")] = None,
    route: Annotated[str, typer.Option(
        help="With --from-records: the route the version is for (its parent serves it)")
    ] = "router:cascade",
    metric: Annotated[str, typer.Option(help="With --from-records: feedback metric")] = "default",
    since: Annotated[float | None, typer.Option(
        help="With --from-records: only traffic after this unix time")] = None,
    config: Annotated[Path | None, typer.Option(
        help="With --from-records: gateway.yaml naming the records store and registry")] = None,
) -> None:
    """Train the answer scorer and search cascade strategies; write a versioned artifact."""
    from routers.cascade.artifact import save_artifact
    from routers.cascade.fit_scorer import ScorerConfig
    from routers.cascade.train import CascadeConfig, fit_cascade
    from routers.datasets import load_routerbench
    from routers.train_progress import RichTrainProgress

    if budget is not None and quality_target is not None:
        _fail("give --budget or --quality-target, not both")
    if budget is not None and budget <= 0:
        _fail("--budget must be a positive USD amount per query")
    if quality_target is not None and not 0.0 < quality_target <= 1.0:
        _fail("--quality-target must be in (0, 1]")
    if scorer not in ("auto", "full", "fast"):
        _fail("--scorer must be auto, full or fast")
    if not 1 <= max_depth <= 3:
        _fail("--max-depth must be 1, 2 or 3")
    if signals not in ("none", "agreement", "agreement+verifier"):
        _fail("--signals must be none, agreement or agreement+verifier")
    try:
        sizes = tuple(sorted({int(x) for x in vote_sizes.split(",") if x.strip()}))
    except ValueError:
        sizes = ()
    if not sizes or min(sizes) < 2:
        _fail("--vote-sizes must be whole numbers of at least 2, e.g. 2,3")
    cascade = CascadeConfig(
        budget_usd=budget,
        quality_target=quality_target,
        max_depth=max_depth,
        seed=seed,
        scorer=ScorerConfig(embed_answer=scorer == "full"),
        choose_scorer=scorer == "auto",
        compare_frugalgpt=compare_frugalgpt,
    )
    if from_records:
        if not tenant:
            _fail("--from-records needs --tenant")
        if signals != "none":
            _fail("--signals needs --data: training from records does not fit signal heads yet")
        if data is not None or out is not None:  # as train knn: one source, one destination
            _fail("--from-records trains on the records store and writes a registry version; "
                  "--data and --out are for training on a file instead: give one or the other")
        # The gateway owns records and the registry; imported only for this mode.
        from gateway.artifacts.cli import train_cascade_from_records

        options = [f"--max-depth={max_depth}", f"--seed={seed}", f"--scorer={scorer}",
                   f"--embedder={embedder}"]
        options += [f"--budget={budget}"] if budget is not None else []
        options += [f"--quality-target={quality_target}"] if quality_target is not None else []
        try:
            train_cascade_from_records(config, tenant, route, metric, since,
                                       _embedder(embedder, embedding_cache), cascade, options)
        except ERRORS as exc:
            _fail(str(exc))
        return
    if data is None or out is None:
        _fail("give --data and --out, or --from-records --tenant T")
        return
    typer.echo(f"loading {data}", err=True)
    try:
        ds = load_routerbench(data)
        with RichTrainProgress() as progress:
            trained = fit_cascade(
                ds, _embedder(embedder, embedding_cache), cascade, progress  # type: ignore[arg-type]
            )
            artifact = trained.artifact
            if signals != "none":
                artifact = _with_signals(trained, cascade, signals, pair_models, progress,
                                         sizes)
        save_artifact(artifact, out)
    except ERRORS as exc:
        _fail(str(exc))
        return
    manifest = artifact.manifest
    strategy = artifact.strategy
    typer.echo(
        f"trained on {manifest['data_rows']} prompts x {len(manifest['models'])} models -> {out}"
        f" in {manifest['training']['seconds']:.1f} s"
    )
    for model, m in manifest["metrics"]["scorer_out_of_fold"].items():
        auc = "n/a" if m["auroc"] is None else f"{m['auroc']:.3f}"
        typer.echo(f"  scorer {model}: out-of-fold AUROC {auc} on {m['rows']} answers")
    choice = manifest["scorer"].get("choice")
    if choice:
        typer.echo(f"  scorer kept: {choice['chosen']} ({choice['reason']})")
    typer.echo(f"  strategy: {strategy.describe()}")
    typer.echo(
        f"  train accuracy {strategy.accuracy:.4f} at ${strategy.cost_usd:.6g}/query "
        f"({manifest['objective']['kind']}); Pareto set: {len(artifact.pareto)}"
    )
    for row in manifest["metrics"].get("frugalgpt_comparison", []):
        ours, theirs = row["ours"], row["frugalgpt"]
        shown = "infeasible" if theirs is None else f"{theirs['accuracy']:.4f}"
        typer.echo(
            f"  budget ${row['budget_usd']:.6g}: ours {ours['accuracy']:.4f}, "
            f"FrugalGPT solver {shown}"
        )


def _with_signals(
    trained: Any, config: Any, signals: str, pair_models: int, progress: Any,
    group_sizes: tuple[int, ...] = (2,),
) -> Any:
    """The artifact re-searched with stacked signal heads and parallel stages."""
    from routers.cascade.signal_train import (
        SignalTrainConfig,
        fit_signal_cascade,
        signal_inputs,
    )
    from routers.cascade.verifier import Sandbox

    verify = signals == "agreement+verifier"
    ds = trained.encoded.dataset
    if verify:
        with Sandbox() as sandbox:
            inputs = signal_inputs(ds, sandbox, {})
    else:
        inputs = signal_inputs(ds, None)
    options = SignalTrainConfig(agreement=True, verifier=verify, pair_models=pair_models,
                                group_sizes=group_sizes, max_depth=config.max_depth,
                                seed=config.seed)
    return fit_signal_cascade(trained, inputs, options, config, progress).artifact


def register(train_app: typer.Typer) -> None:
    """Attach `train cascade` to the routers' train sub-app."""
    train_app.command("cascade")(train_cascade)
