"""Stored prompt vectors end to end: a real gateway routes `auto` with a k-NN artifact (hashing
encoder), captures each request through the outbox into a real SQLite records store with the
vector the route computed; `costroute train knn --from-records` then embeds none of those
prompts, only traffic that no route embedded, and stores those so the next retrain embeds
nothing. A prompt that redaction changed keeps no vector."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from gateway.artifacts.train import MIN_HELD_OUT_PROMPTS
from gateway.records.base import Label, RequestRecord
from gateway.records.sqlite import SQLiteRecordStore
from gateway.records.vectors import as_array
from gateway.simulator.server import SimulatorHandle
from gateway.tenants.config import TenantConfig, hash_key
from routers.datasets.records import is_held_out
from routers.datasets.text import embedding_text, text_hash
from routers.embedding import HashingEmbedder
from routers.knn.artifact import save_artifact
from routers.knn.fit import FitConfig, fit_knn
from routers.knn.predict import KnnParams
from routers.knn.train import TrainConfig
from tests.gateway.artifacts.records_data import CountingEmbedder
from tests.gateway.artifacts.test_promote_under_load import MODELS, _simulator_models
from tests.gateway.conftest import GatewayFactory
from tests.routers.knn.synthetic import synthetic

KEY = "cr-test-key-knn-vectors"
ROUTED = 40  # prompts sent through `auto`
# Prompts captured by a route that embeds nothing (written to the store here), numbered so
# that MIN_HELD_OUT_PROMPTS of them fall in the held-out slice: the slice is then always big
# enough to evaluate, and so embedded. With the routed prompts' random request ids deciding
# its size, it was too small in ~3% of runs, and the held-out unrouted prompt went unembedded.
UNROUTED = (
    [i for i in range(200) if is_held_out(f"un-{i}")][:MIN_HELD_OUT_PROMPTS]
    + [i for i in range(200) if not is_held_out(f"un-{i}")][:7])


def _read(db: Path, keys: list[str]) -> tuple[int, dict]:
    async def read() -> tuple[int, dict]:
        store = SQLiteRecordStore(db)
        try:
            return (await store.counts("acme")).requests, await store.vectors("hashing", keys)
        finally:
            await store.aclose()

    return asyncio.run(read())


def _label_everything(db: Path, prompts: list[str], scores: np.ndarray) -> None:
    """Judge labels for the routed prompts, and the unrouted traffic with its labels."""
    row_of = {embedding_text(p): i for i, p in enumerate(prompts)}

    async def write() -> None:
        store = SQLiteRecordStore(db)
        try:
            rows = await store._fetch("SELECT request_id, prompt FROM requests")
            labels = [Label(rid, "acme", m, float(scores[row_of[p], j]), "judge", 2e9)
                      for rid, p in rows if p in row_of for j, m in enumerate(MODELS)]
            extra = [RequestRecord(f"un-{i}", "acme", 1e9 + i, "router:cheapest", MODELS[0],
                                   prompt=f"an unrouted question number {i} about rivers")
                     for i in UNROUTED]
            labels += [Label(r.request_id, "acme", m, float(i % 2 == j % 2), "judge", 2e9)
                       for i, r in enumerate(extra) for j, m in enumerate(MODELS)]
            # Shadow calls: every model's cost on every prompt, as shadow labelling leaves it.
            roots = [rid for rid, _ in rows] + [r.request_id for r in extra]
            extra += [RequestRecord(f"{rid}:shadow:{j}", "acme", 2e9, "auto", m,
                                    purpose="learning", parent_id=rid, cost_usd=1e-4 * (j + 1))
                      for rid in roots for j, m in enumerate(MODELS)]
            await store.write_requests(extra)
            await store.write_labels(labels)
        finally:
            await store.aclose()

    asyncio.run(write())


@pytest.mark.slow
def test_captured_vectors_spare_the_retrain_its_embedding(
        tmp_path: Path, sim: SimulatorHandle, gateway_factory: GatewayFactory,
        monkeypatch: pytest.MonkeyPatch) -> None:
    import routers.knn.cli as knn_cli
    from routers.cli import app as train_app

    ds = _simulator_models(synthetic(120, 3))
    artifact = tmp_path / "artifact"
    save_artifact(fit_knn(ds, HashingEmbedder(), FitConfig(
        params=KnnParams(k=8), train=TrainConfig(epochs=2))), artifact)
    db = tmp_path / "records.sqlite3"
    config = {"models": [{"name": m, "upstream": {"base_url": sim.base_url}} for m in MODELS],
              "routes": {"auto": {"router": "knn", "artifact": str(artifact)},
                         "router:cheapest": {"router": "cheapest"}},
              "records": {"kind": "sqlite", "path": str(db)},
              "artifacts": {"dir": str(tmp_path / "registry")}}
    config_path = tmp_path / "gateway.yaml"
    config_path.write_text(yaml.safe_dump(config))
    who = TenantConfig.model_validate({"name": "acme", "key_sha256": [hash_key(KEY)],
                                       "learning": {"capture": True}})
    gw = gateway_factory(config, [who])
    prompts = [f"{ds.prompts[i]} (variant {i})" for i in range(ROUTED)]
    redacted = "Please mail the summary to someone@example.com today"
    for prompt in [*prompts, redacted]:
        r = httpx.post(f"{gw.base_url}/chat/completions",
                       headers={"authorization": f"Bearer {KEY}"}, timeout=30,
                       json={"model": "auto", "messages": [{"role": "user", "content": prompt}]})
        assert r.status_code == 200, r.text
    keys = [text_hash(embedding_text(p)) for p in prompts]
    deadline = time.monotonic() + 60
    while (found := _read(db, keys + [text_hash(redacted)]))[0] < ROUTED + 1:
        assert time.monotonic() < deadline, "the outbox did not drain"
        time.sleep(0.1)
    vectors = found[1]
    assert set(vectors) == set(keys)  # every routed prompt's vector; none of the redacted one
    expected = HashingEmbedder().embed([embedding_text(p) for p in prompts])
    assert np.array_equal(np.stack([as_array(vectors[k]) for k in keys]), expected)

    _label_everything(db, prompts, ds.scores)
    runs = []

    def counted(name: str, cache: Path | None) -> CountingEmbedder:
        assert name == "hashing"
        runs.append(CountingEmbedder())
        return runs[-1]

    monkeypatch.setattr(knn_cli, "_embedder", counted)
    for _ in range(2):
        trained = CliRunner().invoke(train_app, [
            "knn", "--from-records", "--tenant", "acme", "--config", str(config_path),
            "--embedder", "hashing", "--epochs", "2"])
        assert trained.exit_code == 0, trained.output
    first, second = runs
    # The first retrain embeds only the unrouted prompts, training and held-out alike, once.
    assert sorted(first.texts) == sorted(f"an unrouted question number {i} about rivers"
                                         for i in UNROUTED)
    assert second.texts == []  # and stored them: the next retrain embeds nothing
