"""Promote and rollback under load: two gateway processes share one artifact registry.

Real parts: two `costroute serve` processes over loopback, the bundled simulator, the
official openai client sending concurrent requests throughout. Each swap must fail no
request, and both replicas must converge on the version the pointer names (the
x-costroute-route reason carries it).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Self

import pytest
from openai import OpenAI

from gateway.simulator.server import SimulatorHandle
from gateway.tenants.config import hash_key
from routers.datasets.format import RoutingDataset
from routers.embedding import HashingEmbedder
from routers.knn.artifact import save_artifact
from routers.knn.fit import FitConfig, fit_knn
from routers.knn.predict import KnnParams
from routers.knn.train import TrainConfig
from routers.versions.pointer import promote, rollback
from routers.versions.registry import ArtifactRegistry
from tests.gateway.processes import GatewayProcess, write_gateway_config, write_tenants
from tests.routers.knn.synthetic import synthetic

KEY = "cr-test-artifacts-key"
MODELS = ["gpt-4o-mini", "mistralai/Mixtral-8x7B-Instruct-v0.1", "gpt-4o"]
CONVERGE_S = 60.0


def _simulator_models(ds: RoutingDataset) -> RoutingDataset:
    """The synthetic data with its three models renamed to three the simulator serves."""
    return RoutingDataset(ds.prompts, ds.eval_names, MODELS, ds.scores, ds.costs, name="sim")


def _fit_into(directory: Path, seed: int) -> None:
    config = FitConfig(seed=seed, params=KnnParams(k=8), train=TrainConfig(epochs=2, seed=seed))
    save_artifact(fit_knn(_simulator_models(synthetic(120, seed)), HashingEmbedder(), config),
                  directory)


def _version(registry: ArtifactRegistry, seed: int) -> str:
    return registry.create("knn", lambda d: _fit_into(d, seed))


class Load:
    """Threads sending chat requests to every gateway until stopped; counts what came back."""

    def __init__(self, clients: list[OpenAI], threads_per_client: int = 3):
        self.clients = clients
        self.errors: list[str] = []
        self.ok = 0
        self.reasons: list[tuple[int, float, str]] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, args=(i,), daemon=True)
                         for i in range(len(clients)) for _ in range(threads_per_client)]

    def __enter__(self) -> Self:
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(30)

    def _run(self, i: int) -> None:
        n = 0
        while not self._stop.is_set():
            n += 1
            try:
                raw = self.clients[i].chat.completions.with_raw_response.create(
                    model="auto", max_tokens=16,
                    messages=[{"role": "user", "content": f"add the numbers {n} plus {i}"}])
                raw.parse()
                with self._lock:
                    self.ok += 1
                    self.reasons.append((i, time.monotonic(), raw.headers["x-costroute-route"]))
            except Exception as exc:  # noqa: BLE001 - every failure counts; none is expected
                with self._lock:
                    self.errors.append(f"gateway {i}: {exc!r}")

    def wait_for(self, version: str | None, since: float) -> None:
        """Until every gateway has answered with `version` on a request started after `since`
        (None: with the configured artifact, which names no version: `auto: knn[raw] ...`)."""
        def serves(reason: str) -> bool:
            if version is None:
                return "knn[" in reason and "]@" not in reason
            return f"@{version} " in reason

        deadline = time.monotonic() + CONVERGE_S
        while time.monotonic() < deadline:
            with self._lock:
                seen = {i for i, t, reason in self.reasons if t > since and serves(reason)}
            if seen == set(range(len(self.clients))):
                return
            time.sleep(0.1)
        raise AssertionError(f"gateways did not converge on {version}; last reasons: "
                             f"{self.reasons[-4:]}")


@pytest.fixture
def replicas(sim: SimulatorHandle, tmp_path: Path) -> Iterator[tuple[ArtifactRegistry, list[str],
                                                                     list[GatewayProcess]]]:
    registry = ArtifactRegistry(tmp_path / "registry")
    versions = [_version(registry, seed) for seed in (1, 2)]
    configured = tmp_path / "configured"  # outside the registry, without a version id
    _fit_into(configured, 0)
    tenants = write_tenants(tmp_path / "tenants.yaml", [
        {"name": "acme", "key_sha256": [hash_key(KEY)],
         "policy": {"route": "auto", "objective": "max_utility", "knob": 0.0}}])
    gateways = []
    for n in range(2):
        workdir = tmp_path / f"replica{n}"
        workdir.mkdir()
        config = {
            "models": [{"name": m, "upstream": {"base_url": sim.base_url}} for m in MODELS],
            "routes": {"auto": {"router": "knn", "artifact": str(configured)}},
            "tenants_file": str(tenants),
            "artifacts": {"dir": str(registry.root), "poll_s": 0.2},
        }
        path = write_gateway_config(workdir / "gateway.yaml", config)
        gateways.append(GatewayProcess(path, workdir))
    try:
        for g in gateways:
            g.start()
        yield registry, versions, gateways
    finally:
        for g in gateways:
            g.stop()


def test_promote_and_rollback_under_load_fail_nothing_and_converge(replicas) -> None:
    registry, (first, second), gateways = replicas
    clients = [OpenAI(base_url=g.base_url, api_key=KEY, max_retries=0, timeout=30)
               for g in gateways]
    with Load(clients) as load:
        time.sleep(1.0)
        promote(registry, "auto", first)
        load.wait_for(first, time.monotonic())
        promote(registry, "auto", second)
        load.wait_for(second, time.monotonic())
        rollback(registry, "auto")
        load.wait_for(first, time.monotonic())
        rollback(registry, "auto")  # past the first promote: the configured artifact again
        load.wait_for(None, time.monotonic())
        time.sleep(0.5)
    assert load.errors == []
    assert load.ok > 20
    for gateway in gateways:
        logs = gateway.logs()
        assert f"now serves {second}" in logs and f"now serves {first}" in logs
        assert f"now serves the configured router (was {first})" in logs


def test_a_broken_version_keeps_the_old_one_serving(replicas) -> None:
    registry, (first, second), gateways = replicas
    (registry.path(second) / "scores.npy").write_bytes(b"not numpy")
    clients = [OpenAI(base_url=g.base_url, api_key=KEY, max_retries=0, timeout=30)
               for g in gateways]
    with Load(clients, threads_per_client=1) as load:
        promote(registry, "auto", first)
        load.wait_for(first, time.monotonic())
        promote(registry, "auto", second)
        time.sleep(2.0)
        since = time.monotonic()
        time.sleep(1.0)
    assert load.errors == []
    recent = [reason for _, t, reason in load.reasons if t > since]
    assert recent and all(f"@{first} " in r for r in recent)
    assert "cannot load" in gateways[0].logs()
