"""Fixtures shared by every test package: reference data and real loopback servers."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.paths import DATA_DIR_ENV
from tests.servers import RedisServer

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session", autouse=True)
def private_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Where the gateway keeps files no config names (its spend log, records.sqlite3): a
    directory of the session's own. Without it every gateway a test starts on the embedded
    defaults wrote into the developer's ~/.local/share/costroute, into the spend log their own
    `costroute serve` settles budgets from. Gateway child processes inherit it."""
    path = tmp_path_factory.mktemp("costroute-data")
    patch = pytest.MonkeyPatch()
    patch.setenv(DATA_DIR_ENV, str(path))
    yield path
    patch.undo()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"reference data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One real redis-server for the session (`.ci/run` installs it)."""
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is not installed: run scripts/setup.sh --test")
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


from tests.localmodel import local_model  # noqa: F401  (a session fixture for all tests)
