"""Which models can serve a request: chat at all, tools, vision, JSON schema, context, output.

The catalog declares each model's capabilities (pricing/data/catalog.yaml: `mode`,
`supports_tools`, `supports_vision`, `supports_json_schema`, `context_window`,
`max_output_tokens`; gateway.yaml may override them per model under `price:`). The
candidate step keeps only models that lack nothing the request needs, so a router never
sends a tool call to a model without tools, an image to a text-only model, or 100k tokens
to a 32k window; when none is left, the 400 names what was missing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from gateway.errors import InvalidRequest
from gateway.protocol import ChatCompletionRequest
from pricing import CostEstimate, PriceCatalog

IMAGE_PARTS = frozenset({"image_url", "input_image", "image"})
# The request field each missing capability is blamed on, for the error's `param`.
PARAMS = {"chat": "model", "tools": "tools", "vision": "messages",
          "json_schema": "response_format", "context_window": "messages",
          "max_output": "max_tokens"}


@dataclass(frozen=True, slots=True)
class Needs:
    """What a chat request asks of the model that answers it."""

    tools: bool = False
    vision: bool = False
    json_schema: bool = False
    max_tokens: int | None = None


def needs_of(request: ChatCompletionRequest) -> Needs:
    extra = request.model_extra or {}
    fmt = extra.get("response_format")
    return Needs(
        tools=bool(request.tools) or bool(extra.get("functions")),
        vision=any(isinstance(m.content, list) and any(p.type in IMAGE_PARTS for p in m.content)
                   for m in request.messages),
        json_schema=isinstance(fmt, dict) and fmt.get("type") == "json_schema",
        max_tokens=request.max_completion_tokens or request.max_tokens,
    )


@dataclass(frozen=True)
class Fit:
    """The models that can serve the request, and what each excluded one lacks."""

    kept: Sequence[str]
    excluded: Mapping[str, Sequence[str]] = field(default_factory=dict)
    prompt_tokens: Mapping[str, int] = field(default_factory=dict)

    def note(self) -> str:
        """For the route reason header: which models were left out, and why."""
        if not self.excluded:
            return ""
        listed = ", ".join(f"{m} ({'+'.join(w)})" for m, w in self.excluded.items())
        return f"; excluded: {listed}"

    def refusal(self, asked: str) -> InvalidRequest:
        details = "; ".join(f"`{m}` lacks {', '.join(_detail(w, m, self) for w in lacks)}"
                            for m, lacks in self.excluded.items())
        first = next(iter(self.excluded.values()))[0]
        return InvalidRequest(f"No model behind `{asked}` can serve this request: {details}.",
                              param=PARAMS[first], code="capability_unavailable")


def _detail(what: str, model: str, fit: Fit) -> str:
    if what == "context_window":
        return f"the context window (prompt of {fit.prompt_tokens.get(model, 0)} tokens)"
    if what == "chat":
        return "chat (it is an embedding model; use /v1/embeddings)"
    return what


def lacking(needs: Needs, estimate: CostEstimate, catalog: PriceCatalog) -> list[str]:
    price = estimate.price or catalog[estimate.model]
    out: list[str] = []
    if price.mode != "chat":
        out.append("chat")
    if needs.tools and not price.supports_tools:
        out.append("tools")
    if needs.vision and not price.supports_vision:
        out.append("vision")
    if needs.json_schema and not price.supports_json_schema:
        out.append("json_schema")
    if estimate.prompt_tokens > price.context_window:
        out.append("context_window")
    return out


def short_output(needs: Needs, estimate: CostEstimate, catalog: PriceCatalog) -> bool:
    """Whether `max_tokens` is above the model's maximum output.

    A preference, not a bar: `max_tokens` is a ceiling (Anthropic clients send 32k by
    habit), so such a model is left out only when another candidate can give that much,
    and a model asked for by name gets the request (its output is capped at its maximum).
    """
    price = estimate.price or catalog[estimate.model]
    return needs.max_tokens is not None and needs.max_tokens > price.max_output_tokens


def fit(needs: Needs, estimates: Mapping[str, CostEstimate], catalog: PriceCatalog) -> Fit:
    kept: list[str] = []
    excluded: dict[str, list[str]] = {}
    for model, estimate in estimates.items():
        lacks = lacking(needs, estimate, catalog)
        if lacks:
            excluded[model] = lacks
        else:
            kept.append(model)
    short = [m for m in kept if short_output(needs, estimates[m], catalog)]
    if short and len(short) < len(kept):
        kept = [m for m in kept if m not in short]
        excluded.update({m: ["max_output"] for m in short})
    return Fit(kept, excluded, {m: e.prompt_tokens for m, e in estimates.items()})


def require(fitted: Fit, asked: str, first: str | None = None) -> None:
    """Raises the 400 when nothing is left (or when `first`, the model asked for, is out)."""
    if first is not None and fitted.excluded.get(first) == ["max_output"]:
        return  # a preference only (see short_output)
    if not fitted.kept or (first is not None and first in fitted.excluded):
        only = fitted if first is None else Fit([], {first: fitted.excluded[first]},
                                                fitted.prompt_tokens)
        raise only.refusal(asked)
