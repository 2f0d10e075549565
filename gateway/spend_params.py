"""Parsing the spend API's query string: group-by, time range, filters and the page cursor."""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson

from gateway.records.spend_history import FILTERS, PURPOSES, SpendQuery

DEFAULT_BY = "period,model,route"
MAX_LIMIT = 1000
LATEST = 253_402_300_799  # 9999-12-31T23:59:59Z


class SpendParamError(ValueError):
    """A bad query parameter; `param` names it."""

    def __init__(self, message: str, param: str):
        super().__init__(message)
        self.param = param


@dataclass(frozen=True, slots=True)
class SpendParams:
    query: SpendQuery
    listing: bool  # `list=requests`: include one page of the matching requests
    limit: int
    after: tuple[float, str] | None


def parse_time(value: str, param: str) -> float:
    """Unix seconds, or an ISO-8601 instant or date (UTC when it names no zone)."""
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        if not (math.isfinite(seconds) and 0 <= seconds <= LATEST):
            raise SpendParamError(f"`{param}` is out of range", param)
        return seconds
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise SpendParamError(f"`{param}` must be unix seconds or an ISO-8601 time, "
                              f"got {value!r}", param) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    seconds = parsed.timestamp()
    if param == "to" and len(value) == 10:
        seconds += 86_400  # `to=YYYY-MM-DD` includes that whole UTC day
    if not 0 <= seconds <= LATEST:
        raise SpendParamError(f"`{param}` is out of range", param)
    return seconds


def encode_cursor(settled_at: float, request_id: str) -> str:
    return base64.urlsafe_b64encode(orjson.dumps([settled_at, request_id])).decode()


def decode_cursor(cursor: str) -> tuple[float, str]:
    try:
        at, request_id = orjson.loads(base64.urlsafe_b64decode(cursor.encode()))
        if not math.isfinite(float(at)):
            raise ValueError(at)
        return float(at), str(request_id)
    except (binascii.Error, orjson.JSONDecodeError, ValueError, TypeError):
        raise SpendParamError("`cursor` is not one this API returned", "cursor") from None


def parse_spend_params(params: Mapping[str, str], tenant: str | None) -> SpendParams:
    by = tuple(d for d in params.get("by", DEFAULT_BY).split(",") if d)
    since = parse_time(params["from"], "from") if "from" in params else None
    until = parse_time(params["to"], "to") if "to" in params else None
    if since is not None and until is not None and until <= since:
        raise SpendParamError("`to` must be after `from`", "to")
    filters = {name: params[name] for name in FILTERS if name in params}
    if filters.get("purpose", PURPOSES[0]) not in PURPOSES:
        raise SpendParamError(f"`purpose` must be one of {', '.join(PURPOSES)}", "purpose")
    listing = params.get("list") == "requests"
    if "list" in params and not listing:
        raise SpendParamError("`list` may only be `requests`", "list")
    try:
        limit = int(params.get("limit", "100"))
    except ValueError:
        raise SpendParamError("`limit` must be an integer", "limit") from None
    if not 1 <= limit <= MAX_LIMIT:
        raise SpendParamError(f"`limit` must be between 1 and {MAX_LIMIT}", "limit")
    after = decode_cursor(params["cursor"]) if "cursor" in params else None
    return SpendParams(SpendQuery(tenant, by, since, until, filters), listing, limit, after)
