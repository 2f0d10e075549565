"""The answer scorer learns who is right, judged on rows it never saw."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from routers.cascade.fit_scorer import (
    ScorerConfig,
    encode,
    fit_heads,
    out_of_fold_scores,
    score_rows,
)
from routers.cascade.metrics import auroc
from routers.cascade.scorer import AnswerScorer
from routers.datasets import load_routellm_gsm8k, split
from routers.datasets.format import RoutingDataset
from routers.embedding import HashingEmbedder
from tests.routers.cascade.synthetic import arithmetic_dataset

FloatArray = np.ndarray


def _log_loss(p: FloatArray, y: FloatArray) -> float:
    p = np.clip(p, 1e-9, 1 - 1e-9)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def _held_out_check(train: RoutingDataset, test: RoutingDataset, embed_answer: bool = True) -> None:
    embedder = HashingEmbedder()
    config = ScorerConfig(embed_answer=embed_answer)
    heads = fit_heads(encode(train, embedder, embed_answer), config=config)
    scores = score_rows(encode(test, embedder, embed_answer), heads)
    for j, model in enumerate(test.models):
        y = test.scores[:, j]
        constant = np.full(len(y), train.scores[:, j].mean())
        got = auroc(scores[:, j], y)
        assert got is not None and got > 0.5, model
        assert _log_loss(scores[:, j], y) < _log_loss(constant, y), model


@pytest.mark.parametrize("embed_answer", [True, False])
def test_scorer_beats_a_constant_on_held_out_synthetic_data(embed_answer: bool) -> None:
    train, test = split(arithmetic_dataset(400, seed=1), 0.3, seed=0)
    _held_out_check(train, test, embed_answer)


@pytest.mark.slow
def test_scorer_beats_a_constant_on_held_out_gsm8k(shared_data: Path) -> None:
    ds = load_routellm_gsm8k(shared_data / "routing" / "routellm" / "gsm8k")
    train, test = split(ds, 0.3, seed=0)
    _held_out_check(train, test)


def test_out_of_fold_scores_never_use_the_row_itself() -> None:
    ds = arithmetic_dataset(120, seed=2)
    encoded = encode(ds, HashingEmbedder())
    oof = out_of_fold_scores(encoded, ScorerConfig(folds=3))
    in_sample = score_rows(encoded, fit_heads(encoded))
    assert oof.shape == in_sample.shape and not np.isnan(oof).any()
    # Every fold's head differs from the all-rows head, so every score differs a little.
    assert np.all(np.abs(oof - in_sample) > 0)


def test_encoding_and_config_must_agree_on_the_answer_embedding() -> None:
    encoded = encode(arithmetic_dataset(40, seed=3), HashingEmbedder(), embed_answer=False)
    with pytest.raises(ValueError, match="embed_answer"):
        fit_heads(encoded, config=ScorerConfig(embed_answer=True))


def test_models_without_responses_get_no_head() -> None:
    ds = arithmetic_dataset(60, seed=3)
    ds.responses.pop("large")
    heads = fit_heads(encode(ds, HashingEmbedder()))
    assert set(heads) == {"small", "medium"}
    scorer = AnswerScorer(heads, HashingEmbedder())
    assert not scorer.can_score("large")
    with pytest.raises(KeyError, match="no head for 'large'"):
        scorer.score_chat("large", [{"role": "user", "content": "hi"}], "hello")


@pytest.mark.parametrize("embed_answer", [True, False])
def test_chat_scoring_agrees_with_batch_scoring_of_a_stored_prompt(embed_answer: bool) -> None:
    ds = arithmetic_dataset(80, seed=4)
    heads = fit_heads(
        encode(ds, HashingEmbedder(), embed_answer), config=ScorerConfig(embed_answer=embed_answer)
    )
    scorer = AnswerScorer(heads, HashingEmbedder(), embed_answer)
    prompt, answer = ds.prompts[0], ds.responses["small"][0] or ""
    batch = scorer.score_many("small", [prompt], [answer])[0]
    chat = scorer.score_chat("small", [{"role": "user", "content": prompt}], answer)
    assert 0.0 < chat < 1.0 and abs(batch - chat) < 1e-12
