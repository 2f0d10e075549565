"""The `costroute` command line: embedded defaults end to end, help, and bad configuration."""

from __future__ import annotations

import json
import subprocess
import sys
import time
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
        # uvicorn's start-up lines are off: the command itself says where it serves.
        assert (f"costroute: serving http://127.0.0.1:{port}/v1 (console "
                f"http://127.0.0.1:{port}/ui/)") in (tmp_path / "serve.log").read_text()
    finally:
        proc.terminate()
        proc.wait(30)


def test_embedded_defaults_serve_a_tenants_file_and_learn_from_its_traffic(tmp_path: Path) -> None:
    """`serve --tenants`: the simulator's models and routes with the user's own tenants, so the
    learning loop (capture, feedback, shadow calls graded by the simulated judge, learn
    status) runs with no gateway.yaml to write."""
    import httpx
    import yaml

    from gateway.defaults import RECORDED_MODELS
    from gateway.simulator.judge import SIMULATED_JUDGE
    from gateway.simulator.recordings import RecordingBook
    from gateway.tenants.config import hash_key

    key = "cr-acme-cli-test"
    tenants = tmp_path / "tenants.yaml"
    learning = {"capture": True, "shadow_rate": 1.0, "judge": {"model": SIMULATED_JUDGE},
                "budget": {"period": "day", "limit_usd": 1}}
    tenants.write_text(yaml.safe_dump({"tenants": [{
        "name": "acme", "key_sha256": [hash_key(key)],
        "budgets": [{"period": "day", "limit_usd": 5}], "learning": learning}]}))
    question = next(iter(RecordingBook.shipped())).prompt  # the judge grades recorded answers
    port = free_port()
    env = subprocess_env(COSTROUTE_DATA_DIR=str(tmp_path))
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "gateway.cli", "serve", "--port", str(port),
                             "--tenants", str(tenants)], env=env, stdout=log, stderr=log)
    log.close()
    try:
        wait_for_port(port, timeout=90, proc=proc)
        client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key=key,
                               max_retries=0, timeout=60)
        raw = client.chat.completions.with_raw_response.create(
            model="auto", messages=[{"role": "user", "content": question}])
        assert raw.parse().choices[0].message.content
        rated = httpx.post(f"http://127.0.0.1:{port}/v1/costroute/feedback",
                           headers={"authorization": f"Bearer {key}"}, timeout=30,
                           json={"request_id": raw.headers["x-request-id"], "score": 1})
        assert rated.status_code == 200, rated.text
        assert rated.json()["status"] == "recorded"
        with pytest.raises(openai.AuthenticationError):  # no demo tenant beside acme's
            openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="cr-demo-cli-test",
                          max_retries=0).models.list()
        # Shadow calls run after the answer: each recorded model's answer gets a judge label.
        deadline = time.monotonic() + 90
        while True:
            status = costroute("learn", "status", "--tenant", "acme", "--json", env=env)
            assert status.returncode == 0, status.stderr
            counts = json.loads(status.stdout)
            if counts["labels_by_source"].get("judge", 0) >= len(RECORDED_MODELS):
                break
            assert time.monotonic() < deadline, counts
            time.sleep(1)
        assert (counts["requests"], counts["captured"]) == (1, 1)
        assert counts["labels_by_source"] == {"feedback": 1, "judge": len(RECORDED_MODELS)}
        assert set(counts["labels_by_model"]) == set(RECORDED_MODELS)
    finally:
        proc.terminate()
        proc.wait(30)
    assert "demo tenant API key" not in (tmp_path / "serve.log").read_text()


def test_tenants_is_refused_beside_a_config(tmp_path: Path) -> None:
    config = tmp_path / "gateway.yaml"
    config.write_text("models:\n  - name: x\n    upstream: {base_url: 'http://127.0.0.1:9/v1'}\n")
    result = costroute("serve", "--config", str(config), "--tenants", str(tmp_path / "t.yaml"))
    assert result.returncode == 2
    assert "--tenants is for the embedded defaults" in result.stderr
