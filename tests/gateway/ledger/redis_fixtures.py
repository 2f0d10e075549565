"""A real redis-server for ledger and rate-limit tests (shared by their conftest files)."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.redis_cluster import RedisCluster
from tests.servers import RedisServer

SKIP_REASON = "redis-server is not installed (apt-get install -y redis-server)"


def start_redis(workdir: Path, *, appendonly: bool = False, port: int | None = None) -> RedisServer:
    """A started server that answers PING (not just accepts TCP: AOF loading comes first)."""
    if shutil.which("redis-server") is None:
        pytest.skip(SKIP_REASON)
    server = RedisServer(workdir, port=port, appendonly=appendonly)
    server.start()
    wait_until_loaded(server.url)
    return server


def wait_until_loaded(url: str, timeout_s: float = 30.0) -> None:
    """Returns once the server at `url` answers PING (its data set is loaded)."""
    client = redis.Redis.from_url(url)
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            try:
                client.ping()
                return
            except (redis.exceptions.ConnectionError, redis.exceptions.BusyLoadingError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
    finally:
        client.close()


@pytest.fixture(scope="session")
def ledger_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = start_redis(tmp_path_factory.mktemp("ledger-redis"))
    yield server
    server.stop()


@pytest.fixture
def redis_url(ledger_redis: RedisServer) -> str:
    """The session server's URL, emptied before each test."""
    client = redis.Redis.from_url(ledger_redis.url)
    try:
        client.flushall()
    finally:
        client.close()
    return ledger_redis.url


@pytest.fixture(scope="session")
def ledger_redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisCluster]:
    """Three primaries with one replica each, shared by the ledger tests of a session."""
    if shutil.which("redis-server") is None or shutil.which("redis-cli") is None:
        pytest.skip(SKIP_REASON)
    cluster = RedisCluster(tmp_path_factory.mktemp("ledger-redis-cluster"))
    cluster.start()
    yield cluster
    cluster.stop()
