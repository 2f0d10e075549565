"""The `minion` and `minions` route kinds: local-remote collaboration as an Orchestrator."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from routers.base import CallModel, Candidate, Orchestration, Policy, RouteRequest
from routers.minions.document import split_request
from routers.minions.minion import run_minion
from routers.minions.minions import run_minions
from routers.minions.settings import MinionsConfigError, MinionsSettings, Pair, pick_models
from routers.minions.tally import Tally

Kind = Literal["minion", "minions"]


class MinionsOrchestrator:
    """Answers a long-document request with a local/remote pair (Minion or MinionS)."""

    def __init__(self, kind: Kind, settings: MinionsSettings):
        self.kind = kind
        self.name: str = kind
        self.settings = settings

    async def run(self, request: RouteRequest, candidates: Sequence[Candidate],
                  policy: Policy, call: CallModel) -> Orchestration:
        pair = pick_models(self.settings, candidates)
        count = self.settings.token_counter()
        task = split_request(request.messages, count, self.settings.share_system_tokens)
        if not task.document.strip():
            return await self._direct(request, pair, call, "no document")
        floor = self.settings.min_document_tokens
        if floor:
            tokens = count(task.document)
            if tokens < floor:
                return await self._direct(
                    request, pair, call,
                    f"document of {tokens} tokens < min_document_tokens {floor}")
        protocol = run_minion if self.kind == "minion" else run_minions
        outcome = await protocol(task, pair, self.settings, call)
        split = {"event": "split", "source": task.source,
                 "document_chars": len(task.document), "question_chars": len(task.question)}
        return Orchestration(outcome.final, outcome.stages,
                             [*outcome.trace[:1], split, *outcome.trace[1:]])

    async def _direct(self, request: RouteRequest, pair: Pair, call: CallModel,
                      why: str) -> Orchestration:
        """No document worth keeping local: the request goes to the remote model unchanged."""
        tally = Tally()
        stage = tally.record(await call(pair.remote, request.messages, request.answer_params()))
        summary = tally.summary(self.kind, 0, local_model=pair.local, remote_model=pair.remote,
                                direct=True)
        summary["summary"] = f"{self.kind}: {why}, sent to {pair.remote} directly"
        return Orchestration(stage, tally.stages, tally.trace(summary))


def build_minions(kind: str, **options: Any) -> MinionsOrchestrator:
    """The orchestrator for route kind `minion` or `minions`, from the route's `options`."""
    if kind not in ("minion", "minions"):
        raise MinionsConfigError(f"unknown minions kind {kind!r}: use `minion` or `minions`")
    return MinionsOrchestrator(kind, MinionsSettings.from_options(options))  # type: ignore[arg-type]
