"""The `costroute` command line: embedded defaults end to end, help, and bad configuration."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import openai
import pytest

from tests.servers import free_port, subprocess_env, wait_for_port

COMMANDS = [[], ["serve"], ["simulate"], ["tenants"], ["spend"], ["pricing"], ["train"], ["learn"],
            ["eval"]]


def costroute(*args: str, env: dict[str, str] | None = None,
              timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gateway.cli", *args], capture_output=True,
                          check=False, text=True, timeout=timeout, env=env or subprocess_env())


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "root")
def test_every_command_has_help(command: list[str]) -> None:
    result = costroute(*command, "--help")
    assert result.returncode == 0, result.stderr
    assert "Usage" in result.stdout


def test_invalid_config_fails_with_a_clear_message(tmp_path: Path) -> None:
    bad = tmp_path / "gateway.yaml"
    bad.write_text("models:\n  - name: x\n    upstream: {base_url: http://h}\n    tier: orbit\n")
    result = costroute("serve", "--config", str(bad))
    assert result.returncode == 2
    assert "tier" in result.stderr and "Traceback" not in result.stderr


def test_embedded_defaults_serve_the_openai_client(tmp_path: Path) -> None:
    port = free_port()
    env = subprocess_env(COSTROUTE_DEMO_KEY="cr-demo-cli-test", COSTROUTE_DATA_DIR=str(tmp_path))
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "gateway.cli", "serve", "--port", str(port)],
                            env=env, stdout=log, stderr=log)
    log.close()
    try:
        wait_for_port(port, timeout=90, proc=proc)
        client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1",
                               api_key="cr-demo-cli-test", max_retries=0, timeout=60)
        ids = {m.id for m in client.models.list()}
        assert {"gpt-4o", "gpt-4o-mini", "auto"} <= ids
        raw = client.chat.completions.with_raw_response.create(
            model="auto", messages=[{"role": "user", "content": "What is 6 times 7?"}])
        assert raw.parse().choices[0].message.content
        assert float(raw.headers["x-costroute-cost-usd"]) > 0
        assert (tmp_path / "spend.jsonl").read_text().strip()  # durable spend log
    finally:
        proc.terminate()
        proc.wait(30)
