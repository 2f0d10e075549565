"""PostgreSQL killed (SIGKILL) while requests flow: answers go on, nothing captured is lost."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator

import httpx
import openai
import pytest

from gateway.records.postgres import PostgresRecordStore
from gateway.simulator.server import SimulatorHandle
from tests.gateway.conftest import TEST_KEY, GatewayFactory, sim_config
from tests.gateway.records.test_feedback_http import learning_tenants
from tests.postgres_server import PostgresServer, running_server

pytestmark = pytest.mark.postgres

TOTAL = 60
KILL_AT, RESTART_AT = 15, 45


@pytest.fixture
def own_pg() -> Iterator[PostgresServer]:
    """A server of this test's own, since the test kills it."""
    yield from running_server()


def _count(url: str) -> int:
    async def run() -> int:
        store = PostgresRecordStore(url)
        try:
            return (await store.counts("tenant-a")).requests
        finally:
            await store.aclose()

    return asyncio.run(run())


def _metric(root: str, name: str) -> float:
    total = 0.0
    for line in httpx.get(f"{root}/metrics", timeout=10).text.splitlines():
        if line.startswith(name):
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_requests_are_served_through_an_outage_and_the_outbox_catches_up(
        sim: SimulatorHandle, gateway_factory: GatewayFactory, own_pg: PostgresServer) -> None:
    url = own_pg.create_database()
    gw = gateway_factory(sim_config(sim, records={"kind": "postgres", "url": url}),
                         learning_tenants())
    client = openai.OpenAI(base_url=gw.base_url, api_key=TEST_KEY, max_retries=0, timeout=30)
    ids: list[str] = []
    failures: list[BaseException] = []
    lock = threading.Lock()
    started = threading.Semaphore(0)

    def worker(n: int) -> None:
        for _ in range(n):
            try:
                raw = client.chat.completions.with_raw_response.create(
                    model="gpt-4o-mini", messages=[{"role": "user", "content": "Hi there"}])
                with lock:
                    ids.append(raw.headers["x-request-id"])
            except BaseException as exc:  # noqa: BLE001 - collected and asserted below
                failures.append(exc)
            started.release()

    threads = [threading.Thread(target=worker, args=(TOTAL // 4,)) for _ in range(4)]
    for thread in threads:
        thread.start()
    down_ids: list[str] = []
    for done in range(1, TOTAL + 1):
        started.acquire()
        if done == KILL_AT:
            own_pg.kill()
        if done == RESTART_AT:
            with lock:
                down_ids = ids[KILL_AT:]
            outage = httpx.post(f"{gw.base_url}/costroute/feedback", timeout=10,
                                headers={"authorization": f"Bearer {TEST_KEY}"},
                                json={"request_id": down_ids[0], "score": 1})
            assert outage.status_code == 503
            assert outage.json()["error"]["code"] == "records_store_unavailable"
            own_pg.start()
    for thread in threads:
        thread.join()
    assert failures == [] and len(ids) == TOTAL

    deadline = time.monotonic() + 60
    while _count(url) < TOTAL and time.monotonic() < deadline:
        time.sleep(0.25)
    assert _count(url) == TOTAL, "the outbox did not catch up"
    assert _metric(gw.root_url, "costroute_records_dropped_total") == 0
    assert _metric(gw.root_url, "costroute_records_write_failures_total") > 0
    assert _metric(gw.root_url, "costroute_records_outbox_depth") == 0
    after = httpx.post(f"{gw.base_url}/costroute/feedback", timeout=10,
                       headers={"authorization": f"Bearer {TEST_KEY}"},
                       json={"request_id": down_ids[0], "score": 1})
    assert after.status_code == 200, after.text
