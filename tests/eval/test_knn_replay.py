"""A trained k-NN artifact replays through `costroute eval replay --router` (integration).

The artifact is trained on synthetic prompts where the cheap model is right exactly on the
"easy" ones, so a router that looks at the prompt can beat both single models.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from routers.datasets.format import RoutingDataset

pytest.importorskip("routers.knn.fit")
pytestmark = [
    pytest.mark.slow,
    # Raised inside routers.knn training (not eval); reported to its owner.
    pytest.mark.filterwarnings("ignore:Converting a tensor with requires_grad:UserWarning"),
]


def synthetic(n: int, offset: int = 0) -> RoutingDataset:
    kinds = ["easy" if i % 2 else "hard" for i in range(offset, offset + n)]
    prompts = [f"{k} question number {i}" for i, k in enumerate(kinds, offset)]
    scores = np.array([[1.0, 1.0] if k == "easy" else [0.0, 1.0] for k in kinds])
    return RoutingDataset(prompts, ["t"] * n, ["cheap", "strong"], scores,
                          np.array([[1e-4, 1e-2]] * n), name="synthetic")


@pytest.fixture(scope="module")
def knn_artifact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from routers.embedding import HashingEmbedder
    from routers.knn.artifact import save_artifact
    from routers.knn.fit import FitConfig, fit_knn
    from routers.knn.train import TrainConfig

    out = tmp_path_factory.mktemp("knn") / "artifact"
    artifact = fit_knn(synthetic(80), HashingEmbedder(),
                       FitConfig(val_fraction=0.2, train=TrainConfig(epochs=2)))
    save_artifact(artifact, out)
    return out


def _test_csv(path: Path) -> Path:
    test = synthetic(40, offset=1000)
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["prompt", "eval_name", "cheap", "strong", "cheap|total_cost",
                         "strong|total_cost"])
        for i, p in enumerate(test.prompts):
            writer.writerow([p, "t", *test.scores[i], *test.costs[i]])
    return path


def test_knn_artifact_is_a_router_candidate_with_a_curve(knn_artifact: Path, tmp_path: Path) -> None:
    data = _test_csv(tmp_path / "test.csv")
    from eval.cli import app

    result = CliRunner().invoke(app, ["replay", "--quiet", "--no-plots", "--bootstrap", "20",
                                      "--data", str(data), "--router", str(knn_artifact),
                                      "--out", str(tmp_path / "rep")])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "rep" / "report.json").read_text())
    (knn,) = [c for c in report["datasets"][0]["pooled"]["candidates"]
              if c["name"].startswith("knn")]
    assert knn["kind"] == "router" and len(knn["points"]) > 2
    assert knn["apgr"] is not None  # two-model set: RouteLLM's metrics apply
    # Its AIQ gain over the per-task lookup comes with a paired interval, in both reports.
    (gain,) = report["datasets"][0]["pooled"]["versus_lookup"]
    assert gain["candidate"] == knn["name"] and gain["baseline"] == "task-lookup"
    assert gain["ci"][0] <= gain["ci"][1]
    assert gain["n_resamples"] == 20
    markdown = (tmp_path / "rep" / "report.md").read_text()
    assert f"- {knn['name']}: {gain['difference']:+.4f}" in markdown


def test_artifacts_sharing_a_name_are_told_apart_by_their_directory(
        knn_artifact: Path, tmp_path: Path) -> None:
    import shutil

    from eval.cli import app

    twin = tmp_path / "twin"
    shutil.copytree(knn_artifact, twin)
    result = CliRunner().invoke(app, ["replay", "--quiet", "--no-plots", "--bootstrap", "0",
                                      "--data", str(_test_csv(tmp_path / "test.csv")),
                                      "--router", str(knn_artifact), "--router", str(twin),
                                      "--out", str(tmp_path / "rep")])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "rep" / "report.json").read_text())
    names = sorted(c["name"] for c in report["datasets"][0]["pooled"]["candidates"]
                   if c["kind"] == "router")
    assert {name.rsplit(" (", 1)[-1] for name in names} == {f"{knn_artifact.name})", "twin)"}
