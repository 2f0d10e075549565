"""`auto` and `router:knn` on a trained k-NN artifact, through a real gateway over loopback."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from openai import OpenAI

from gateway.simulator.server import SimulatorHandle
from gateway.tenants.config import TenantConfig, hash_key
from routers.embedding import HashingEmbedder
from routers.knn.artifact import save_artifact
from routers.knn.fit import fit_knn
from tests.gateway.conftest import TEST_KEY, GatewayFactory, sim_config
from tests.routers.knn.conftest import FAST
from tests.routers.knn.synthetic import EASY_WORDS, HARD_WORDS, prompt, synthetic

# The synthetic data's cheap / useless / strong models, under names the simulator answers as.
MODELS = ["gpt-4o-mini", "mistralai/Mixtral-8x7B-Instruct-v0.1", "gpt-4o"]


@pytest.fixture(scope="module")
def served_artifact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = replace(synthetic(), models=MODELS)
    directory = tmp_path_factory.mktemp("knn-served")
    save_artifact(fit_knn(data, HashingEmbedder(), FAST), directory)
    return directory


def config(sim: SimulatorHandle, artifact: Path) -> dict[str, Any]:
    route = {"router": "knn", "artifact": str(artifact), "models": MODELS}
    return sim_config(sim, routes={"auto": route, "router:knn": route})


def test_auto_and_router_knn_route_by_the_neighbours_and_say_why(
        sim: SimulatorHandle, served_artifact: Path, gateway_factory: GatewayFactory,
        monkeypatch: pytest.MonkeyPatch) -> None:
    threads_with_a_loop: list[bool] = []
    embed = HashingEmbedder.embed

    def spying_embed(self: HashingEmbedder, texts: Any) -> Any:
        try:
            asyncio.get_running_loop()
            threads_with_a_loop.append(True)
        except RuntimeError:
            threads_with_a_loop.append(False)
        return embed(self, texts)

    monkeypatch.setattr(HashingEmbedder, "embed", spying_embed)
    # λ = 0.5 quality points per $ per 1k requests: worth paying for a big quality gap only.
    tenant = TenantConfig(name="knn-tenant", key_sha256=[hash_key(TEST_KEY)],
                          policy={"route": "auto", "objective": "max_utility", "knob": 0.5})  # type: ignore[arg-type]
    gw = gateway_factory(config(sim, served_artifact), tenants=[tenant])
    client = OpenAI(base_url=gw.base_url, api_key=gw.key, max_retries=0)
    rng = np.random.default_rng(7)
    easy = [{"role": "user", "content": prompt(EASY_WORDS, rng)}]
    hard = [{"role": "user", "content": prompt(HARD_WORDS, rng)}]
    picked = {}
    for alias, name, messages in [("auto", "easy", easy), ("router:knn", "hard", hard)]:
        raw = client.chat.completions.with_raw_response.create(model=alias, messages=messages)
        picked[name] = raw.headers["x-costroute-model"]
        reason = raw.headers["x-costroute-route"]
        assert reason.startswith(f"{alias}:") or alias in reason, reason
        # The reason names the predicted quality and cost of the winner and the runner-up.
        assert reason.count("q=") >= 2 and reason.count("$") >= 2, reason
        assert raw.parse().model  # a normal chat.completion came back
    assert picked == {"easy": "gpt-4o-mini", "hard": "gpt-4o"}
    # MiniLM (here its test twin) ran in a worker thread, never on the gateway's event loop.
    assert threads_with_a_loop and not any(threads_with_a_loop)
