"""`/v1/models` says these are simulated models, with the prices they are billed at."""

from __future__ import annotations

from pathlib import Path

import httpx
import openai
import pytest

from gateway.simulator import SimulatorHandle
from gateway.simulator.profiles import ModelProfiles, ProfileError
from pricing import PriceCatalog
from tests.gateway.simulator.helpers import MIXTRAL
from tests.openai_schema import assert_openai

EXPECTED = {"gpt-4o", "gpt-4o-mini", "gpt-4-1106-preview", MIXTRAL, "smollm2-135m-instruct",
            "text-embedding-3-small", "text-embedding-3-large",
            "claude-3-5-haiku-20241022", "claude-sonnet-4-20250514",
            "costroute-simulated-judge"}


def test_models_are_listed_as_simulated(http: httpx.Client) -> None:
    body = http.get("/models").json()
    assert_openai(body, "ListModelsResponse")
    assert {m["id"] for m in body["data"]} == EXPECTED
    assert {m["owned_by"] for m in body["data"]} == {"costroute-simulator"}
    assert all(m["costroute"]["simulated"] is True for m in body["data"])


def test_model_cards_carry_catalog_prices(http: httpx.Client) -> None:
    catalog = PriceCatalog.shipped()
    for card in http.get("/models").json()["data"]:
        if card["id"] == "costroute-simulated-judge":  # priced in models.yaml itself
            continue
        price = catalog[card["id"]]
        assert card["costroute"]["input_per_mtok"] == price.input_per_mtok
        assert card["costroute"]["output_per_mtok"] == price.output_per_mtok


def test_openai_client_lists_and_retrieves_models(client: openai.OpenAI) -> None:
    assert {m.id for m in client.models.list()} == EXPECTED
    assert client.models.retrieve(MIXTRAL).owned_by == "costroute-simulator"


def test_unknown_model_card_is_404(http: httpx.Client) -> None:
    reply = http.get("/models/gpt-5-imaginary")
    assert reply.status_code == 404
    assert_openai(reply.json(), "ErrorResponse")
    assert reply.json()["error"]["code"] == "model_not_found"


def test_healthz(simulator: SimulatorHandle) -> None:
    assert httpx.get(f"{simulator.root_url}/healthz").json()["status"] == "ok"


def test_a_models_file_can_add_a_model_the_catalog_lacks(tmp_path: Path) -> None:
    models = tmp_path / "models.yaml"
    models.write_text(
        "models:\n"
        "  tiny-test-model:\n"
        "    price: {input_per_mtok: 0.01, output_per_mtok: 0.02}\n"
        "    latency: {ttft_s: 0.1, tokens_per_s: 50}\n"
    )
    profiles = ModelProfiles.from_path(models)
    assert list(profiles) == ["tiny-test-model"]
    assert profiles["tiny-test-model"].tokenizer == "heuristic"
    assert profiles["tiny-test-model"].price.output_per_mtok == 0.02


@pytest.mark.parametrize(
    "text",
    [
        "models: {}",
        "models:\n  gpt-4o: {latency: {ttft_s: 1}}",
        "models:\n  unknown-x: {latency: {ttft_s: 1, tokens_per_s: 2}}",
        "models:\n  gpt-4o: {price: 3, latency: {}}",
        ":",
    ],
)
def test_invalid_models_files_name_the_problem(text: str) -> None:
    with pytest.raises(ProfileError, match="models file"):
        ModelProfiles.from_yaml(text)
