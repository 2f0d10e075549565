"""Image parts pass through untouched and are priced by OpenAI's image-token formula, whether
the upstream reports usage or the gateway counts it itself."""

from __future__ import annotations

import httpx
import pytest

from gateway.simulator.server import SimulatorHandle
from pricing import PriceCatalog, Usage, cost_usd
from tests.gateway.conftest import RunningGateway
from tests.pricing.test_images import png


def ask(gw: RunningGateway, content: list[dict[str, object]]) -> httpx.Response:
    return httpx.post(f"{gw.base_url}/chat/completions", timeout=60,
                      headers={"authorization": f"Bearer {gw.key}"},
                      json={"model": "gpt-4o", "max_tokens": 20,
                            "messages": [{"role": "user", "content": content}]})


def test_image_tokens_priced_reported_or_counted(gateway: RunningGateway,
                                                 sim: SimulatorHandle) -> None:
    text = [{"type": "text", "text": "Describe this."}]
    image = {"type": "image_url", "image_url": {"url": png(1024, 1024), "detail": "high"}}
    plain = ask(gateway, text).json()["usage"]["prompt_tokens"]
    reported = ask(gateway, [*text, image])
    usage = reported.json()["usage"]
    assert usage["prompt_tokens"] - plain == pytest.approx(765, abs=5)  # 85 + 4 tiles x 170
    assert sim.control.stats()["recent"][-1]["body"]["messages"][0]["content"][1] == image
    price = PriceCatalog.shipped()["gpt-4o"]
    assert float(reported.headers["x-costroute-cost-usd"]) == pytest.approx(cost_usd(
        price, Usage(usage["prompt_tokens"], usage["completion_tokens"])), abs=1e-10)
    sim.control.inject_fault("gpt-4o", "no_usage", count=1)
    counted = ask(gateway, [*text, image])
    assert counted.headers["x-costroute-cost-status"] == "estimated"
    assert counted.json()["usage"]["prompt_tokens"] == usage["prompt_tokens"]
