"""RouteLLM loaders reproduce the published single-model accuracies and price the rows."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import tiktoken

from routers.datasets import load_routellm_gsm8k, load_routellm_mmlu
from routers.datasets.routellm import GPT4, MIXTRAL

pytestmark = pytest.mark.slow


def test_mmlu_matches_published_accuracies(routing_data: Path) -> None:
    ds = load_routellm_mmlu(routing_data / "routellm" / "mmlu")
    assert len(ds) == 14_037
    acc = dict(zip(ds.models, ds.scores.mean(axis=0)))
    assert acc[MIXTRAL] == pytest.approx(0.6809, abs=5e-5)
    assert acc[GPT4] == pytest.approx(0.8059, abs=5e-5)
    assert len(set(ds.eval_names)) == 57
    assert "abstract_algebra" in ds.eval_names


def test_gsm8k_matches_published_accuracies(routing_data: Path) -> None:
    ds = load_routellm_gsm8k(routing_data / "routellm" / "gsm8k")
    assert len(ds) == 1_307
    acc = dict(zip(ds.models, ds.scores.mean(axis=0)))
    assert acc[MIXTRAL] == pytest.approx(0.6373, abs=5e-5)
    assert acc[GPT4] == pytest.approx(0.8577, abs=5e-5)
    assert set(ds.eval_names) == {"gsm8k"}


def test_contaminated_prompts_are_dropped(routing_data: Path) -> None:
    directory = routing_data / "routellm" / "gsm8k"
    ds = load_routellm_gsm8k(directory)
    with (directory / "contaminated_prompts.jsonl").open() as fh:
        dropped = {json.loads(line)["eval_prompt"] for line in fh}
    assert dropped and not dropped & set(ds.prompts)


def test_gsm8k_cost_counts_the_recorded_response(routing_data: Path) -> None:
    ds = load_routellm_gsm8k(routing_data / "routellm" / "gsm8k")
    enc = tiktoken.get_encoding("cl100k_base")
    j = ds.models.index(GPT4)
    prompt, answer = ds.prompts[0], ds.responses[GPT4][0]
    assert answer
    # One user message: 3 priming + 3 framing + role + content tokens.
    n_in = 3 + 3 + len(enc.encode("user")) + len(enc.encode(prompt))
    expected = (n_in * 10.0 + len(enc.encode(answer)) * 30.0) / 1e6
    assert ds.costs[0, j] == pytest.approx(expected)


def test_gpt4_costs_more_than_mixtral_on_every_prompt(routing_data: Path) -> None:
    ds = load_routellm_mmlu(routing_data / "routellm" / "mmlu")
    assert np.all(ds.costs[:, ds.models.index(GPT4)] > ds.costs[:, ds.models.index(MIXTRAL)])
    assert np.all(ds.costs > 0)
