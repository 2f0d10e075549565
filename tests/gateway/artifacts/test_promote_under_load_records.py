"""Promote and rollback under load across hosts: two gateway processes that share no
artifacts directory, only a PostgreSQL records store.

Real parts: PostgreSQL, two `costroute serve` processes over loopback (each with its own
data directory, so its own artifact cache), the bundled simulator, the official openai
client sending concurrent requests throughout. The trainer publishes versions into the
database from a third directory. Each swap must fail no request, and both replicas must
converge on the version the pointer names, and back after a rollback.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from openai import OpenAI

from gateway.artifacts.db_registry import RecordsRegistry
from gateway.artifacts.sync_db import PostgresDatabase
from gateway.simulator.server import SimulatorHandle
from gateway.tenants.config import hash_key
from routers.embedding import HashingEmbedder
from routers.knn.artifact import save_artifact
from routers.knn.fit import FitConfig, fit_knn
from routers.knn.predict import KnnParams
from routers.knn.train import TrainConfig
from tests.gateway.artifacts.test_promote_under_load import KEY, MODELS, Load, _simulator_models
from tests.gateway.processes import GatewayProcess, write_gateway_config, write_tenants
from tests.routers.knn.synthetic import synthetic

pytestmark = pytest.mark.postgres


def _fit(seed: int, directory: Path) -> None:
    config = FitConfig(seed=seed, params=KnnParams(k=8), train=TrainConfig(epochs=2, seed=seed))
    save_artifact(fit_knn(_simulator_models(synthetic(120, seed)), HashingEmbedder(), config),
                  directory)


@pytest.fixture
def replicas(sim: SimulatorHandle, pg_url: str, tmp_path: Path
             ) -> Iterator[tuple[RecordsRegistry, list[str], list[GatewayProcess]]]:
    trainer = RecordsRegistry(PostgresDatabase(pg_url), tmp_path / "trainer" / "cache")
    versions = [trainer.create("knn", functools.partial(_fit, seed)) for seed in (1, 2)]
    tenants = write_tenants(tmp_path / "tenants.yaml", [
        {"name": "acme", "key_sha256": [hash_key(KEY)],
         "policy": {"route": "auto", "objective": "max_utility", "knob": 0.0}}])
    gateways = []
    for n in range(2):
        workdir = tmp_path / f"replica{n}"  # COSTROUTE_DATA_DIR: the replica's own disk
        workdir.mkdir()
        configured = workdir / "image-artifact"  # what a pod's image would carry
        _fit(0, configured)
        config = {
            "models": [{"name": m, "upstream": {"base_url": sim.base_url}} for m in MODELS],
            "routes": {"auto": {"router": "knn", "artifact": str(configured)}},
            "tenants_file": str(tenants),
            "records": {"kind": "postgres", "url": pg_url},
            "artifacts": {"poll_s": 0.2},  # store `auto`: the records database
        }
        path = write_gateway_config(workdir / "gateway.yaml", config)
        gateways.append(GatewayProcess(path, workdir))
    try:
        for g in gateways:
            g.start()
        yield trainer, versions, gateways
    finally:
        for g in gateways:
            g.stop()
        trainer.close()


def test_promote_and_rollback_over_postgres_fail_nothing_and_converge(
        replicas: tuple[RecordsRegistry, list[str], list[GatewayProcess]], tmp_path: Path) -> None:
    trainer, (first, second), gateways = replicas
    clients = [OpenAI(base_url=g.base_url, api_key=KEY, max_retries=0, timeout=30)
               for g in gateways]
    with Load(clients) as load:
        time.sleep(1.0)
        trainer.promote("auto", first)
        load.wait_for(first, time.monotonic())
        trainer.promote("auto", second)
        load.wait_for(second, time.monotonic())
        trainer.rollback("auto")
        load.wait_for(first, time.monotonic())
        trainer.rollback("auto")  # past the first promote: each image's artifact again
        load.wait_for(None, time.monotonic())
        time.sleep(0.5)
    assert load.errors == []
    assert load.ok > 20
    for n, gateway in enumerate(gateways):
        logs = gateway.logs()
        assert f"now serves {second}" in logs and f"now serves {first}" in logs
        assert f"now serves the configured router (was {first})" in logs
        # Each replica fetched the versions into its own cache, not a shared directory.
        cache = tmp_path / f"replica{n}" / "artifacts" / "cache"
        assert {p.name.split("-")[0] for p in cache.glob("v*")} == {"v0001", "v0002"}
