"""Adding a model from partial outcomes: no retraining, unknowns handled, router uses it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from routers.base import Policy, RouteRequest
from routers.datasets import RoutingDataset, save_routerbench
from routers.knn.artifact import load_artifact, save_artifact
from routers.knn.grow import GrowError, add_models
from routers.knn.router import load_knn_router
from tests.routers.knn.synthetic import BIG, CHEAP, HARD_WORDS, prompt, synthetic
from tests.routers.knn.test_router import CANDIDATES, _candidate

NEW = "new-prover"


def _new_model_outcomes(share: float = 0.5) -> RoutingDataset:
    """The new model, cheap and right on the hard prompts, run on `share` of them."""
    ds = synthetic()
    rows = np.arange(int(len(ds) * share))  # interleaved easy/hard: both kinds covered
    part = ds.subset(rows)
    hard = np.array([t == "proofs" for t in part.eval_names])
    return RoutingDataset(
        prompts=part.prompts,
        eval_names=part.eval_names,
        models=[NEW],
        scores=np.where(hard, 1.0, 0.0)[:, None],
        costs=np.full((len(part), 1), 2e-5),
        name="new",
    )


def test_added_model_is_used_without_retraining(artifact_dir: Path) -> None:
    artifact = load_artifact(artifact_dir)
    projection_before = artifact.projection.w1.copy()
    index_before = artifact.index.ntotal
    added = add_models(artifact, _new_model_outcomes())
    assert added[0].model == NEW and added[0].matched == 200
    save_artifact(artifact, artifact_dir)

    router = load_knn_router(artifact_dir)
    np.testing.assert_array_equal(router.artifact.projection.w1, projection_before)
    assert router.artifact.index.ntotal == index_before
    assert router.models[-1] == NEW
    # Half the reference prompts have no outcome for it: NaN, not a crash.
    assert np.isnan(router.artifact.scores[:, -1]).sum() == 200
    hard = RouteRequest(messages=[{"role": "user", "content": prompt(HARD_WORDS, np.random.default_rng(7))}])
    decision = router.route(hard, [*CANDIDATES, _candidate(NEW, 2e-5)], Policy("max_utility", 1.0))
    assert decision.model == NEW, decision.reason
    assert router.artifact.manifest["added_models"][0]["model"] == NEW


def test_adding_needs_new_matching_outcomes(artifact_dir: Path) -> None:
    artifact = load_artifact(artifact_dir)
    with pytest.raises(GrowError, match="already"):
        add_models(artifact, synthetic(), [CHEAP])
    stranger = RoutingDataset(["never seen prompt"], ["x"], ["m"], np.ones((1, 1)), np.ones((1, 1)))
    with pytest.raises(GrowError, match="matches"):
        add_models(artifact, stranger)
    with pytest.raises(GrowError, match="no new model"):
        add_models(artifact, synthetic().with_models([CHEAP, BIG]))


def test_cli_add_model(artifact_dir: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from routers.cli import knn_app

    path = tmp_path / "new.csv"
    save_routerbench(_new_model_outcomes(0.25), path)
    result = CliRunner().invoke(knn_app, ["add-model", "--artifact", str(artifact_dir), "--data", str(path)])
    assert result.exit_code == 0, result.output
    assert f"added {NEW}: outcomes on 100 reference prompts" in result.output
    assert load_artifact(artifact_dir).models[-1] == NEW
