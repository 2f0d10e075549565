"""Where costroute keeps the files no config names, and that the suite keeps its own."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.paths import DATA_DIR_ENV, data_dir


def test_the_suite_never_uses_the_developers_data_directory(private_data_dir: Path) -> None:
    assert data_dir() == private_data_dir
    assert not data_dir().is_relative_to(Path.home() / ".local" / "share")


def test_the_environment_then_xdg_then_home_decide(monkeypatch: pytest.MonkeyPatch,
                                                     tmp_path: Path) -> None:
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "mine"))
    assert data_dir() == tmp_path / "mine"
    monkeypatch.delenv(DATA_DIR_ENV)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert data_dir() == tmp_path / "xdg" / "costroute"
    monkeypatch.delenv("XDG_DATA_HOME")
    assert data_dir() == Path.home() / ".local" / "share" / "costroute"
