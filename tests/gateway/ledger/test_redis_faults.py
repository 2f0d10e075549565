"""The Redis store through a Redis restart: 503-style errors while down, then recovery."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.ledger.base import StoreUnavailable
from gateway.ledger.redis_store import RedisSpendStore
from tests.gateway.ledger.helpers import record_for, window
from tests.gateway.ledger.redis_fixtures import start_redis, wait_until_loaded

pytestmark = pytest.mark.redis

TTL = 60.0


async def test_down_raises_store_unavailable_then_the_same_store_recovers(tmp_path: Path) -> None:
    server = start_redis(tmp_path / "redis")
    store = RedisSpendStore.from_url(server.url, timeout_s=0.5)
    try:
        month = window(limit_usd=1.0)
        await store.reserve("acme", "before", 0.10, [month], TTL)

        server.stop()
        with pytest.raises(StoreUnavailable, match="reserve"):
            await store.reserve("acme", "during", 0.10, [month], TTL)
        with pytest.raises(StoreUnavailable):
            await store.state("acme", [month])

        server.start()
        hold = await store.reserve("acme", "after", 0.10, [month], TTL)
        await store.settle(hold, 0.10, record_for(hold, 0.10))
        [state] = await store.state("acme", [month])
        assert state.spent_nanos == 100_000_000
    finally:
        await store.close()
        server.stop()


async def test_settled_spend_survives_a_redis_restart_with_aof(tmp_path: Path) -> None:
    server = start_redis(tmp_path / "redis", appendonly=True)
    store = RedisSpendStore.from_url(server.url)
    try:
        month = window(limit_usd=1.0)
        hold = await store.reserve("acme", "r1", 0.40, [month], TTL)
        await store.settle(hold, 0.30, record_for(hold, 0.30))
        server.stop()  # SIGTERM: Redis flushes its AOF before exiting

        server.start()
        wait_until_loaded(server.url)
        [state] = await store.state("acme", [month])
        assert (state.spent_nanos, state.reserved_nanos) == (300_000_000, 0)
        assert [r.request_id for r in await store.records("acme")] == ["r1"]
        await store.settle(hold, 0.30, record_for(hold, 0.30))
        [state] = await store.state("acme", [month])
        assert state.spent_nanos == 300_000_000
    finally:
        await store.close()
        server.stop()


async def test_a_key_prefix_with_braces_is_refused(redis_url: str) -> None:
    with pytest.raises(ValueError, match="braces"):
        RedisSpendStore.from_url(redis_url, prefix="bad{prefix}")
