"""Small builders shared by the ledger tests."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from gateway.ledger.base import BudgetWindow, Hold, SpendRecord


def window(key: str = "month:2026-11", limit_usd: float = 1.0) -> BudgetWindow:
    name = key.split(":", 1)[0]
    return BudgetWindow(name=name, key=key, limit_usd=limit_usd, resets_at="2026-12-01T00:00:00Z")


def record_for(hold: Hold, cost_usd: float, model: str = "gpt-4o-mini",
               route: str = "auto") -> SpendRecord:
    return SpendRecord(tenant=hold.tenant, request_id=hold.request_id, model=model,
                       route=route, cost_usd=cost_usd, prompt_tokens=10, completion_tokens=5)


async def eventually(check: Callable[[], Awaitable[bool]], timeout_s: float = 10.0) -> bool:
    """Polls `check` until it is true or `timeout_s` passes (waiting, not timing)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while loop.time() < deadline:
        if await check():
            return True
        await asyncio.sleep(0.02)
    return await check()
