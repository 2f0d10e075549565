"""Prompt and completion logging: off by default, opt-in per tenant, redacted when on."""

from __future__ import annotations

import json
import secrets
import string
from collections.abc import Iterator
from typing import Any

import pytest
from openai import OpenAI

from gateway.content_log import ContentRedactor, StreamTextCollector, message_text
from gateway.simulator.config import SimulatorConfig
from gateway.simulator.server import SimulatorHandle, run_simulator
from gateway.tenants.config import ContentLoggingConfig, hash_key
from tests.gateway.processes import GatewayProcess, write_gateway_config, write_tenants

PROVIDER_KEY = "sk-provider-" + secrets.token_hex(16)
LOGGED_KEY = "cr-logged-" + secrets.token_hex(16)
QUIET_KEY = "cr-quiet-" + secrets.token_hex(16)
EMAIL = "ada.lovelace@example.org"
CARD = "4111 1111 1111 1111"
PHONE = "+44 20 7946 0958"


def test_redactor_cuts_each_builtin_kind_and_custom_patterns() -> None:
    redact = ContentRedactor(["api_key", "email", "credit_card", "phone", "ipv4"],
                             patterns=[r"ACME-\d{6}"], secrets=["hunter2-provider"])
    text = (f"mail {EMAIL}, card {CARD}, call {PHONE}, host 10.0.0.12, key sk-abcdef123456, "
            "auth Bearer abc.def.ghi123, ticket ACME-123456, secret hunter2-provider, "
            "but 17 * 23 = 391 and the year 2024 stay")
    out = redact(text)
    for kind in ("email", "credit_card", "phone", "ipv4", "api_key", "custom", "secret"):
        assert f"[REDACTED:{kind}]" in out, (kind, out)
    for value in (EMAIL, CARD, PHONE, "10.0.0.12", "sk-abcdef123456", "abc.def.ghi123",
                  "ACME-123456", "hunter2-provider"):
        assert value not in out
    assert "17 * 23 = 391" in out and "2024" in out


@pytest.mark.parametrize("number", [
    "+44 20 7946 0958", "+1 (555) 123-4567", "(555) 123-4567", "555-123-4567",
    "555.123.4567", "555 123 4567", "5551234567", "555-1234", "+33 1 23 45 67 89",
    "0049 30 1234567", "+4915112345678"])
def test_phone_numbers_as_people_write_them_are_cut(number: str) -> None:
    assert ContentRedactor(["phone"])(f"call me on {number}, thanks") == (
        "call me on [REDACTED:phone], thanks")


@pytest.mark.parametrize("card", ["4111 1111 1111 1111", "4111-1111-1111-1111",
                                  "5555555555554444", "378282246310005"])
def test_card_numbers_with_a_valid_check_digit_are_cut(card: str) -> None:
    assert ContentRedactor(["credit_card", "phone"])(f"card {card}.") == (
        "card [REDACTED:credit_card].")


@pytest.mark.parametrize("text", [
    "So he has 6000 - 1500 - 2000 = $<<6000-1500-2000=2500>>2500 left.",
    "180 - 135 = 45 and 4 - 2 - 0.5 = 1.5",
    "each is 20/3 = 6.666666666666667 pounds, so 0.2666666666666667 of it",
    "the third month is 195-160-5 = 30 downloads",
    "1200-1000 = 200, and pi is 3.14159265",
    "a card-like 4111 1111 1111 1112 fails its check digit",
    "the total was 1000 - 333.33 = 666.67 pieces"])
def test_arithmetic_and_decimals_are_left_alone(text: str) -> None:
    """Worked answers (the simulator's GSM8K recordings) are full of numbers that the bare
    patterns took for phones and cards: a learning tenant's records lost them."""
    assert ContentRedactor(["credit_card", "phone", "ipv4"])(text) == text


def test_only_the_chosen_kinds_are_redacted() -> None:
    assert ContentRedactor(["email"])(f"{EMAIL} 10.0.0.12") == "[REDACTED:email] 10.0.0.12"


def test_a_bad_custom_pattern_is_refused_with_the_pattern_named() -> None:
    with pytest.raises(ValueError, match=r"pattern '\(unclosed'"):
        ContentLoggingConfig(enabled=True, patterns=["(unclosed"])


def test_message_text_reads_strings_parts_and_tool_calls() -> None:
    assert message_text({"role": "user", "content": "hi"}) == "hi"
    parts = {"role": "user", "content": [{"type": "text", "text": "look"},
                                         {"type": "image_url", "image_url": {"url": "x"}}]}
    assert message_text(parts) == "look\n[image_url]"
    call = {"role": "assistant", "content": None,
            "tool_calls": [{"id": "c1", "type": "function",
                            "function": {"name": "f", "arguments": "{}"}}]}
    assert '"name":"f"' in message_text(call)


def test_stream_collector_keeps_the_first_choice_text() -> None:
    collector = StreamTextCollector()
    for event in [b'data: {"choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}\n\n',
                  (b'data: {"choices":[{"index":0,"delta":{"content":"Hel"}}]}\n\n'
                   b'data: {"choices":[{"index":1,"delta":{"content":"other"}}]}\n\n'),
                  b'data: {"choices":[{"index":0,"delta":{"content":"lo"}}]}\n\n',
                  b"data: [DONE]\n\n"]:
        collector.feed(event)
    assert collector.text == "Hello"


@pytest.fixture(scope="module")
def keyed_sim() -> Iterator[SimulatorHandle]:
    with run_simulator(SimulatorConfig(latency_scale=0, api_key=PROVIDER_KEY)) as handle:
        yield handle


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory,
            keyed_sim: SimulatorHandle) -> Iterator[GatewayProcess]:
    workdir = tmp_path_factory.mktemp("content-log")
    tenants = write_tenants(workdir / "tenants.yaml", [
        {"name": "logged", "key_sha256": [hash_key(LOGGED_KEY)],
         "content_logging": {"enabled": True, "patterns": [r"ACME-\d{6}"]}},
        {"name": "quiet", "key_sha256": [hash_key(QUIET_KEY)]}])
    config: dict[str, Any] = {
        "models": [{"name": "gpt-4o-mini", "upstream": {
            "base_url": keyed_sim.base_url, "api_key_env": "CR_TEST_CONTENT_PROVIDER_KEY"}}],
        "tenants_file": str(tenants),
        "store": {"kind": "memory", "path": str(workdir / "spend.jsonl")},
    }
    process = GatewayProcess(write_gateway_config(workdir / "gateway.yaml", config), workdir,
                             env={"CR_TEST_CONTENT_PROVIDER_KEY": PROVIDER_KEY}).start()
    yield process
    process.stop()


def _letters() -> str:
    # Letters only: a hex token can come out all digits and be redacted as a phone number.
    return "".join(secrets.choice(string.ascii_lowercase) for _ in range(10))


def _content_lines(log: str) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    return [line for line in lines if line.get("logger") == "costroute.content"]


def test_an_opted_in_tenant_gets_redacted_prompts_and_completions_logged(
        gateway: GatewayProcess) -> None:
    mark, quiet_mark = "mark-" + _letters(), "quiet-" + _letters()
    prompt = (f"{mark}: email {EMAIL}, card {CARD}, phone {PHONE}, ticket ACME-123456, "
              f"and my provider key is {PROVIDER_KEY}. What is 17 * 23?")
    logged = OpenAI(base_url=gateway.base_url, api_key=LOGGED_KEY, max_retries=0)
    quiet = OpenAI(base_url=gateway.base_url, api_key=QUIET_KEY, max_retries=0)
    answer = logged.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "system", "content": "Be brief."},
                                       {"role": "user", "content": prompt}])
    chunks = logged.chat.completions.create(
        model="gpt-4o-mini", stream=True,
        messages=[{"role": "user", "content": f"{mark}-stream {EMAIL}"}])
    streamed = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    quiet.chat.completions.create(model="gpt-4o-mini",
                                  messages=[{"role": "user", "content": f"{quiet_mark} {EMAIL}"}])
    gateway.stop()  # flush and close the log
    log = gateway.logs()
    lines = _content_lines(log)
    assert [line["tenant"] for line in lines] == ["logged", "logged"]
    first, second = lines
    assert first["prompt"][0] == {"role": "system", "content": "Be brief."}
    user = first["prompt"][1]["content"]
    assert user.startswith(mark) and "What is 17 * 23?" in user
    for kind in ("email", "credit_card", "phone", "custom", "secret"):
        assert f"[REDACTED:{kind}]" in user, (kind, user)
    assert first["completion"] == answer.choices[0].message.content
    assert first["request_id"] and first["model"] == "gpt-4o-mini"
    assert second["prompt"][0]["content"] == f"{mark}-stream [REDACTED:email]"
    assert second["completion"] == streamed and streamed
    for value in (EMAIL, CARD, PHONE, "ACME-123456", PROVIDER_KEY, LOGGED_KEY, quiet_mark):
        assert value not in log
