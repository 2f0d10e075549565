"""Whether this gateway can serve metered requests now: its budget store answers.

`GET /healthz` says the process lives; `GET /readyz` says whether a chat request would get
past the budget check, which on a shared store (Redis) needs that store. A gateway started
while its store is down serves every metered request a 503 until the store is back, so it
says so at start-up too instead of looking healthy.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.ledger.base import SpendStore, StoreUnavailable


@dataclass(frozen=True, slots=True)
class Readiness:
    ready: bool
    budget_store: str  # "ok", or what is wrong and what the gateway does about it

    def body(self) -> dict[str, str]:
        return {"status": "ready" if self.ready else "unavailable",
                "budget_store": self.budget_store}


async def readiness(store: SpendStore | None, *, fail_open: bool) -> Readiness:
    if store is None:
        return Readiness(True, "ok")
    try:
        await store.ping()
    except StoreUnavailable as exc:
        if fail_open:  # store.fail_open: requests are served, unmetered, through an outage
            return Readiness(True, f"unavailable, serving without budgets (fail_open): {exc}")
        return Readiness(False, f"unavailable, metered requests answer 503: {exc}")
    return Readiness(True, "ok")
