"""A bounded load generator for fault tests: N requests, C at a time, each with a timeout.

    run = LoadRun(base_url, key, body_for, requests=200, concurrency=16).start()
    run.wait_for(50)            # 50 answers in: now break something
    outcomes = run.join()       # every request has an Outcome, none is left hanging

Each outcome records what the client saw: the status (None when no HTTP answer came), the
error body, and the cost the gateway told it about — the `x-costroute-cost-usd` header of a
non-streaming 200, or `x_costroute.cost_usd` on a stream's usage chunk or error event.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson

BodyFor = Callable[[int], dict[str, Any]]


@dataclass
class Outcome:
    """What one client saw."""

    index: int
    stream: bool
    elapsed_s: float
    status: int | None = None  # None: refused, reset or timed out before any answer
    transport_error: str | None = None  # httpx exception class name
    error: dict[str, Any] | None = None  # the error body (or in-stream error event)
    cost_usd: float | None = None  # the cost the gateway reported to this client
    done: bool = False  # a stream that ended with [DONE]
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def answered(self) -> bool:
        """A 200 whose answer arrived complete."""
        return self.status == 200 and self.error is None and (self.done or not self.stream)


def summary(outcomes: list[Outcome]) -> Counter[str]:
    """Counts by kind of outcome, e.g. `200`, `200+stream_error`, `503`, `ConnectError`."""
    kinds: Counter[str] = Counter()
    for o in outcomes:
        if o.transport_error is not None:
            kinds[o.transport_error if o.status is None else f"{o.status}+{o.transport_error}"] += 1
        elif o.status == 200 and o.error is not None:
            kinds["200+stream_error"] += 1
        else:
            kinds[str(o.status)] += 1
    return kinds


def reported_cost(outcomes: list[Outcome]) -> float:
    """The sum of every cost the gateway told its clients about."""
    return sum(o.cost_usd or 0.0 for o in outcomes)


def _sse_events(text: str) -> tuple[list[dict[str, Any]], bool]:
    events: list[dict[str, Any]] = []
    done = False
    for line in text.splitlines():
        if not line.startswith("data:"):
            continue
        payload = line[5:].strip()
        if payload == "[DONE]":
            done = True
            continue
        events.append(orjson.loads(payload))
    return events, done


async def _stream(client: httpx.AsyncClient, url: str, body: dict[str, Any],
                  headers: dict[str, str], outcome: Outcome) -> None:
    async with client.stream("POST", url, json=body, headers=headers) as response:
        outcome.status = response.status_code
        outcome.headers = dict(response.headers)
        text = (await response.aread()).decode("utf-8")
    if outcome.status != 200:
        outcome.error = orjson.loads(text)
        return
    events, outcome.done = _sse_events(text)
    for event in events:
        note = event.get("x_costroute")
        if isinstance(note, dict) and "cost_usd" in note:
            outcome.cost_usd = float(note["cost_usd"])
        if "error" in event:
            outcome.error = {"error": event["error"]}


async def _plain(client: httpx.AsyncClient, url: str, body: dict[str, Any],
                 headers: dict[str, str], outcome: Outcome) -> None:
    response = await client.post(url, json=body, headers=headers)
    outcome.status = response.status_code
    outcome.headers = dict(response.headers)
    if response.status_code == 200:
        outcome.cost_usd = float(response.headers["x-costroute-cost-usd"])
    else:
        outcome.error = response.json()


class LoadRun:
    """Sends `requests` chat requests, `concurrency` at a time, from a background thread."""

    def __init__(self, base_url: str, key: str, body_for: BodyFor, *, requests: int = 200,
                 concurrency: int = 16, timeout_s: float = 30.0, fresh_connections: bool = False):
        self.url = f"{base_url}/chat/completions"
        self.headers = {"authorization": f"Bearer {key}"}
        self.body_for = body_for
        self.requests = requests
        self.concurrency = concurrency
        self.timeout_s = timeout_s
        # One connection per request: a request sent after shutdown began is refused at
        # connect time instead of racing a keep-alive connection being closed.
        self.fresh_connections = fresh_connections
        self.outcomes: list[Outcome] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)

    def start(self) -> LoadRun:
        self._thread.start()
        return self

    @property
    def completed(self) -> int:
        with self._lock:
            return len(self.outcomes)

    def wait_for(self, count: int, timeout_s: float = 120.0) -> None:
        """Blocks until `count` requests have an outcome (or the run ended)."""
        deadline = time.monotonic() + timeout_s
        while self.completed < count and self._thread.is_alive():
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {self.completed} of {count} requests finished")
            time.sleep(0.02)

    def join(self, timeout_s: float = 300.0) -> list[Outcome]:
        self._thread.join(timeout_s)
        assert not self._thread.is_alive(), "the load generator itself hung"
        return sorted(self.outcomes, key=lambda o: o.index)

    async def _run(self) -> None:
        keepalive = 0 if self.fresh_connections else self.concurrency
        limits = httpx.Limits(max_connections=self.concurrency,
                              max_keepalive_connections=keepalive)
        gate = asyncio.Semaphore(self.concurrency)
        async with httpx.AsyncClient(timeout=self.timeout_s, limits=limits) as client:
            await asyncio.gather(*(self._one(client, gate, i) for i in range(self.requests)))

    async def _one(self, client: httpx.AsyncClient, gate: asyncio.Semaphore, index: int) -> None:
        async with gate:
            body = self.body_for(index)
            outcome = Outcome(index, bool(body.get("stream")), 0.0)
            started = time.monotonic()
            send = _stream if outcome.stream else _plain
            try:
                await send(client, self.url, body, self.headers, outcome)
            except httpx.HTTPError as exc:
                outcome.transport_error = type(exc).__name__
            outcome.elapsed_s = time.monotonic() - started
            with self._lock:
                self.outcomes.append(outcome)
