"""LLMRouter loader: 9 scored models, prices from llm_candidates.json, inferred task labels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from routers.datasets import llmrouter_catalog, load_llmrouter


def test_train_and_test_have_the_nine_scored_models(routing_data: Path) -> None:
    train = load_llmrouter(routing_data / "llmrouter", "train")
    test = load_llmrouter(routing_data / "llmrouter", "test")
    assert (len(train), len(test)) == (5_608, 500)
    assert train.models == test.models and len(train.models) == 9
    assert not np.isnan(train.scores).any()


def test_costs_follow_candidate_prices(routing_data: Path) -> None:
    ds = load_llmrouter(routing_data / "llmrouter", "test")
    catalog = llmrouter_catalog(routing_data / "llmrouter")
    cheap, mid, big = "gemma-2-9b-it", "qwen2.5-7b-instruct", "llama3-chatqa-1.5-70b"
    assert catalog[cheap].input_per_mtok == 0.10 and catalog[big].output_per_mtok == 0.90
    col = {m: ds.costs[:, ds.models.index(m)] for m in (cheap, mid, big)}
    # Same heuristic token counts for all models, so costs scale exactly with price.
    np.testing.assert_allclose(col[mid] / col[cheap], 2.0)
    np.testing.assert_allclose(col[big] / col[cheap], 9.0)


def test_every_row_gets_a_task_label(routing_data: Path) -> None:
    ds = load_llmrouter(routing_data / "llmrouter", "train")
    labels = set(ds.eval_names)
    assert {"code_function", "code_spec", "logic_puzzle", "math_word"} <= labels
    assert all(ds.eval_names)


@pytest.mark.parametrize("split", ["validation"])
def test_unknown_split_is_an_error(routing_data: Path, split: str) -> None:
    with pytest.raises(FileNotFoundError):
        load_llmrouter(routing_data / "llmrouter", split)  # type: ignore[arg-type]
