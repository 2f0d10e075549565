"""The shipped price catalog, its validation and user overrides."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pricing.catalog import CatalogError, PriceCatalog, UnknownModelError

REQUIRED_FIELDS = ("input_per_mtok", "output_per_mtok", "cached_input_per_mtok",
                   "context_window", "max_output_tokens", "tokenizer", "price_date", "provider")


@pytest.fixture(scope="module")
def shipped() -> PriceCatalog:
    return PriceCatalog.shipped()


def test_every_shipped_entry_states_every_field_explicitly() -> None:
    from importlib import resources

    import yaml

    raw = yaml.safe_load(resources.files("pricing").joinpath("data/catalog.yaml").read_text())
    for name, entry in raw["models"].items():
        missing = [field for field in REQUIRED_FIELDS if field not in entry]
        assert not missing, f"{name} lacks {missing}"
        assert entry["price_date"] != "unknown", name


@pytest.mark.parametrize("model", [
    "gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-4.1-mini", "gpt-4.1-nano", "o1", "o3", "o3-mini",
    "o4-mini", "gpt-4-1106-preview", "claude-3-5-sonnet-20241022", "claude-3-7-sonnet-20250219",
    "claude-sonnet-4-20250514", "claude-opus-4-20250514", "gemini-1.5-pro", "gemini-2.0-flash",
    "gemini-2.5-pro", "gemini-2.5-flash", "mistral-large-latest", "open-mixtral-8x7b",
    "mistralai/Mixtral-8x7B-Instruct-v0.1", "meta-llama/Llama-3.3-70B-Instruct-Turbo",
    "smollm2-135m-instruct",
])
def test_common_models_are_priced(shipped: PriceCatalog, model: str) -> None:
    assert model in shipped
    assert shipped[model].price_date != "unknown"


def test_providers_covered(shipped: PriceCatalog) -> None:
    providers = {shipped[name].provider for name in shipped}
    assert {"openai", "anthropic", "google", "mistral", "together", "local"} <= providers


def test_local_models_cost_nothing(shipped: PriceCatalog) -> None:
    local = [shipped[name] for name in shipped if shipped[name].provider == "local"]
    assert local
    for price in local:
        assert price.input_per_mtok == price.output_per_mtok == price.per_request_usd == 0


def test_llmrouter_models_match_their_file(shipped: PriceCatalog, shared_data: Path) -> None:
    path = shared_data / "routing" / "llmrouter" / "llm_candidates.json"
    candidates = json.loads(path.read_text())
    scored = json.loads((path.parent / "dcrouter_test.json").read_text())[0]["scores"]
    assert set(scored) <= set(candidates)
    for name, entry in candidates.items():
        price = shipped[name]
        assert price.input_per_mtok == entry["input_price"], name
        assert price.output_per_mtok == entry["output_price"], name
        assert shipped.resolve(entry["model"]) == name  # the full id is an alias


def test_cached_rate_never_above_input_rate(shipped: PriceCatalog) -> None:
    for name in shipped:
        price = shipped[name]
        assert price.cached_rate <= price.input_per_mtok, name


@pytest.mark.parametrize("fields, fragment", [
    ({"input_per_mtok": -1.0, "output_per_mtok": 1.0}, "input_per_mtok"),
    ({"input_per_mtok": 1.0, "output_per_mtok": -0.5}, "output_per_mtok"),
    ({"input_per_mtok": 1.0}, "output_per_mtok: Field required"),
    ({"output_per_mtok": 1.0}, "input_per_mtok: Field required"),
    ({"input_per_mtok": 1.0, "output_per_mtok": 1.0, "cached_input_per_mtok": -1}, "cached"),
    ({"input_per_mtok": 1.0, "output_per_mtok": 1.0, "per_request_usd": -0.01}, "per_request"),
    ({"input_per_mtok": 1.0, "output_per_mtok": 1.0, "price_date": "last year"}, "price_date"),
])
def test_bad_prices_are_rejected_naming_the_entry(fields: dict[str, object], fragment: str) -> None:
    with pytest.raises(CatalogError) as info:
        PriceCatalog.from_mapping({"models": {"acme-1": fields}}, source="test.yaml")
    assert "acme-1" in str(info.value) and "test.yaml" in str(info.value)
    assert fragment in str(info.value)


def test_unknown_tokenizer_is_rejected_naming_the_entry() -> None:
    entry = {"input_per_mtok": 1.0, "output_per_mtok": 1.0, "tokenizer": "p50k_typo"}
    with pytest.raises(CatalogError, match=r"acme-1.*unknown tokenizer 'p50k_typo'"):
        PriceCatalog.from_mapping({"models": {"acme-1": entry}})
    with pytest.raises(CatalogError, match="gpt-4o.*approx:nonsense"):
        PriceCatalog.shipped().with_overrides({"gpt-4o": {"tokenizer": "approx:nonsense"}})


def test_approx_tokenizers_are_accepted() -> None:
    entry = {"input_per_mtok": 1.0, "output_per_mtok": 1.0, "tokenizer": "approx:o200k_base"}
    catalog = PriceCatalog.from_mapping({"models": {"acme-1": entry}})
    assert catalog["acme-1"].tokenizer == "approx:o200k_base"


def test_overrides_merge_over_the_shipped_entry(shipped: PriceCatalog) -> None:
    merged = shipped.with_overrides({"gpt-4o": {"input_per_mtok": 2.0}})
    assert merged["gpt-4o"].input_per_mtok == 2.0
    assert merged["gpt-4o"].output_per_mtok == shipped["gpt-4o"].output_per_mtok
    assert shipped["gpt-4o"].input_per_mtok != 2.0  # the original is untouched


def test_override_through_an_alias_changes_the_model(shipped: PriceCatalog) -> None:
    merged = shipped.with_overrides({"gpt-4o-2024-08-06": {"output_per_mtok": 9.0}})
    assert merged["gpt-4o"].output_per_mtok == 9.0


def test_new_model_from_overrides_needs_prices(shipped: PriceCatalog) -> None:
    with pytest.raises(CatalogError, match="my-model"):
        shipped.with_overrides({"my-model": {"tokenizer": "cl100k_base"}})
    added = shipped.with_overrides({"my-model": {"input_per_mtok": 1, "output_per_mtok": 2}})
    assert added["my-model"].output_per_mtok == 2


def test_unknown_model_is_a_clear_error(shipped: PriceCatalog) -> None:
    with pytest.raises(UnknownModelError, match="'gpt-17' is not in the price catalog"):
        shipped["gpt-17"]
    with pytest.raises(KeyError):  # callers that catch KeyError keep working
        shipped["gpt-17"]
    assert shipped.get("gpt-17") is None and "gpt-17" not in shipped


def test_alias_to_nowhere_is_rejected() -> None:
    entry = {"input_per_mtok": 1.0, "output_per_mtok": 1.0}
    with pytest.raises(CatalogError, match="alias 'a' points to unknown model 'b'"):
        PriceCatalog.from_mapping({"models": {"m": entry}, "aliases": {"a": "b"}})


def test_yaml_dates_are_accepted() -> None:
    import datetime as dt

    entry = {"input_per_mtok": 1.0, "output_per_mtok": 1.0, "price_date": dt.date(2025, 1, 2)}
    assert PriceCatalog.from_mapping({"m": entry})["m"].price_date == "2025-01-02"
