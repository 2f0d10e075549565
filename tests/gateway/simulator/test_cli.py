"""`costroute simulate` (here `python -m gateway.simulator`): help, bad input, a real start."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from gateway.simulator import start_simulator_process
from gateway.simulator.cli import app


def invoke(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), env=env)
    return result.exit_code, result.output


def test_help_lists_the_options() -> None:
    code, output = invoke("--help")
    assert code == 0
    for option in ("--host", "--port", "--latency-scale", "--seed", "--api-key-env"):
        assert option in output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--latency-scale", "-1"), "--latency-scale must be >= 0"),
        (("--port", "70000"), "--port must be between 0 and 65535"),
        (("--api-key-env", "COSTROUTE_TEST_UNSET_VAR"), "environment variable is not set"),
        (("--models", "/nonexistent/models.yaml"), "cannot read models file"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: tuple[str, ...], message: str) -> None:
    code, output = invoke(*args, env={"COSTROUTE_TEST_UNSET_VAR": ""})
    assert code == 2
    assert message in output
    assert "Traceback" not in output and len(output.strip().splitlines()) == 1


def test_an_invalid_models_file_is_refused(tmp_path: Path) -> None:
    models = tmp_path / "models.yaml"
    models.write_text("models:\n  gpt-4o: {latency: {ttft_s: -1, tokens_per_s: 10}}\n")
    code, output = invoke("--models", str(models))
    assert code == 2
    assert "gpt-4o" in output and "ttft_s" in output


def test_a_busy_port_is_exit_2() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        code, output = invoke("--port", str(busy.getsockname()[1]))
    assert code == 2
    assert "cannot listen" in output


@pytest.mark.slow
def test_the_command_serves_with_an_api_key_from_the_environment() -> None:
    args = ("--latency-scale", "0", "--api-key-env", "SIM_KEY", "--seed", "3")
    with start_simulator_process(args, env={"SIM_KEY": "k-123"}) as sim:
        assert httpx.get(f"{sim.base_url}/models").status_code == 401
        models = httpx.get(f"{sim.base_url}/models", headers={"authorization": "Bearer k-123"})
        assert models.status_code == 200
        assert {m["owned_by"] for m in models.json()["data"]} == {"costroute-simulator"}
        sim.control.inject_fault("gpt-4o", "reset")
        with pytest.raises(httpx.ReadError):
            httpx.post(f"{sim.base_url}/chat/completions",
                       json={"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}]},
                       headers={"authorization": "Bearer k-123"})
