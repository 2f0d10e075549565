"""Per-tenant rate limits through the gateway: a flood from one key is cut off with 429s
while another tenant's requests keep succeeding; with Redis the limit spans replicas."""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

import httpx
import pytest

from gateway.simulator.server import SimulatorHandle
from gateway.tenants.config import RateLimitConfig, TenantConfig, hash_key
from tests.gateway.conftest import GatewayFactory, sim_config
from tests.gateway.hardening.conftest import assert_error_shape
from tests.servers import RedisServer

MODEL = "gpt-4o-mini"


def tenant(name: str, **limits: int) -> tuple[TenantConfig, str]:
    key = f"cr-{name}-" + secrets.token_hex(8)
    config = TenantConfig(name=name, key_sha256=[hash_key(key)],
                          rate_limits=RateLimitConfig(**limits))
    return config, key


async def burst(urls: list[str], key: str, count: int, content: str = "hi") -> list[httpx.Response]:
    """`count` requests at once, spread over `urls` in turn."""
    body: dict[str, Any] = {"model": MODEL, "max_tokens": 8,
                            "messages": [{"role": "user", "content": content}]}
    async with httpx.AsyncClient(timeout=60) as client:
        return await asyncio.gather(*(
            client.post(f"{urls[i % len(urls)]}/chat/completions", json=body,
                        headers={"authorization": f"Bearer {key}"}) for i in range(count)))


async def flood_and_trickle(urls: list[str], flood_key: str, calm_key: str,
                            flood: int, content: str = "hi",
                            ) -> tuple[list[httpx.Response], list[httpx.Response]]:
    """A flood from one key while the other sends one request at a time."""

    async def trickle() -> list[httpx.Response]:
        out: list[httpx.Response] = []
        for _ in range(6):
            out += await burst(urls, calm_key, 1)
        return out

    flooded, calm = await asyncio.gather(burst(urls, flood_key, flood, content), trickle())
    return flooded, calm


def assert_rate_limited(responses: list[httpx.Response], allowed: int, what: str) -> None:
    ok = [r for r in responses if r.status_code == 200]
    limited = [r for r in responses if r.status_code == 429]
    assert len(ok) + len(limited) == len(responses), [r.status_code for r in responses]
    assert 1 <= len(ok) <= allowed, (len(ok), allowed)
    assert limited, "the flood was never limited"
    for response in limited:
        error = assert_error_shape(response)
        assert error["code"] == "rate_limit_exceeded" and error["type"] == "rate_limit_error"
        assert what in error["message"]
        assert int(response.headers["retry-after"]) >= 1


def test_request_flood_is_limited_without_starving_another_tenant(
        sim: SimulatorHandle, gateway_factory: GatewayFactory) -> None:
    flooder, flood_key = tenant("flooder", requests_per_minute=10)
    calm, calm_key = tenant("calm", requests_per_minute=600)
    gw = gateway_factory(sim_config(sim), tenants=[flooder, calm])
    flooded, trickled = asyncio.run(flood_and_trickle([gw.base_url], flood_key, calm_key, 40))
    assert_rate_limited(flooded, 10, "requests per minute")
    assert [r.status_code for r in trickled] == [200] * len(trickled)


def test_token_flood_is_limited_without_starving_another_tenant(
        sim: SimulatorHandle, gateway_factory: GatewayFactory) -> None:
    wordy, wordy_key = tenant("wordy", tokens_per_minute=3000)
    calm, calm_key = tenant("calm", tokens_per_minute=100_000)
    gw = gateway_factory(sim_config(sim), tenants=[wordy, calm])
    long_prompt = "Please summarise the following paragraph. " + "The sea is wide. " * 60
    flooded, trickled = asyncio.run(
        flood_and_trickle([gw.base_url], wordy_key, calm_key, 20, long_prompt))
    assert_rate_limited(flooded, 19, "tokens per minute")
    assert [r.status_code for r in trickled] == [200] * len(trickled)


@pytest.mark.redis
def test_limit_is_shared_by_replicas_on_one_redis(
        sim: SimulatorHandle, gateway_factory: GatewayFactory,
        redis_server: RedisServer) -> None:
    suffix = secrets.token_hex(3)  # the session's Redis outlives this test's counters
    flooder, flood_key = tenant(f"flooder-{suffix}", requests_per_minute=10)
    calm, calm_key = tenant(f"calm-{suffix}", requests_per_minute=600)
    config = sim_config(sim, store={"kind": "redis", "url": redis_server.url})
    replicas = [gateway_factory(config, tenants=[flooder, calm]) for _ in range(2)]
    urls = [gw.base_url for gw in replicas]
    flooded, trickled = asyncio.run(flood_and_trickle(urls, flood_key, calm_key, 40))
    assert_rate_limited(flooded, 10, "requests per minute")  # 10 in all, not 10 each
    assert [r.status_code for r in trickled] == [200] * len(trickled)
