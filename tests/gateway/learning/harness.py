"""A gateway over loopback whose Gateway object the test can reach, with in-process records."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from gateway.app import create_app, wrap_asgi
from gateway.assembly import Gateway, build_gateway
from gateway.budget import LedgerBudget
from gateway.config import parse_config
from gateway.ledger.factory import open_rate_limiter
from gateway.ledger.guard import BudgetGuard
from gateway.ledger.memory import InMemorySpendStore
from gateway.records.base import Label, RequestRecord
from gateway.tenants.config import TenantConfig
from gateway.tenants.directory import TenantDirectory
from tests.servers import serve_asgi


@dataclass
class ListSink:
    """A RecordSink keeping everything in lists (the real outbox is gateway/records')."""

    requests: list[RequestRecord] = field(default_factory=list)
    labels: list[Label] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add_request(self, record: RequestRecord) -> None:
        with self.lock:
            self.requests.append(record)

    def add_label(self, label: Label) -> None:
        with self.lock:
            self.labels.append(label)


@dataclass
class Served:
    base_url: str
    root_url: str
    gateway: Gateway
    sink: ListSink
    spend: InMemorySpendStore


@contextmanager
def serve_learning(config: dict[str, Any], tenants: list[TenantConfig],
                   tune: Callable[[Gateway], None] | None = None) -> Iterator[Served]:
    parsed = parse_config(config)
    directory = TenantDirectory.from_tenants(tenants)
    store = InMemorySpendStore()
    sink = ListSink()
    built: list[Gateway] = []

    async def build() -> Gateway:
        guard = BudgetGuard(store)
        gateway = build_gateway(parsed, directory, LedgerBudget(guard, open_rate_limiter("memory")))
        gateway.store = store
        gateway.records = sink
        if tune is not None:
            tune(gateway)
        built.append(gateway)
        return gateway

    app = wrap_asgi(create_app(build), parsed.server.max_body_bytes)
    with serve_asgi(app) as root:
        yield Served(f"{root}/v1", root, built[0], sink, store)


def wait_for(predicate: Callable[[], bool], timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)
