"""`router:cascade` whose first stage is a real local model (SmolLM2-135M via llama.cpp).

The gateway serves over loopback and is asked with the official `openai` client; the second
stage is the simulator. SmolLM2's answers cannot be scripted, so the fixture asks llama.cpp
first (greedy decoding, the messages and parameters the cascade's stage sends), scores each
answer with the artifact's scorer, and puts one route's threshold halfway below its answer's
score (the answer is trusted) and another's halfway above (the answer scores low and
escalates). With the shipped GGUF, SmolLM2 gets the first sum right (score ≈1) and the
second wrong ("= 32", score ≈0), so both thresholds land near 0.5.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam

from gateway.simulator.server import SimulatorHandle
from routers.cascade.artifact import CascadeArtifact, save_artifact
from routers.cascade.fit_scorer import encode, fit_heads
from routers.cascade.orchestrator import load_cascade
from routers.cascade.strategy import Stage, Strategy
from routers.embedding import HashingEmbedder
from tests.gateway.conftest import GatewayFactory, RunningGateway, sim_config
from tests.routers.cascade.synthetic import arithmetic_dataset

LOCAL, STRONG = "smollm2-135m-instruct", "gpt-4o"
TRUSTING, DOUBTING = "router:cascade", "router:cascade-doubting"
PROMPTS = {
    TRUSTING: "Question 1: what is 12 + 30? Answer with a number.",
    DOUBTING: "What is 12 + 30? Answer with a number.",
}
STRONG_ANSWER = "We compute 12 + 30 = 42.\n#### 42"


def messages(route: str) -> list[ChatCompletionMessageParam]:
    return [{"role": "user", "content": PROMPTS[route]}]


def local_answer(base_url: str, route: str) -> str:
    """SmolLM2's greedy answer to the route's prompt, asked as the cascade's stage asks it."""
    client = openai.OpenAI(base_url=base_url, api_key="unused", max_retries=0, timeout=300)
    completion = client.chat.completions.create(
        model=LOCAL, messages=messages(route), temperature=0
    )
    return completion.choices[0].message.content or ""


def write_artifact(directory: Path, accept_at: float) -> Path:
    """A cascade LOCAL (accepted at `accept_at`) → STRONG, its scorer on the hashing embedder."""
    heads = fit_heads(
        encode(arithmetic_dataset(300, seed=9, models=(LOCAL, STRONG)), HashingEmbedder())
    )
    strategy = Strategy((Stage(LOCAL, accept_at), Stage(STRONG)))
    manifest = {"scorer": {"embedder": HashingEmbedder.name, "dim": HashingEmbedder().dim}}
    save_artifact(CascadeArtifact(heads, strategy, [strategy], manifest), directory)
    return directory


@pytest.fixture(scope="module")
def artifacts(local_model: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Per route alias, an artifact whose threshold lies below (TRUSTING) or above (DOUBTING)
    the score of SmolLM2's answer to that route's prompt."""
    scorer = load_cascade(write_artifact(tmp_path_factory.mktemp("draft"), 0.5)).scorer
    score = {
        route: scorer.score_chat(LOCAL, messages(route), local_answer(local_model, route))
        for route in PROMPTS
    }
    # Halfway to 0 or to 1: a margin, should llama.cpp's greedy answer ever vary by a token.
    return {
        TRUSTING: write_artifact(tmp_path_factory.mktemp("trusting"), score[TRUSTING] / 2),
        DOUBTING: write_artifact(tmp_path_factory.mktemp("doubting"), (score[DOUBTING] + 1) / 2),
    }


def start_gateway(
    sim: SimulatorHandle,
    local_model: str,
    artifacts: dict[str, Path],
    gateway_factory: GatewayFactory,
) -> RunningGateway:
    config: dict[str, Any] = sim_config(sim)
    config["models"].append(
        {
            "name": LOCAL,
            "tier": "local",
            "upstream": {
                "base_url": local_model,
                "model": LOCAL,
                "timeout": {"first_byte_s": 120, "total_s": 300},
            },
        }
    )
    for alias, directory in artifacts.items():
        config["routes"][alias] = {
            "router": "cascade",
            "artifact": str(directory),
            "models": [LOCAL, STRONG],
        }
    return gateway_factory(config)


def ask(gw: RunningGateway, route: str) -> tuple[httpx.Headers, str]:
    client = openai.OpenAI(base_url=gw.base_url, api_key=gw.key, max_retries=0, timeout=300)
    raw = client.chat.completions.with_raw_response.create(
        model=route, messages=messages(route), temperature=0
    )
    return raw.headers, raw.parse().choices[0].message.content or ""


def stage_parts(route_header: str) -> list[str]:
    """The per-stage entries of `x-costroute-route` ("<alias>: <stage>; <stage>…")."""
    return route_header.split(": ", 1)[1].split("; ")


def stage_cost(part: str) -> float:
    return float(part.split("$", 1)[1].split(" ", 1)[0])


def spent(gw: RunningGateway) -> dict[str, Any]:
    report: dict[str, Any] = httpx.get(
        f"{gw.base_url}/costroute/spend", headers={"authorization": f"Bearer {gw.key}"}, timeout=30
    ).json()
    return report


def test_a_trusted_local_answer_is_returned_alone_at_no_cost(
    sim: SimulatorHandle,
    local_model: str,
    artifacts: dict[str, Path],
    gateway_factory: GatewayFactory,
) -> None:
    gw = start_gateway(sim, local_model, artifacts, gateway_factory)
    headers, content = ask(gw, TRUSTING)
    assert content  # SmolLM2's own words: nothing in this test scripts them
    assert headers["x-costroute-model"] == LOCAL
    assert headers["x-costroute-stages"] == "1"
    (local,) = stage_parts(headers["x-costroute-route"])
    assert local.startswith(f"{LOCAL} score=") and "-> accept" in local
    assert stage_cost(local) == 0.0
    assert float(headers["x-costroute-cost-usd"]) == 0.0
    assert float(headers["x-costroute-local-cost-usd"]) == 0.0
    assert int(headers["x-costroute-local-tokens"]) > 0
    assert sim.control.requests(STRONG) == 0


def test_a_low_scoring_local_answer_escalates_and_only_the_remote_stage_costs(
    sim: SimulatorHandle,
    local_model: str,
    artifacts: dict[str, Path],
    gateway_factory: GatewayFactory,
) -> None:
    gw = start_gateway(sim, local_model, artifacts, gateway_factory)
    sim.control.script(STRONG, [STRONG_ANSWER])
    headers, content = ask(gw, DOUBTING)
    assert content == STRONG_ANSWER
    assert headers["x-costroute-model"] == STRONG
    assert headers["x-costroute-stages"] == "2"
    local, strong = stage_parts(headers["x-costroute-route"])
    assert local.startswith(f"{LOCAL} score=") and "-> escalate (<" in local
    assert strong.startswith(f"{STRONG} $") and strong.endswith("-> final")
    assert stage_cost(local) == 0.0
    assert stage_cost(strong) > 0.0
    total = float(headers["x-costroute-cost-usd"])
    # The trace rounds each stage to 6 decimals; the cost header carries 8.
    assert total == pytest.approx(stage_cost(local) + stage_cost(strong), abs=1e-6)
    assert float(headers["x-costroute-local-cost-usd"]) == 0.0
    assert float(headers["x-costroute-remote-cost-usd"]) == pytest.approx(total)
    assert int(headers["x-costroute-local-tokens"]) > 0
    assert sim.control.requests(STRONG) == 1
    assert spent(gw)["total"]["cost_usd"] == pytest.approx(total, abs=1e-8)
