"""`router:cascade` through a real gateway over loopback, the simulator as upstream."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.simulator.server import SimulatorHandle
from routers.cascade.artifact import load_artifact, save_artifact
from routers.cascade.fit_scorer import encode, fit_heads
from routers.cascade.orchestrator import load_cascade
from routers.cascade.strategy import Stage, Strategy
from routers.embedding import HashingEmbedder
from tests.gateway.conftest import GatewayFactory, sim_config
from tests.routers.cascade.synthetic import arithmetic_dataset

CHEAP, STRONG = "gpt-4o-mini", "gpt-4o"
QUESTION = "Question 1: what is 12 + 30? Answer with a number."
SURE = "We compute 12 + 30 = 42.\n#### 42"
UNSURE = "We compute 12 + 30 = 47.\n#### 47"


@pytest.fixture(scope="module")
def artifact_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cascade CHEAP → STRONG whose threshold lies between the scores of SURE and UNSURE."""
    ds = arithmetic_dataset(300, seed=9, models=(CHEAP, STRONG))
    directory = tmp_path_factory.mktemp("cascade-artifact")
    from routers.cascade.artifact import CascadeArtifact

    heads = fit_heads(encode(ds, HashingEmbedder()))
    draft = CascadeArtifact(
        heads,
        Strategy((Stage(CHEAP, 0.5), Stage(STRONG))),
        [],
        {"scorer": {"embedder": "hashing", "dim": HashingEmbedder().dim}},
    )
    save_artifact(draft, directory)
    scorer = load_cascade(directory).scorer
    messages = [{"role": "user", "content": QUESTION}]
    sure, unsure = (scorer.score_chat(CHEAP, messages, a) for a in (SURE, UNSURE))
    assert sure > unsure  # the scorer itself is tested elsewhere; here we need the order
    loaded = load_artifact(directory)
    strategy = Strategy((Stage(CHEAP, (sure + unsure) / 2), Stage(STRONG)))
    save_artifact(type(loaded)(loaded.heads, strategy, [strategy], loaded.manifest), directory)
    return directory


def ask(base_url: str, key: str) -> httpx.Response:
    return httpx.post(
        f"{base_url}/chat/completions",
        headers={"authorization": f"Bearer {key}"},
        json={"model": "router:cascade", "messages": [{"role": "user", "content": QUESTION}]},
        timeout=30,
    )


def config(sim: SimulatorHandle, artifact_dir: Path) -> dict[str, Any]:
    return sim_config(
        sim,
        routes={
            "router:cascade": {
                "router": "cascade",
                "artifact": str(artifact_dir),
                "models": [CHEAP, STRONG],
            }
        },
    )


def test_a_trusted_cheap_answer_is_returned_alone(
    sim: SimulatorHandle, artifact_dir: Path, gateway_factory: GatewayFactory
) -> None:
    gw = gateway_factory(config(sim, artifact_dir))
    sim.control.script(CHEAP, [SURE])
    r = ask(gw.base_url, gw.key)
    assert r.status_code == 200, r.text
    assert r.json()["choices"][0]["message"]["content"] == SURE
    assert sim.control.requests(STRONG) == 0
    assert r.headers["x-costroute-stages"] == "1"
    assert "accept" in r.headers["x-costroute-route"]


def test_a_doubtful_cheap_answer_escalates_and_both_stages_are_billed(
    sim: SimulatorHandle, artifact_dir: Path, gateway_factory: GatewayFactory
) -> None:
    gw = gateway_factory(config(sim, artifact_dir))
    sim.control.script(CHEAP, [UNSURE])
    sim.control.script(STRONG, [SURE])
    r = ask(gw.base_url, gw.key)
    assert r.status_code == 200, r.text
    assert r.json()["choices"][0]["message"]["content"] == SURE
    route = r.headers["x-costroute-route"]
    assert route.index(f"{CHEAP} score=") < route.index("escalate") < route.index(f"; {STRONG} $")
    assert r.headers["x-costroute-stages"] == "2"
    stage_costs = [
        float(part.split("$")[1].split(" ")[0]) for part in route.split(": ", 1)[1].split("; ")
    ]
    assert float(r.headers["x-costroute-cost-usd"]) == pytest.approx(sum(stage_costs), abs=2e-6)


def test_an_upstream_failure_at_the_cheap_stage_escalates(
    sim: SimulatorHandle, artifact_dir: Path, gateway_factory: GatewayFactory
) -> None:
    gw = gateway_factory(config(sim, artifact_dir))
    sim.control.inject_fault(CHEAP, "http_500", count=10)
    sim.control.script(STRONG, [SURE])
    r = ask(gw.base_url, gw.key)
    assert r.status_code == 200, r.text
    assert r.json()["choices"][0]["message"]["content"] == SURE
    assert "failed" in r.headers["x-costroute-route"]
