"""The routing interface every router implements.

A `Router` picks one model for a request. A multi-call route (a cascade, a Minions protocol)
implements `Orchestrator` instead: the gateway hands it a `CallModel` function that reserves,
calls and settles one upstream call per stage under the request's id and budget.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from pricing.estimate import CostEstimate
from pricing.usage import Usage

Tier = Literal["local", "remote"]
Objective = Literal["max_utility", "cheapest_within_eps", "quality_target"]


@dataclass(frozen=True, slots=True)
class Candidate:
    """A model the request may go to, with this request's pre-flight estimate on it."""

    model: str
    tier: Tier
    estimate: CostEstimate


@dataclass(frozen=True, slots=True)
class RouteRequest:
    """What a router may look at: the chat, and facts the gateway derived from it."""

    messages: Sequence[Mapping[str, Any]]
    max_tokens: int | None = None
    temperature: float | None = None
    language: str | None = None
    tenant: str | None = None

    def answer_params(self) -> dict[str, Any]:
        """Call params for a stage that answers the client's question itself: the client's
        length limit, which bounds both the answer and what the stage reserves."""
        return {"max_tokens": self.max_tokens} if self.max_tokens else {}


@dataclass(frozen=True, slots=True)
class Policy:
    """A tenant's routing policy: which objective, and the cost/quality knob for it.

    `knob` means λ (USD weight) for max_utility, ε (quality slack) for cheapest_within_eps,
    and the quality target for quality_target. Budget-aware routing tightens it.
    """

    objective: Objective = "max_utility"
    knob: float = 0.0
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Decision:
    """A router's choice: the model, why, and what it expects the call to cost and score."""

    model: str
    reason: str
    predicted_cost_usd: float
    predicted_quality: float | None = None
    runner_up: str | None = None
    # The vector the router computed for the prompt, if it embedded one: the gateway keeps
    # it with the captured record so that retraining does not embed the prompt again.
    prompt_vector: PromptVector | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class PromptVector:
    """`vector` (a (d,) float32 array) is what encoder `encoder` made of exactly `text`."""

    text: str
    encoder: str
    vector: Any


@runtime_checkable
class Router(Protocol):
    """Picks one model among `candidates` (never empty, already filtered to allowed models)."""

    name: str

    def route(
        self, request: RouteRequest, candidates: Sequence[Candidate], policy: Policy
    ) -> Decision: ...


@runtime_checkable
class ModelBackedRouter(Router, Protocol):
    """A router whose decision runs a model (an embedder): tens of ms of CPU on a miss.

    The gateway calls such routers off the event loop, so one decision never stalls the
    other requests in flight.
    """

    runs_model: Literal[True]


@dataclass(frozen=True, slots=True)
class StageResult:
    """One upstream call made on behalf of an orchestrated route."""

    model: str
    response: Mapping[str, Any]
    usage: Usage
    cost_usd: float
    tier: Tier
    error: str | None = None

    @property
    def text(self) -> str:
        choices = self.response.get("choices") or [{}]
        message = choices[0].get("message") or {}
        return str(message.get("content") or "")


# Calls one model with the given messages and extra body params; reserves and settles the
# spend against the request's tenant. Raises gateway errors (budget, upstream) on failure.
CallModel = Callable[[str, Sequence[Mapping[str, Any]], Mapping[str, Any]], Awaitable[StageResult]]


@dataclass(frozen=True, slots=True)
class Orchestration:
    """The outcome of a multi-call route: the final answer and every stage it took."""

    final: StageResult
    stages: Sequence[StageResult]
    trace: Sequence[Mapping[str, Any]] = ()

    @property
    def cost_usd(self) -> float:
        return sum(stage.cost_usd for stage in self.stages)


@runtime_checkable
class Orchestrator(Protocol):
    """Answers a request with several upstream calls (cascade, Minion, MinionS)."""

    name: str

    async def run(
        self,
        request: RouteRequest,
        candidates: Sequence[Candidate],
        policy: Policy,
        call: CallModel,
    ) -> Orchestration: ...
