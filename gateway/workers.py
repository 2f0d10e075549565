"""`costroute serve --workers N`: one process per core, uvicorn's workers on one socket.

Each worker builds its own app from the same config file (named in the environment, as
uvicorn's spawned workers import the app by name). State that must be shared between them
lives in the store: budgets, holds and rate limits on Redis. The in-process store keeps
budgets in one process, so with more than one worker each would enforce its own copy of
every budget: that refuses to start rather than overspend silently. Metrics are summed
over the workers through files in one directory (`shared_metrics`), so that a scrape, which
reaches one worker, answers for all of them.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from gateway.config import ConfigError, GatewayConfig
from gateway.metrics import SHARED_DIR_ENV

CONFIG_ENV = "COSTROUTE_WORKER_CONFIG"
LOG_LEVEL_ENV = "COSTROUTE_WORKER_LOG_LEVEL"
SHARED_STORES = frozenset({"redis"})


def check_workers(config: GatewayConfig, workers: int) -> None:
    """Raises ConfigError when `workers` processes could not share `config`'s budget state."""
    if workers < 1:
        raise ConfigError(f"--workers must be at least 1, not {workers}")
    if workers > 1 and config.store.kind not in SHARED_STORES:
        raise ConfigError(
            f"--workers {workers} needs a budget store shared by the workers, but "
            f"store.kind is {config.store.kind!r}, which keeps budgets inside one process: "
            f"each worker would enforce its own copy of every budget. Set `store: {{kind: "
            f"redis, url: ...}}` in gateway.yaml, or serve with --workers 1.")


def worker_env(config_path: Path, log_level: str) -> None:
    """What each spawned worker reads to build its app (see `app_from_env`)."""
    os.environ[CONFIG_ENV] = str(config_path.resolve())
    os.environ[LOG_LEVEL_ENV] = log_level


@contextlib.contextmanager
def shared_metrics() -> Iterator[Path]:
    """A fresh directory for the workers' metric files, named in the environment they
    inherit; removed afterwards (the values are per run, as one process's are)."""
    directory = Path(tempfile.mkdtemp(prefix="costroute-metrics-"))
    previous = os.environ.get(SHARED_DIR_ENV)
    os.environ[SHARED_DIR_ENV] = str(directory)
    try:
        yield directory
    finally:
        if previous is None:
            os.environ.pop(SHARED_DIR_ENV, None)
        else:
            os.environ[SHARED_DIR_ENV] = previous
        shutil.rmtree(directory, ignore_errors=True)


def run_workers(config: Any) -> bool:
    """Serves `config` (a uvicorn Config with workers > 1) under uvicorn's supervisor, as
    `uvicorn.run` does; False when a worker failed before it started serving.

    uvicorn then stops every worker and returns as if it had been asked to, so a failed
    start would exit 0 and a supervisor (systemd, docker) would not restart it; one worker's
    failed start exits uvicorn's STARTUP_FAILURE, and so should N workers'."""
    from uvicorn.config import STARTUP_FAILURE
    from uvicorn.supervisors.multiprocess import Multiprocess

    supervisor = Multiprocess(config, sockets=[config.bind_socket()])
    with contextlib.suppress(KeyboardInterrupt):
        supervisor.run()
    return not any(p.exitcode == STARTUP_FAILURE for p in supervisor.processes)


def app_from_env() -> Any:
    """uvicorn's app factory in each worker: logging as the parent set it, then the app."""
    from gateway.config import load_config
    from gateway.gc_tuning import after_startup
    from gateway.logs import configure_logging
    from gateway.server import ServeOptions, make_app

    configure_logging(os.environ.get(LOG_LEVEL_ENV, "info"))
    return after_startup(make_app(ServeOptions(load_config(os.environ[CONFIG_ENV]))))
