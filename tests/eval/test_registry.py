"""Loading router artifacts by manifest kind, and the precomputed kind end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval.precomputed import Precomputed, write_precomputed
from eval.registry import ArtifactError, load_artifact
from eval.sweep import Choices, Outcomes, as_outcomes
from tests.eval.tiny import CHEAP, STRONG, tiny_dataset


def test_precomputed_router_replays_its_recorded_choices(tmp_path: Path) -> None:
    decisions = [
        {"prompt": p, "knob": knob, "model": model}
        for knob, models in ((1.0, [CHEAP, STRONG, STRONG, CHEAP]), (0.0, [CHEAP] * 4))
        for p, model in zip(["p0", "p1", "p2", "p3"], models)
    ]
    write_precomputed(tmp_path / "r", "my-router", decisions)
    router = load_artifact(tmp_path / "r")
    assert (router.name, router.kind) == ("my-router", "router")
    steps = router.sweep(tiny_dataset())
    assert [s.knob for s in steps] == [0.0, 1.0]  # sorted by knob
    assert isinstance(steps[1], Choices) and steps[1].models.tolist() == [0, 1, 1, 0]
    assert as_outcomes(steps[1], tiny_dataset()).score.tolist() == [1, 1, 1, 1]


def test_precomputed_cascade_brings_its_own_costs_and_scores(tmp_path: Path) -> None:
    decisions = [
        {"prompt": f"p{i}", "knob": None, "cost_usd": 11.0, "score": 1.0} for i in range(4)
    ]
    write_precomputed(tmp_path / "c", "casc", decisions, kind="cascade")
    router = load_artifact(tmp_path / "c")
    (step,) = router.sweep(tiny_dataset())
    assert router.kind == "cascade"
    assert isinstance(step, Outcomes) and step.cost.tolist() == [11.0] * 4


def test_precomputed_names_the_prompts_it_has_no_decision_for(tmp_path: Path) -> None:
    write_precomputed(tmp_path / "r", "r", [{"prompt": "p0", "model": CHEAP}])
    with pytest.raises(ArtifactError, match="no decision for 3 of 4 prompts"):
        load_artifact(tmp_path / "r").sweep(tiny_dataset())


def test_manifest_problems_are_reported_with_the_directory(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="no such directory"):
        load_artifact(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ArtifactError, match="no manifest.json"):
        load_artifact(tmp_path / "empty")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "manifest.json").write_text("{not json")
    with pytest.raises(ArtifactError, match="not valid JSON"):
        load_artifact(bad)
    (bad / "manifest.json").write_text(json.dumps({"kind": "telepathy"}))
    with pytest.raises(ArtifactError, match="unknown kind 'telepathy'"):
        load_artifact(bad)
    (bad / "manifest.json").write_text(json.dumps({"kind": "x", "replay": "no.such:thing"}))
    with pytest.raises(ArtifactError, match="cannot be imported"):
        load_artifact(bad)


def test_a_manifest_can_name_its_own_factory(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_text(
        json.dumps({"kind": "anything", "replay": "tests.eval.test_registry:_factory"})
    )
    router = load_artifact(tmp_path)
    assert router.name == "from-factory"


def test_factories_can_be_injected(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_text(json.dumps({"kind": "mine"}))
    router = load_artifact(tmp_path, factories={"mine": _factory})
    assert router.name == "from-factory"


def _factory(directory: Path, manifest: object) -> Precomputed:
    return Precomputed("from-factory", "router", [])
