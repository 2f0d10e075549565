"""Gateways as real OS processes (`costroute serve --config ...`) for multi-replica tests."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import yaml

from tests.servers import free_port, subprocess_env, wait_for_port

REPO = Path(__file__).resolve().parents[2]


def write_tenants(path: Path, tenants: list[dict[str, Any]]) -> Path:
    path.write_text(yaml.safe_dump({"tenants": tenants}, sort_keys=False))
    return path


def write_gateway_config(path: Path, config: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


class GatewayProcess:
    """`costroute serve` in a child process; stderr (JSON logs) goes to a file."""

    def __init__(self, config_path: Path, workdir: Path, port: int | None = None,
                 env: dict[str, str] | None = None, args: list[str] | None = None):
        self.config_path = config_path
        self.args = args or []
        self.port = port or free_port()
        self.log_path = workdir / f"gateway-{self.port}.log"
        self.env = subprocess_env(COSTROUTE_DATA_DIR=str(workdir), **(env or {}))
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> GatewayProcess:
        with self.log_path.open("ab") as log:  # the child keeps its own descriptor
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "gateway.cli", "serve", "--config",
                 str(self.config_path), "--port", str(self.port), "--log-level", "info",
                 *self.args],
                cwd=REPO, env=self.env, stdout=log, stderr=log)
        wait_for_port(self.port, timeout=90, proc=self.proc)
        httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=30).raise_for_status()
        return self

    def signal(self, sig: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

