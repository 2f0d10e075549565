"""Rate-limit fixtures: the ledger tests' real redis-server."""

from tests.gateway.ledger.redis_fixtures import ledger_redis, redis_url

__all__ = ["ledger_redis", "redis_url"]
