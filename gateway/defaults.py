"""The embedded defaults: the bundled simulator's models and a demo tenant, no services."""

from __future__ import annotations

import secrets
from typing import Any

from gateway.config import GatewayConfig, parse_config
from gateway.simulator.judge import SIMULATED_JUDGE
from gateway.tenants.config import BudgetConfig, TenantConfig, hash_key
from routers.versions.shipped import shipped_artifact

DEMO_TENANT = "demo"
DEMO_KEY_ENV = "COSTROUTE_DEMO_KEY"

# Quality figures are MMLU accuracies (RouteLLM data for GPT-4-1106/Mixtral, vendors' own
# reports for the 4o family) and only seed the demo `table` route.
SIMULATED_MODELS: list[dict[str, Any]] = [
    {"name": "gpt-4o-mini", "quality": 0.82, "fallbacks": ["gpt-4o"]},
    {"name": "gpt-4o", "quality": 0.887},
    {"name": "gpt-4-1106-preview", "quality": 0.806},
    {"name": "mistralai/Mixtral-8x7B-Instruct-v0.1", "quality": 0.681},
]

# Served at /v1/embeddings by the simulator; chat routes leave embedding models out.
SIMULATED_EMBEDDING_MODELS = ["text-embedding-3-small", "text-embedding-3-large"]

# Served on Anthropic's wire by the simulator (gateway/simulator/anthropic_api.py), so the
# defaults show a native Messages upstream: `/v1/messages` passes through to it and
# `/v1/chat/completions` translates. Offered by name only; no route mixes wires by default.
SIMULATED_ANTHROPIC_MODELS = ["claude-3-5-haiku-20241022", "claude-sonnet-4-20250514"]

LOCAL_MODEL = "smollm2-135m-instruct"
# The models with recorded outcomes in the shipped routing data (RouteLLM MMLU and GSM8K):
# the learned routes choose between these two (routers/data/training/NOTICE).
RECORDED_MODELS = ["mistralai/Mixtral-8x7B-Instruct-v0.1", "gpt-4-1106-preview"]


def default_config(base_url: str, local_model_url: str | None = None) -> GatewayConfig:
    """Models served by the simulator mounted at `base_url`, plus the local model if given."""
    models: list[dict[str, Any]] = [
        {**m, "upstream": {"base_url": base_url}, "tier": "remote"} for m in SIMULATED_MODELS
    ]
    models += [{"name": name, "upstream": {"base_url": base_url}, "tier": "remote"}
               for name in SIMULATED_EMBEDDING_MODELS]
    models += [{"name": name, "upstream": {"base_url": base_url, "api": "anthropic"},
                "tier": "remote"} for name in SIMULATED_ANTHROPIC_MODELS]
    models.append(_simulated_judge(base_url))
    if local_model_url:
        models.append({"name": LOCAL_MODEL, "tier": "local", "quality": 0.3,
                       "upstream": {"base_url": local_model_url, "model": LOCAL_MODEL,
                                    "timeout": {"first_byte_s": 120, "total_s": 300}}})
    remote = [m["name"] for m in SIMULATED_MODELS]
    knn = {"router": "knn", "artifact": str(shipped_artifact("knn")), "models": RECORDED_MODELS}
    routes: dict[str, Any] = {
        "auto": knn,
        "router:knn": knn,
        "router:cascade": {"router": "cascade", "artifact": str(shipped_artifact("cascade")),
                           "models": RECORDED_MODELS},
        "router:table": {"router": "table", "models": remote},  # not the judge
        "router:cheapest": {"router": "cheapest", "models": remote},
    }
    hints: dict[str, str] = {}
    if local_model_url:
        # Below ~8k tokens gpt-4o reading the document costs less than the protocol's own
        # remote calls: on the simulator a 1.5k-token document cost $0.0234 through minions
        # (6 remote calls, 4,920 tokens) against $0.0055 sent directly.
        routes["router:minions"] = {"router": "minions", "options": {
            "local_model": LOCAL_MODEL, "remote_model": "gpt-4o", "min_document_tokens": 8000}}
    else:
        hints["router:minions"] = (
            "it needs the local tier. Start the gateway with `costroute serve --local-model` "
            "(SmolLM2-135M on llama.cpp, from the `local` extra) or `--local-model-url URL` "
            "(a llama.cpp server already running).")
    raw = {"models": models, "routes": routes, "simulator": True, "route_hints": hints}
    return parse_config(raw, source="embedded defaults")


def _simulated_judge(base_url: str) -> dict[str, Any]:
    """The simulator's grader, so that a tenant served on the embedded defaults (`costroute
    serve --tenants`) can name it as its `learning.judge`: it grades an answer by the outcome
    the simulator has recorded for it (gateway/simulator/judge.py), priced as models.yaml
    prices it. No route offers it to traffic."""
    from gateway.simulator.profiles import ModelProfiles

    price = ModelProfiles.shipped()[SIMULATED_JUDGE].price
    return {"name": SIMULATED_JUDGE, "upstream": {"base_url": base_url}, "tier": "remote",
            "price": price.model_dump(exclude={"model"}, exclude_none=True)}


def demo_tenant(api_key: str) -> TenantConfig:
    return TenantConfig(
        name=DEMO_TENANT,
        key_sha256=[hash_key(api_key)],
        admin=True,
        budgets=[BudgetConfig(period="day", limit_usd=5.0)],
        policy={"route": "auto", "objective": "max_utility", "knob": 0.1},  # type: ignore[arg-type]
    )


def new_demo_key() -> str:
    return "cr-demo-" + secrets.token_urlsafe(18)
