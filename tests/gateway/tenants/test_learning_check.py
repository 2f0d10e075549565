"""A tenant's learning block checked against the models the gateway serves: a misspelled judge
is refused like any bad value (file:line: field: reason) at start-up, a bad edit keeps the last
good config, and shadow_rate without a learning budget is said at load."""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml

from gateway.config import parse_config
from gateway.learning.checks import learning_check, served_models
from gateway.records.base import RecordStoreUnavailable
from gateway.records.sqlite import SQLiteRecordStore
from gateway.server import ServeOptions, make_app
from gateway.simulator.config import SimulatorConfig
from gateway.simulator.judge import SIMULATED_JUDGE
from gateway.simulator.server import SimulatorHandle, run_simulator
from gateway.tenants.config import TenantConfig, hash_key
from gateway.tenants.directory import TenantDirectory
from gateway.tenants.loader import TenantConfigError, parse_checked, parse_tenants
from tests.servers import free_port, serve_asgi, subprocess_env

KEY = "cr-test-key-learning-check"
# name -> catalog mode, as `served_models` reads a gateway.yaml
MODELS = {"gpt-4o-mini": "chat", "gpt-4o": "chat", SIMULATED_JUDGE: "chat",
          "text-embedding-3-small": "embedding"}


def tenants_text(judge: str = SIMULATED_JUDGE, budget: bool = True,
                 shadow_models: str = "[]") -> str:
    """The README's one-line learning block (flow style), with `judge` as the judge."""
    spend = ", budget: {period: day, limit_usd: 1}" if budget else ""
    return (
        "tenants:\n"
        "  - name: acme\n"
        f"    key_sha256: [{hash_key(KEY)}]\n"
        "    budgets: [{period: day, limit_usd: 5}]\n"
        "    learning: {capture: true, explore_rate: 0.1, shadow_rate: 0.2,\n"
        f"               shadow_models: {shadow_models},\n"
        f"               judge: {{model: {judge}}}{spend}}}\n"
    )


def _error(text: str) -> TenantConfigError:
    with pytest.raises(TenantConfigError) as caught:
        parse_tenants(text, source="tenants.yaml", check=learning_check(MODELS))
    return caught.value


def test_a_misspelled_judge_is_refused_with_its_line_and_field() -> None:
    error = _error(tenants_text(judge="no-such-judge"))
    assert (error.line, error.field) == (7, "tenants[0].learning.judge.model (tenant 'acme')")
    message = str(error)
    assert message.startswith("tenants.yaml:7: tenants[0].learning.judge.model (tenant 'acme'): "
                              "'no-such-judge' is not a model this gateway serves")
    assert SIMULATED_JUDGE in message and "text-embedding-3-small" not in message


def test_shadow_models_and_judges_must_be_served_chat_models() -> None:
    error = _error(tenants_text(shadow_models="[gpt-4o, gpt4o-mini]"))
    assert error.field == "tenants[0].learning.shadow_models[1] (tenant 'acme')"
    assert "did you mean 'gpt-4o-mini'?" in str(error)
    embedding = _error(tenants_text(judge="text-embedding-3-small"))
    assert "is an embedding model" in str(embedding)
    ok = parse_tenants(tenants_text(shadow_models="[gpt-4o]"), check=learning_check(MODELS))
    assert ok.tenants[0].learning.judge.model == SIMULATED_JUDGE


def test_an_unknown_rubric_is_refused_even_where_models_are_not_known() -> None:
    text = tenants_text().replace(f"{{model: {SIMULATED_JUDGE}}}",
                                  f"{{model: {SIMULATED_JUDGE}, rubric: v9}}")
    with pytest.raises(TenantConfigError, match=r"judge.rubric .*unknown judge rubric 'v9'"):
        parse_tenants(text, check=learning_check(None))


def test_shadow_rate_without_a_learning_budget_loads_with_a_warning() -> None:
    loaded = parse_checked(tenants_text(budget=False), "tenants.yaml", learning_check(MODELS))
    assert loaded.tenants.tenants[0].learning.budget is None
    (warning,) = loaded.warnings
    assert warning.startswith("tenants.yaml:5: tenants[0].learning.shadow_rate (tenant 'acme'):"
                              " shadow_rate 0.2 without `learning.budget`: no shadow or judge")
    assert parse_checked(tenants_text(), "tenants.yaml", learning_check(MODELS)).warnings == ()


def _rewrite(path: Path, text: str) -> None:
    path.write_text(text)
    stat = path.stat()  # coarse mtimes: make sure a poll sees the change
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


def test_the_directory_refuses_at_start_up_and_keeps_the_last_good_config_on_reload(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "tenants.yaml"
    path.write_text(tenants_text(judge="no-such-judge"))
    with pytest.raises(TenantConfigError, match=r"tenants.yaml:7: tenants\[0\].learning.judge"):
        TenantDirectory(path, models=MODELS)
    assert TenantDirectory(path).tenants[0].learning.judge.model == "no-such-judge"  # no models

    path.write_text(tenants_text())
    directory = TenantDirectory(path, models=MODELS)
    _rewrite(path, tenants_text(judge="no-such-judge"))
    with caplog.at_level(logging.WARNING, logger="gateway.tenants.directory"):
        assert directory.reload() is False
        assert "keeping the last good config" in caplog.text
        assert "tenants.yaml:7: tenants[0].learning.judge.model" in caplog.text
        assert directory.tenants[0].learning.judge.model == SIMULATED_JUDGE
        caplog.clear()
        _rewrite(path, tenants_text(budget=False))
        assert directory.reload() is True  # a warning, not a refusal
        assert "tenants.yaml:5: tenants[0].learning.shadow_rate" in caplog.text
    assert directory.tenants[0].learning.budget is None


def test_tenants_given_in_code_are_checked_too() -> None:
    tenant = TenantConfig.model_validate({"name": "acme", "learning": {
        "shadow_rate": 0.5, "judge": {"model": "no-such-judge"}}})
    with pytest.raises(TenantConfigError, match=r"tenants\[0\].learning.judge.model"):
        TenantDirectory.from_tenants([tenant], models=MODELS)


def test_served_models_are_the_gateway_configs_with_their_catalog_mode() -> None:
    config = parse_config({"models": [
        {"name": "gpt-4o-mini", "upstream": {"base_url": "http://127.0.0.1:9/v1"}},
        {"name": "text-embedding-3-small", "upstream": {"base_url": "http://127.0.0.1:9/v1"}}]})
    assert served_models(config) == {"gpt-4o-mini": "chat", "text-embedding-3-small": "embedding"}


def test_costroute_serve_refuses_a_misspelled_judge_before_serving(tmp_path: Path) -> None:
    """The smoke test's command: `serve --tenants` on the embedded defaults."""
    tenants = tmp_path / "tenants.yaml"
    tenants.write_text(tenants_text(judge="no-such-judge"))
    result = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "serve", "--port", str(free_port()),
         "--tenants", str(tenants)], capture_output=True, text=True, timeout=120, check=False,
        env=subprocess_env(COSTROUTE_DATA_DIR=str(tmp_path)))
    assert result.returncode == 2, result.stderr
    assert (f"error: {tenants}:7: tenants[0].learning.judge.model (tenant 'acme'): "
            "'no-such-judge' is not a model this gateway serves") in result.stderr
    assert "Traceback" not in result.stderr


def _labels(path: Path) -> list[str]:
    """The graders of every stored label of acme; none yet while the serving gateway's own
    connection holds the database (opening one switches it to WAL, which needs the lock)."""
    async def read() -> list[str]:
        store = SQLiteRecordStore(path)
        try:
            return [x.grader or "" for o in await store.outcomes("acme")
                    for x in await store.label_history("acme", o.request_id)]
        except RecordStoreUnavailable:
            return []
        finally:
            await store.aclose()

    return asyncio.run(read()) if path.exists() else []


def test_a_running_gateway_keeps_judging_with_the_last_good_judge(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Over loopback: a watched tenants.yaml edited to a misspelled judge is refused (logged),
    and the next shadowed request is still graded by the judge that was good."""
    from gateway.simulator.recordings import RecordingBook

    tenants = tmp_path / "tenants.yaml"
    tenants.write_text(tenants_text().replace("shadow_rate: 0.2", "shadow_rate: 1.0"))
    records = tmp_path / "records.sqlite3"
    question = next(iter(RecordingBook.shipped())).prompt  # the simulated judge grades it
    with run_simulator(SimulatorConfig(latency_scale=0)) as sim:
        config = _config(sim, tenants, records)
        options = ServeOptions(parse_config(config), watch_interval_s=0.05)
        with caplog.at_level(logging.ERROR, logger="gateway.tenants.directory"), \
                serve_asgi(make_app(options)) as root:
            _rewrite(tenants, tenants_text(judge="no-such-judge").replace(
                "shadow_rate: 0.2", "shadow_rate: 1.0"))
            deadline = time.monotonic() + 20
            while "tenants.yaml:7: tenants[0].learning.judge.model" not in caplog.text:
                assert time.monotonic() < deadline, "the watcher did not reload"
                time.sleep(0.05)
            reply = httpx.post(f"{root}/v1/chat/completions", timeout=30,
                               headers={"authorization": f"Bearer {KEY}"},
                               json={"model": "auto",
                                     "messages": [{"role": "user", "content": question}]})
            assert reply.status_code == 200, reply.text
            deadline = time.monotonic() + 30
            while not _labels(records):
                assert time.monotonic() < deadline, "no judge label was written"
                time.sleep(0.1)
    assert set(_labels(records)) == {f"judge:{SIMULATED_JUDGE}:v1"}


def _config(sim: SimulatorHandle, tenants: Path, records: Path) -> dict[str, object]:
    from tests.gateway.learning.conftest import JUDGE_PRICE

    up = {"base_url": sim.base_url}
    return {
        "models": [{"name": "gpt-4o-mini", "upstream": up, "quality": 0.82},
                   {"name": "gpt-4o", "upstream": up, "quality": 0.89},
                   {"name": SIMULATED_JUDGE, "upstream": up, "price": JUDGE_PRICE}],
        "routes": {"auto": {"router": "table", "models": ["gpt-4o-mini", "gpt-4o"]}},
        "tenants_file": str(tenants),
        "records": {"kind": "sqlite", "path": str(records)},
        "retry": {"max_attempts": 1, "failures_before_cooldown": 100},
    }


def test_the_readme_example_loads_on_the_embedded_defaults() -> None:
    from gateway.defaults import default_config

    models = served_models(default_config("http://127.0.0.1:8000/simulator/v1"))
    loaded = parse_checked(tenants_text(), "tenants.yaml", learning_check(models))
    assert loaded.warnings == ()
    assert loaded.tenants.tenants[0].learning.judge.model == SIMULATED_JUDGE


def test_tenants_check_with_the_gateway_config_checks_learning_models(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from gateway.tenants.cli import app

    config = tmp_path / "gateway.yaml"
    config.write_text(yaml.safe_dump({"models": [
        {"name": "gpt-4o-mini", "upstream": {"base_url": "http://127.0.0.1:9/v1"}}]}))
    tenants = tmp_path / "tenants.yaml"
    tenants.write_text(tenants_text(judge="gpt4o-mini", budget=False))
    alone = CliRunner().invoke(app, ["check", "--file", str(tenants)])
    assert alone.exit_code == 0 and "1 tenants, 1 keys: OK" in alone.stdout
    assert alone.stderr.startswith(f"warning: {tenants}:5: tenants[0].learning.shadow_rate")
    checked = CliRunner().invoke(app, ["check", "--file", str(tenants), "--config", str(config)])
    assert checked.exit_code == 2
    assert checked.stderr == (
        f"error: {tenants}:7: tenants[0].learning.judge.model (tenant 'acme'): 'gpt4o-mini' is "
        "not a model this gateway serves (its chat models: gpt-4o-mini); did you mean "
        "'gpt-4o-mini'?\n")
