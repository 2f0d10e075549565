"""`train cascade --from-records`: answers from the records store, redaction, the version's
manifest, evaluate and promote on it."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from gateway.artifacts.answers import usable_answers
from gateway.artifacts.train import RecordsRequest
from gateway.artifacts.train_cascade import train_cascade_version
from gateway.content_log import ContentRedactor
from gateway.records.base import AnswerText
from gateway.records.sqlite import SQLiteRecordStore
from routers.cascade.artifact import load_artifact
from routers.cascade.train import CascadeConfig
from routers.datasets.records import NoOutcomesError, is_held_out
from routers.embedding import HashingEmbedder
from routers.versions.pointer import promote
from routers.versions.registry import ArtifactRegistry
from tests.gateway.artifacts.records_data import answered_records, answered_store
from tests.routers.cascade.synthetic import MODELS, arithmetic_dataset

REQUEST = RecordsRequest(tenant="acme", route="router:cascade",
                         command="costroute train cascade --from-records")
CONFIG = CascadeConfig(compare_frugalgpt=False)
N = 240
REDACTED = frozenset(range(0, N, 10))  # every tenth prompt's answers


@pytest.fixture(scope="module")
def store_rows() -> tuple[list, list]:
    store = answered_store(arithmetic_dataset(N, seed=5), redacted=REDACTED)
    return asyncio.run(store.outcomes("acme")), asyncio.run(store.answers("acme"))


def test_a_redaction_mark_is_what_the_redactor_leaves() -> None:
    from gateway.artifacts.answers import is_redacted

    redact = ContentRedactor(["email"], secrets=["sk-secret-value"])
    assert is_redacted(redact("write to bob@example.com"))
    assert is_redacted(redact("the key is sk-secret-value"))
    assert not is_redacted(redact("no personal data here"))


def test_redacted_and_missing_answers_are_skipped_and_counted(store_rows) -> None:
    outcomes, answers = store_rows
    dropped = [a for a in answers if not (a.request_id == "req-00001" and a.model == "medium")]
    texts, counts = usable_answers(outcomes, dropped)
    assert counts.redacted == len(REDACTED) * len(MODELS)
    assert counts.not_recorded == 1
    assert counts.usable == N * len(MODELS) - counts.redacted - 1
    assert "medium" not in texts["req-00001"] and "req-00000" not in texts
    # The judge's grade of req-00002 (a learning record of `small`) is not small's answer.
    assert texts["req-00002"]["small"].startswith("We compute") or "sure" in \
        texts["req-00002"]["small"]


def test_a_cascade_version_records_data_answers_parent_and_held_out_metrics(
        tmp_path: Path, store_rows) -> None:
    outcomes, answers = store_rows
    registry = ArtifactRegistry(tmp_path)
    first = train_cascade_version(outcomes, answers, registry, REQUEST, HashingEmbedder(),
                                  CONFIG, resamples=100)
    assert first.version == "v0001-cascade"
    block = first.manifest["version"]
    assert block["kind"] == "cascade" and block["parent"] is None
    assert block["route"] == "router:cascade" and block["command"] == REQUEST.command
    data = block["data"]
    held = sum(is_held_out(o.request_id) for o in outcomes)
    assert data["n_prompts"] == N - held and data["held_out"]["n_prompts"] == held
    assert data["models"] == sorted(MODELS) and data["n_labels"] == 3 * data["n_prompts"]
    assert data["answers"]["redacted_skipped"] == len(REDACTED) * 3
    assert data["answers"]["usable"] == (N - len(REDACTED)) * 3
    held_redacted = sum(is_held_out(f"req-{i:05d}") for i in REDACTED)
    assert data["held_out"]["n_replayable"] == held - held_redacted
    assert len(data["data_hash"]) == 64 and data["source"] == "records"
    metrics = block["metrics"]
    assert metrics["slice"]["n_prompts"] == held - held_redacted
    for key in ("artifact", "task_lookup", "best_single_model"):
        assert {"aiq", "accuracy", "mean_cost_usd"} <= set(metrics[key])
    artifact = load_artifact(registry.path(first.version))
    assert set(artifact.heads) <= set(MODELS) and artifact.strategy.models

    promote(registry, "router:cascade", first.version)
    second = train_cascade_version(outcomes, answers, registry, REQUEST, HashingEmbedder(),
                                   CONFIG, resamples=100)
    assert second.version == "v0002-cascade"
    assert second.manifest["version"]["parent"] == first.version


def test_no_usable_answer_is_a_clear_error(tmp_path: Path, store_rows) -> None:
    outcomes, answers = store_rows
    blank = [AnswerText(a.request_id, a.model, None, a.created_at) for a in answers]
    with pytest.raises(NoOutcomesError, match="answer texts"):
        train_cascade_version(outcomes, blank, ArtifactRegistry(tmp_path), REQUEST,
                              HashingEmbedder(), CONFIG)


def _sqlite_config(tmp_path: Path, redacted: frozenset[int] = frozenset()) -> Path:
    """gateway.yaml over a real SQLite records store holding the labelled traffic."""
    db = tmp_path / "records.sqlite3"
    records, labels = answered_records(arithmetic_dataset(N, seed=5), redacted=redacted)

    async def fill() -> None:
        store = SQLiteRecordStore(db)
        await store.write_requests(records)
        await store.write_labels(labels)
        await store.aclose()

    asyncio.run(fill())
    up = {"base_url": "http://127.0.0.1:1/v1"}
    path = tmp_path / "gateway.yaml"
    path.write_text(yaml.safe_dump({
        "models": [{"name": m, "upstream": up} for m in MODELS],
        "routes": {"router:cascade": {"router": "table", "models": list(MODELS)}},
        "records": {"kind": "sqlite", "path": str(db)},
        "artifacts": {"dir": str(tmp_path / "registry")}}))
    return path


def test_the_commands_train_evaluate_and_promote_a_cascade_from_sqlite(tmp_path: Path) -> None:
    from gateway.artifacts.cli import app as router_app
    from routers.cli import app

    config = _sqlite_config(tmp_path, REDACTED)
    runner = CliRunner()
    result = runner.invoke(app, [
        "cascade", "--from-records", "--tenant", "acme", "--config", str(config),
        "--embedder", "hashing", "--no-compare-frugalgpt", "--scorer", "fast"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "new version v0001-cascade" in out and "parent (serving router:cascade): none" in out
    assert f"{len(REDACTED) * 3} redacted (skipped)" in out
    assert "reading labelled outcomes and answers of tenant 'acme'" in out  # progress says so
    assert "held-out artifact" in out and "next: costroute router evaluate v0001-cascade" in out
    manifest = json.loads((tmp_path / "registry" / "versions" / "v0001-cascade" /
                           "manifest.json").read_text())
    assert manifest["version"]["command"].startswith(
        "costroute train cascade --from-records --tenant acme --route router:cascade")
    evaluated = runner.invoke(router_app, [
        "evaluate", "v0001-cascade", "--tenant", "acme", "--against", "v0001-cascade",
        "--route", "router:cascade", "--config", str(config), "--resamples", "100"])
    assert evaluated.exit_code == 0, evaluated.output
    assert "AIQ gain new - serving: +0.0000" in evaluated.output
    promoted = runner.invoke(router_app, ["promote", "v0001-cascade", "--route",
                                          "router:cascade", "--config", str(config)])
    assert promoted.exit_code == 0, promoted.output
    assert "router:cascade now serves v0001-cascade" in promoted.output


def test_the_command_without_a_tenant_is_a_one_line_error() -> None:
    from routers.cli import app

    result = CliRunner().invoke(app, ["cascade", "--from-records"])
    assert result.exit_code == 2 and "--from-records needs --tenant" in result.output
