"""The embedded defaults serve learned routes out of the box: `auto` is the shipped k-NN."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from anthropic import Anthropic
from openai import NotFoundError, OpenAI

from gateway.defaults import (
    RECORDED_MODELS,
    SIMULATED_ANTHROPIC_MODELS,
    default_config,
    demo_tenant,
)
from gateway.server import ServeOptions, make_app
from routers.knn.artifact import load_artifact
from routers.static_embedding import STATIC_NAME
from routers.versions.shipped import shipped_artifact
from tests.servers import free_port, serve_asgi

KEY = "cr-demo-test-key"
# A GSM8K question (shipped recordings) and MMLU-style questions of other domains.
PROMPTS = [
    "Janet has 3 apples and buys 5 boxes of 12 apples each. She gives away 7. How many are left?",
    ("Which of the following is a correct statement of the Fifth Amendment's self-incrimination "
     "clause?\nA. It applies to corporations\nB. It protects testimonial evidence only\n"
     "C. It applies to civil cases only\nD. It bars all compelled evidence\nAnswer:"),
    ("Find the degree of the field extension Q(sqrt(2), sqrt(3)) over Q.\nA. 0\nB. 4\nC. 2\n"
     "D. 6\nAnswer:"),
    "What is the capital of France?",
    ("In the context of moral philosophy, which of the following best describes Kant's "
     "categorical imperative?\nA. Maximise happiness\nB. Act only on maxims you could will as "
     "universal law\nC. Follow virtue\nD. Obey the state\nAnswer:"),
    ("A 45-year-old man presents with crushing chest pain radiating to the left arm. Which "
     "enzyme rises first?\nA. Troponin\nB. Myoglobin\nC. CK-MB\nD. LDH\nAnswer:"),
]


def test_the_shipped_artifacts_load_fast_and_say_what_they_were_trained_on() -> None:
    artifact = load_artifact(shipped_artifact("knn"))
    assert artifact.ensure_index().ntotal == len(artifact.prompt_hashes)  # built from the vectors
    block = artifact.manifest["version"]
    assert block["id"].startswith("default-knn-") and block["parent"] is None
    data = block["data"]
    assert "Apache-2.0" in data["licence"] and "RouteLLM" in data["dataset"]
    assert data["models"] == RECORDED_MODELS == artifact.models
    assert data["n_prompts"] == len(artifact.prompt_hashes) and data["n_labels"] > 0
    assert len(data["data_hash"]) == 64 and data["held_out"]["n_prompts"] > 100
    metrics = block["metrics"]
    assert {"artifact", "task_lookup", "best_single_model", "gain_over_lookup"} <= set(metrics)
    size = sum(p.stat().st_size for p in shipped_artifact("knn").rglob("*") if p.is_file())
    assert size < 5_000_000
    # Two-stage: the static stage over the same prompts, with the gate fitted on TRAIN.
    assert artifact.stage1 is not None
    assert artifact.stage1.artifact.prompt_hashes == artifact.prompt_hashes
    assert artifact.manifest["stage1"]["embedder"].startswith(STATIC_NAME)
    assert "TRAIN" in artifact.manifest["stage1"]["gate"]["fitted"]["on"]
    cascade = json.loads((shipped_artifact("cascade") / "manifest.json").read_text())
    assert cascade["kind"] == "cascade" and cascade["version"]["id"].startswith("default-cascade-")


def test_embedded_defaults_offer_every_learned_route() -> None:
    config = default_config("http://127.0.0.1:1/simulator/v1")
    assert config.routes["auto"].router == "knn"
    assert config.routes["router:knn"].router == "knn"
    assert config.routes["router:cascade"].router == "cascade"
    assert "router:minions" not in config.routes  # needs the local model
    assert "--local-model" in config.route_hints["router:minions"]
    local = default_config("http://127.0.0.1:1/simulator/v1", "http://127.0.0.1:2/v1")
    assert local.routes["router:minions"].router == "minions"
    assert local.route_hints == {}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenAI]:
    port = free_port()
    config = default_config(f"http://127.0.0.1:{port}/simulator/v1")
    config.store.path = str(tmp_path_factory.mktemp("spend") / "spend.jsonl")
    config.artifacts.dir = str(tmp_path_factory.mktemp("registry"))
    with serve_asgi(make_app(ServeOptions(config, [demo_tenant(KEY)])), port=port) as root:
        yield OpenAI(base_url=f"{root}/v1", api_key=KEY, max_retries=0)


def test_auto_is_the_learned_knn_and_routes_prompts_apart(demo: OpenAI) -> None:
    chosen = {}
    for prompt in PROMPTS:
        raw = demo.chat.completions.with_raw_response.create(
            model="auto", messages=[{"role": "user", "content": prompt}], max_tokens=64)
        reason = raw.headers["x-costroute-route"]
        assert reason.startswith("auto: knn-hybrid[") and "@default-knn-" in reason
        assert " stage 1 (" in reason or " stage 2 (" in reason  # which encoder decided
        chosen[prompt] = raw.headers["x-costroute-model"]
        assert raw.parse().choices[0].message.content
    assert set(chosen.values()) <= set(RECORDED_MODELS)
    assert len(set(chosen.values())) == 2, chosen


def test_minions_without_the_local_tier_says_how_to_turn_it_on(demo: OpenAI) -> None:
    with pytest.raises(NotFoundError) as caught:
        demo.chat.completions.create(model="router:minions",
                                     messages=[{"role": "user", "content": "hi"}])
    error = caught.value.body
    assert isinstance(error, dict) and error["param"] == "model"
    assert error["message"].startswith("The model `router:minions` does not exist: it needs")
    assert "--local-model" in error["message"] and "--local-model-url" in error["message"]


def test_cascade_route_answers_on_the_embedded_defaults(demo: OpenAI) -> None:
    raw = demo.chat.completions.with_raw_response.create(
        model="router:cascade", messages=[{"role": "user", "content": PROMPTS[0]}])
    assert raw.headers["x-costroute-model"] in RECORDED_MODELS
    assert raw.parse().choices[0].message.content


# The simulator's Claude models are the catalog's (priced 2025-08-01); the anthropic client
# warns that Anthropic has since retired them, which says nothing about the gateway.
@pytest.mark.filterwarnings("ignore:The model 'claude-:DeprecationWarning")
def test_claude_models_answer_on_both_wires(demo: OpenAI) -> None:
    """The defaults show a native Anthropic upstream: Messages passes through to it and chat
    completions translate to it, each priced from the catalog."""
    assert {m.id for m in demo.models.list()} >= set(SIMULATED_ANTHROPIC_MODELS)
    haiku = SIMULATED_ANTHROPIC_MODELS[0]
    root = str(demo.base_url).removesuffix("/v1/")
    message = Anthropic(base_url=root, api_key=KEY, max_retries=0).messages.with_raw_response.create(
        model=haiku, max_tokens=64, messages=[{"role": "user", "content": "hi"}])
    assert message.headers["x-costroute-model"] == haiku
    assert message.parse().content[0].text and float(message.headers["x-costroute-cost-usd"]) > 0
    chat = demo.chat.completions.with_raw_response.create(
        model=haiku, messages=[{"role": "user", "content": "hi"}])
    assert chat.headers["x-costroute-model"] == haiku
    assert chat.parse().choices[0].message.content and chat.parse().usage is not None
    assert demo.models.retrieve(haiku).owned_by == "costroute-remote"
