"""The two-stage k-NN: the static stage decides when sure, MiniLM only when it is not.

Real parts throughout: the distilled static encoder, MiniLM on its serving backend, FAISS.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from routers.base import Policy
from routers.embedding import CachedEmbedder, Embedder, Vectors, minilm_embedder
from routers.knn.artifact import KnnArtifact, load_artifact, save_artifact
from routers.knn.fit import fit_knn
from routers.knn.gate import Gate
from routers.knn.hybrid import HybridKnnRouter
from routers.knn.index import index_kind
from routers.knn.replay import KnnReplayable
from routers.knn.router import KnnRouter, load_knn_router
from routers.static_embedding import StaticEmbedder
from tests.routers.knn.conftest import FAST
from tests.routers.knn.synthetic import EASY_WORDS, HARD_WORDS, synthetic
from tests.routers.knn.test_router import CANDIDATES, _request
from tests.routers.test_static_embedding import _distilled

POLICY = Policy("max_utility", 0.05)


class Counting:
    """An embedder that counts the texts it was asked to embed."""

    def __init__(self, inner: Embedder):
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self.texts = 0

    def embed(self, texts: Sequence[str]) -> Vectors:
        self.texts += len(texts)
        return self.inner.embed(texts)


@pytest.fixture(scope="module")
def encoders() -> tuple[Embedder, Embedder]:
    """(MiniLM, the distilled static encoder): the real ones, loaded once."""
    _distilled()
    return CachedEmbedder(minilm_embedder(threads=1)), CachedEmbedder(StaticEmbedder())


@pytest.fixture(scope="module")
def hybrid_fit(tmp_path_factory: pytest.TempPathFactory,
               encoders: tuple[Embedder, Embedder]) -> tuple[KnnArtifact, Path]:
    """A two-stage artifact fitted on the synthetic data, and its saved directory."""
    minilm, static = encoders
    fitted = fit_knn(synthetic(), minilm, FAST, stage1=static)
    directory = tmp_path_factory.mktemp("hybrid") / "artifact"
    save_artifact(fitted, directory)
    return fitted, directory


def _router(directory: Path, encoders: tuple[Embedder, Embedder], threshold: float,
            ) -> tuple[HybridKnnRouter, Counting]:
    """The saved artifact's router with the gate at `threshold` and MiniLM counted."""
    minilm = Counting(encoders[0])
    router = HybridKnnRouter(load_artifact(directory), embedder=minilm,
                             stage1_embedder=encoders[1])
    router.gate = Gate(threshold, {})
    return router, minilm


def _first(router: KnnRouter) -> KnnRouter:
    assert isinstance(router, HybridKnnRouter) and router.stage1 is not None
    return router.stage1


def test_the_two_stage_artifact_round_trips(hybrid_fit: tuple[KnnArtifact, Path]) -> None:
    fitted, directory = hybrid_fit
    assert fitted.stage1 is not None
    manifest = json.loads((directory / "manifest.json").read_text())
    block = manifest["stage1"]
    assert block["embedder"] == StaticEmbedder().name and block["index"] == "flat16"
    assert manifest["embedder"] == minilm_embedder().name  # the second stage's encoder
    assert "out of fold" in block["gate"]["fitted"]["on"]
    loaded = load_artifact(directory)
    assert loaded.stage1 is not None
    assert loaded.stage1.gate.threshold == pytest.approx(fitted.stage1.gate.threshold, abs=1e-6)
    assert loaded.stage1.artifact.prompt_hashes == loaded.prompt_hashes
    assert index_kind(loaded.stage1.artifact.ensure_index()) == "flat16"
    np.testing.assert_allclose(loaded.stage1.artifact.raw, fitted.stage1.artifact.raw, atol=1e-3)
    router = load_knn_router(directory)
    assert isinstance(router, HybridKnnRouter)
    assert _first(router).embedder.name == StaticEmbedder().name


def test_a_sure_prompt_is_decided_without_minilm(
    hybrid_fit: tuple[KnnArtifact, Path], encoders: tuple[Embedder, Embedder]
) -> None:
    router, minilm = _router(hybrid_fit[1], encoders, threshold=0.0)
    for words in (EASY_WORDS, HARD_WORDS):
        decision = router.route(_request(words), CANDIDATES, POLICY)
        assert "stage 1" in decision.reason
        assert decision.prompt_vector is not None
        assert decision.prompt_vector.encoder == StaticEmbedder().name
    assert minilm.texts == 0


def test_an_unsure_prompt_reaches_minilm_and_gets_its_decision(
    hybrid_fit: tuple[KnnArtifact, Path], encoders: tuple[Embedder, Embedder]
) -> None:
    request = _request(HARD_WORDS)
    probe, _ = _router(hybrid_fit[1], encoders, threshold=0.0)
    text = request.messages[0]["content"]
    first = _first(probe)
    ranked, _ = first.rank(first.embedder.embed([text]), CANDIDATES, POLICY)
    from routers.knn.gate import decision_margin

    margin = decision_margin(ranked, POLICY)
    sure, minilm = _router(hybrid_fit[1], encoders, threshold=margin)  # margin >= threshold
    assert "stage 1" in sure.route(request, CANDIDATES, POLICY).reason and minilm.texts == 0
    unsure, minilm = _router(hybrid_fit[1], encoders, threshold=np.nextafter(margin, np.inf))
    decision = unsure.route(request, CANDIDATES, POLICY)
    assert minilm.texts == 1 and "stage 2" in decision.reason
    assert decision.prompt_vector is not None
    assert decision.prompt_vector.encoder == minilm.name
    alone = KnnRouter(load_artifact(hybrid_fit[1]), embedder=encoders[0]).route(
        request, CANDIDATES, POLICY)
    assert (decision.model, decision.predicted_quality) == (alone.model, alone.predicted_quality)


def test_the_gate_reads_the_threshold_of_the_policys_objective(
    hybrid_fit: tuple[KnnArtifact, Path], encoders: tuple[Embedder, Embedder]
) -> None:
    router, minilm = _router(hybrid_fit[1], encoders, threshold=float("inf"))
    router.gate = Gate(float("inf"), {}, {"quality_target": 0.0})
    target = Policy("quality_target", 0.5)
    assert "stage 1" in router.route(_request(EASY_WORDS), CANDIDATES, target).reason
    assert minilm.texts == 0
    assert "stage 2" in router.route(_request(EASY_WORDS), CANDIDATES, POLICY).reason
    assert minilm.texts == 1
    # A fitted artifact carries a threshold per objective.
    fitted = hybrid_fit[0].stage1
    assert fitted is not None
    assert set(fitted.gate.by_objective) == {"cheapest_within_eps", "quality_target"}
    assert set(fitted.gate.fitted["by_objective"]) == set(fitted.gate.by_objective)


def test_replay_mixes_the_stages_by_the_gate(
    hybrid_fit: tuple[KnnArtifact, Path], encoders: tuple[Embedder, Embedder]
) -> None:
    ds = synthetic(60, seed=7)
    sweeps = {}
    for threshold in (0.0, float("inf")):
        router, _ = _router(hybrid_fit[1], encoders, threshold)
        replayable = KnnReplayable(router, knobs=[0.0, 0.05, 1.0])
        sweeps[threshold] = [c.models for c in replayable.sweep(ds)]
        assert replayable.first_stage_shares == ([1.0] * 3 if threshold == 0.0 else [0.0] * 3)
    artifact = load_artifact(hybrid_fit[1])
    assert artifact.stage1 is not None
    alone = {
        0.0: KnnReplayable(KnnRouter(artifact.stage1.artifact, embedder=encoders[1]),
                           knobs=[0.0, 0.05, 1.0]),
        float("inf"): KnnReplayable(KnnRouter(artifact, embedder=encoders[0]),
                                    knobs=[0.0, 0.05, 1.0]),
    }
    for threshold, replayable in alone.items():
        expected = [c.models for c in replayable.sweep(ds)]
        for got, want in zip(sweeps[threshold], expected):
            np.testing.assert_array_equal(got, want)


def test_online_outcomes_grow_both_stages(
    hybrid_fit: tuple[KnnArtifact, Path], encoders: tuple[Embedder, Embedder], tmp_path: Path
) -> None:
    router, _ = _router(hybrid_fit[1], encoders, threshold=0.0)
    before = len(router.artifact.prompt_hashes)
    prompts = ["add the apples and count them twice", "prove the lemma on the manifold"]
    models = router.models
    grown = router.add_outcomes(prompts, {m: [1.0, 0.0] for m in models},
                                {m: [1e-4, 1e-4] for m in models})
    assert grown.appended == 2
    assert _first(router).artifact.prompt_hashes == router.artifact.prompt_hashes
    assert _first(router).artifact.ensure_index().ntotal == before + 2
    save_artifact(router.artifact, tmp_path / "grown")
    assert len(load_artifact(tmp_path / "grown").prompt_hashes) == before + 2


def test_single_encoder_artifacts_still_load_as_before(
    hybrid_fit: tuple[KnnArtifact, Path], encoders: tuple[Embedder, Embedder],
    artifact_dir: Path, tmp_path: Path,
) -> None:
    plain = load_knn_router(artifact_dir)  # the hashing artifact of the other tests
    assert type(plain) is KnnRouter and plain.artifact.stage1 is None
    assert "stage1" not in json.loads((artifact_dir / "manifest.json").read_text())
    single = replace(hybrid_fit[0], stage1=None, manifest=dict(hybrid_fit[0].manifest))
    save_artifact(single, tmp_path / "minilm")
    assert not (tmp_path / "minilm" / "stage1").exists()
    router = load_knn_router(tmp_path / "minilm", embedder=encoders[0])
    assert type(router) is KnnRouter
    decision = router.route(_request(HARD_WORDS), CANDIDATES, POLICY)
    assert decision.reason.startswith("knn[")


def test_a_static_stage_out_of_step_is_refused(
    hybrid_fit: tuple[KnnArtifact, Path], tmp_path: Path
) -> None:
    fitted = hybrid_fit[0]
    assert fitted.stage1 is not None
    stale = replace(fitted.stage1, artifact=replace(
        fitted.stage1.artifact, prompt_hashes=fitted.stage1.artifact.prompt_hashes[:-1],
        raw=fitted.stage1.artifact.raw[:-1], scores=fitted.stage1.artifact.scores[:-1],
        costs=fitted.stage1.artifact.costs[:-1], index=None, manifest={}))
    save_artifact(replace(fitted, stage1=stale, manifest=dict(fitted.manifest)), tmp_path / "a")
    with pytest.raises(ValueError, match="out of step"):
        load_artifact(tmp_path / "a")


def test_without_the_static_model_it_serves_on_minilm_alone(
    hybrid_fit: tuple[KnnArtifact, Path], encoders: tuple[Embedder, Embedder],
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:
    from routers import embedding
    from routers.static_embedding import MODEL_ENV

    monkeypatch.setenv(MODEL_ENV, str(tmp_path / "no-static-model"))
    embedding.shared_embedder.cache_clear()  # the process-wide static embedder of that path
    try:
        router = load_knn_router(hybrid_fit[1], embedder=Counting(encoders[0]))
    finally:
        embedding.shared_embedder.cache_clear()
    assert isinstance(router, HybridKnnRouter) and router.stage1 is None
    assert "static stage unavailable" in caplog.text
    decision = router.route(_request(HARD_WORDS), CANDIDATES, POLICY)
    assert "stage 2" in decision.reason and "static stage unavailable" in decision.reason
    assert router.embedder.texts == 1  # type: ignore[attr-defined]


def test_train_knn_embedder_hybrid_writes_a_two_stage_artifact(
    tmp_path: Path, encoders: tuple[Embedder, Embedder]
) -> None:
    from typer.testing import CliRunner

    from routers.cli import knn_app, train_app
    from routers.datasets import save_routerbench

    data = tmp_path / "train.jsonl"
    save_routerbench(synthetic(120), data)
    out = tmp_path / "art"
    runner = CliRunner()
    result = runner.invoke(train_app, ["knn", "--data", str(data), "--out", str(out),
                                       "--embedder", "hybrid", "--epochs", "2"])
    assert result.exit_code == 0, result.output
    assert "static stage: decides when its margin >=" in result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["embedder"] == encoders[0].name
    assert manifest["stage1"]["embedder"] == encoders[1].name
    # `knn add-model` grows both stages: the artifact still loads, in step.
    grown = synthetic(120)
    grown.models[1] = "new-model"
    save_routerbench(grown, tmp_path / "new.jsonl")
    result = runner.invoke(knn_app, ["add-model", "--artifact", str(out), "--data",
                                     str(tmp_path / "new.jsonl"), "--model", "new-model"])
    assert result.exit_code == 0, result.output
    loaded = load_artifact(out)
    assert loaded.stage1 is not None and loaded.stage1.artifact.models == loaded.models
    assert "new-model" in loaded.models


def test_calibrate_knn_calibrates_the_two_stages_together(
    hybrid_fit: tuple[KnnArtifact, Path], encoders: tuple[Embedder, Embedder], tmp_path: Path
) -> None:
    """`calibrate knn` on a two-stage artifact: the share it reports is the one the two
    stages give together at its knob (routers/knn/calibrate.py), and it says so."""
    import shutil

    from typer.testing import CliRunner

    from routers.cli import calibrate_app
    from routers.datasets import save_routerbench
    from routers.knn.replay import self_rows
    from tests.routers.knn.synthetic import BIG

    artifact = tmp_path / "art"
    shutil.copytree(hybrid_fit[1], artifact)  # --write changes the manifest: not the fixture's
    ds = synthetic(80, seed=11)
    save_routerbench(ds, tmp_path / "ref.jsonl")
    result = CliRunner().invoke(calibrate_app, [
        "knn", "--artifact", str(artifact), "--data", str(tmp_path / "ref.jsonl"),
        "--target-share", "0.5", "--tier-models", BIG, "--write"])
    assert result.exit_code == 0, result.output
    assert "two-stage: the static stage decides" in result.output
    calibration = json.loads((artifact / "manifest.json").read_text())["calibration"]
    router = HybridKnnRouter(load_artifact(artifact), embedder=encoders[0],
                             stage1_embedder=encoders[1])
    (picked,), (decided,) = router.sweep_choices(
        ds.prompts, [calibration["knob"]], np.ones(len(router.models), dtype=np.bool_),
        exclude=self_rows(router.artifact, ds.prompts))
    assert calibration["share_to_tier"] == pytest.approx(
        float((picked == router.models.index(BIG)).mean()))
    assert calibration["first_stage_share"] == pytest.approx(decided)


def test_exploration_reads_its_posteriors_off_the_static_stage(
    hybrid_fit: tuple[KnnArtifact, Path], encoders: tuple[Embedder, Embedder]
) -> None:
    from gateway.learning.explore import beta_posteriors

    router, minilm = _router(hybrid_fit[1], encoders, threshold=float("inf"))
    models = [c.model for c in CANDIDATES]
    posteriors = beta_posteriors(router, _request(HARD_WORDS), models)
    assert minilm.texts == 0, "an explored request must not pay for a MiniLM pass"
    assert posteriors == beta_posteriors(_first(router), _request(HARD_WORDS), models)
    known = [p for m, p in zip(models, posteriors, strict=True) if m in router.artifact.models]
    assert known and all(a + b > 2.0 for a, b in known), "the neighbours voted"
