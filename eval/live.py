"""Live evaluation: send each prompt to each model through a gateway (or any OpenAI-compatible
endpoint), grade the answers, and return the outcomes as a RouterBench-format dataset.

Cost per call is the gateway's `x-costroute-cost-usd` header when present, else the reported
usage priced from the catalog. Every successful reply is cached on disk before anything else
happens to it, so a rerun, or a run after a crash, never pays for it again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx
import numpy as np

from eval.graders import Grader
from eval.live_cache import ResponseCache, cache_key
from eval.progress import NullProgress, ProgressReporter
from pricing import PriceCatalog, Usage, cost_usd
from routers.datasets.format import RoutingDataset

COST_HEADER = "x-costroute-cost-usd"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class LiveError(ValueError):
    """The live run cannot go on; the message says why (endpoint, model, price)."""


@dataclass(frozen=True)
class ChatReply:
    """An HTTP reply to a chat completion request."""

    status: int
    headers: Mapping[str, str]
    body: Mapping[str, Any]


class ChatTransport(Protocol):
    """Sends one chat completion request body and returns the reply."""

    async def send(self, body: Mapping[str, Any]) -> ChatReply: ...


class HttpTransport:
    """POSTs to `<base_url>/chat/completions` with httpx."""

    def __init__(self, base_url: str, api_key: str | None, timeout_s: float = 120.0) -> None:
        headers = {"authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"), headers=headers, timeout=timeout_s
        )

    async def send(self, body: Mapping[str, Any]) -> ChatReply:
        response = await self._client.post("/chat/completions", json=dict(body))
        try:
            payload = response.json()
        except ValueError:
            payload = {"error": {"message": response.text[:200]}}
        return ChatReply(response.status_code, dict(response.headers), payload)

    async def aclose(self) -> None:
        await self._client.aclose()


@dataclass(frozen=True)
class LiveItem:
    """One prompt to send, with its reference answer."""

    prompt: str
    reference: str
    eval_name: str = "live"


@dataclass
class LiveStats:
    """What a run did: calls paid for, replies reused from the cache, USD, failures."""

    paid_calls: int = 0
    cached_calls: int = 0
    spent_usd: float = 0.0
    cached_usd: float = 0.0
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Answer:
    """A model's reply to one prompt: its text and what it cost."""

    text: str
    cost_usd: float
    cached: bool


class LiveRunner:
    """Runs prompts x models with bounded concurrency, caching every paid reply."""

    def __init__(
        self,
        transport: ChatTransport,
        catalog: PriceCatalog,
        cache: ResponseCache,
        concurrency: int = 8,
        max_tokens: int = 512,
        retries: int = 2,
        progress: ProgressReporter | None = None,
    ) -> None:
        self.transport = transport
        self.catalog = catalog
        self.cache = cache
        self.max_tokens = max_tokens
        self.retries = retries
        self.progress = progress or NullProgress()
        self.stats = LiveStats()
        self._slots = asyncio.Semaphore(concurrency)

    async def run(
        self, items: Sequence[LiveItem], models: Sequence[str], grader: Grader
    ) -> RoutingDataset:
        """Every item sent to every model and graded; failures become unknown outcomes."""
        self.progress.start(
            f"live: {len(items)} prompts x {len(models)} models", len(items) * len(models)
        )
        jobs = [self._one(item, model, grader) for item in items for model in models]
        results = await asyncio.gather(*jobs)
        if results and all(r is None for r in results):
            raise LiveError(f"every call failed; first error: {self.stats.errors[0]}")
        n, m = len(items), len(models)
        scores, costs = np.full((n, m), np.nan), np.full((n, m), np.nan)
        responses: dict[str, list[str | None]] = {model: [None] * n for model in models}
        for k, result in enumerate(results):
            i, j = divmod(k, m)
            if result is not None:
                scores[i, j], costs[i, j] = result[0], result[1].cost_usd
                responses[models[j]][i] = result[1].text
        return RoutingDataset(
            prompts=[it.prompt for it in items],
            eval_names=[it.eval_name for it in items],
            models=list(models),
            scores=scores,
            costs=costs,
            responses=responses,
            name="live",
        )

    async def _one(self, item: LiveItem, model: str, grader: Grader) -> tuple[float, Answer] | None:
        answer = await self.ask(model, item.prompt)
        if answer is None:
            self.progress.advance(1)
            return None
        self.progress.advance(1, 0.0 if answer.cached else answer.cost_usd)
        return await grader.grade(item.prompt, answer.text, item.reference), answer

    async def judge_call(self, model: str, message: str) -> str:
        """A cached chat call for the judge grader; its cost counts as spend."""
        answer = await self.ask(model, message)
        if answer is None:
            raise LiveError(f"judge {model}: {self.stats.errors[-1]}")
        return answer.text

    async def ask(self, model: str, prompt: str) -> Answer | None:
        """The model's reply to `prompt`, from the cache or a (paid) call; None on failure."""
        body = {
            "model": model,
            "messages": [{"role": "user", "content": prompt}],
            "max_tokens": self.max_tokens,
            "temperature": 0,
        }
        key = cache_key(model, body)
        entry = self.cache.get(key)
        cached = entry is not None
        if entry is None:
            entry = await self._fetch(body)
            if entry is None:
                return None
            self.cache.put(key, entry)  # before anything else can fail: it is paid for
        cost = self._cost(model, entry)
        if cached:
            self.stats.cached_calls += 1
            self.stats.cached_usd += cost
        else:
            self.stats.paid_calls += 1
            self.stats.spent_usd += cost
        return Answer(_text(entry["body"]), cost, cached)

    async def _fetch(self, body: Mapping[str, Any]) -> dict[str, Any] | None:
        problem = ""
        for attempt in range(self.retries + 1):
            async with self._slots:
                try:
                    reply = await self.transport.send(body)
                except httpx.HTTPError as exc:
                    problem = f"{body['model']}: cannot reach the endpoint ({exc!r})"
                else:
                    if reply.status == 200:
                        return {"body": dict(reply.body), "cost_header": _header(reply)}
                    problem = f"{body['model']}: HTTP {reply.status} {_error(reply.body)}"
                    if reply.status not in RETRY_STATUSES:
                        break
            await asyncio.sleep(0.2 * 2**attempt)
        self.stats.errors.append(problem)
        return None

    def _cost(self, model: str, entry: Mapping[str, Any]) -> float:
        header = entry.get("cost_header")
        if header is not None:
            return float(header)
        price = self.catalog.get(model)
        usage = (entry.get("body") or {}).get("usage")
        if price is None or not usage:
            raise LiveError(
                f"model {model!r}: the reply has no {COST_HEADER} header"
                + (" and no usage" if price is not None else " and the model has no price")
                + " (add it with --prices, or go through the costroute gateway)"
            )
        return cost_usd(price, Usage.from_openai(usage))


def _header(reply: ChatReply) -> str | None:
    for name, value in reply.headers.items():
        if name.lower() == COST_HEADER:
            return value
    return None


def _text(body: Mapping[str, Any]) -> str:
    choices = body.get("choices") or [{}]
    message = choices[0].get("message") or {}
    return str(message.get("content") or "")


def _error(body: Mapping[str, Any]) -> str:
    error = body.get("error")
    if isinstance(error, Mapping):
        return str(error.get("message", ""))[:200]
    return str(body.get("detail", ""))[:200]
