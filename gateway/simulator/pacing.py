"""When each part of a simulated answer is due: time to first token, then a steady decode rate."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.simulator.profiles import ModelProfile
from gateway.simulator.transport import wait_for_disconnect


@dataclass(frozen=True)
class Pacing:
    """Delays of one answer, already scaled."""

    ttft_s: float
    per_token_s: float

    @classmethod
    def for_request(cls, profile: ModelProfile, scale: float, jitter_seed: int) -> Pacing:
        """The model's latency profile times `scale`, nudged by a deterministic jitter."""
        if scale == 0:
            return cls(0.0, 0.0)
        latency = profile.latency
        # Map the seed to [-1, 1) so the same prompt always gets the same speed.
        unit = (jitter_seed % 2_000_001) / 1_000_000 - 1.0
        factor = 1.0 + latency.jitter * unit
        return cls(
            ttft_s=latency.ttft_s * scale * factor,
            per_token_s=scale * factor / latency.tokens_per_s,
        )

    def total_s(self, completion_tokens: int) -> float:
        """Seconds until a non-streamed answer of `completion_tokens` is complete."""
        return self.ttft_s + self.per_token_s * completion_tokens


async def pause(seconds: float) -> None:
    """Sleep, skipping the event-loop round trip entirely when there is nothing to wait."""
    if seconds > 0:
        await asyncio.sleep(seconds)


class Delayed:
    """An ASGI response sent `delay_s` late, or never if the client leaves meanwhile."""

    def __init__(self, delay_s: float, response: ASGIApp):
        self.delay_s = delay_s
        self.response = response

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.delay_s > 0 and await wait_for_disconnect(receive, self.delay_s):
            return
        await self.response(scope, receive, send)
