"""Settled entries for the spend-history tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from gateway.ledger.base import SettledEntry, SpendRecord

START = datetime(2026, 11, 3, 12, 0, tzinfo=UTC)


def entry(request_id: str, *, tenant: str = "acme", nanos: int = 1_000, minute: int = 0,
          model: str = "gpt-4o-mini", route: str = "auto", language: str | None = "en",
          purpose: str | None = None, cache_hit: bool = False,
          windows: tuple[str, ...] = ("day:2026-11-03", "month:2026-11")) -> SettledEntry:
    extra = {"estimated": False, **({"purpose": purpose} if purpose else {})}
    record = SpendRecord(tenant=tenant, request_id=request_id, model=model, route=route,
                         cost_usd=nanos / 1e9, prompt_tokens=10, completion_tokens=5,
                         language=language, cache_hit=cache_hit, extra=extra)
    at = (START + timedelta(minutes=minute)).isoformat()
    return SettledEntry(record, at, windows, nanos)


def mixed(n: int = 40) -> list[SettledEntry]:
    """`n` entries, one a minute, over two models, two routes, two languages, both purposes."""
    return [entry(f"r{i}", nanos=1_000 * (i + 1), minute=i,
                  model=("gpt-4o" if i % 4 == 0 else "gpt-4o-mini"),
                  route=("cascade" if i % 3 == 0 else "auto"),
                  language=("de" if i % 2 else "en"),
                  purpose=("learning" if i % 5 == 0 else None),
                  cache_hit=(i % 7 == 0)) for i in range(n)]
