"""Secrets stay secret: provider and tenant keys never reach logs, responses or /metrics;
prompts and completions are not logged by default; admin reads need the admin key."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.simulator.config import SimulatorConfig
from gateway.simulator.server import SimulatorHandle, run_simulator
from gateway.tenants.config import TenantConfig, hash_key
from gateway.tenants.directory import TenantDirectory
from tests.gateway.conftest import GatewayFactory, sim_config
from tests.gateway.hardening.conftest import assert_error_shape
from tests.gateway.hardening.echo_upstream import create_echo_upstream
from tests.gateway.processes import GatewayProcess, write_gateway_config, write_tenants
from tests.servers import serve_asgi

REPO = Path(__file__).resolve().parents[3]
MIXTRAL = "mistralai/Mixtral-8x7B-Instruct-v0.1"
PROVIDER_KEY = "sk-provider-" + secrets.token_hex(20)  # what the simulator requires
WRONG_KEY = "sk-wrong-" + secrets.token_hex(20)  # a key the simulator rejects
ECHOED_KEY = "sk-echoed-" + secrets.token_hex(20)  # a key the hostile upstream echoes
TENANT_KEY = "cr-tenant-" + secrets.token_hex(20)
ADMIN_KEY = "cr-admin-" + secrets.token_hex(20)
UNKNOWN_KEY = "cr-unknown-" + secrets.token_hex(20)
SECRETS = {"provider": PROVIDER_KEY, "wrong provider": WRONG_KEY, "echoed provider": ECHOED_KEY,
           "tenant": TENANT_KEY, "admin": ADMIN_KEY, "unknown tenant": UNKNOWN_KEY}
PROMPT_MARK = "zebra-quartz-" + secrets.token_hex(6)


def leaked(text: str) -> list[str]:
    """Which secrets appear in `text`, whole or as any 12-character piece."""
    return [name for name, secret in SECRETS.items()
            if any(secret[i:i + 12] in text for i in range(len(secret) - 11))]


def transcript(response: httpx.Response) -> str:
    headers = "\n".join(f"{k}: {v}" for k, v in response.headers.items())
    return f"{response.status_code}\n{headers}\n{response.text}"


@pytest.fixture(scope="module")
def keyed_sim() -> Iterator[SimulatorHandle]:
    with run_simulator(SimulatorConfig(latency_scale=0, api_key=PROVIDER_KEY)) as handle:
        yield handle


@pytest.fixture(scope="module")
def echo_url() -> Iterator[str]:
    with serve_asgi(create_echo_upstream()) as root:
        yield f"{root}/v1"


@pytest.fixture(scope="module")
def keyed_gateway(tmp_path_factory: pytest.TempPathFactory, keyed_sim: SimulatorHandle,
                  echo_url: str) -> Iterator[GatewayProcess]:
    workdir = tmp_path_factory.mktemp("secrets")
    tenants = write_tenants(workdir / "tenants.yaml", [
        {"name": "user", "key_sha256": [hash_key(TENANT_KEY)]},
        {"name": "root", "key_sha256": [hash_key(ADMIN_KEY)], "admin": True}])
    config = {
        "models": [
            {"name": "gpt-4o-mini",
             "upstream": {"base_url": keyed_sim.base_url, "api_key_env": "CR_TEST_PROVIDER_KEY"}},
            {"name": "gpt-4o",
             "upstream": {"base_url": keyed_sim.base_url, "api_key_env": "CR_TEST_WRONG_KEY"}},
            {"name": MIXTRAL,
             "upstream": {"base_url": echo_url, "api_key_env": "CR_TEST_ECHOED_KEY"}},
        ],
        "tenants_file": str(tenants),
        "store": {"kind": "memory", "path": str(workdir / "spend.jsonl")},
        "retry": {"max_attempts": 1},
    }
    env = {"CR_TEST_PROVIDER_KEY": PROVIDER_KEY, "CR_TEST_WRONG_KEY": WRONG_KEY,
           "CR_TEST_ECHOED_KEY": ECHOED_KEY}
    process = GatewayProcess(write_gateway_config(workdir / "gateway.yaml", config), workdir,
                             env=env).start()
    yield process
    process.stop()


def chat(gw: GatewayProcess, model: str, content: str, key: str = TENANT_KEY,
         **extra: Any) -> httpx.Response:
    return httpx.post(f"{gw.base_url}/chat/completions", timeout=60,
                      headers={"authorization": f"Bearer {key}"},
                      json={"model": model, "max_tokens": 24, **extra,
                            "messages": [{"role": "user", "content": content}]})


def stream(gw: GatewayProcess, model: str, content: str) -> httpx.Response:
    return chat(gw, model, content, stream=True, stream_options={"include_usage": True})


def test_no_key_prompt_or_completion_escapes(keyed_gateway: GatewayProcess) -> None:
    gw = keyed_gateway
    answered = chat(gw, "gpt-4o-mini", f"Tell me about {PROMPT_MARK}.")
    assert answered.status_code == 200, answered.text  # the provider key reached the upstream
    completion = answered.json()["choices"][0]["message"]["content"]
    streamed = stream(gw, "gpt-4o-mini", f"Again about {PROMPT_MARK}.")
    assert streamed.status_code == 200
    rejected = chat(gw, "gpt-4o", "hello")  # the simulator refuses the wrong key
    echoed_401 = chat(gw, MIXTRAL, "mode:401")
    echoed_400 = chat(gw, MIXTRAL, "mode:400")
    echoed_in_stream = stream(gw, MIXTRAL, "mode:stream-error")
    echoed_on_open = stream(gw, MIXTRAL, "mode:401")
    unknown = chat(gw, "gpt-4o-mini", "hello", key=UNKNOWN_KEY)
    for response, status in [(rejected, 502), (echoed_401, 502), (echoed_400, 400),
                             (echoed_on_open, 502), (unknown, 401)]:
        assert response.status_code == status, response.text
        assert_error_shape(response)
    # The hostile upstream's message is relayed, with the key cut out of it.
    assert "***" in echoed_401.json()["error"]["message"]
    assert "***" in echoed_400.json()["error"]["message"]
    assert "***" in echoed_in_stream.text
    reads = [httpx.get(f"{gw.base_url}/models", timeout=30,
                       headers={"authorization": f"Bearer {TENANT_KEY}"}),
             httpx.get(f"{gw.base_url}/costroute/spend", timeout=30,
                       headers={"authorization": f"Bearer {TENANT_KEY}"}),
             httpx.get(f"{gw.base_url}/costroute/spend", params={"tenant": "*"}, timeout=30,
                       headers={"authorization": f"Bearer {ADMIN_KEY}"}),
             httpx.get(f"{gw.base_url.removesuffix('/v1')}/metrics", timeout=30)]
    responses = [answered, streamed, rejected, echoed_401, echoed_400, echoed_in_stream,
                 echoed_on_open, unknown, *reads]
    assert leaked("\n".join(transcript(r) for r in responses)) == []
    gw.stop()  # flush and close the log
    log = gw.logs()
    assert '"logger":"costroute.access"' in log  # it did log the requests
    assert leaked(log) == []
    assert PROMPT_MARK not in log
    assert completion and completion not in log


def test_tenant_keys_are_compared_as_hashes_in_constant_time(
        monkeypatch: pytest.MonkeyPatch) -> None:
    keys = {f"t{i}": f"cr-key-{i}-" + secrets.token_hex(8) for i in range(4)}
    directory = TenantDirectory.from_tenants(
        [TenantConfig(name=name, key_sha256=[hash_key(key)]) for name, key in keys.items()])
    compared: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)  # the directory calls hmac.compare_digest
    first = directory.authenticate(keys["t0"])
    assert first is not None and first.name == "t0"
    # Every stored hash is compared, even after the first one matched: no early exit.
    assert len(compared) == len(keys)
    digest = hashlib.sha256(keys["t0"].encode()).digest()
    assert all(given == digest and len(stored) == 32 for stored, given in compared)
    assert not any(keys["t0"].encode() in pair for pair in compared)
    compared.clear()
    assert directory.authenticate("cr-nobody") is None
    assert len(compared) == len(keys)


def test_admin_reads_need_the_admin_key(sim: SimulatorHandle,
                                        gateway_factory: GatewayFactory) -> None:
    tenants = [TenantConfig(name="user", key_sha256=[hash_key(TENANT_KEY)]),
               TenantConfig(name="other", key_sha256=[hash_key(UNKNOWN_KEY + "x")]),
               TenantConfig(name="root", key_sha256=[hash_key(ADMIN_KEY)], admin=True)]
    gw = gateway_factory(sim_config(sim), tenants=tenants)

    def spend(key: str | None, tenant: str | None) -> httpx.Response:
        headers = {"authorization": f"Bearer {key}"} if key else {}
        params = {"tenant": tenant} if tenant else {}
        return httpx.get(f"{gw.base_url}/costroute/spend", params=params, headers=headers,
                         timeout=30)

    assert spend(TENANT_KEY, None).status_code == 200  # its own spend
    for tenant in ("*", "other", "root"):
        refused = spend(TENANT_KEY, tenant)
        assert refused.status_code == 403
        assert assert_error_shape(refused)["code"] == "admin_required"
    assert spend(None, "*").status_code == 401
    assert spend(UNKNOWN_KEY, "*").status_code == 401
    everyone = spend(ADMIN_KEY, "*")
    assert everyone.status_code == 200 and everyone.json()["tenant"] == "*"


def test_docker_image_runs_as_non_root() -> None:
    dockerfile = (REPO / "Dockerfile").read_text()
    users = re.findall(r"^USER\s+(\S+)", dockerfile, re.MULTILINE)
    assert users and users[-1] not in ("root", "0", "0:0")
