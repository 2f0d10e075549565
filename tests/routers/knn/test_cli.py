"""The k-NN commands: train writes an artifact, calibrate prints λ, bad input exits 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from routers.cli import calibrate_app, knn_app, train_app
from routers.datasets import save_routerbench
from tests.routers.knn.synthetic import synthetic

runner = CliRunner()


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("data") / "train.jsonl"
    save_routerbench(synthetic(200), path)
    return path


def test_train_then_calibrate(data: Path, tmp_path: Path) -> None:
    out = tmp_path / "art"
    result = runner.invoke(train_app, [
        "knn", "--data", str(data), "--out", str(out), "--embedder", "hashing", "--epochs", "3",
    ])
    assert result.exit_code == 0, result.output
    assert "held-out raw" in result.output and "default space" in result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["n_reference"] == 200 and manifest["embedder"] == "hashing"

    result = runner.invoke(calibrate_app, [
        "knn", "--artifact", str(out), "--data", str(data), "--target-share", "0.3", "--write",
    ])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("lambda = ")
    assert json.loads((out / "manifest.json").read_text())["calibration"]["objective"] == "max_utility"

    result = runner.invoke(knn_app, ["info", "--artifact", str(out)])
    assert result.exit_code == 0 and '"kind": "knn"' in result.output


@pytest.mark.parametrize(
    "args",
    [
        ["knn", "--data", "/nonexistent.csv", "--out", "/tmp/x", "--embedder", "hashing"],
        ["knn", "--data", "{data}", "--out", "/tmp/x", "--space", "sideways"],
    ],
)
def test_train_bad_input_exits_2(args: list[str], data: Path) -> None:
    result = runner.invoke(train_app, [a.replace("{data}", str(data)) for a in args])
    assert result.exit_code == 2
    assert "error:" in result.output and "Traceback" not in result.output


def test_calibrate_refuses_a_missing_artifact(data: Path, tmp_path: Path) -> None:
    result = runner.invoke(calibrate_app, [
        "knn", "--artifact", str(tmp_path), "--data", str(data), "--target-share", "0.3",
    ])
    assert result.exit_code == 2 and "not a knn artifact" in result.output


def test_every_command_has_help() -> None:
    for app, args in [(train_app, ["knn"]), (calibrate_app, ["knn"]),
                      (knn_app, ["add-model"]), (knn_app, ["info"])]:
        result = runner.invoke(app, [*args, "--help"])
        assert result.exit_code == 0 and "Usage" in result.output


def test_info_without_an_artifact_prints_the_shipped_one() -> None:
    result = runner.invoke(knn_app, ["info"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["version"]["id"].startswith("default-knn-")
