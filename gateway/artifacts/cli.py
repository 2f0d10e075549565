"""`costroute router versions | evaluate | promote | rollback`, and `train knn|cascade
--from-records`.

    costroute train knn --from-records --tenant acme [--route auto] [--config gateway.yaml]
    costroute train cascade --from-records --tenant acme [--route router:cascade] [--config ...]
    costroute router versions [--route auto]
    costroute router evaluate v0002-knn --tenant acme [--against serving|VERSION]
    costroute router promote v0002-knn --route auto
    costroute router rollback --route auto

The registry is the one gateway.yaml's `artifacts:` block names (gateway.artifacts.stores:
a directory, or tables in the `records:` database) and the records store its `records:`
block, both as `costroute serve` opens them. Every command reads gateway.yaml through
`_config`, which turns a config the user got wrong (missing, unreadable, invalid) into a
one-line `error: ...` and exit code 2; a route the config does not have, or one whose router
cannot serve the version's kind (gateway.artifacts.routes), is refused the same way.
"""

from __future__ import annotations

import asyncio
import json
import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

app = typer.Typer(help="Router artifact versions: evaluate, promote, roll back.",
                  no_args_is_help=True, add_completion=False)

ConfigOption = Annotated[Path | None, typer.Option(
    "--config", help="gateway.yaml (artifacts.dir, records); default: embedded defaults")]
RouteOption = Annotated[str, typer.Option("--route", help="Route alias")]


@app.callback()
def _group() -> None:
    """Router artifact versions: evaluate, promote, roll back."""


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def _config(path: Path | None) -> Any:
    """gateway.yaml (the embedded defaults without one). The one place these commands meet
    the config: a ConfigError is the user's to fix, said in one line (exit 2)."""
    from gateway.config import ConfigError, load_config
    from gateway.defaults import default_config

    try:
        return load_config(path) if path else default_config(
            "http://127.0.0.1:8000/simulator/v1")
    except ConfigError as exc:
        _fail(str(exc))


def _route(config: Any, route: str) -> Any:
    """The route's config entry; a one-line error naming the config's routes if it has none."""
    from gateway.artifacts.routes import configured_route
    from routers.versions.manifest import RegistryError

    try:
        return configured_route(config, route)
    except RegistryError as exc:
        _fail(str(exc))


def check_from_records(config_path: Path | None, route: str, kind: str) -> None:
    """Before `train KIND --from-records` reads anything: the config loads, has `route`, and
    the route's router can serve the `kind` version about to be trained for it."""
    from gateway.artifacts.routes import check_kind
    from routers.versions.manifest import RegistryError

    config = _config(config_path)
    try:
        check_kind(config, route, kind, route, "the version this trains")
    except RegistryError as exc:
        _fail(str(exc))


def _registry(config: Any) -> Any:
    from gateway.artifacts.stores import open_version_store

    return open_version_store(config)


def _outcomes(config: Any, tenant: str, metric: str, since: float | None) -> list[Any]:
    """The tenant's labelled outcomes from the records store gateway.yaml names."""
    return _read(config, tenant, metric, since, answers=False)[0]


def _read(config: Any, tenant: str, metric: str, since: float | None,
          answers: bool) -> tuple[list[Any], list[Any]]:
    """(labelled outcomes, and with `answers` every recorded answer text of them)."""
    store = _open_store(config)

    async def read() -> tuple[list[Any], list[Any]]:
        try:
            found = list(await store.outcomes(tenant, metric=metric, since=since))
            texts = list(await store.answers(tenant, since=since)) if answers and found else []
            return found, texts
        finally:
            await store.aclose()

    return asyncio.run(read())


def _open_store(config: Any) -> Any:
    from gateway.paths import data_dir
    from gateway.records.factory import open_record_store

    store = open_record_store(config.records, default_dir=data_dir())
    if store is None:
        _fail("records: kind `none` keeps no traffic to train on; configure `records:`")
    return store


def _stored_vectors(config: Any, embedder: Any, texts: list[str]) -> Any:
    """`embedder` behind the vectors the records store already holds of `texts`."""
    from gateway.artifacts.stored_vectors import StoredVectorEmbedder, read_stored

    store = _open_store(config)

    async def read() -> Any:
        try:
            return await read_stored(store, embedder.name, texts, embedder.dim or None)
        finally:
            await store.aclose()

    return StoredVectorEmbedder(embedder, asyncio.run(read()))


def _store_fresh(config: Any, embedder: Any) -> None:
    """Writes back the vectors this retrain computed, for the next one to reuse."""
    from gateway.artifacts.stored_vectors import write_fresh

    if not embedder.fresh:
        return
    store = _open_store(config)

    async def write() -> int:
        try:
            return await write_fresh(store, embedder)
        finally:
            await store.aclose()

    typer.echo(f"storing {len(embedder.fresh):,} new text vectors in the records store", err=True)
    asyncio.run(write())


def _answer_texts(answers: Sequence[Any]) -> list[str]:
    """The answer texts the cascade's scorer may embed (as routers.cascade.fit_scorer)."""
    from routers.cascade.features import answer_text

    return [answer_text(a.answer) for a in answers if a.answer is not None]


def serving_embedder(config_path: Path | None, route: str) -> str:
    """The `train knn --embedder` that builds what serves `route` now: `hybrid` for a
    two-stage artifact, `static` or `minilm` for one encoder. Read from the version the
    registry serves for the route, else the artifact gateway.yaml (or the embedded defaults)
    configures for it; `minilm` when neither names one."""
    from routers.static_embedding import STATIC_NAME
    from routers.versions.manifest import RegistryError

    config = _config(config_path)
    manifest: dict[str, Any] | None = None
    registry = _registry(config)
    try:
        pointer = registry.read_pointer(route)
        if pointer is not None:
            manifest = registry.manifest(pointer.version)
    except RegistryError:
        manifest = None
    finally:
        registry.close()
    if manifest is None:
        manifest = _configured_manifest(config, route)
    if manifest is None or manifest.get("kind") != "knn":
        return "minilm"
    if manifest.get("stage1"):
        return "hybrid"
    return "static" if str(manifest.get("embedder", "")).startswith(STATIC_NAME) else "minilm"


def _configured_manifest(config: Any, route: str) -> dict[str, Any] | None:
    """The manifest of the artifact the config names for `route`, if it names one."""
    from routers.versions.manifest import read_manifest

    configured = config.routes.get(route)
    folder = Path(configured.artifact) if configured and configured.artifact else None
    if folder is None or not (folder / "manifest.json").is_file():
        return None
    return read_manifest(folder)


def _configured_version(config: Any, route: str) -> str | None:
    """The version id of the configured artifact (the shipped defaults carry one)."""
    manifest = _configured_manifest(config, route) or {}
    version = manifest.get("version")
    return str(version["id"]) if isinstance(version, dict) and version.get("id") else None


def train_knn_from_records(
    config_path: Path | None, tenant: str, route: str, metric: str, since: float | None,
    epochs: int, embedder: object, seed: int = 0, stage1: object = None,
) -> None:
    """`costroute train knn --from-records`: the command-line side of gateway.artifacts.train;
    `stage1` (the static encoder) makes the version two-stage."""
    from gateway.artifacts.train import RecordsRequest, train_knn_version
    from routers.train_progress import RichTrainProgress

    check_from_records(config_path, route, "knn")
    config = _config(config_path)
    registry = _registry(config)
    typer.echo(f"reading labelled outcomes of tenant {tenant!r} (metric {metric})", err=True)
    outcomes = _outcomes(config, tenant, metric, since)
    typer.echo(f"  {len(outcomes)} labelled prompts", err=True)
    from routers.datasets.text import embedding_text

    stored = _stored_vectors(config, embedder, [embedding_text(o.prompt) for o in outcomes])
    args = ["costroute", "train", "knn", "--from-records", "--tenant", tenant, "--route", route,
            "--metric", metric, "--epochs", str(epochs), "--seed", str(seed)]
    args += ["--config", str(config_path)] if config_path else []
    args += ["--since", str(since)] if since is not None else []
    args += ["--embedder", "hybrid"] if stage1 is not None else []
    request = RecordsRequest(tenant=tenant, route=route, metric=metric, since=since,
                             command=shlex.join(args), epochs=epochs, seed=seed,
                             configured=_configured_version(config, route))
    progress = RichTrainProgress()
    try:
        trained = train_knn_version(outcomes, registry, request, stored, progress,
                                    stage1=stage1)  # type: ignore[arg-type]
    finally:
        progress.close()
        _store_fresh(config, stored)
    block = trained.manifest["version"]
    typer.echo(f"new version {trained.version} -> {registry.path(trained.version)}")
    typer.echo(f"  parent (serving {route}): {block['parent'] or 'none'}; "
               f"{block['data']['n_prompts']} prompts x {block['data']['n_models']} models, "
               f"{block['data']['n_labels']} labels, {_held_out(block['data']['held_out'])}")
    _print_metrics(block.get("metrics"))
    typer.echo(f"next: costroute router evaluate {trained.version} --tenant {tenant} "
               f"--route {route}")


def train_cascade_from_records(
    config_path: Path | None, tenant: str, route: str, metric: str, since: float | None,
    embedder: object, cascade: Any, options: Sequence[str] = (),
) -> None:
    """`costroute train cascade --from-records`: outcomes and answer texts from the records
    store, gateway.artifacts.train's cascade version, and what to do next."""
    from gateway.artifacts.train import RecordsRequest
    from gateway.artifacts.train_cascade import train_cascade_version
    from routers.cascade.strategy import Strategy
    from routers.train_progress import RichTrainProgress

    check_from_records(config_path, route, "cascade")
    config = _config(config_path)
    registry = _registry(config)
    args = ["costroute", "train", "cascade", "--from-records", "--tenant", tenant, "--route",
            route, "--metric", metric, *options]
    args += ["--config", str(config_path)] if config_path else []
    args += ["--since", str(since)] if since is not None else []
    request = RecordsRequest(tenant=tenant, route=route, metric=metric, since=since,
                             command=shlex.join(args), seed=cascade.seed,
                             configured=_configured_version(config, route))
    with RichTrainProgress() as progress:
        progress.stage(f"reading labelled outcomes and answers of tenant {tenant!r}", 1)
        outcomes, answers = _read(config, tenant, metric, since, answers=True)
        from routers.datasets.text import embedding_text

        stored = _stored_vectors(config, embedder, [embedding_text(o.prompt) for o in outcomes]
                                 + _answer_texts(answers))
        progress.advance()
        try:
            trained = train_cascade_version(outcomes, answers, registry, request,
                                            stored, cascade, progress)
        finally:
            _store_fresh(config, stored)
    block = trained.manifest["version"]
    data = block["data"]
    counts = data["answers"]
    typer.echo(f"new version {trained.version} -> {registry.path(trained.version)}")
    typer.echo(f"  parent (serving {route}): {block['parent'] or 'none'}; "
               f"{data['n_prompts']} prompts x {data['n_models']} models "
               f"({data['n_usable_prompts']} with every kept model labelled), "
               f"{data['n_labels']} labels, {_held_out(data['held_out'])} "
               f"({data['held_out']['n_replayable']} replayable)")
    typer.echo(f"  answers: {counts['usable']} usable, {counts['redacted_skipped']} redacted "
               f"(skipped), {counts['not_recorded']} not recorded")
    strategy = Strategy.from_json(trained.manifest["strategy"])
    typer.echo(f"  strategy: {strategy.describe()} (train accuracy {strategy.accuracy:.4f} at "
               f"${strategy.cost_usd:.6g}/query)")
    _print_metrics(block.get("metrics"))
    typer.echo(f"next: costroute router evaluate {trained.version} --tenant {tenant} "
               f"--route {route}")


@app.command("versions")
def versions(
    config: ConfigOption = None,
    route: Annotated[str | None, typer.Option(
        "--route", help="Route alias whose serving version is marked [default: auto, "
        "where the config has it]")] = None,
) -> None:
    """List the registry's versions; mark the one serving `--route`."""
    from routers.versions.registry import RegistryError

    cfg = _config(config)
    if route is not None:
        _route(cfg, route)  # asked for by name: it must exist
    elif "auto" in cfg.routes:
        route = "auto"
    registry = _registry(cfg)
    try:
        pointer = registry.read_pointer(route) if route else None
        header = registry.describe()
        if route:
            header += f"; {route} serves {pointer.version if pointer else _configured(cfg, route)}"
        typer.echo(header)
        for version in registry.versions():
            block = registry.manifest(version).get("version", {})
            art = (block.get("metrics") or {}).get("artifact") or {}
            mark = "*" if pointer and pointer.version == version else " "
            typer.echo(f" {mark} {version}  {block.get('created_at', '?')}  parent "
                       f"{block.get('parent') or '-'}  prompts "
                       f"{block.get('data', {}).get('n_prompts')}  held-out AIQ {art.get('aiq')}")
    except RegistryError as exc:  # e.g. the records database is down
        _fail(str(exc))
    finally:
        registry.close()


def _configured(config: Any, route: str, whose: str = "its") -> str:
    """What the route's config serves, in words: the configured artifact (with the version
    id the shipped ones carry) or the configured router, which takes none."""
    entry = config.routes[route]
    if not entry.artifact:
        return f"{whose} configured {entry.router} router (no artifact)"
    version = _configured_version(config, route)
    return f"{whose} configured artifact{f' ({version})' if version else ''}"


@app.command("evaluate")
def evaluate(
    new: Annotated[str, typer.Argument(help="Version id (or artifact directory) to evaluate")],
    tenant: Annotated[str, typer.Option(help="Whose traffic")],
    against: Annotated[str, typer.Option(
        help="`serving` (what the route serves now) or a version id / directory")] = "serving",
    config: ConfigOption = None,
    route: Annotated[str | None, typer.Option(
        "--route", help="Route alias whose serving version `--against serving` means "
        "[default: auto]")] = None,
    metric: Annotated[str, typer.Option(help="Feedback metric")] = "default",
    resamples: Annotated[int, typer.Option(help="Bootstrap resamples", min=100)] = 1000,
) -> None:
    """Compare NEW with the serving version on the held-out slice of the tenant's traffic."""
    from gateway.artifacts.answers import usable_answers
    from gateway.artifacts.train import MIN_HELD_OUT_PROMPTS
    from routers.datasets.records import answered, outcomes_to_dataset, split_outcomes
    from routers.versions.registry import RegistryError

    cfg = _config(config)
    if route is not None or against == "serving":  # named, or needed: it must exist
        _route(cfg, route or "auto")
    route = route or "auto"
    registry = _registry(cfg)
    try:
        new_path = registry.path(new)
        base_path = _base(registry, cfg, route, against)
    except RegistryError as exc:
        _fail(str(exc))
        return
    # A cascade judges the answers it reaches: the slice then carries the answer texts and
    # keeps the prompts whose labelled answers are all usable.
    cascade = "cascade" in (_kind(new_path), _kind(base_path))
    outcomes, answers = _read(cfg, tenant, metric, None, answers=cascade)
    texts = usable_answers(outcomes, answers)[0] if cascade else None
    train_rows, held_rows = split_outcomes(outcomes)
    held = (outcomes_to_dataset(held_rows, name=f"records:{tenant}:held-out", answers=texts)
            if held_rows else None)
    if held is not None and cascade:
        held = answered(held)
    if held is None or len(held) < MIN_HELD_OUT_PROMPTS:
        _fail(f"tenant {tenant!r}: {0 if held is None else len(held)} labelled prompts in the "
              f"held-out slice{' with usable answers' if cascade else ''}; "
              f"at least {MIN_HELD_OUT_PROMPTS} are needed")
    train = outcomes_to_dataset(train_rows, held.models) if train_rows else None
    try:
        report = evaluate_paths(new_path, base_path, held, train, resamples)
    except ValueError as exc:  # e.g. a version routing to models the traffic never labelled
        _fail(str(exc))
        return
    typer.echo(report)


def evaluate_paths(new_path: Path, base_path: Path, held: Any, train: Any,
                   resamples: int) -> str:
    """The comparison as the lines `router evaluate` prints."""
    from eval.artifact_metrics import compare

    c = compare(new_path, base_path, held, train, resamples=resamples)
    lines = [(f"held-out slice: {c.n_prompts} prompts x {len(held.models)} models "
              f"({', '.join(held.models)})")]
    for label, r in (("new", c.new), ("serving", c.base), ("task-lookup", c.lookup),
                     (f"best single ({c.best_single.name})" if c.best_single else "", c.best_single)):
        if r is not None and label:
            lines.append(f"  {label:<40} AIQ {r.aiq:.4f}  accuracy {r.accuracy:.4f}  "
                         f"mean cost ${r.mean_cost_usd:.6f}")
    g = c.gain
    lines.append(f"AIQ gain new - serving: {g.difference:+.4f}  95% CI [{g.ci.low:+.4f}, "
                 f"{g.ci.high:+.4f}]  (paired bootstrap, {g.n_resamples} resamples; "
                 f"share not above 0: {g.share_not_above:.3f})")
    return "\n".join(lines)


def _kind(path: Path) -> str:
    from routers.versions.registry import read_manifest

    return str(read_manifest(Path(path)).get("kind", ""))


def _base(registry: Any, config: Any, route: str, against: str) -> Path:
    from routers.versions.registry import RegistryError

    if against != "serving":
        return Path(registry.path(against))
    pointer = registry.read_pointer(route)
    if pointer is not None:
        return Path(registry.checkout(pointer))
    configured = config.routes.get(route)
    if configured is None or not configured.artifact:
        raise RegistryError(f"route {route!r} serves no artifact; give --against VERSION")
    return Path(configured.artifact)


@app.command("promote")
def promote(
    version: Annotated[str, typer.Argument(help="Version id (or artifact directory)")],
    config: ConfigOption = None,
    route: RouteOption = "auto",
) -> None:
    """Serve VERSION on --route; every gateway using the registry swaps within a poll."""
    from gateway.artifacts.routes import check_servable
    from routers.versions.registry import RegistryError

    cfg = _config(config)
    _route(cfg, route)
    registry = _registry(cfg)
    try:
        # Refused before anything moves (or, for a directory, is uploaded).
        check_servable(cfg, route, registry.manifest(version), version)
        pointer = registry.promote(route, version)
    except RegistryError as exc:
        _fail(str(exc))
    finally:
        registry.close()
    before = pointer.previous or _configured(cfg, route, "the")
    typer.echo(f"{route} now serves {pointer.version} (before: {before}); "
               f"gateways swap within {cfg.artifacts.poll_s:g} s")


@app.command("rollback")
def rollback(config: ConfigOption = None, route: RouteOption = "auto") -> None:
    """Serve again what served --route before the last promote: the version promoted before
    it, or, from the first promoted version, what the route's config names."""
    from routers.versions.registry import RegistryError

    cfg = _config(config)
    _route(cfg, route)
    registry = _registry(cfg)
    try:
        pointer = registry.rollback(route)
    except RegistryError as exc:
        _fail(str(exc))
    finally:
        registry.close()
    now = pointer.version if pointer is not None else _configured(cfg, route)
    typer.echo(f"{route} now serves {now} again; gateways swap within "
               f"{cfg.artifacts.poll_s:g} s")


def _held_out(block: dict[str, Any]) -> str:
    """The manifest's held-out slice in words (manifests before `evaluated` count only an
    evaluated slice)."""
    if block.get("evaluated", True):
        return f"held out {block['n_prompts']}"
    return (f"held out {block['n_prompts']} (set aside, too few to evaluate: "
            f"{block['min_prompts_to_evaluate']} are needed)")


def _print_metrics(metrics: dict[str, Any] | None) -> None:
    if not metrics:
        typer.echo("  held-out slice too small for metrics")
        return
    for key in ("artifact", "task_lookup", "best_single_model"):
        m = metrics.get(key)
        if m:
            name = f"{key} ({m['name']})" if "name" in m else key
            typer.echo(f"  held-out {name:<45} AIQ {m['aiq']}  accuracy {m['accuracy']}  "
                       f"mean cost ${m['mean_cost_usd']}")
    gain = metrics.get("gain_over_lookup")
    if gain:
        typer.echo(f"  AIQ gain over the lookup {gain['difference']:+.4f} "
                   f"[{gain['ci'][0]:+.4f}, {gain['ci'][1]:+.4f}]")


def dumps(obj: Any) -> str:
    return json.dumps(obj, indent=2, sort_keys=True)


def main(argv: Sequence[str] | None = None) -> None:
    app(args=list(argv) if argv is not None else None, prog_name="costroute router")
