"""A tenant that opts into the semantic cache on a gateway without one is told at start-up."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from gateway.assembly import build_gateway
from gateway.budget import LedgerBudget
from gateway.config import GatewayConfig, parse_config
from gateway.ledger.factory import open_rate_limiter
from gateway.ledger.guard import BudgetGuard
from gateway.ledger.memory import InMemorySpendStore
from gateway.tenants.config import TenantCacheConfig, TenantConfig, hash_key
from gateway.tenants.directory import TenantDirectory

TENANTS = [
    TenantConfig(name="acme", key_sha256=[hash_key("cr-acme")],
                 cache=TenantCacheConfig(semantic=True)),
    TenantConfig(name="plain", key_sha256=[hash_key("cr-plain")]),
]


def config(cache: dict[str, object]) -> GatewayConfig:
    return parse_config({"models": [{"name": "gpt-4o-mini",
                                     "upstream": {"base_url": "http://127.0.0.1:1/v1"}}],
                         "cache": cache}, source="test")


def build(gateway_config: GatewayConfig, records_dir: Path) -> None:
    budget = LedgerBudget(BudgetGuard(InMemorySpendStore()), open_rate_limiter("memory", url=None))
    build_gateway(gateway_config, TenantDirectory.from_tenants(TENANTS), budget,
                  records_dir=records_dir)


@pytest.mark.parametrize("cache", [{}, {"enabled": True}])
def test_an_opt_in_the_gateway_cannot_serve_is_named(
        cache: dict[str, object], caplog: pytest.LogCaptureFixture, tmp_path: Path) -> None:
    with caplog.at_level(logging.WARNING, logger="costroute.server"):
        build(config(cache), tmp_path)
    warned = [r.getMessage() for r in caplog.records if r.name == "costroute.server"]
    assert len(warned) == 1 and "acme" in warned[0] and "plain" not in warned[0]
    assert "cache: {enabled: true, semantic: true}" in warned[0]


def test_a_gateway_with_the_semantic_layer_says_nothing(
        caplog: pytest.LogCaptureFixture, tmp_path: Path) -> None:
    with caplog.at_level(logging.WARNING, logger="costroute.server"):
        build(config({"enabled": True, "semantic": True}), tmp_path)
    assert not [r for r in caplog.records if "semantic cache" in r.getMessage()]
