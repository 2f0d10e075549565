"""The simulator answers as LLMRouter's models (synthetic text) and its judge grades them by
the recorded outcome, over HTTP with the official openai client."""

from __future__ import annotations

from pathlib import Path

import openai
import pytest

from gateway.learning.rubrics import parse_grade, rubric
from gateway.simulator.config import SimulatorConfig
from gateway.simulator.judge import SIMULATED_JUDGE
from gateway.simulator.routing_data import write_simulation
from gateway.simulator.server import run_simulator
from routers.datasets import load_llmrouter

REPO = Path(__file__).resolve().parents[3]


def llmrouter_dir() -> Path:
    for base in (REPO.parent, REPO.parent.parent):
        path = base / "shared" / "data" / "routing" / "llmrouter"
        if (path / "dcrouter_test.json").is_file():
            return path
    pytest.skip("shared LLMRouter data not available")


def test_llmrouter_models_answer_and_the_judge_returns_recorded_scores(tmp_path: Path) -> None:
    ds = load_llmrouter(llmrouter_dir(), "test").subset(list(range(6)))
    models_path, recordings_path, prices = write_simulation(ds, tmp_path)
    assert set(prices) == {*ds.models, SIMULATED_JUDGE}
    assert all(prices[m]["input_per_mtok"] > 0 for m in ds.models)
    config = SimulatorConfig(latency_scale=0, models_path=models_path,
                             recordings_path=recordings_path)
    with run_simulator(config) as sim:
        client = openai.OpenAI(base_url=sim.base_url, api_key="unused", max_retries=0)
        for row in range(len(ds)):
            for j in (0, len(ds.models) - 1):
                model = ds.models[j]
                reply = client.chat.completions.create(
                    model=model, messages=[{"role": "user", "content": ds.prompts[row]}])
                answer = reply.choices[0].message.content or ""
                assert answer and reply.usage is not None and reply.usage.total_tokens > 0
                graded = client.chat.completions.create(
                    model=SIMULATED_JUDGE,
                    messages=rubric("v1").messages(ds.prompts[row], answer))
                assert parse_grade(graded.choices[0].message.content or "") == \
                    float(ds.scores[row, j])
