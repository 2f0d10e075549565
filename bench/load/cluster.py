"""The processes a load run needs: the stub upstream, one Redis, and N gateway replicas."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bench.overhead.run import KEY
from tests.servers import RedisServer, free_port, wait_for_port

REPO = Path(__file__).resolve().parents[2]
TABLE_MODELS = {"gpt-4o-mini": 0.82, "gpt-4o": 0.89}


def auto_route(knn_artifact: Path | None) -> tuple[dict[str, Any], list[str], str]:
    """The `auto` route, its models, and how it routes: k-NN over MiniLM embeddings when an
    artifact is given (and the k-NN router can load), else the price/quality table."""
    if knn_artifact is not None:
        from routers.knn.router import load_knn_router  # noqa: F401  (fails early if absent)

        models = json.loads((knn_artifact / "manifest.json").read_text())["models"]
        return ({"router": "knn", "artifact": str(knn_artifact.resolve())}, list(models),
                f"knn ({knn_artifact}, embeddings on)")
    return {"router": "table"}, list(TABLE_MODELS), "table (no k-NN artifact given)"


def write_config(workdir: Path, upstream_port: int, redis_url: str,
                 knn_artifact: Path | None) -> tuple[Path, str]:
    """gateway.yaml and tenants.yaml for replicas sharing `redis_url`; returns (path, route)."""
    tenants = {"tenants": [{"name": "bench",
                            "key_sha256": [hashlib.sha256(KEY.encode()).hexdigest()],
                            "budgets": [{"period": "month", "limit_usd": 1_000_000_000}]}]}
    (workdir / "tenants.yaml").write_text(yaml.safe_dump(tenants))
    route, route_models, description = auto_route(knn_artifact)
    upstream = {"base_url": f"http://127.0.0.1:{upstream_port}/v1"}
    names = list(dict.fromkeys([*TABLE_MODELS, *route_models]))
    config = {
        "models": [{"name": name, "upstream": upstream,
                    **({"quality": TABLE_MODELS[name]} if name in TABLE_MODELS else {})}
                   for name in names],
        "routes": {"auto": {**route, "models": route_models}},
        "tenants_file": "tenants.yaml",
        "store": {"kind": "redis", "url": redis_url},
    }
    path = workdir / "gateway.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path, description


@dataclass
class Cluster:
    """Stub upstream + Redis + gateway replicas, all on loopback; `close()` stops them."""

    workdir: Path
    knn_artifact: Path | None = None
    stub_port: int = field(default_factory=free_port)
    gateways: list[subprocess.Popen[bytes]] = field(default_factory=list)
    gateway_ports: list[int] = field(default_factory=list)
    route_description: str = ""

    def __post_init__(self) -> None:
        self._stack = ExitStack()
        self._env = {**os.environ, "PYTHONUNBUFFERED": "1", "HF_HUB_OFFLINE": "1"}

    def start(self) -> Cluster:
        stub = subprocess.Popen([sys.executable, str(REPO / "bench/overhead/stub_upstream.py"),
                                 str(self.stub_port)], env=self._env)
        self._stack.callback(_stop, stub)
        self.redis = RedisServer(self.workdir / "redis")
        self.redis.start()
        self._stack.callback(self.redis.stop)
        self.config, self.route_description = write_config(
            self.workdir, self.stub_port, self.redis.url, self.knn_artifact)
        wait_for_port(self.stub_port, proc=stub)
        return self

    def scale_to(self, replicas: int) -> list[str]:
        """Starts replicas until there are `replicas`; returns every replica's chat URL."""
        while len(self.gateways) < replicas:
            port = free_port()
            log = (self.workdir / f"gateway-{port}.log").open("ab")
            proc = subprocess.Popen(
                [sys.executable, "-m", "gateway.cli", "serve", "--config", str(self.config),
                 "--port", str(port), "--log-level", "warning"],
                cwd=REPO, env=self._env, stdout=log, stderr=log)
            log.close()
            self._stack.callback(_stop, proc)
            wait_for_port(port, timeout=120, proc=proc)
            self.gateways.append(proc)
            self.gateway_ports.append(port)
        return [self.chat_url(port) for port in self.gateway_ports[:replicas]]

    @property
    def direct_url(self) -> str:
        return f"http://127.0.0.1:{self.stub_port}/v1/chat/completions"

    @staticmethod
    def chat_url(port: int) -> str:
        return f"http://127.0.0.1:{port}/v1/chat/completions"

    def close(self) -> None:
        self._stack.close()


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
