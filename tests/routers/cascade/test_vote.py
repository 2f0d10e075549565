"""Vote stages "a&b&c": the majority answer, its head, its column for the search, serving.

The offline parts run on hand-made arrays; the trained path runs `fit_cascade` and
`fit_signal_cascade` on the synthetic arithmetic data (four models, so the three cheapest
form one vote stage), saves and loads the artifact, and checks that serving scores a row
as training scored it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from routers.cascade.agreement import agreement_tensor
from routers.cascade.artifact import load_artifact, save_artifact
from routers.cascade.live import Answered, LiveSignals
from routers.cascade.parallel import extended, replay_strategy
from routers.cascade.signal_train import SignalTrainConfig, fit_signal_cascade, signal_inputs
from routers.cascade.signals import Signals, apply_stacked, fit_stacked
from routers.cascade.strategy import Stage, Strategy, parallel_name
from routers.cascade.train import CascadeConfig, fit_cascade
from routers.embedding import HashingEmbedder
from tests.routers.cascade.synthetic import arithmetic_dataset

MODELS = ("tiny", "small", "medium", "large")


def _signals(answers: list[list[str]], base: list[list[float]]) -> Signals:
    agree = agreement_tensor(answers, [None] * len(answers))
    b = np.array(base, dtype=np.float64)
    return Signals(b, agree, np.zeros((len(b), len(answers), 5)), True, False)


def test_a_vote_returns_the_majority_and_breaks_ties_by_base_score() -> None:
    # Row 0: models 1 and 2 say B, model 0 says A -> the majority B (the surer of 1 and 2).
    # Row 1: all differ -> the highest base score (model 0).
    # Row 2: all agree -> share 1.
    answers = [["A", "A", "C"], ["B", "B", "C"], ["B", "D", "C"]]
    s = _signals(answers, [[0.9, 0.3, 0.6], [0.8, 0.2, 0.1], [0.5, 0.5, 0.5]])
    x, returned = s.group((0, 1, 2))
    assert returned.tolist() == [2, 0, 0]
    share = x[:, 3] + 0.5
    assert share.tolist() == pytest.approx([0.5, 0.0, 1.0])
    # Two members are the pair stage, whose feature layout saved artifacts hold.
    pair_x, pair_returned = s.group((0, 1))
    expected_x, expected_returned = s.pair(0, 1)
    assert np.array_equal(pair_x, expected_x) and np.array_equal(pair_returned, expected_returned)


def test_a_vote_column_costs_every_member_and_scores_the_returned_answer() -> None:
    rng = np.random.default_rng(0)
    n = 400
    truth = rng.integers(0, 4, n)
    letters = "ABCD"
    answers, labels = [], []
    for accuracy in (0.6, 0.6, 0.65, 0.9):
        right = rng.random(n) < accuracy
        picked = np.where(right, truth, (truth + rng.integers(1, 4, n)) % 4)
        answers.append([letters[k] for k in picked])
        labels.append(right.astype(np.float64))
    y = np.column_stack(labels)
    costs = np.tile([1.0, 1.0, 2.0, 10.0], (n, 1))
    s = _signals(answers, np.full((n, 4), 0.6).tolist())
    vote = (0, 1, 2)
    heads = fit_stacked(s, y, range(4), [vote, (0, 1)])
    scored = apply_stacked(s, heads)
    score, returned = scored.pairs[vote]
    # Agreement of all three is what makes a cheap answer trustworthy here.
    unanimous = s.group(vote)[0][:, 3] + 0.5 == 1.0
    assert score[unanimous].mean() > score[~unanimous].mean() + 0.2
    ext = extended(["a", "b", "c", "d"], scored, y, costs, [vote, (0, 1)])
    col = ext.outcomes.models.index(parallel_name(["a", "b", "c"]))
    assert ext.calls[col] == [0, 1, 2]
    assert np.allclose(ext.outcomes.costs[:, col], 4.0)
    assert np.array_equal(ext.outcomes.outcomes[:, col], y[np.arange(n), returned])
    # The stage after the vote reads its agreement with the answer the vote returned.
    after = ext.outcomes.conditional[(col, 3)]  # type: ignore[index]
    for j in vote:
        rows = returned == j
        assert np.allclose(after[rows], scored.after[(j, 3)][rows])
    threshold = float(np.median(score))
    strategy = Strategy((Stage(parallel_name(["a", "b", "c"]), threshold), Stage("d")))
    cost, got, calls = replay_strategy(strategy, ext, 4)
    accepted = score >= threshold
    assert np.allclose(cost, np.where(accepted, 4.0, 14.0))
    assert calls[:, :3].all() and np.array_equal(calls[:, 3], ~accepted)
    assert np.array_equal(got[accepted], y[np.arange(n), returned][accepted])


@pytest.fixture(scope="module")
def trained_vote(tmp_path_factory: pytest.TempPathFactory) -> tuple[object, Path]:
    ds = arithmetic_dataset(300, seed=5, models=MODELS)
    ds.costs[:, 0] *= 0.05  # tiny, small, medium are the three cheapest
    trained = fit_cascade(ds, HashingEmbedder(), CascadeConfig(compare_frugalgpt=False))
    inputs = signal_inputs(trained.encoded.dataset, None, None)
    fitted = fit_signal_cascade(trained, inputs,
                                SignalTrainConfig(pair_models=3, group_sizes=(2, 3)))
    directory = tmp_path_factory.mktemp("vote-cascade")
    save_artifact(fitted.artifact, directory)
    return (trained, fitted), directory


def test_a_trained_vote_stage_is_saved_and_served_as_trained(
    trained_vote: tuple[object, Path],
) -> None:
    (trained, fitted), directory = trained_vote  # type: ignore[misc]
    vote = ("tiny", "small", "medium")
    heads = load_artifact(directory).signals
    assert heads is not None and vote in heads.pairs and ("tiny", "small") in heads.pairs
    assert list(vote) in heads.config.to_json()["pairs"]
    live = LiveSignals(heads)
    assert live.is_parallel(parallel_name(list(vote)))
    offline = apply_stacked(fitted.signals, heads.stacked())  # type: ignore[attr-defined]
    ds = trained.encoded.dataset  # type: ignore[attr-defined]
    base = trained.oof_scores  # type: ignore[attr-defined]
    score_offline, returned_offline = offline.pairs[(0, 1, 2)]
    for i in range(8):
        answers = [Answered(m, ds.responses[m][i] or "", float(base[i, j]))
                   for j, m in enumerate(vote)]
        score, chosen = live.score_group(answers)
        assert score == pytest.approx(score_offline[i], abs=1e-9)
        assert chosen.model == vote[int(returned_offline[i])]


def test_serving_a_vote_returns_the_majority_or_the_surest_answer(
    trained_vote: tuple[object, Path],
) -> None:
    # (Whether agreement raises the score is checked where it is the only signal, above: on
    # this synthetic data the base scorer alone already separates right from wrong.)
    _, directory = trained_vote
    heads = load_artifact(directory).signals
    assert heads is not None
    live = LiveSignals(heads)
    right, wrong, other = "12 + 30 = 42.\n#### 42", "12 + 30 = 45.\n#### 45", "#### 47"
    _, chosen = live.score_group([Answered("tiny", wrong, 0.9), Answered("small", right, 0.2),
                                  Answered("medium", right, 0.3)])
    assert chosen.model == "medium"  # the majority, and the surer of its two answers
    _, chosen = live.score_group([Answered("tiny", wrong, 0.2), Answered("small", right, 0.7),
                                  Answered("medium", other, 0.4)])
    assert chosen.model == "small"  # no majority: the highest base score
