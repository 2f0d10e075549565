"""TenantDirectory: constant-time key lookup, and reloads that never lose a good config."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import Callable
from pathlib import Path

import pytest

from gateway.tenants.config import TenantConfig, hash_key
from gateway.tenants.directory import TenantDirectory
from gateway.tenants.loader import TenantConfigError
from tests.gateway.tenants.samples import ACME_KEY, ADMIN_KEY, BETA_KEY, VALID


@pytest.fixture
def tenants_file(tmp_path: Path) -> Path:
    path = tmp_path / "tenants.yaml"
    path.write_text(VALID)
    return path


def _rewrite(path: Path, text: str) -> None:
    path.write_text(text)
    # Some file systems keep coarse mtimes; make sure a poll can see the change.
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


def test_each_key_finds_its_own_tenant_only(tenants_file: Path) -> None:
    directory = TenantDirectory(tenants_file)
    acme, beta, ops = (directory.authenticate(k) for k in (ACME_KEY, BETA_KEY, ADMIN_KEY))
    assert acme is not None and acme.name == "acme" and not acme.admin
    assert beta is not None and beta.name == "beta"
    assert ops is not None and ops.admin
    assert directory.authenticate("cr-unknown") is None
    assert directory.authenticate("") is None
    assert directory.authenticate(hash_key(ACME_KEY)) is None  # the hash is not the key


def test_an_invalid_file_fails_at_start_up(tmp_path: Path) -> None:
    path = tmp_path / "tenants.yaml"
    path.write_text("tenants:\n  - name: a\n    budgets: [{period: week, limit_usd: 1}]\n")
    with pytest.raises(TenantConfigError, match=r"tenants.yaml:3: tenants\[0\].budgets"):
        TenantDirectory(path)


def test_a_bad_edit_keeps_the_last_good_config_and_logs_why(
    tenants_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    directory = TenantDirectory(tenants_file)
    secret = "cr-PASTED-RAW-KEY-BY-MISTAKE"
    _rewrite(tenants_file, VALID.replace("tenants:\n", f"tenants:\n  - name: x\n"
                                                       f"    key_sha256: [{secret}]\n", 1))
    with caplog.at_level(logging.ERROR, logger="gateway.tenants.directory"):
        assert directory.reload() is False
    assert directory.authenticate(ACME_KEY) is not None
    assert directory.generation == 0
    assert "keeping the last good config" in caplog.text
    assert "tenants.yaml:4: tenants[0].key_sha256" in caplog.text
    assert secret not in caplog.text


def test_a_good_edit_applies_but_held_configs_stay_as_they_were(tenants_file: Path) -> None:
    directory = TenantDirectory(tenants_file)
    in_flight = directory.authenticate(ACME_KEY)
    assert in_flight is not None
    _rewrite(tenants_file, VALID.replace("limit_usd: 40", "limit_usd: 80"))

    assert directory.reload() is True
    assert directory.generation == 1
    reloaded = directory.authenticate(ACME_KEY)
    assert reloaded is not None and reloaded.budgets[1].limit_usd == 80
    assert in_flight.budgets[1].limit_usd == 40


def test_a_removed_key_stops_working_after_reload(tenants_file: Path) -> None:
    directory = TenantDirectory(tenants_file)
    _rewrite(tenants_file, VALID.replace(hash_key(BETA_KEY), hash_key("cr-rotated")))
    directory.reload()
    assert directory.authenticate(BETA_KEY) is None
    found = directory.authenticate("cr-rotated")
    assert found is not None and found.name == "beta"


async def _until(condition: Callable[[], bool], timeout_s: float = 10.0) -> bool:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not condition() and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.01)
    return bool(condition())


async def test_the_watcher_reloads_a_changed_file(tenants_file: Path) -> None:
    directory = TenantDirectory(tenants_file)
    directory.start_watching(interval_s=0.01)
    try:
        _rewrite(tenants_file, VALID.replace("limit_usd: 40", "limit_usd: 80"))
        assert await _until(lambda: directory.generation == 1)
        _rewrite(tenants_file, "tenants: [")
        await asyncio.sleep(0.1)
        assert directory.generation == 1  # the broken edit was not applied
        assert directory.authenticate(ACME_KEY) is not None
    finally:
        await directory.stop_watching()


async def test_sighup_reloads(tenants_file: Path) -> None:
    directory = TenantDirectory(tenants_file)
    uninstall = directory.install_sighup()
    try:
        _rewrite(tenants_file, VALID.replace("limit_usd: 40", "limit_usd: 80"))
        os.kill(os.getpid(), signal.SIGHUP)
        assert await _until(lambda: directory.generation == 1)
    finally:
        uninstall()


def test_a_fixed_directory_needs_no_file() -> None:
    directory = TenantDirectory.from_tenants(
        [TenantConfig(name="demo", key_sha256=[hash_key("cr-demo")])])
    found = directory.authenticate("cr-demo")
    assert found is not None and found.name == "demo"
    assert directory.reload() is False
