"""A real PostgreSQL server for tests: initdb + postgres on a free loopback port, in a temp dir.

The binaries come from PATH, /usr/local/bin or /usr/lib/postgresql/*/bin (Debian's
`postgresql` package; `scripts/setup.sh --test` installs it). As root, the server runs as
the `postgres` user (or `nobody`), since PostgreSQL refuses to run as root. Trust auth on
127.0.0.1 only; fsync off (a killed server loses nothing committed: the OS keeps the pages).
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import free_port

SKIP_REASON = ("PostgreSQL binaries (initdb, postgres) are not installed: "
               "run scripts/setup.sh --test, or apt-get install -y postgresql")


def postgres_bin_dir() -> Path | None:
    found = shutil.which("initdb")
    candidates = [Path(found).parent] if found else []
    candidates.append(Path("/usr/local/bin"))
    candidates += [Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)]
    for folder in candidates:
        if (folder / "initdb").exists() and (folder / "postgres").exists():
            return folder
    return None


def _run_as() -> str | None:
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            pwd.getpwnam(name)
            return name
    raise RuntimeError("running as root and no `postgres` or `nobody` user to run PostgreSQL")


class PostgresServer:
    """Started with `start()`; `kill()` is SIGKILL of the whole server (every backend)."""

    def __init__(self, bin_dir: Path, port: int | None = None):
        self.bin_dir = bin_dir
        self.port = port or free_port()
        self.user = _run_as()
        # Not under pytest's tmp_path: its parents are 0700 root, closed to the server's user.
        self.root = Path(tempfile.mkdtemp(prefix="costroute-pg-"))
        self.data = self.root / "data"
        self.proc: subprocess.Popen[bytes] | None = None
        self._databases = 0
        if self.user is not None:
            shutil.chown(self.root, self.user)
        self._initdb()

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _initdb(self) -> None:
        subprocess.run([str(self.bin_dir / "initdb"), "-D", str(self.data), "-U", "postgres",
                        "-A", "trust", "-E", "UTF8", "--no-sync"],
                       check=True, capture_output=True, user=self.user)

    def start(self, timeout_s: float = 30.0) -> None:
        args = [str(self.bin_dir / "postgres"), "-D", str(self.data), "-p", str(self.port),
                "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={self.root}",
                "-c", "fsync=off", "-c", "full_page_writes=off", "-c", "max_connections=50"]
        log = open(self.root / "server.log", "ab")  # noqa: SIM115 - kept by the process
        self.proc = subprocess.Popen(args, stdout=log, stderr=log, user=self.user,
                                     start_new_session=True)
        log.close()
        self._wait_ready(timeout_s)

    def _wait_ready(self, timeout_s: float) -> None:
        import psycopg

        deadline = time.monotonic() + timeout_s
        while True:
            if self.proc is not None and self.proc.poll() is not None:
                tail = (self.root / "server.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"postgres exited with {self.proc.returncode}:\n{tail}")
            try:
                with psycopg.connect(self.url(), connect_timeout=2):
                    return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def create_database(self) -> str:
        """A fresh, empty database; its URL."""
        import psycopg

        self._databases += 1
        name = f"t{self._databases}_{os.getpid()}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
            # Backends are in the same session: wait until none is left, or restart fails.
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                try:
                    os.killpg(self.proc.pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.05)
        self.proc = None

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # fast shutdown
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
        self.proc = None

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


def running_server() -> Iterator[PostgresServer]:
    """A started server, removed afterwards; skips the test where PostgreSQL is not installed.

    The body of every fixture that needs a server: `yield from running_server()`.
    """
    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        pytest.skip(SKIP_REASON)
    server = PostgresServer(bin_dir)
    server.start()
    yield server
    server.remove()
