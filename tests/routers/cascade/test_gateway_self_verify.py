"""AutoMix-style self-verification in a served cascade: the verdict is a paid stage."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.simulator.server import SimulatorHandle
from routers.cascade.self_verify import verdict
from tests.gateway.cascade_route import (
    CHEAP,
    QUESTION,
    STRONG,
    SURE,
    cascade_route,
    make_cascade_artifact,
)
from tests.gateway.conftest import GatewayFactory, sim_config


@pytest.fixture(scope="module")
def artifact_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_cascade_artifact(tmp_path_factory.mktemp("self-verify"))


def config(sim: SimulatorHandle, artifact_dir: Path) -> dict[str, Any]:
    route = {**cascade_route(artifact_dir), "options": {"self_verify_model": CHEAP}}
    return sim_config(sim, routes={"router:cascade": route})


def ask(base_url: str, key: str) -> httpx.Response:
    return httpx.post(
        f"{base_url}/chat/completions",
        headers={"authorization": f"Bearer {key}"},
        json={"model": "router:cascade", "messages": [{"role": "user", "content": QUESTION}]},
        timeout=30,
    )


def costs(route: str) -> float:
    return sum(float(part.split("$")[1].split(" ")[0])
               for part in route.split(": ", 1)[1].split("; ") if "$" in part)


def test_verdicts_are_read_from_the_first_yes_or_no() -> None:
    assert verdict("Yes.") is True
    assert verdict("no, it is 42") is False
    assert verdict("I cannot tell") is None


def test_a_yes_keeps_the_cheap_answer_and_the_verdict_is_billed(
    sim: SimulatorHandle, artifact_dir: Path, gateway_factory: GatewayFactory
) -> None:
    gw = gateway_factory(config(sim, artifact_dir))
    sim.control.script(CHEAP, [SURE, "Yes."])
    r = ask(gw.base_url, gw.key)
    assert r.status_code == 200, r.text
    assert r.json()["choices"][0]["message"]["content"] == SURE
    assert sim.control.requests(CHEAP) == 2 and sim.control.requests(STRONG) == 0
    assert r.headers["x-costroute-stages"] == "2"
    assert "self-verification" in r.headers["x-costroute-route"]


def test_a_no_escalates_and_all_three_calls_are_billed(
    sim: SimulatorHandle, artifact_dir: Path, gateway_factory: GatewayFactory
) -> None:
    gw = gateway_factory(config(sim, artifact_dir))
    sim.control.script(CHEAP, [SURE, "No."])
    sim.control.script(STRONG, [SURE])
    r = ask(gw.base_url, gw.key)
    assert r.status_code == 200, r.text
    assert sim.control.requests(STRONG) == 1
    assert r.headers["x-costroute-stages"] == "3"
    route = r.headers["x-costroute-route"]
    assert "escalate" in route
    assert float(r.headers["x-costroute-cost-usd"]) == pytest.approx(costs(route), abs=3e-6)
