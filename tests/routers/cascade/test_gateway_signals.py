"""A cascade trained with agreement signals, served through a real gateway over loopback.

The artifact is trained by the real path (`fit_cascade`, then `fit_signal_cascade`) on
synthetic arithmetic data, then pinned to one strategy: the parallel stage
gpt-4o-mini&Mixtral, accepted when its stacked head's score reaches a threshold between
the scores of two agreeing and two disagreeing answers, then gpt-4o. The simulator answers
as scripted.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from gateway.simulator.server import SimulatorHandle
from routers.cascade.artifact import load_artifact, save_artifact
from routers.cascade.live import Answered, answer_logprobs
from routers.cascade.orchestrator import load_cascade
from routers.cascade.signal_train import SignalTrainConfig, fit_signal_cascade, signal_inputs
from routers.cascade.signals import apply_stacked
from routers.cascade.strategy import Stage, Strategy, parallel_name
from routers.cascade.train import CascadeConfig, fit_cascade
from routers.embedding import HashingEmbedder
from tests.gateway.conftest import GatewayFactory, sim_config
from tests.routers.cascade.synthetic import arithmetic_dataset
from tests.routers.cascade.test_gateway_cascade import QUESTION, ask

MINI, MIXTRAL, STRONG = "gpt-4o-mini", "mistralai/Mixtral-8x7B-Instruct-v0.1", "gpt-4o"
PAIR = parallel_name([MINI, MIXTRAL])
RIGHT = "We compute 12 + 30 = 42.\n#### 42"
OTHER = "I am not sure, perhaps it is about 45"


def _trained(logprobs: bool = False) -> Any:
    ds = arithmetic_dataset(300, seed=4, models=(MINI, MIXTRAL, STRONG))
    # Mixtral is the dearer cheap model, gpt-4o the dearest: the pair is the cheap pair.
    ds.costs[:, 0] *= 0.1
    ds.costs[:, 1] *= 0.2
    trained = fit_cascade(ds, HashingEmbedder(), CascadeConfig(compare_frugalgpt=False))
    lp = None
    if logprobs:  # right answers are surer: a usable logprob signal
        rng = np.random.default_rng(0)
        mean = np.where(ds.scores > 0.5, -0.2, -1.0) + rng.normal(0, 0.3, ds.scores.shape)
        lp = np.stack([mean, mean - 1.0], axis=2)
    inputs = signal_inputs(trained.encoded.dataset, None, None, lp)
    return trained, inputs


@pytest.fixture(scope="module")
def artifact_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    trained, inputs = _trained()
    fitted = fit_signal_cascade(trained, inputs, SignalTrainConfig(pair_models=2))
    directory = tmp_path_factory.mktemp("signal-cascade")
    save_artifact(fitted.artifact, directory)
    served = load_cascade(directory)
    signals = served.signals
    assert signals is not None and signals.is_parallel(PAIR)
    messages = [{"role": "user", "content": QUESTION}]

    def answered(model: str, text: str) -> Answered:
        return Answered(model, text, served.scorer.score_chat(model, messages, text))

    agree, _ = signals.score_pair(answered(MINI, RIGHT), answered(MIXTRAL, RIGHT))
    differ, _ = signals.score_pair(answered(MINI, RIGHT), answered(MIXTRAL, OTHER))
    assert agree > differ  # agreement is what the pair head learned to trust
    loaded = load_artifact(directory)
    strategy = Strategy((Stage(PAIR, (agree + differ) / 2), Stage(STRONG)))
    save_artifact(replace(loaded, strategy=strategy, pareto=[strategy]), directory)
    return directory


def test_live_scores_equal_the_training_scores_of_the_same_row(artifact_dir: Path) -> None:
    """An artifact trained with a signal serves with that signal: same row, same score."""
    trained, inputs = _trained()
    fitted = fit_signal_cascade(trained, inputs, SignalTrainConfig(pair_models=2))
    heads = fitted.artifact.signals
    assert heads is not None
    offline = apply_stacked(fitted.signals, heads.stacked())
    ds = trained.encoded.dataset
    orchestrator = load_cascade(artifact_dir)
    assert orchestrator.signals is not None
    live = orchestrator.signals
    base = trained.oof_scores
    for i in range(5):
        a = Answered(MINI, ds.responses[MINI][i] or "", float(base[i, 0]))
        b = Answered(MIXTRAL, ds.responses[MIXTRAL][i] or "", float(base[i, 1]))
        c = Answered(STRONG, ds.responses[STRONG][i] or "", float(base[i, 2]))
        pair_score, _ = live.score_pair(a, b)
        assert pair_score == pytest.approx(offline.pairs[(0, 1)][0][i], abs=1e-9)
        assert live.score(c, a) == pytest.approx(offline.after[(0, 2)][i], abs=1e-9)
        assert live.score(a, None) == pytest.approx(offline.first[i, 0], abs=1e-9)


def test_logprob_features_are_used_when_given_and_absent_ones_read_as_missing() -> None:
    trained, inputs = _trained(logprobs=True)
    fitted = fit_signal_cascade(trained, inputs, SignalTrainConfig(pair_models=2))
    heads = fitted.artifact.signals
    assert heads is not None and heads.config.logprobs
    from routers.cascade.live import LiveSignals

    live = LiveSignals(heads)
    sure = live.score(Answered(MINI, RIGHT, 0.5, logprobs=(-0.1, -1.0)), None)
    unsure = live.score(Answered(MINI, RIGHT, 0.5, logprobs=(-1.5, -2.5)), None)
    missing = live.score(Answered(MINI, RIGHT, 0.5), None)
    assert sure > unsure
    assert 0.0 < missing < 1.0
    response = {"choices": [{"logprobs": {"content": [{"logprob": -0.5}, {"logprob": -1.5}]}}]}
    assert answer_logprobs(response) == (-1.0, -1.5)
    assert answer_logprobs({"choices": [{"logprobs": None}]}) is None


def config(sim: SimulatorHandle, artifact_dir: Path) -> dict[str, Any]:
    route = {"router": "cascade", "artifact": str(artifact_dir), "models": [MINI, MIXTRAL, STRONG]}
    return sim_config(sim, routes={"router:cascade": route})


def stage_costs(route: str) -> list[float]:
    return [float(part.split("$")[1].split(" ")[0])
            for part in route.split(": ", 1)[1].split("; ") if "$" in part]


def test_two_cheap_models_that_agree_answer_alone_and_both_are_billed(
    sim: SimulatorHandle, artifact_dir: Path, gateway_factory: GatewayFactory
) -> None:
    gw = gateway_factory(config(sim, artifact_dir))
    sim.control.script(MINI, [RIGHT])
    sim.control.script(MIXTRAL, [RIGHT])
    r = ask(gw.base_url, gw.key)
    assert r.status_code == 200, r.text
    assert r.json()["choices"][0]["message"]["content"] == RIGHT
    assert sim.control.requests(MINI) == 1 and sim.control.requests(MIXTRAL) == 1
    assert sim.control.requests(STRONG) == 0
    assert r.headers["x-costroute-stages"] == "2"
    route = r.headers["x-costroute-route"]
    assert PAIR in route and "accept" in route
    assert float(r.headers["x-costroute-cost-usd"]) == pytest.approx(
        sum(stage_costs(route)), abs=2e-6)
    assert float(r.headers["x-costroute-cost-usd"]) > 0


def test_disagreeing_cheap_models_escalate_and_all_three_calls_are_billed(
    sim: SimulatorHandle, artifact_dir: Path, gateway_factory: GatewayFactory
) -> None:
    gw = gateway_factory(config(sim, artifact_dir))
    sim.control.script(MINI, [RIGHT])
    sim.control.script(MIXTRAL, [OTHER])
    sim.control.script(STRONG, [RIGHT])
    r = ask(gw.base_url, gw.key)
    assert r.status_code == 200, r.text
    assert r.headers["x-costroute-stages"] == "3"
    route = r.headers["x-costroute-route"]
    assert route.index(PAIR) < route.index("escalate") < route.index(f"; {STRONG} $")
    assert sim.control.requests(STRONG) == 1
    assert float(r.headers["x-costroute-cost-usd"]) == pytest.approx(
        sum(stage_costs(route)), abs=3e-6)


def test_a_failed_cheap_model_leaves_the_other_answer_of_the_parallel_stage(
    sim: SimulatorHandle, artifact_dir: Path, gateway_factory: GatewayFactory
) -> None:
    gw = gateway_factory(config(sim, artifact_dir))
    sim.control.inject_fault(MIXTRAL, "http_500", count=10)
    sim.control.script(MINI, [RIGHT])
    sim.control.script(STRONG, [RIGHT])
    r = ask(gw.base_url, gw.key)
    assert r.status_code == 200, r.text
    assert r.json()["choices"][0]["message"]["content"] == RIGHT
    assert sim.control.requests(MINI) == 1
