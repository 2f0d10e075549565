"""`artifacts: {store: ...}` in gateway.yaml, and the commands on the records-database registry.

Real parts: a SQLite records file shared by the CLI and a trainer, as on one host; the
commands are the same whichever backend the config names.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from gateway.artifacts.cli import app
from gateway.artifacts.db_registry import RecordsRegistry
from gateway.artifacts.stores import open_version_store
from gateway.artifacts.train import train_knn_version
from gateway.config import ConfigError, parse_config
from routers.embedding import HashingEmbedder
from routers.versions.registry import ArtifactRegistry
from tests.gateway.artifacts.records_data import labelled_store, outcomes
from tests.gateway.artifacts.test_train_from_records import REQUEST

MODELS = [{"name": "m", "upstream": {"base_url": "http://127.0.0.1:1/v1"}}]


def _config(tmp_path: Path, **blocks: object) -> Path:
    path = tmp_path / "gateway.yaml"
    path.write_text(yaml.safe_dump({"models": MODELS, "routes": {"auto": {"router": "knn"}},
                                    **blocks}))
    return path


def test_auto_picks_the_database_for_postgres_only(tmp_path: Path) -> None:
    def backend(**blocks: object) -> str:
        config = parse_config({"models": MODELS, **blocks})
        return config.artifacts.backend(config.records)

    assert backend() == "files"  # embedded: SQLite records, a registry directory
    assert backend(records={"kind": "postgres", "url": "postgresql://db/x"}) == "records"
    assert backend(records={"kind": "postgres", "url": "postgresql://db/x"},
                   artifacts={"store": "files"}) == "files"
    assert backend(artifacts={"store": "records"}) == "records"
    with pytest.raises(ConfigError, match="store `records` needs a `records:` database"):
        parse_config({"models": MODELS, "records": {"kind": "memory"},
                      "artifacts": {"store": "records"}})
    store = open_version_store(parse_config({
        "models": MODELS, "records": {"kind": "sqlite", "path": str(tmp_path / "r.db")},
        "artifacts": {"store": "records", "dir": str(tmp_path / "local")}}))
    assert isinstance(store, RecordsRegistry)
    assert store.cache_dir == tmp_path / "local" / "cache"
    assert store.describe() == f"records database {tmp_path / 'r.db'}"


def test_promote_rollback_and_list_on_the_records_database(tmp_path: Path) -> None:
    config = _config(tmp_path, records={"kind": "sqlite", "path": str(tmp_path / "records.db")},
                     artifacts={"store": "records", "dir": str(tmp_path / "cache")})
    registry = open_version_store(parse_config(yaml.safe_load(config.read_text())))
    try:
        trained = [train_knn_version(outcomes(labelled_store()), registry, REQUEST,
                                     HashingEmbedder(), resamples=100) for _ in range(2)]
    finally:
        registry.close()
    a, b = (t.version for t in trained)
    assert trained[1].manifest["version"]["metrics"]["artifact"]["aiq"] is not None
    runner = CliRunner()
    for version in (a, b):
        result = runner.invoke(app, ["promote", version, "--route", "auto", "--config", str(config)])
        assert result.exit_code == 0, result.output
    assert f"auto now serves {b} (before: {a})" in result.output
    listed = runner.invoke(app, ["versions", "--config", str(config)])
    assert listed.output.startswith(f"records database {tmp_path / 'records.db'}; auto serves {b}")
    assert f"* {b}" in listed.output and f"  {a}" in listed.output
    back = runner.invoke(app, ["rollback", "--route", "auto", "--config", str(config)])
    assert back.exit_code == 0 and f"auto now serves {a} again" in back.output
    first = runner.invoke(app, ["rollback", "--route", "auto", "--config", str(config)])
    assert first.exit_code == 0, first.output
    assert "auto now serves its configured knn router (no artifact) again" in first.output
    listed = runner.invoke(app, ["versions", "--config", str(config)])
    assert "auto serves its configured knn router" in listed.output and "*" not in listed.output
    missing = runner.invoke(app, ["promote", "v0042-knn", "--config", str(config)])
    assert missing.exit_code == 2 and "no such version" in missing.output

    # A directory is uploaded as a new version, so replicas on other hosts can fetch it.
    outside = ArtifactRegistry(tmp_path / "elsewhere")

    def write(directory: Path) -> None:
        (directory / "manifest.json").write_text(json.dumps({"kind": "knn"}))

    outside.create("knn", write)
    uploaded = runner.invoke(app, ["promote", str(outside.path("v0001-knn")), "--config",
                                   str(config)])
    assert uploaded.exit_code == 0 and "auto now serves v0003-knn" in uploaded.output
