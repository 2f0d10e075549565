"""The LiteLLM proxy as a benchmark peer: same stub upstream, same auth, same load generator.

It is installed apart from costroute (bench/peers/setup_litellm.sh) and started with a
one-model config pointing at the stub, a master key (so it authenticates every request, as
the gateway does), no database, and its cost map read locally (it would otherwise fetch it
from GitHub at start-up).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

import yaml

from tests.servers import free_port, wait_for_port

REPO = Path(__file__).resolve().parents[2]
DEFAULT_EXECUTABLE = REPO / ".bench/litellm/bin/litellm"


def find_litellm(explicit: Path | None) -> Path | None:
    """The litellm executable to compare with: explicit, the bench venv's, or none."""
    if explicit is not None:
        if not explicit.exists():
            raise SystemExit(f"--litellm {explicit}: no such file (bench/peers/setup_litellm.sh)")
        return explicit
    if DEFAULT_EXECUTABLE.exists():
        return DEFAULT_EXECUTABLE
    found = shutil.which("litellm")
    return Path(found) if found else None


def version(executable: Path) -> str:
    out = subprocess.run([str(executable.parent / "python"), "-c",
                          "import importlib.metadata as m; print(m.version('litellm'))"],
                         capture_output=True, text=True, check=False).stdout.strip()
    return out or "unknown"


@dataclass
class LiteLLMProxy:
    """A running LiteLLM proxy in front of `upstream_port`; use as a context manager."""

    executable: Path
    workdir: Path
    upstream_port: int
    master_key: str
    model: str = "gpt-4o-mini"
    workers: int = 1
    port: int = field(default_factory=free_port)

    def __enter__(self) -> Self:
        config = {
            "model_list": [{"model_name": self.model, "litellm_params": {
                "model": f"openai/{self.model}",
                "api_base": f"http://127.0.0.1:{self.upstream_port}/v1",
                "api_key": "sk-stub"}}],
            "general_settings": {"master_key": self.master_key},
            "litellm_settings": {"telemetry": False},
        }
        path = self.workdir / f"litellm-{self.port}.yaml"
        path.write_text(yaml.safe_dump(config))
        env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_LOG": "ERROR",
               "PYTHONUNBUFFERED": "1"}
        log = (self.workdir / f"litellm-{self.port}.log").open("ab")
        self.proc = subprocess.Popen(
            [str(self.executable), "--config", str(path), "--host", "127.0.0.1",
             "--port", str(self.port), "--num_workers", str(self.workers)],
            env=env, stdout=log, stderr=log, start_new_session=True)
        log.close()
        wait_for_port(self.port, timeout=180, proc=self.proc)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, 15)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 9)
                self.proc.wait(5)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1/chat/completions"
