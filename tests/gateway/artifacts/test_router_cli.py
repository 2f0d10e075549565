"""`costroute router versions | promote | rollback` against a registry named in gateway.yaml."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner, Result

from gateway.artifacts.cli import app
from routers.versions.pointer import read_pointer
from routers.versions.registry import ArtifactRegistry


def _writer(kind: str, route: str | None = None) -> Callable[[Path], None]:
    def write(directory: Path) -> None:
        manifest: dict[str, object] = {"kind": kind}
        if route:
            manifest["version"] = {"route": route}  # as `train --from-records --route` writes
        (directory / "manifest.json").write_text(json.dumps(manifest))

    return write


def _setup(tmp_path: Path) -> tuple[Path, ArtifactRegistry, list[str]]:
    """Two k-NN versions; `auto` a k-NN route whose configured artifact has a version id (as
    the shipped ones do), `router:cascade` a cascade route, `router:table` a table route."""
    registry = ArtifactRegistry(tmp_path / "reg")
    versions = [registry.create("knn", _writer("knn")) for _ in range(2)]
    configured = tmp_path / "configured-knn"
    configured.mkdir()
    (configured / "manifest.json").write_text(json.dumps(
        {"kind": "knn", "version": {"id": "default-knn-test"}}))
    config = {"models": [{"name": "m", "upstream": {"base_url": "http://127.0.0.1:1/v1"}}],
              "routes": {"auto": {"router": "knn", "artifact": str(configured)},
                         "router:cascade": {"router": "cascade", "artifact": str(configured)},
                         "router:table": {"router": "table"}},
              "artifacts": {"dir": "reg"}}
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


def test_rollback_of_the_first_promote_serves_the_configured_artifact_again(
        tmp_path: Path) -> None:
    config, registry, (a, _b) = _setup(tmp_path)
    runner = CliRunner()
    promoted = runner.invoke(app, ["promote", a, "--config", str(config)])
    assert promoted.exit_code == 0, promoted.output
    assert f"auto now serves {a} (before: the configured artifact (default-knn-test))" in (
        promoted.output)
    back = runner.invoke(app, ["rollback", "--config", str(config)])
    assert back.exit_code == 0, back.output
    assert "auto now serves its configured artifact (default-knn-test) again" in back.output
    assert read_pointer(registry, "auto") is None
    listed = runner.invoke(app, ["versions", "--config", str(config)])
    assert "auto serves its configured artifact (default-knn-test)" in listed.output
    assert "*" not in listed.output
    again = runner.invoke(app, ["rollback", "--config", str(config)])
    assert again.exit_code == 2 and "nothing to roll back" in again.output

    # A route configured without an artifact goes back to its router.
    trained = registry.create("knn", _writer("knn", route="router:table"))
    assert runner.invoke(app, ["promote", trained, "--route", "router:table", "--config",
                               str(config)]).exit_code == 0
    back = runner.invoke(app, ["rollback", "--route", "router:table", "--config", str(config)])
    assert back.exit_code == 0, back.output
    assert "router:table now serves its configured table router (no artifact) again" in (
        back.output)


def test_promote_refuses_a_kind_the_routes_router_cannot_serve(tmp_path: Path) -> None:
    config, registry, (a, _b) = _setup(tmp_path)
    cascade = registry.create("cascade", _writer("cascade", route="auto"))
    runner = CliRunner()

    def promote(version: str, route: str) -> Result:
        return runner.invoke(app, ["promote", version, "--route", route, "--config", str(config)])

    on_cascade = promote(a, "router:cascade")
    assert on_cascade.exit_code == 2 and on_cascade.output.strip() == (
        "error: route 'router:cascade' is configured with the cascade router, which serves "
        f"cascade artifacts only; {a} is knn")
    on_knn = promote(cascade, "auto")  # trained for `auto`, but `auto` is a k-NN route
    assert on_knn.exit_code == 2 and "serves knn artifacts only" in on_knn.output
    on_table = promote(a, "router:table")
    assert on_table.exit_code == 2 and on_table.output.startswith(
        "error: route 'router:table' is configured with the table router, which takes no "
        f"artifact; {a} is knn, trained for no route")
    assert len(on_table.output.strip().splitlines()) == 1
    assert registry.routes() == []  # nothing moved
    # What fits still promotes: the kind of the route's router, or on a router that takes no
    # artifact, a version trained for that route (the learning loop's first version there).
    assert promote(cascade, "router:cascade").exit_code == 0
    assert promote(a, "auto").exit_code == 0
    for_table = registry.create("knn", _writer("knn", route="router:table"))
    assert promote(for_table, "router:table").exit_code == 0
    assert registry.routes() == ["auto", "router:cascade", "router:table"]


def test_bad_input_is_a_one_line_error(tmp_path: Path) -> None:
    config, _, (a, _b) = _setup(tmp_path)
    runner = CliRunner()
    missing = runner.invoke(app, ["promote", "v0042-knn", "--config", str(config)])
    assert missing.exit_code == 2 and "no such version" in missing.output
    route = runner.invoke(app, ["promote", a, "--route", "nope", "--config", str(config)])
    assert route.exit_code == 2 and "no route 'nope'" in route.output
    nothing = runner.invoke(app, ["rollback", "--config", str(config)])
    assert nothing.exit_code == 2 and "nothing to roll back" in nothing.output


@pytest.mark.parametrize("args", [
    ["versions"], ["promote", "v0001-knn"], ["rollback"],
    ["evaluate", "v0001-knn", "--tenant", "acme"]])
def test_a_config_that_cannot_be_read_is_a_one_line_error(args: list[str],
                                                         tmp_path: Path) -> None:
    result = CliRunner().invoke(app, [*args, "--config", str(tmp_path / "nosuch.yaml")])
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit)  # no trace
    assert result.output == (f"error: {tmp_path / 'nosuch.yaml'}: cannot read: No such file "
                             "or directory\n")
    bad = tmp_path / "bad.yaml"
    bad.write_text("models: []\n")
    invalid = CliRunner().invoke(app, [*args, "--config", str(bad)])
    assert invalid.exit_code == 2 and invalid.output.startswith(f"error: {bad}: models")


@pytest.mark.parametrize("args", [
    ["versions", "--route", "nosuch"], ["promote", "v0001-knn", "--route", "router:nosuch"],
    ["rollback", "--route", "router:nosuch"],
    ["evaluate", "v0001-knn", "--tenant", "acme", "--route", "router:nosuch"]])
def test_an_unknown_route_is_the_same_error_everywhere(args: list[str], tmp_path: Path) -> None:
    config, _, _ = _setup(tmp_path)
    result = CliRunner().invoke(app, [*args, "--config", str(config)])
    route = args[args.index("--route") + 1]
    assert result.exit_code == 2 and result.output == (
        f"error: no route {route!r} in the config (routes: auto, router:cascade, "
        "router:table)\n")


def test_versions_without_an_auto_route_just_lists(tmp_path: Path) -> None:
    config, _, (a, b) = _setup(tmp_path)
    raw = yaml.safe_load(config.read_text())
    del raw["routes"]["auto"]
    config.write_text(yaml.safe_dump(raw))
    listed = CliRunner().invoke(app, ["versions", "--config", str(config)])
    assert listed.exit_code == 0, listed.output
    assert listed.output.splitlines()[0] == f"registry {tmp_path / 'reg'}"
    assert f"  {a}" in listed.output and f"  {b}" in listed.output


def test_the_installed_command_answers_a_missing_config_without_a_traceback(
        tmp_path: Path) -> None:
    """Through `costroute`'s own entry point (gateway.cli mounts these commands)."""
    missing = str(tmp_path / "nosuch.yaml")
    for args in (["router", "rollback"], ["train", "knn", "--from-records", "--tenant", "acme"]):
        done = subprocess.run([sys.executable, "-m", "gateway.cli", *args, "--config", missing],
                              capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 2, done.stderr
        assert done.stderr == f"error: {missing}: cannot read: No such file or directory\n"
