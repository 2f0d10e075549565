"""One gateway over loopback with weeks of spend history and live traffic, for console tests.

History is written in the ledger's own journal format (what a gateway replays at start);
today's traffic goes through the real gateway to the simulator with the official client.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import openai
import pytest

from gateway.config import parse_config
from gateway.ledger.base import SettledEntry, SpendRecord, to_nanos
from gateway.ledger.entries import encode_entry
from gateway.server import ServeOptions, make_app
from gateway.simulator.config import SimulatorConfig
from gateway.simulator.server import SimulatorHandle, run_simulator
from gateway.tenants.config import BudgetConfig, LearningConfig, TenantConfig, hash_key
from gateway.tenants.periods import budget_window
from routers.versions.pointer import promote
from routers.versions.registry import ArtifactRegistry
from tests.gateway.cascade_route import (
    CHEAP,
    QUESTION,
    SURE,
    UNSURE,
    cascade_route,
    make_cascade_artifact,
)
from tests.gateway.conftest import sim_config
from tests.servers import serve_asgi

KEY_A, KEY_B, KEY_ADMIN = "cr-console-tenant-a", "cr-console-tenant-b", "cr-console-admin"
HISTORY_DAYS = 20
MODELS = ("gpt-4o-mini", "gpt-4o")
LANGUAGES = ("eng", "fra", "jpn")  # ISO 639-3, as language ID reports them


@dataclass
class Console:
    root: str
    sim: SimulatorHandle
    tenants: list[TenantConfig]
    records: str = "memory"  # the records kind: `sqlite` drains spend into the database

    def get(self, path: str, key: str, **params: str) -> httpx.Response:
        return httpx.get(f"{self.root}{path}", params=params,
                         headers={"authorization": f"Bearer {key}"}, timeout=30)


def console_tenants() -> list[TenantConfig]:
    return [
        TenantConfig(name="tenant-a", key_sha256=[hash_key(KEY_A)],
                     budgets=[BudgetConfig(period="month", limit_usd=1.0),
                              BudgetConfig(period="day", limit_usd=0.5)],
                     learning=LearningConfig(capture=True)),
        TenantConfig(name="tenant-b", key_sha256=[hash_key(KEY_B)]),
        TenantConfig(name="ops", key_sha256=[hash_key(KEY_ADMIN)], admin=True),
    ]


def history(tenants: list[TenantConfig], now: datetime) -> list[SettledEntry]:
    """Past days' settled entries of tenant-a (several models, languages, a learning call)
    and tenant-b (one model), with the budget windows each one counted in."""
    out = []
    by_name = {t.name: t for t in tenants}
    for back in range(HISTORY_DAYS, 0, -1):
        at = now - timedelta(days=back)
        rows = [("tenant-a", MODELS[back % 2], "auto", LANGUAGES[back % 3], "traffic",
                 1200 + 40 * back, 300),
                ("tenant-a", "gpt-4o-mini", "passthrough", "eng", "traffic", 800, 200),
                ("tenant-b", "mistralai/Mixtral-8x7B-Instruct-v0.1", "router:cheapest", "eng",
                 "traffic", 900, 100)]
        if back % 5 == 0:
            rows.append(("tenant-a", "gpt-4o", "auto", "eng", "learning", 1500, 400))
        for i, (tenant, model, route, language, purpose, prompt, completion) in enumerate(rows):
            cost = (prompt * 2.5 + completion * 10) / 1e6 if model == "gpt-4o" else (
                (prompt * 0.15 + completion * 0.6) / 1e6)
            requested = model if route == "passthrough" else route
            record = SpendRecord(tenant, f"hist-{back}-{i}", model, route, cost, prompt,
                                 completion, language, tier="remote", extra={
                                     "purpose": purpose, "requested_model": requested,
                                     "reason": f"table: {model} scores 0.8{back % 3}"})
            config = by_name[tenant]
            keys = tuple(budget_window(b, ZoneInfo(config.timezone), at).key
                         for b in config.budgets)
            out.append(SettledEntry(record, at.isoformat(), keys, to_nanos(cost)))
    return out


# Two registry versions with held-out metrics; the second serves a route this gateway does not
# configure, so nothing hot-swaps a real router to these manifest-only versions.
DEMO_ROUTE = "router:knn-demo"


def seed_registry(root: Path) -> Path:
    registry = ArtifactRegistry(root)
    for aiq, parent in ((0.61, None), (0.68, "v0001-knn")):
        block = {"kind": "knn", "created_at": "2026-12-01T00:00:00+00:00", "parent": parent,
                 "data": {"n_prompts": 400, "n_labels": 1200},
                 "metrics": {"artifact": {"aiq": aiq, "accuracy": aiq + 0.1,
                                          "path": "/never/shown"}}}

        def write(directory: Path, block: dict[str, object] = block) -> None:
            (directory / "manifest.json").write_text(json.dumps({"version": block}))

        version = registry.create("knn", write)
    promote(registry, DEMO_ROUTE, version)
    return root


def send_traffic(console: Console) -> None:
    """Today's live requests: routed, named, streamed, a cascade (one escalation), an error."""
    a = openai.OpenAI(base_url=f"{console.root}/v1", api_key=KEY_A, max_retries=0)
    b = openai.OpenAI(base_url=f"{console.root}/v1", api_key=KEY_B, max_retries=0)
    hello = [{"role": "user", "content": "Summarise the plot of Hamlet in two sentences."}]
    for _ in range(3):
        a.chat.completions.create(model="auto", messages=hello, max_tokens=60)  # type: ignore[arg-type]
    a.chat.completions.create(model="gpt-4o-mini", messages=hello, max_tokens=60)  # type: ignore[arg-type]
    for _chunk in a.chat.completions.create(model="auto", messages=hello, max_tokens=40,  # type: ignore[arg-type]
                                            stream=True):
        pass
    question = [{"role": "user", "content": QUESTION}]
    console.sim.control.script(CHEAP, [SURE, UNSURE])
    for _ in range(2):
        a.chat.completions.create(model="router:cascade", messages=question)  # type: ignore[arg-type]
    with pytest.raises(openai.NotFoundError):
        a.chat.completions.create(model="no-such-model", messages=hello)  # type: ignore[arg-type]
    for _ in range(2):
        b.chat.completions.create(model="router:cheapest", messages=hello, max_tokens=30)  # type: ignore[arg-type]


# `memory` records: the console reads the ledger's journal; `sqlite`: a spend drainer copies the
# journal into the records database and the console reads it from there, as the spend API does.
@pytest.fixture(scope="module", params=["memory", "sqlite"])
def console(tmp_path_factory: pytest.TempPathFactory,
            request: pytest.FixtureRequest) -> Iterator[Console]:
    tmp = tmp_path_factory.mktemp("console")
    records = ({"kind": "memory"} if request.param == "memory"
               else {"kind": "sqlite", "path": str(tmp / "records.db")})
    tenants = console_tenants()
    journal = tmp / "spend.jsonl"
    journal.write_bytes(b"".join(encode_entry(e) + b"\n"
                                 for e in history(tenants, datetime.now(UTC))))
    artifact = make_cascade_artifact(tmp / "cascade")
    registry = seed_registry(tmp / "artifacts")
    with run_simulator(SimulatorConfig(latency_scale=0)) as sim:
        config = sim_config(sim, routes={
            "auto": {"router": "table"}, "router:cheapest": {"router": "cheapest"},
            "router:cascade": cascade_route(artifact)}, store={"path": str(journal)},
            records=records, artifacts={"dir": str(registry)})
        with serve_asgi(make_app(ServeOptions(parse_config(config), tenants))) as root:
            console = Console(root, sim, tenants, request.param)
            send_traffic(console)
            yield console
