"""Request ids: `req_` + 32 hex digits, time first (they sort by creation), never repeated."""

from __future__ import annotations

import re
import time

from gateway.middleware import new_request_id


def test_request_ids_sort_by_time_and_do_not_repeat() -> None:
    first = new_request_id()
    time.sleep(0.002)
    ids = [new_request_id() for _ in range(10_000)]
    assert all(re.fullmatch(rb"req_[0-9a-f]{32}", x) for x in [first, *ids])
    assert len(set(ids)) == len(ids)
    assert all(first < x for x in ids), "a later millisecond sorts after"
    millis = int(ids[-1][4:16], 16)
    assert abs(millis - time.time() * 1000) < 60_000
