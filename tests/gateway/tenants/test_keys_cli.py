"""`costroute tenants add-key` and `check`: the key is printed once, only its hash is kept."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from gateway.tenants.cli import app
from gateway.tenants.config import hash_key
from gateway.tenants.directory import TenantDirectory
from gateway.tenants.keys import generate_api_key
from tests.gateway.tenants.samples import ACME_KEY, BETA_KEY, VALID


def _add_key(path: Path, tenant: str) -> str:
    result = CliRunner().invoke(app, ["add-key", tenant, "--file", str(path)])
    assert result.exit_code == 0, result.output
    return result.stdout.strip().splitlines()[-1]


@pytest.fixture
def tenants_file(tmp_path: Path) -> Path:
    path = tmp_path / "tenants.yaml"
    path.write_text(VALID)
    return path


def test_keys_are_random_with_the_prefix() -> None:
    keys = {generate_api_key() for _ in range(50)}
    assert len(keys) == 50
    assert all(k.startswith("cr-") and len(k) >= 40 for k in keys)


@pytest.mark.parametrize("tenant", ["acme", "beta", "newbie"])  # block list, flow list, none
def test_add_key_prints_a_key_whose_hash_alone_is_written(tenants_file: Path, tenant: str) -> None:
    key = _add_key(tenants_file, tenant)
    text = tenants_file.read_text()
    assert key.startswith("cr-")
    assert key not in text
    assert hash_key(key) in text
    found = TenantDirectory(tenants_file).authenticate(key)
    assert found is not None and found.name == tenant


def test_add_key_keeps_the_rest_of_the_file(tenants_file: Path) -> None:
    key = _add_key(tenants_file, "acme")
    text = tenants_file.read_text()
    assert text.replace(f"      - {hash_key(key)}\n", "") == VALID
    directory = TenantDirectory(tenants_file)
    assert directory.authenticate(ACME_KEY) is not None
    assert directory.authenticate(BETA_KEY) is not None


def test_two_keys_for_one_tenant_both_work(tenants_file: Path) -> None:
    first, second = _add_key(tenants_file, "newbie"), _add_key(tenants_file, "newbie")
    directory = TenantDirectory(tenants_file)
    assert {directory.authenticate(k).name for k in (first, second)} == {"newbie"}  # type: ignore[union-attr]


def test_an_empty_flow_list_gets_its_first_key(tmp_path: Path) -> None:
    path = tmp_path / "tenants.yaml"
    path.write_text("tenants:\n  - name: solo\n    key_sha256: []  # none yet\n")
    key = _add_key(path, "solo")
    assert path.read_text() == f"tenants:\n  - name: solo\n    key_sha256: [{hash_key(key)}]  # none yet\n"


def test_create_starts_a_file_with_the_tenant(tmp_path: Path) -> None:
    path = tmp_path / "tenants.yaml"
    result = CliRunner().invoke(app, ["add-key", "acme", "--file", str(path), "--create"])
    assert result.exit_code == 0, result.output
    assert "no budgets" in result.stderr
    key = result.stdout.strip().splitlines()[-1]
    found = TenantDirectory(path).authenticate(key)
    assert found is not None and found.name == "acme" and found.budgets == []
    assert path.stat().st_mode & 0o777 == 0o600


def test_create_adds_a_tenant_after_the_others_and_keeps_the_file(tenants_file: Path) -> None:
    result = CliRunner().invoke(app, ["add-key", "gamma", "--file", str(tenants_file),
                                      "--create"])
    assert result.exit_code == 0, result.output
    key = result.stdout.strip().splitlines()[-1]
    text = tenants_file.read_text()
    assert text.startswith(VALID.rstrip("\n"))  # every line before stays as it was
    directory = TenantDirectory(tenants_file)
    assert [t.name for t in directory.tenants][-1] == "gamma"
    assert directory.authenticate(key).name == "gamma"  # type: ignore[union-attr]
    assert directory.authenticate(ACME_KEY) is not None
    assert directory.authenticate(BETA_KEY) is not None
    again = CliRunner().invoke(app, ["add-key", "gamma", "--file", str(tenants_file),
                                     "--create"])
    assert again.exit_code == 0 and "no budgets" not in again.stderr  # it exists now


@pytest.mark.parametrize(("args", "message"), [
    (["add-key", "nobody"], "no tenant named 'nobody' (--create adds it)"),
    (["add-key", "acme", "--file", "/nonexistent/tenants.yaml"], "no such file (--create"),
])
def test_add_key_bad_input_is_one_line_and_exit_2(tenants_file: Path, args: list[str],
                                                  message: str) -> None:
    if "--file" not in args:
        args = [*args, "--file", str(tenants_file)]
    before = tenants_file.read_text()
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert message in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert tenants_file.read_text() == before


def test_check_reports_ok_or_the_failing_line(tenants_file: Path, tmp_path: Path) -> None:
    ok = CliRunner().invoke(app, ["check", "--file", str(tenants_file)])
    assert ok.exit_code == 0 and "4 tenants, 3 keys: OK" in ok.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("tenants:\n  - name: a\n    admin: maybe\n")
    result = CliRunner().invoke(app, ["check", "--file", str(bad)])
    assert result.exit_code == 2
    assert "bad.yaml:3: tenants[0].admin" in result.output


@pytest.mark.parametrize("variable", ["COSTROUTE_TENANTS_FILE", "COSTROUTE_TENANTS"])
def test_the_file_defaults_to_the_environment(tenants_file: Path, variable: str,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    # COSTROUTE_TENANTS_FILE is the name `costroute serve` reads: both commands must find the
    # same file. COSTROUTE_TENANTS is the name this command read before; it still works.
    monkeypatch.delenv("COSTROUTE_TENANTS_FILE", raising=False)
    monkeypatch.delenv("COSTROUTE_TENANTS", raising=False)
    monkeypatch.setenv(variable, str(tenants_file))
    result = CliRunner().invoke(app, ["check"])
    assert result.exit_code == 0, result.output
