"""`costroute train knn`, `costroute calibrate knn`, `costroute knn add-model|info`.

Bad input ends with a one-line message and exit code 2. Heavy imports (torch, FAISS,
sentence-transformers) happen inside the commands, never when the CLI loads.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal

import typer

from routers.cli_support import ERRORS, embedder_option
from routers.cli_support import build_embedder as _embedder
from routers.cli_support import fail as _fail

EmbedderName = Literal["minilm", "static", "hybrid", "hashing"]
# The encoder new artifacts are built with (bench/knn/static_vs_minilm.py and
# bench/knn/hybrid_vs_minilm.py decide it).
DEFAULT_EMBEDDER = "minilm"


def train_knn(
    data: Annotated[Path | None, typer.Option(
        help="RouterBench-format CSV/JSONL file or folder")] = None,
    out: Annotated[Path | None, typer.Option(help="Artifact directory to write")] = None,
    val_fraction: Annotated[float, typer.Option(help="Share of --data held out for metrics")] = 0.15,
    seed: Annotated[int, typer.Option(help="Seed of the hold-out split and training")] = 0,
    space: Annotated[str, typer.Option(help="auto (best held-out AIQ), raw or cscr")] = "auto",
    epochs: Annotated[int, typer.Option(help="Training epochs of the projection")] = 40,
    k: Annotated[int, typer.Option(help="Neighbours per decision")] = 32,
    index: Annotated[str, typer.Option(
        help="auto (flat16 for the static encoder), flat, flat16 or hnsw")] = "auto",
    embedder: Annotated[str, typer.Option(
        help="minilm, static (model2vec, distilled from MiniLM), hybrid (two stages: static "
        "first, MiniLM when the static decision is unsure), or hashing (tests only); the "
        "artifact records it and the router embeds queries with it. auto: with "
        "--from-records, what serves the route (so a retrain keeps its decision's speed), "
        "else minilm")] = "auto",
    embedding_cache: Annotated[Path | None, typer.Option(
        help="A .npz file keeping embeddings between runs")] = None,
    from_records: Annotated[bool, typer.Option(
        "--from-records", help="Train a new registry version on a tenant's labelled traffic "
        "(the records store of --config) instead of --data")] = False,
    tenant: Annotated[str | None, typer.Option(help="With --from-records: whose traffic")] = None,
    route: Annotated[str, typer.Option(
        help="With --from-records: the route the version is for (its parent serves it)")] = "auto",
    metric: Annotated[str, typer.Option(help="With --from-records: feedback metric")] = "default",
    since: Annotated[float | None, typer.Option(
        help="With --from-records: only traffic after this unix time")] = None,
    config: Annotated[Path | None, typer.Option(
        help="With --from-records: gateway.yaml naming the records store and registry")] = None,
) -> None:
    """Train the contrastive k-NN router (CSCR) and write a versioned artifact."""
    if space not in ("auto", "raw", "cscr") or index not in ("auto", "flat", "flat16", "hnsw"):
        _fail("--space must be auto, raw or cscr and --index auto, flat, flat16 or hnsw")
    if from_records:
        if not tenant:
            _fail("--from-records needs --tenant")
        if data is not None or out is not None:
            _fail("--from-records trains on the records store and writes a registry version; "
                  "--data and --out are for training on a file instead: give one or the other")
        # The gateway owns records and the registry; imported only for this mode.
        from gateway.artifacts.cli import (
            check_from_records,
            serving_embedder,
            train_knn_from_records,
        )
        from routers.static_embedding import static_model_dir

        check_from_records(config, route, "knn")  # the config and the route, before any work
        if embedder == "auto":
            embedder = serving_embedder(config, route)
            typer.echo(f"embedder: {embedder} (as what serves {route!r} now)", err=True)
            if embedder in ("hybrid", "static") and not static_model_dir().is_dir():
                # As the router itself does without it: MiniLM alone, said out loud.
                typer.echo(f"  the static model is missing ({static_model_dir()}; python -m "
                           "routers.static_distill makes it): training on minilm", err=True)
                embedder = "minilm"
        hybrid = embedder == "hybrid"
        try:
            train_knn_from_records(
                config, tenant, route, metric, since, epochs,
                _embedder("minilm" if hybrid else embedder, embedding_cache), seed,
                stage1=_embedder("static", None) if hybrid else None)
        except ERRORS as exc:
            _fail(str(exc))
        return
    if data is None or out is None:
        _fail("give --data and --out, or --from-records --tenant T")
        return
    # Heavy (torch): after the checks above, so a mistake is answered at once.
    from routers.datasets import load_routerbench
    from routers.knn.artifact import save_artifact
    from routers.knn.fit import FitConfig, fit_knn
    from routers.knn.predict import KnnParams
    from routers.knn.train import TrainConfig
    from routers.train_progress import RichTrainProgress

    embedder = DEFAULT_EMBEDDER if embedder == "auto" else embedder
    typer.echo(f"loading {data}", err=True)
    progress = RichTrainProgress()
    try:
        ds = load_routerbench(data)
        config_ = FitConfig(
            val_fraction=val_fraction, seed=seed, params=KnnParams(k=k),
            train=TrainConfig(epochs=epochs, seed=seed), space=space,  # type: ignore[arg-type]
            index_kind=index,  # type: ignore[arg-type]
        )
        hybrid = embedder == "hybrid"
        artifact = fit_knn(
            ds, _embedder("minilm" if hybrid else embedder, embedding_cache),  # type: ignore[arg-type]
            config_, progress,
            # The static stage embeds thousands of prompts a second: no disk cache needed.
            stage1=_embedder("static", None) if hybrid else None,  # type: ignore[arg-type]
        )
        progress.stage(f"writing {out}")
        save_artifact(artifact, out)
    except ERRORS as exc:
        progress.close()
        _fail(str(exc))
        return
    progress.close()
    held_out = artifact.manifest["metrics"]["held_out"]
    typer.echo(f"trained on {len(ds)} prompts x {len(ds.models)} models -> {out}")
    for name in ("raw", "cscr"):
        m = held_out[name]
        pct = m["cost_to_match_best_pct"]
        match = "never reached" if pct is None else f"{pct:.1f}% of its cost"
        typer.echo(
            f"  held-out {name:4s}: AIQ {m['aiq']:.4f} (single models {m['aiq_single_models']:.4f})"
            f", quality of {m['best_single_model']}: {match}"
        )
    typer.echo(f"  default space: {artifact.default_space} ({artifact.manifest['default_space_reason']})")
    if artifact.stage1 is not None:
        fitted = artifact.stage1.gate.fitted
        typer.echo(
            f"  static stage: decides when its margin >= {artifact.stage1.gate.threshold:.4g} "
            f"({fitted['share_first_stage']:.0%} of held-out decisions; held-out AIQ "
            f"{fitted['aiq_two_stage']:.4f} vs MiniLM alone {fitted['aiq_second_stage']:.4f})"
        )
        for objective, other in fitted.get("by_objective", {}).items():
            threshold = artifact.stage1.gate.threshold_for(objective)
            typer.echo(f"    {objective}: margin >= {threshold:.4g} ({other['share_first_stage']:.0%}"
                       f" of held-out decisions, {other['agreement']:.1%} MiniLM's own)")
    typer.echo(f"  training {artifact.manifest['training']['seconds']} s")


def calibrate_knn(
    artifact: Annotated[Path, typer.Option(help="Artifact directory")],
    data: Annotated[Path, typer.Option(help="Reference prompts (RouterBench CSV/JSONL/folder)")],
    target_share: Annotated[float | None, typer.Option(
        help="Share of requests for the expensive tier, e.g. 0.3")] = None,
    usd_per_1k: Annotated[float | None, typer.Option(help="Budget in USD per 1k requests")] = None,
    tier_models: Annotated[str | None, typer.Option(
        help="Comma-separated expensive tier (default: all but the cheapest)")] = None,
    objective: Annotated[str, typer.Option(help="max_utility (λ) or cheapest_within_eps (ε)")] = (
        "max_utility"
    ),
    write: Annotated[bool, typer.Option(help="Store the result in the artifact's manifest")] = False,
    embedding_cache: Annotated[Path | None, typer.Option(
        help="A .npz file keeping embeddings between runs")] = None,
) -> None:
    """Find the λ (or ε) that gives a traffic share or a budget on reference prompts."""
    from routers.knn.calibrate import calibrate
    from routers.knn.replay import align_outcomes, self_rows

    if objective not in ("max_utility", "cheapest_within_eps"):
        _fail("--objective must be max_utility or cheapest_within_eps")
    try:
        from routers.datasets import load_routerbench
        from routers.knn.artifact import read_manifest, write_manifest
        from routers.knn.hybrid import HybridKnnRouter
        from routers.knn.router import load_knn_router

        encoder = embedder_option(str(read_manifest(artifact).get("embedder") or "minilm"))
        router = load_knn_router(
            artifact,
            embedder=None if encoder == "hashing" or not embedding_cache else _embedder(  # type: ignore[arg-type]
                encoder, embedding_cache
            ),
        )
        ref = load_routerbench(data)
        exclude = self_rows(router.artifact, ref.prompts)
        first_stage = None
        if isinstance(router, HybridKnnRouter) and router.stage1 is not None:
            # Calibrated on what the two stages decide together, as the router serves.
            first, second = router.stage_predictions(ref.prompts, exclude)
            quality, cost = second.quality, second.cost
            first_stage = (first, router.gate.threshold_for(objective))  # type: ignore[arg-type]
        else:
            quality, cost = router.predict(router.embed_prompts(ref.prompts), exclude=exclude)
        scores, costs = align_outcomes(ref, router.models)
        result = calibrate(
            router.models, quality, cost, objective,  # type: ignore[arg-type]
            target_share=target_share, usd_per_1k=usd_per_1k,
            tier_models=tier_models.split(",") if tier_models else None,
            recorded_scores=scores, recorded_costs=costs, first_stage=first_stage,
        )
        if write:
            router.artifact.manifest["calibration"] = result.to_json()
            write_manifest(artifact, router.artifact.manifest)
    except ERRORS as exc:
        _fail(str(exc))
        return
    name = "lambda" if objective == "max_utility" else "epsilon"
    typer.echo(f"{name} = {result.knob:.6g}  ({result.objective}, target: {result.target})")
    typer.echo(
        f"  on {result.n_prompts} reference prompts: {result.share_to_tier:.1%} to "
        f"{', '.join(result.tier_models)}, ${result.usd_per_1k:.4f} per 1k requests, "
        f"quality {result.quality:.4f}"
    )
    if result.first_stage_share is not None:
        typer.echo(f"  two-stage: the static stage decides {result.first_stage_share:.1%} of "
                   "them at this setting, MiniLM the rest")
    if write:
        typer.echo(f"  written to {artifact / 'manifest.json'}")


def add_model(
    artifact: Annotated[Path, typer.Option(help="Artifact directory")],
    data: Annotated[Path, typer.Option(help="Outcomes of the new model(s), RouterBench format")],
    model: Annotated[list[str] | None, typer.Option(help="Model column(s) to add")] = None,
) -> None:
    """Add a model from its outcomes on (some of) the reference prompts; no retraining."""
    try:
        from routers.datasets import load_routerbench
        from routers.knn.artifact import load_artifact, save_artifact
        from routers.knn.grow import add_models

        loaded = load_artifact(artifact)
        outcomes = load_routerbench(data)
        added = add_models(loaded, outcomes, model)
        if loaded.stage1 is not None:  # both stages keep the same models, column for column
            add_models(loaded.stage1.artifact, outcomes, model)
        save_artifact(loaded, artifact)
    except ERRORS as exc:
        _fail(str(exc))
        return
    for a in added:
        typer.echo(
            f"added {a.model}: outcomes on {a.matched} reference prompts "
            f"({a.unmatched} prompts not in the reference set ignored), accuracy {a.accuracy:.3f}"
        )


def info(artifact: Annotated[Path | None, typer.Option(
        help="Artifact directory (default: the shipped one that `auto` serves on the "
             "embedded defaults)")] = None) -> None:
    """Print an artifact's manifest."""
    from routers.knn.artifact import read_manifest
    from routers.versions.shipped import shipped_artifact

    artifact = artifact or shipped_artifact("knn")
    try:
        manifest = read_manifest(artifact)
    except ERRORS as exc:
        _fail(str(exc))
        return
    typer.echo(json.dumps(manifest, indent=2, sort_keys=True))


def register(train_app: typer.Typer, calibrate_app: typer.Typer, knn_app: typer.Typer) -> None:
    """Attach the k-NN commands to the routers' sub-apps."""
    train_app.command("knn")(train_knn)
    calibrate_app.command("knn")(calibrate_knn)
    knn_app.command("add-model")(add_model)
    knn_app.command("info")(info)
