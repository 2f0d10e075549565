"""Tuning the static table toward MiniLM's sentence vectors (routers.static_tune).

A small random table over MiniLM's tokenizer (tests/routers/test_static_embedding.py's
helper) and synthetic targets: fitting moves the static vectors toward the targets, keeps
the input table, and writes a folder the serving encoder reads.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from routers.static_embedding import STATIC_NAME, StaticEmbedder
from routers.static_tune import TuneConfig, load_table, token_ids, tune_model, tune_table
from tests.routers.test_static_embedding import write_static_model

TEXTS = ["What is the capital of France?", "Prove that there are infinitely many primes.",
         "Write a python function that sorts a list.", "Solve 3x + 5 = 11 for x.",
         "Who wrote the novel War and Peace?", "\u0000"]


def _targets(n: int, dims: int, seed: int = 1) -> np.ndarray:
    goal = np.random.default_rng(seed).normal(size=(n, dims)).astype(np.float32)
    return goal / np.linalg.norm(goal, axis=1, keepdims=True)


def _mean_cosine(table: np.ndarray, ids: list[np.ndarray], goal: np.ndarray) -> float:
    sims = []
    for row, target in zip(ids, goal):
        if row.size:
            v = table[row].sum(axis=0)
            sims.append(float(v @ target) / float(np.linalg.norm(v)))
    return float(np.mean(sims))


def test_tuning_moves_the_static_vectors_toward_the_targets(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    from tokenizers import Tokenizer

    model = write_static_model(tmp_path / "base", dims=16)
    table = load_table(model)
    before = table.copy()
    ids = token_ids(Tokenizer.from_file(str(model / "tokenizer.json")), TEXTS)
    assert ids[-1].size == 0  # only [UNK]/nothing: skipped, not an error
    goal = _targets(len(TEXTS), 16)
    tuned = tune_table(table, ids, goal, TuneConfig(epochs=30, lr=0.05, decay=0.0, batch_size=2))
    np.testing.assert_array_equal(table, before)
    assert tuned.shape == table.shape and tuned.dtype == np.float32
    assert _mean_cosine(tuned, ids, goal) > _mean_cosine(table, ids, goal) + 0.3
    # Rows no text uses only go through the learnt linear map (no gradient of their own).
    used = np.unique(np.concatenate(ids))
    unused = np.setdiff1d(np.arange(len(table)), used)
    linear, *_ = np.linalg.lstsq(table[unused], tuned[unused], rcond=None)
    np.testing.assert_allclose(table[unused] @ linear, tuned[unused], atol=1e-4)


def test_targets_of_another_width_are_refused(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    model = write_static_model(tmp_path / "base", dims=16)
    with pytest.raises(ValueError, match="384-d, the table 16-d"):
        tune_table(load_table(model), [np.array([5, 6])], _targets(1, 384))


def test_the_tuned_folder_serves_and_records_the_setting(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    model = write_static_model(tmp_path / "base", dims=16)
    out = tune_model(model, TEXTS, _targets(len(TEXTS), 16), tmp_path / "tuned",
                     TuneConfig(epochs=2))
    config = json.loads((out / "config.json").read_text())
    assert config["costroute_tuned"]["epochs"] == 2 and config["costroute_tuned"]["texts"] == 6
    encoder = StaticEmbedder(out)
    assert encoder.dim == 16
    # Artifacts built on the tuned table refuse the plain one: the name differs.
    assert encoder.name == f"{STATIC_NAME}-tuned-16" != StaticEmbedder(model).name
    vectors = encoder.embed(TEXTS[:2])
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    assert not np.allclose(vectors, StaticEmbedder(model).embed(TEXTS[:2]))
