"""`costroute train cascade` end to end on a small file, and loading what it wrote."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner, Result

from routers.base import Orchestrator
from routers.cascade.artifact import ArtifactError, load_artifact
from routers.cascade.cli import register
from routers.cascade.orchestrator import load_cascade
from routers.datasets import save_routerbench
from routers.registry import build_router
from tests.routers.cascade.synthetic import arithmetic_dataset


def app() -> typer.Typer:
    train = typer.Typer()

    @train.callback()
    def main() -> None:
        """Train routers."""

    register(train)
    return train


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cascade") / "train.csv"
    save_routerbench(arithmetic_dataset(240, seed=5), path)
    return path


def train(data: Path, out: Path, *extra: str) -> Result:
    return CliRunner().invoke(
        app(), ["cascade", "--data", str(data), "--out", str(out), "--embedder", "hashing", *extra]
    )


@pytest.mark.slow
def test_train_writes_a_versioned_artifact_with_the_pareto_set(data: Path, tmp_path: Path) -> None:
    result = train(data, tmp_path / "a", "--budget", "0.001")
    assert result.exit_code == 0, result.output
    assert "out-of-fold AUROC" in result.output and "FrugalGPT solver" in result.output
    manifest = json.loads((tmp_path / "a" / "manifest.json").read_text())
    assert manifest["kind"] == "cascade" and manifest["format_version"] == 1
    assert len(manifest["data_hash"]) == 64
    assert manifest["models"] == ["small", "medium", "large"]
    assert manifest["objective"] == {"kind": "budget", "usd_per_query": 0.001}
    assert manifest["strategy"]["cost_usd"] <= 0.001
    assert len(manifest["pareto"]) > 1
    by_task = manifest["metrics"]["scorer_out_of_fold"]["small"]["auroc_by_task"]
    assert set(by_task) == {"add", "mul"}
    # --scorer auto (the default) fits both variants and keeps the fast one unless the full
    # one is clearly better out of fold; the artifact serves what was chosen.
    choice = manifest["scorer"]["choice"]
    mean = choice["mean_out_of_fold_auroc"]
    assert set(choice["out_of_fold_auroc"]["fast"]) == {"small", "medium", "large"}
    assert choice["chosen"] == ("fast" if mean["full"] - mean["fast"] <= 0.01 else "full")
    assert manifest["scorer"]["embed_answer"] == (choice["chosen"] == "full")
    assert f"scorer kept: {choice['chosen']}" in result.output
    loaded = load_artifact(tmp_path / "a")
    assert set(loaded.heads) == {"small", "medium", "large"}
    assert loaded.strategy.to_json() == manifest["strategy"]


def test_the_registry_builds_the_cascade_from_the_artifact(data: Path, tmp_path: Path) -> None:
    result = train(
        data, tmp_path / "b", "--quality-target", "0.7", "--scorer", "fast", "--no-compare-frugalgpt"
    )
    assert result.exit_code == 0, result.output
    route = build_router("router:cascade", "cascade", artifact=str(tmp_path / "b"))
    assert isinstance(route, Orchestrator)
    assert route.name == "cascade"
    assert route.scorer.embed_answer is False  # type: ignore[attr-defined]
    cheaper = load_cascade(tmp_path / "b", budget_usd=0.0002)
    assert cheaper.strategy.cost_usd <= 0.0002
    with pytest.raises(ValueError, match="unknown cascade option"):
        load_cascade(tmp_path / "b", k=3)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--budget", "0.001", "--quality-target", "0.8"], "not both"),
        (["--budget", "-1"], "--budget must be"),
        (["--max-depth", "4"], "--max-depth"),
        (["--scorer", "tiny"], "--scorer must be"),
        (["--budget", "0.0000001"], "no cascade costs"),
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(
    data: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    result = train(data, tmp_path / "c", *args)
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_data_without_responses_is_refused(tmp_path: Path) -> None:
    ds = arithmetic_dataset(40, seed=6)
    ds.responses.clear()
    save_routerbench(ds, tmp_path / "bare.csv")
    result = train(tmp_path / "bare.csv", tmp_path / "d")
    assert result.exit_code == 2 and "no model has recorded responses" in result.output


def test_loading_something_else_is_refused(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_text(json.dumps({"kind": "knn", "format_version": 1}))
    with pytest.raises(ArtifactError, match="not 'cascade'"):
        load_artifact(tmp_path)
    with pytest.raises(ArtifactError, match="no manifest.json"):
        load_artifact(tmp_path / "missing")


@pytest.mark.slow
def test_train_with_agreement_signals_writes_heads_that_serving_loads(
    data: Path, tmp_path: Path
) -> None:
    result = train(data, tmp_path / "s", "--signals", "agreement", "--pair-models", "2",
                   "--scorer", "fast", "--no-compare-frugalgpt")
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "s" / "manifest.json").read_text())
    assert manifest["signals"]["agreement"] is True
    assert manifest["signals"]["pairs"] == [["small", "medium"]]
    served = load_cascade(tmp_path / "s")
    assert served.signals is not None and served.signals.is_parallel("small&medium")
    assert manifest["search"]["parallel_stages"] == 1  # searched; kept only where it pays


@pytest.mark.slow
def test_train_with_vote_stages_writes_their_heads(data: Path, tmp_path: Path) -> None:
    result = train(data, tmp_path / "v", "--signals", "agreement", "--pair-models", "3",
                   "--vote-sizes", "2,3", "--scorer", "fast", "--no-compare-frugalgpt")
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "v" / "manifest.json").read_text())
    assert ["small", "medium", "large"] in manifest["signals"]["pairs"]
    assert ["small", "medium", "large"] in manifest["signals"]["pair_heads"]
    served = load_cascade(tmp_path / "v")
    assert served.signals is not None and served.signals.is_parallel("small&medium&large")


def test_bad_vote_sizes_are_refused(data: Path, tmp_path: Path) -> None:
    result = train(data, tmp_path / "y", "--signals", "agreement", "--vote-sizes", "1,x")
    assert result.exit_code == 2
    assert "--vote-sizes must be" in result.output


def test_an_unknown_signal_set_is_refused(data: Path, tmp_path: Path) -> None:
    result = train(data, tmp_path / "x", "--signals", "telepathy")
    assert result.exit_code == 2
    assert "--signals must be" in result.output
