"""`train knn --from-records` as a library call: versions, manifests, parents, evaluate."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.artifacts.cli import evaluate_paths
from gateway.artifacts.train import (
    MIN_HELD_OUT_PROMPTS,
    RecordsRequest,
    split_for_training,
    train_knn_version,
)
from routers.datasets.records import NoOutcomesError, is_held_out
from routers.embedding import HashingEmbedder
from routers.versions.pointer import promote
from routers.versions.registry import ArtifactRegistry
from tests.gateway.artifacts.records_data import labelled_store, outcomes
from tests.routers.knn.synthetic import BIG, CHEAP, MID

REQUEST = RecordsRequest(tenant="acme", command="costroute train knn --from-records", epochs=3)


@pytest.fixture(scope="module")
def rows() -> list:
    return outcomes(labelled_store())


def test_a_version_records_its_data_parent_and_held_out_metrics(tmp_path: Path, rows) -> None:
    registry = ArtifactRegistry(tmp_path)
    first = train_knn_version(rows, registry, REQUEST, HashingEmbedder(), resamples=200)
    block = first.manifest["version"]
    assert first.version == "v0001-knn" and block["parent"] is None
    data = block["data"]
    held = sum(is_held_out(o.request_id) for o in rows)
    assert data["n_prompts"] == len(rows) - held and data["held_out"]["n_prompts"] == held
    assert data["models"] == sorted([CHEAP, MID, BIG]) and data["n_labels"] == 3 * data["n_prompts"]
    assert data["source"] == "records" and data["tenant"] == "acme"
    assert len(data["data_hash"]) == 64 and block["command"] == REQUEST.command
    metrics = block["metrics"]
    assert metrics["slice"]["n_prompts"] == held
    for key in ("artifact", "task_lookup", "best_single_model"):
        assert {"aiq", "accuracy", "mean_cost_usd"} <= set(metrics[key])
    # The synthetic task is learnable: the router beats sending everything to one model.
    assert metrics["artifact"]["aiq"] > metrics["best_single_model"]["aiq"]
    # The held-out prompts are not in the reference set.
    assert first.manifest["n_reference"] == data["n_prompts"]

    promote(registry, "auto", first.version)
    second = train_knn_version(rows, registry, REQUEST, HashingEmbedder(), resamples=200)
    assert second.version == "v0002-knn"
    assert second.manifest["version"]["parent"] == first.version


def test_the_first_version_names_the_configured_artifact_as_its_parent(tmp_path: Path,
                                                                       rows) -> None:
    """Before any promote the configured artifact serves the route (on the embedded defaults
    the shipped one): it is the new version's parent; a promoted version takes over."""
    from dataclasses import replace

    from gateway.artifacts.cli import _configured_version
    from gateway.defaults import default_config
    from routers.knn.artifact import read_manifest
    from routers.versions.shipped import shipped_artifact

    config = default_config("http://127.0.0.1:1/simulator/v1")
    shipped = read_manifest(shipped_artifact("knn"))["version"]["id"]
    assert _configured_version(config, "auto") == shipped
    assert _configured_version(config, "router:table") is None  # no artifact configured
    request = replace(REQUEST, configured=shipped)
    registry = ArtifactRegistry(tmp_path)
    first = train_knn_version(rows, registry, request, HashingEmbedder(), resamples=50)
    assert first.manifest["version"]["parent"] == shipped
    promote(registry, "auto", first.version)
    second = train_knn_version(rows, registry, request, HashingEmbedder(), resamples=50)
    assert second.manifest["version"]["parent"] == first.version


def test_a_two_stage_version_keeps_both_stages(tmp_path: Path, rows) -> None:
    from routers.knn.artifact import load_artifact
    from routers.knn.hybrid import HybridKnnRouter
    from routers.knn.router import load_knn_router

    registry = ArtifactRegistry(tmp_path)
    trained = train_knn_version(rows, registry, REQUEST, HashingEmbedder(), resamples=100,
                                stage1=HashingEmbedder(dim=32))
    loaded = load_artifact(registry.path(trained.version))
    assert loaded.stage1 is not None and loaded.stage1.artifact.raw.shape[1] == 32
    assert loaded.stage1.artifact.prompt_hashes == loaded.prompt_hashes
    assert isinstance(load_knn_router(registry.path(trained.version)), HybridKnnRouter)
    assert trained.manifest["version"]["metrics"]["artifact"]["aiq"] > 0


def test_evaluate_compares_two_versions_with_a_paired_interval(tmp_path: Path, rows) -> None:
    registry = ArtifactRegistry(tmp_path)
    new = train_knn_version(rows, registry, REQUEST, HashingEmbedder(), resamples=100)
    split = split_for_training(rows, "acme")
    train, held = split.train, split.held
    assert held is not None
    report = evaluate_paths(registry.path(new.version), registry.path(new.version), held, train, 200)
    assert "AIQ gain new - serving: +0.0000" in report  # a version against itself
    assert "task-lookup" in report and "best single" in report


def test_a_slice_too_small_to_evaluate_is_reported_as_set_aside(tmp_path: Path, rows) -> None:
    held_ids = [o.request_id for o in rows if is_held_out(o.request_id)]
    few = set(held_ids[:MIN_HELD_OUT_PROMPTS - 1])
    kept = [o for o in rows if not is_held_out(o.request_id) or o.request_id in few]
    trained = train_knn_version(kept, ArtifactRegistry(tmp_path), REQUEST, HashingEmbedder())
    block = trained.manifest["version"]
    assert trained.held_out is None and block["metrics"] is None
    assert block["data"]["held_out"] | {"rule": None} == {
        "rule": None, "n_prompts": len(few), "evaluated": False,
        "min_prompts_to_evaluate": MIN_HELD_OUT_PROMPTS}
    assert block["data"]["n_prompts"] == len(kept) - len(few)


def test_too_little_traffic_is_a_clear_error(tmp_path: Path, rows) -> None:
    with pytest.raises(NoOutcomesError, match="at least 20"):
        train_knn_version(rows[:10], ArtifactRegistry(tmp_path), REQUEST, HashingEmbedder())


def test_the_command_trains_a_version_and_says_what_to_do_next(
    tmp_path: Path, rows, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`costroute train knn --from-records` end to end, the store read replaced by the
    MemoryRecordStore's outcomes (the SQLite/PostgreSQL stores are tested in records/)."""
    from typer.testing import CliRunner

    import gateway.artifacts.cli as artifacts_cli
    from routers.cli import app

    monkeypatch.setattr(artifacts_cli, "_outcomes", lambda *_: rows)
    config = tmp_path / "gateway.yaml"
    config.write_text(
        "models: [{name: m, upstream: {base_url: 'http://127.0.0.1:1/v1'}}]\n"
        "routes: {auto: {router: table}}\n"  # the learning loop's start: nothing learned yet
        "artifacts: {dir: reg}\n")
    result = CliRunner().invoke(app, [
        "knn", "--from-records", "--tenant", "acme", "--config", str(config),
        "--embedder", "hashing", "--epochs", "2"])
    assert result.exit_code == 0, result.output
    assert "new version v0001-knn" in result.output
    assert "next: costroute router evaluate v0001-knn --tenant acme" in result.output
    manifest = ArtifactRegistry(tmp_path / "reg").manifest("v0001-knn")
    assert "--from-records" in manifest["version"]["command"]


def test_a_retrain_keeps_the_encoders_of_what_serves_the_route(
        tmp_path: Path, rows, monkeypatch: pytest.MonkeyPatch) -> None:
    """`--embedder auto` (the default) with --from-records: two-stage after the shipped
    two-stage default, one encoder after a one-encoder version, MiniLM where nothing says."""
    from gateway.artifacts.cli import serving_embedder
    from routers.versions.shipped import shipped_artifact

    monkeypatch.setenv("COSTROUTE_DATA_DIR", str(tmp_path / "data"))
    assert serving_embedder(None, "auto") == "hybrid"  # the embedded defaults' `auto`
    assert serving_embedder(None, "router:table") == "minilm"
    config = tmp_path / "gateway.yaml"
    config.write_text(
        "models: [{name: m, upstream: {base_url: 'http://127.0.0.1:1/v1'}}]\n"
        f"routes: {{auto: {{router: knn, artifact: '{shipped_artifact('knn')}'}}}}\n"
        "artifacts: {dir: reg}\n")
    assert serving_embedder(config, "auto") == "hybrid"
    registry = ArtifactRegistry(tmp_path / "reg")
    one = train_knn_version(rows, registry, REQUEST, HashingEmbedder(), resamples=50)
    promote(registry, "auto", one.version)
    # The pointer wins over the configured artifact; a hashing encoder reads as minilm's
    # family (not static), which is what a one-encoder retrain builds.
    assert serving_embedder(config, "auto") == "minilm"


def test_without_the_static_model_a_retrain_falls_back_to_minilm(
        tmp_path: Path, rows, monkeypatch: pytest.MonkeyPatch) -> None:
    """What serves is two-stage, but this machine never distilled the static model: the
    retrain says so and trains on MiniLM, as the router itself would serve."""
    from typer.testing import CliRunner

    import gateway.artifacts.cli as artifacts_cli
    from routers.cli import app
    from routers.versions.shipped import shipped_artifact

    monkeypatch.setattr(artifacts_cli, "_outcomes", lambda *_: rows)
    monkeypatch.setenv("COSTROUTE_STATIC_MODEL", str(tmp_path / "no-static-model"))
    config = tmp_path / "gateway.yaml"
    config.write_text(
        "models: [{name: m, upstream: {base_url: 'http://127.0.0.1:1/v1'}}]\n"
        f"routes: {{auto: {{router: knn, artifact: '{shipped_artifact('knn')}'}}}}\n"
        "artifacts: {dir: reg}\n")
    result = CliRunner().invoke(app, [
        "knn", "--from-records", "--tenant", "acme", "--config", str(config), "--epochs", "1"])
    assert result.exit_code == 0, result.output
    assert "embedder: hybrid" in result.output and "training on minilm" in result.output
    manifest = ArtifactRegistry(tmp_path / "reg").manifest("v0001-knn")
    assert "stage1" not in manifest and manifest["embedder"] == "all-MiniLM-L6-v2"


@pytest.mark.parametrize(("args", "error"), [
    (["--config", "{tmp}/nosuch.yaml"],
     "error: {tmp}/nosuch.yaml: cannot read: No such file or directory"),
    (["--config", "{config}", "--route", "router:nosuch"],
     "error: no route 'router:nosuch' in the config (routes: auto, router:cascade)"),
    (["--config", "{config}", "--route", "router:cascade"],
     ("error: route 'router:cascade' is configured with the cascade router, which serves "
      "cascade artifacts only; the version this trains is knn")),
    (["--config", "{config}", "--data", "{tmp}/train.jsonl"],
     ("error: --from-records trains on the records store and writes a registry version; "
      "--data and --out are for training on a file instead: give one or the other")),
])
def test_the_command_refuses_what_promote_would_and_says_so_in_one_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], error: str) -> None:
    """Nothing is read or trained: the store read would fail the test if it were reached."""
    from typer.testing import CliRunner

    import gateway.artifacts.cli as artifacts_cli
    from routers.cli import app

    def unreachable(*_: object) -> None:
        raise AssertionError("read the records store")

    monkeypatch.setattr(artifacts_cli, "_read", unreachable)
    config = tmp_path / "gateway.yaml"
    config.write_text(
        "models: [{name: m, upstream: {base_url: 'http://127.0.0.1:1/v1'}}]\n"
        "routes: {auto: {router: table}, router:cascade: {router: cascade}}\n"
        "artifacts: {dir: reg}\n")
    fill = {"{tmp}": str(tmp_path), "{config}": str(config)}

    def filled(text: str) -> str:
        for key, value in fill.items():
            text = text.replace(key, value)
        return text

    result = CliRunner().invoke(app, [
        "knn", "--from-records", "--tenant", "acme", "--embedder", "hashing",
        *map(filled, args)])
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit)
    assert result.output == filled(error) + "\n"
    assert not (tmp_path / "reg").exists()  # no version written


def test_train_cascade_from_records_refuses_a_data_file_too(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from routers.cli import app

    result = CliRunner().invoke(app, [
        "cascade", "--from-records", "--tenant", "acme", "--data", str(tmp_path / "x.jsonl")])
    assert result.exit_code == 2
    assert "--data and --out are for training on a file instead" in result.output
