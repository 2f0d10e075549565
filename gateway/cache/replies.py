"""Turning a cached response into this request's reply."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any


def cached_reply(response: Mapping[str, Any], request_id: str) -> dict[str, Any]:
    """A copy of `response` with this request's id and time; content, model, usage kept.

    The usage still reports the original tokens (what the answer is worth); the cost the
    tenant is charged for a hit is 0, which the gateway records, not this body.
    """
    out = dict(response)
    out["id"] = f"chatcmpl-{request_id}"
    out["created"] = int(time.time())
    return out
