"""`costroute router versions | promote | rollback` against a registry named in gateway.yaml."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from typer.testing import CliRunner

from gateway.artifacts.cli import app
from routers.versions.pointer import read_pointer
from routers.versions.registry import ArtifactRegistry


def _setup(tmp_path: Path) -> tuple[Path, ArtifactRegistry, list[str]]:
    registry = ArtifactRegistry(tmp_path / "reg")

    def write(directory: Path) -> None:
        (directory / "manifest.json").write_text(json.dumps({"kind": "knn"}))

    versions = [registry.create("knn", write) for _ in range(2)]
    config = {"models": [{"name": "m", "upstream": {"base_url": "http://127.0.0.1:1/v1"}}],
              "routes": {"auto": {"router": "table"}}, "artifacts": {"dir": "reg"}}
    path = tmp_path / "gateway.yaml"
    path.write_text(yaml.safe_dump(config))
    return path, registry, versions


def test_promote_rollback_and_list(tmp_path: Path) -> None:
    config, registry, (a, b) = _setup(tmp_path)
    runner = CliRunner()
    for version in (a, b):
        result = runner.invoke(app, ["promote", version, "--route", "auto", "--config", str(config)])
        assert result.exit_code == 0, result.output
    assert f"auto now serves {b} (before: {a})" in result.output
    listed = runner.invoke(app, ["versions", "--config", str(config)])
    assert f"* {b}" in listed.output and f"  {a}" in listed.output
    back = runner.invoke(app, ["rollback", "--route", "auto", "--config", str(config)])
    assert back.exit_code == 0 and f"auto now serves {a} again" in back.output
    assert read_pointer(registry, "auto").version == a  # type: ignore[union-attr]


def test_bad_input_is_a_one_line_error(tmp_path: Path) -> None:
    config, _, (a, _b) = _setup(tmp_path)
    runner = CliRunner()
    missing = runner.invoke(app, ["promote", "v0042-knn", "--config", str(config)])
    assert missing.exit_code == 2 and "no such version" in missing.output
    route = runner.invoke(app, ["promote", a, "--route", "nope", "--config", str(config)])
    assert route.exit_code == 2 and "no route 'nope'" in route.output
    nothing = runner.invoke(app, ["rollback", "--config", str(config)])
    assert nothing.exit_code == 2 and "nothing to roll back" in nothing.output
