"""A cascade artifact replays as an eval candidate, priced stage by stage.

The dataset (four prompts, two models, every value chosen by hand):

prompt  cheap (score, $, answer)   strong (score, $)
p0      1, 1, "sure: A"            1, 10
p1      0, 1, "unsure: B"          1, 10
p2      0, 1, "unsure: C"          1, 10
p3      1, 1, "sure: D"            0, 10

The test scorer gives 0.9 to an answer starting with "sure" and 0.1 to any other, so
"cheap ≥ 0.5 → strong" keeps p0 and p3 at cheap and escalates p1 and p2: accuracy 4/4 and
mean cost (1 + 11 + 11 + 1) / 4 = $6, where strong alone gets 3/4 for $10.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner, Result

from routers.cascade.artifact import CascadeArtifact, save_artifact
from routers.cascade.features import FEATURE_NAMES
from routers.cascade.logistic import LogisticHead
from routers.cascade.replay import CascadeReplayable
from routers.cascade.strategy import Stage, Strategy
from routers.datasets.format import RoutingDataset

CHEAP, STRONG = "cheap", "strong"
ANSWERS = ["sure: A", "unsure: B", "unsure: C", "sure: D"]
# Training-time (accuracy, mean cost): the knob of each step, deliberately not the test's.
ONLY_CHEAP = Strategy((Stage(CHEAP),), 0.5, 1.0)
CASCADE = Strategy((Stage(CHEAP, 0.5), Stage(STRONG)), 0.9, 5.0)
ONLY_STRONG = Strategy((Stage(STRONG),), 0.8, 9.0)
NEVER_ACCEPTS = Strategy((Stage(CHEAP, 0.95), Stage(STRONG)), 0.8, 10.5)


class PrefixScorer:
    """0.9 for an answer starting with "sure", 0.1 otherwise; scores only `cheap`."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, list[str]]] = []

    def can_score(self, model: str) -> bool:
        return model == CHEAP

    def score_many(self, model: str, queries: Sequence[str], answers: Sequence[str]) -> np.ndarray:
        self.seen.append((model, list(answers)))
        return np.array([0.9 if a.startswith("sure") else 0.1 for a in answers])


def dataset(responses: dict[str, list[str | None]] | None = None) -> RoutingDataset:
    return RoutingDataset(
        prompts=["p0", "p1", "p2", "p3"],
        eval_names=["t"] * 4,
        models=[CHEAP, STRONG],
        scores=np.array([[1, 1], [0, 1], [0, 1], [1, 0]], dtype=np.float64),
        costs=np.array([[1, 10]] * 4, dtype=np.float64),
        responses={CHEAP: list(ANSWERS)} if responses is None else responses,
        name="hand",
    )


def test_each_strategy_pays_for_every_stage_it_tries() -> None:
    candidate = CascadeReplayable([CASCADE, ONLY_STRONG, ONLY_CHEAP], PrefixScorer())
    steps = candidate.sweep(dataset())
    assert candidate.kind == "cascade"
    assert [s.knob for s in steps] == [1.0, 5.0, 9.0]  # training cost, ascending
    cheap, cascade, strong = steps
    assert cheap.score.tolist() == [1, 0, 0, 1] and cheap.cost.tolist() == [1, 1, 1, 1]
    assert cascade.score.tolist() == [1, 1, 1, 1]
    assert cascade.cost.tolist() == [1, 11, 11, 1]
    assert float(cascade.cost.mean()) == 6.0
    assert strong.score.tolist() == [1, 1, 1, 0] and strong.cost.tolist() == [10] * 4
    assert cascade.calls is not None
    assert cascade.calls.tolist() == [[True, False], [True, True], [True, True], [True, False]]


def test_a_threshold_no_answer_reaches_escalates_every_prompt() -> None:
    (step,) = CascadeReplayable([NEVER_ACCEPTS], PrefixScorer()).sweep(dataset())
    assert step.score.tolist() == [1, 1, 1, 0]
    assert step.cost.tolist() == [11] * 4


def test_the_scorer_judges_the_recorded_answers_once_per_model() -> None:
    scorer = PrefixScorer()
    CascadeReplayable([CASCADE, NEVER_ACCEPTS, ONLY_STRONG], scorer).sweep(dataset())
    assert scorer.seen == [(CHEAP, ANSWERS)]


def test_missing_response_column_is_named() -> None:
    candidate = CascadeReplayable([CASCADE], PrefixScorer())
    with pytest.raises(ValueError, match=r"no column `cheap\|model_response`"):
        candidate.sweep(dataset(responses={}))


def test_single_stage_strategies_need_no_responses() -> None:
    (step,) = CascadeReplayable([ONLY_STRONG], PrefixScorer()).sweep(dataset(responses={}))
    assert step.score.tolist() == [1, 1, 1, 0]


def test_rows_with_an_outcome_but_no_answer_are_an_error() -> None:
    partial: list[str | None] = [ANSWERS[0], None, ANSWERS[2], None]
    with pytest.raises(ValueError, match=r"`cheap\|model_response` is empty on 2 of 4 rows"):
        CascadeReplayable([CASCADE], PrefixScorer()).sweep(dataset({CHEAP: partial}))


def test_rows_without_outcome_or_answer_are_unknown() -> None:
    ds = dataset({CHEAP: [ANSWERS[0], None, ANSWERS[2], ANSWERS[3]]})
    ds.scores[1, 0] = np.nan  # cheap was never run on p1
    (step,) = CascadeReplayable([CASCADE], PrefixScorer()).sweep(ds)
    assert np.isnan(step.score[1]) and np.isnan(step.cost[1])
    assert step.score[[0, 2, 3]].tolist() == [1, 1, 1]
    assert step.cost[[0, 2, 3]].tolist() == [1, 11, 1]


def test_a_stage_model_the_dataset_lacks_is_named() -> None:
    lost = Strategy((Stage(CHEAP, 0.5), Stage("elsewhere")), 0.9, 5.0)
    with pytest.raises(
        ValueError, match=r"hand has no outcomes of its stage models \['elsewhere'\]$"
    ):
        CascadeReplayable([lost], PrefixScorer()).sweep(dataset())
    bare = dataset(responses={})
    with pytest.raises(ValueError, match=r"and records no answers \(`M\|model_response`\)"):
        CascadeReplayable([lost], PrefixScorer()).sweep(bare)


# --- the artifact through `costroute eval replay` -------------------------------------------

HASH_DIM = 16


def constant_head(probability: float) -> LogisticHead:
    """A head that ignores its features: sigmoid(bias) = `probability` for every answer."""
    width = 3 * HASH_DIM + len(FEATURE_NAMES)
    bias = float(np.log(probability / (1 - probability)))
    return LogisticHead(np.zeros(width), bias, np.zeros(width), np.ones(width))


@pytest.fixture
def artifact_dir(tmp_path: Path) -> Path:
    """Cheap's answers all score 0.8: "≥ 0.5" accepts every one, "≥ 0.9" none."""
    accept_all = Strategy((Stage(CHEAP, 0.5), Stage(STRONG)), 0.5, 1.0)
    escalate_all = Strategy((Stage(CHEAP, 0.9), Stage(STRONG)), 0.75, 11.0)
    artifact = CascadeArtifact(
        heads={CHEAP: constant_head(0.8)},
        strategy=accept_all,
        pareto=[accept_all, escalate_all],
        manifest={"scorer": {"embedder": "hashing", "dim": HASH_DIM, "embed_answer": True}},
    )
    save_artifact(artifact, tmp_path / "cascade")
    return tmp_path / "cascade"


def write_csv(path: Path, with_responses: bool) -> Path:
    ds = dataset()
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        costs = [f"{CHEAP}|total_cost", f"{STRONG}|total_cost"]
        answers = [f"{CHEAP}|model_response"] if with_responses else []
        writer.writerow(["prompt", "eval_name", CHEAP, STRONG, *costs, *answers])
        for i, prompt in enumerate(ds.prompts):
            row = [prompt, "t", *ds.scores[i], *ds.costs[i]]
            writer.writerow(row + ([ANSWERS[i]] if with_responses else []))
    return path


def replay_cli(data: Path, artifact: Path, out: Path) -> Result:
    from eval.cli import app

    args = ["--data", str(data), "--router", str(artifact), "--out", str(out)]
    return CliRunner().invoke(app, ["replay", "--quiet", "--no-plots", "--bootstrap", "10", *args])


def test_artifact_replays_as_a_cascade_curve(artifact_dir: Path, tmp_path: Path) -> None:
    data = write_csv(tmp_path / "hand.csv", with_responses=True)
    out = tmp_path / "report"
    result = replay_cli(data, artifact_dir, out)
    assert result.exit_code == 0, result.output
    report = json.loads((out / "report.json").read_text())
    (cascade,) = [
        c for c in report["datasets"][0]["pooled"]["candidates"] if c["kind"] == "cascade"
    ]
    assert cascade["name"] == "cascade"
    # Accept all: cheap's outcomes (2/4) for $1; escalate all: strong's (3/4) for $1 + $10.
    assert [(p["knob"], p["mean_cost_usd"], p["accuracy"]) for p in cascade["points"]] == [
        (1.0, 1.0, 0.5),
        (11.0, 11.0, 0.75),
    ]
    # Summarised at its lowest cost-of-pass point: $1 / 0.5 = $2 per correct answer.
    assert (cascade["accuracy"], cascade["mean_cost_usd"], cascade["cost_of_pass_usd"]) == (
        0.5,
        1.0,
        2.0,
    )


def test_dataset_without_responses_fails_with_the_column_named(
    artifact_dir: Path, tmp_path: Path
) -> None:
    data = write_csv(tmp_path / "bare.csv", with_responses=False)
    result = replay_cli(data, artifact_dir, tmp_path / "r")
    assert result.exit_code == 2
    assert "`cheap|model_response`" in result.output
    assert "Traceback" not in result.output
