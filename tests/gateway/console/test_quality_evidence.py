"""With a records store, the Savings page shows judged and feedback scores per model and the
Learning page its labels; without one it says so (tests/gateway/console/test_api.py)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from gateway.app import create_app, wrap_asgi
from gateway.assembly import Gateway, build_gateway
from gateway.budget import LedgerBudget
from gateway.config import parse_config
from gateway.ledger.factory import open_rate_limiter, open_store
from gateway.ledger.guard import BudgetGuard
from gateway.records.base import Label, RequestRecord
from gateway.records.memory import MemoryRecordStore
from gateway.simulator.server import SimulatorHandle
from gateway.tenants.config import TenantConfig, hash_key
from gateway.tenants.directory import TenantDirectory
from tests.gateway.conftest import sim_config
from tests.servers import serve_asgi

KEY = "cr-evidence-tenant"


@pytest.fixture
def served(sim: SimulatorHandle, tmp_path: Path) -> Iterator[tuple[str, MemoryRecordStore]]:
    """A gateway over the simulator holding an in-process records store."""
    # `none`: the gateway builds no store of its own; the test hands it `records` below.
    config = parse_config(sim_config(sim, store={"path": str(tmp_path / "spend.jsonl")},
                                     records={"kind": "none"}))
    store = open_store("memory", path=tmp_path / "spend.jsonl", url=None)
    records = MemoryRecordStore()
    tenants = TenantDirectory.from_tenants([TenantConfig(name="t", key_sha256=[hash_key(KEY)])])

    async def build() -> Gateway:
        guard = BudgetGuard(store)
        gateway = build_gateway(config, tenants, LedgerBudget(guard, open_rate_limiter(
            "memory", url=None)))
        gateway.store, gateway.record_store = store, records
        return gateway

    with serve_asgi(wrap_asgi(create_app(build), config.server.max_body_bytes)) as root:
        yield root, records


def test_savings_show_observed_scores_and_learning_shows_labels(
        served: tuple[str, MemoryRecordStore]) -> None:
    root, records = served
    client = openai.OpenAI(base_url=f"{root}/v1", api_key=KEY, max_retries=0)
    raw = client.chat.completions.with_raw_response.create(
        model="auto", messages=[{"role": "user", "content": "Name a prime number."}],
        max_tokens=20)
    request_id = raw.headers["x-request-id"]
    now = time.time()
    asyncio.run(records.write_requests([RequestRecord(
        request_id, "t", now, "auto", raw.headers["x-costroute-model"],
        prompt="Name a prime number.")]))
    asyncio.run(records.write_labels([
        Label(request_id, "t", "gpt-4o-mini", 1.0, "judge", now),
        Label(request_id, "t", "gpt-4o", 0.0, "feedback", now)]))
    headers = {"authorization": f"Bearer {KEY}"}

    savings = httpx.get(f"{root}/v1/costroute/console/savings", headers=headers).json()
    (auto,) = savings["routes"]
    observed = {q["model"]: (q["observed"], q["labels"]) for q in auto["quality"]}
    assert observed["gpt-4o-mini"] == (1.0, 1) and observed["gpt-4o"] == (0.0, 1)
    assert "Quality evidence" not in auto["note"] and savings["evidence_store"] is True

    learning = httpx.get(f"{root}/v1/costroute/console/learning", headers=headers).json()
    assert learning["available"] is True
    assert learning["labels_by_model"] == {"gpt-4o-mini": 1, "gpt-4o": 1}
    assert learning["labels_by_source"] == {"judge": 1, "feedback": 1}
