"""The one JSON shape of a settled entry, shared by the append-only file and the Redis stream."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson

from gateway.ledger.base import SettledEntry, SpendRecord

FORMAT_VERSION = 1


def utc_now_iso() -> str:
    """The current instant as ISO-8601 UTC with microseconds."""
    return datetime.now(UTC).isoformat()


def encode_entry(entry: SettledEntry) -> bytes:
    """One compact JSON object (no newline) for `entry`."""
    record = entry.record
    body: dict[str, Any] = {
        "v": FORMAT_VERSION,
        "settled_at": entry.settled_at,
        "windows": list(entry.window_keys),
        "actual_nanos": entry.actual_nanos,
        "tenant": record.tenant,
        "request_id": record.request_id,
        "model": record.model,
        "route": record.route,
        "cost_usd": record.cost_usd,
        "prompt_tokens": record.prompt_tokens,
        "completion_tokens": record.completion_tokens,
        "language": record.language,
        "cache_hit": record.cache_hit,
        "tier": record.tier,
        "extra": dict(record.extra),
    }
    # `default=str` because `extra` is free-form: a stray object must not lose the record.
    return orjson.dumps(body, default=str)


def decode_entry(raw: bytes | str) -> SettledEntry:
    """The entry encoded by `encode_entry`; ValueError when `raw` is not one."""
    try:
        body = orjson.loads(raw)
        record = SpendRecord(
            tenant=str(body["tenant"]),
            request_id=str(body["request_id"]),
            model=str(body["model"]),
            route=str(body["route"]),
            cost_usd=float(body["cost_usd"]),
            prompt_tokens=int(body.get("prompt_tokens", 0)),
            completion_tokens=int(body.get("completion_tokens", 0)),
            language=body.get("language"),
            cache_hit=bool(body.get("cache_hit", False)),
            tier=str(body.get("tier", "remote")),
            extra=dict(body.get("extra") or {}),
        )
        return SettledEntry(
            record=record,
            settled_at=str(body["settled_at"]),
            window_keys=tuple(str(k) for k in body.get("windows", ())),
            actual_nanos=int(body["actual_nanos"]),
        )
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ValueError(f"not a spend entry: {exc}") from None


def unix_seconds(iso: str) -> float:
    """An ISO-8601 instant (as `utc_now_iso` writes) as unix seconds."""
    return datetime.fromisoformat(iso).timestamp()
