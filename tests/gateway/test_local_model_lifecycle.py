"""`costroute serve --local-model` never leaves its llama.cpp server behind, however it ends."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import openai
import pytest

from tests.localmodel import find_smollm2_gguf, llama_server_installed
from tests.servers import free_port, subprocess_env, wait_for_port

KEY = "cr-demo-local-lifecycle"

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux") or find_smollm2_gguf() is None
    or not llama_server_installed(), reason="needs Linux and the `local` extra")


def children_of(pid: int) -> list[int]:
    """Processes whose parent is `pid`, from /proc."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # it ended while we looked
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def gone(pid: int, timeout_s: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return True
        if state == "Z":  # a zombie of an ended parent is reaped by init: it has ended
            return True
        time.sleep(0.2)
    return False


@pytest.mark.parametrize("ending", [signal.SIGTERM, signal.SIGKILL])
def test_the_local_model_ends_with_the_gateway(ending: signal.Signals, tmp_path: Path) -> None:
    port = free_port()
    env = subprocess_env(COSTROUTE_DEMO_KEY=KEY, COSTROUTE_DATA_DIR=str(tmp_path))
    gateway = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "serve", "--port", str(port), "--local-model"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    servers: list[int] = []
    try:
        wait_for_port(port, timeout=180, proc=gateway)
        httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=30).raise_for_status()
        local = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key=KEY,
                              max_retries=0, timeout=120)
        answer = local.chat.completions.create(
            model="smollm2-135m-instruct", messages=[{"role": "user", "content": "Hi"}],
            max_tokens=4)
        assert answer.choices[0].message.content is not None
        servers = children_of(gateway.pid)
        assert len(servers) == 1  # the llama.cpp server
        gateway.send_signal(ending)
        gateway.wait(60)
        assert gone(servers[0]), f"llama.cpp server {servers[0]} outlived the gateway"
    finally:
        if gateway.poll() is None:
            gateway.kill()
            gateway.wait(10)
        for pid in servers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)  # a failed run must not leave a model running
