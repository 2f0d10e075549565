"""A separate process that races reserve+settle against one Redis budget (for the tests).

    python -m tests.gateway.ledger.reserve_worker URL TENANT COUNT AMOUNT_USD LIMIT_USD TAG

Prints one JSON line: how many requests were admitted and the nano-dollars they settled.
"""

from __future__ import annotations

import asyncio
import json
import sys

from gateway.ledger.base import InsufficientBudget
from gateway.ledger.redis_store import RedisSpendStore
from tests.gateway.ledger.helpers import record_for, window


async def race(url: str, tenant: str, count: int, amount: float, limit: float,
               tag: str) -> dict[str, int]:
    store = RedisSpendStore.from_url(url, timeout_s=10)
    month = window(limit_usd=limit)

    async def one(index: int) -> int:
        try:
            hold = await store.reserve(tenant, f"{tag}-{index}", amount, [month], 60.0)
        except InsufficientBudget:
            return 0
        await store.settle(hold, amount, record_for(hold, amount))
        return 1

    try:
        admitted = sum(await asyncio.gather(*(one(i) for i in range(count))))
    finally:
        await store.close()
    return {"admitted": admitted}


if __name__ == "__main__":
    url, tenant, count, amount, limit, tag = sys.argv[1:7]
    result = asyncio.run(race(url, tenant, int(count), float(amount), float(limit), tag))
    print(json.dumps(result))
