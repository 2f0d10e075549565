"""Running the simulator as a child process, the way `costroute simulate` runs it."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from gateway.simulator.control_client import SimulatorControl
from gateway.simulator.server import READY_PREFIX, SimulatorHandle


@contextmanager
def start_simulator_process(
    args: Sequence[str] = ("--latency-scale", "0"),
    *,
    host: str = "127.0.0.1",
    env: dict[str, str] | None = None,
    startup_timeout_s: float = 30.0,
) -> Iterator[SimulatorHandle]:
    """Run `python -m gateway.simulator --port 0 ARGS` as a child process; stop it on exit."""
    command = [sys.executable, "-m", "gateway.simulator", "--host", host, "--port", "0", *args]
    child_env = {**os.environ, **(env or {})}
    project_root = str(Path(__file__).resolve().parents[2])
    child_env["PYTHONPATH"] = os.pathsep.join(
        p for p in (project_root, child_env.get("PYTHONPATH")) if p
    )
    # stderr goes to a file: a pipe nobody drains would block a child that logs a lot.
    with (
        tempfile.TemporaryFile(mode="w+t") as errors,
        subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=errors, text=True, env=child_env
        ) as process,
    ):
        try:
            root = _read_ready_line(process, errors, startup_timeout_s)
            with SimulatorControl(root) as control:
                yield SimulatorHandle(
                    root_url=root, port=int(root.rsplit(":", 1)[1]), control=control
                )
        finally:
            _stop(process)


def _stop(process: subprocess.Popen[str]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _read_ready_line(process: subprocess.Popen[str], errors: IO[str], timeout_s: float) -> str:
    assert process.stdout is not None
    found: list[str] = []

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            if line.startswith(READY_PREFIX):
                found.append(line[len(READY_PREFIX):].strip().removesuffix("/v1"))
                return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout_s)
    if not found:
        process.kill()
        process.wait(timeout=5)
        errors.seek(0)
        raise RuntimeError(f"the simulator process did not start: {errors.read().strip()[-500:]}")
    return found[0]
