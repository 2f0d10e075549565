"""Ledger fixtures: a real redis-server per session, and both SpendStores behind one name."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gateway.ledger.base import SpendStore
from gateway.ledger.memory import InMemorySpendStore
from gateway.ledger.redis_store import RedisSpendStore
from tests.gateway.ledger.redis_fixtures import ledger_redis, ledger_redis_cluster, redis_url

__all__ = ["ledger_redis", "ledger_redis_cluster", "redis_url"]

STORE_KINDS = ["memory", pytest.param("redis", marks=pytest.mark.redis),
               pytest.param("redis-cluster", marks=pytest.mark.redis)]


@pytest.fixture(params=STORE_KINDS)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SpendStore]:
    """The embedded store (with a spend log) and the Redis store, one test each."""
    if request.param == "memory":
        made: SpendStore = InMemorySpendStore(tmp_path / "spend.jsonl")
    elif request.param == "redis-cluster":
        cluster = request.getfixturevalue("ledger_redis_cluster")
        # A fresh prefix per test: a cluster cannot be flushed in one command.
        made = RedisSpendStore.from_url(cluster.url, cluster=True,
                                        prefix=f"t{uuid.uuid4().hex[:12]}")
    else:
        made = RedisSpendStore.from_url(request.getfixturevalue("redis_url"))
    yield made
    await made.close()
