"""wrk, driven the way bench/overhead does it, but with several targets and body mixes.

Several wrk processes run at once (one per target URL): a stand-in for a load balancer that
spreads clients over replicas. Their outputs are parsed by bench/overhead's parser.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bench.overhead.run import KEY, _parse_wrk

WRK = "wrk"
# Replaced in a body by the request's counter: every such request carries a new prompt.
FRESH = "__FRESH__"


def lua_script(bodies: Sequence[dict[str, Any]], auth: bool) -> str:
    """A wrk script sending `bodies` in turn (POST, JSON, bearer key if `auth`); `FRESH` in a
    body becomes a counter, so that prompt is new on every request."""
    encoded = ", ".join(json.dumps(json.dumps(b)) for b in bodies)
    auth_header = f', ["Authorization"] = "Bearer {KEY}"' if auth else ""
    return (
        f"local bodies = {{{encoded}}}\n"
        f'local headers = {{["Content-Type"] = "application/json"{auth_header}}}\n'
        "local i = 0\n"
        "request = function()\n"
        "  i = i + 1\n"
        f'  local body = bodies[(i % #bodies) + 1]:gsub("{FRESH}", tostring(i))\n'
        '  return wrk.format("POST", nil, headers, body)\n'
        "end\n"
    )


@dataclass(frozen=True)
class Result:
    """One or more wrk runs, combined: RPS adds up; p50 is request-weighted, p99 the worst."""

    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    non_2xx: int
    socket_errors: int

    @property
    def errors(self) -> int:
        return self.non_2xx + self.socket_errors


def _socket_errors(output: str) -> int:
    match = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
                      output)
    return sum(int(g) for g in match.groups()) if match else 0


def run(urls: Sequence[str], script: str, connections: int, seconds: int,
        timeout_s: int = 10) -> Result:
    """Runs one wrk per URL at once, `connections` split evenly between them."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    each = max(1, connections // len(urls))
    try:
        procs = [subprocess.Popen(
            [WRK, "-t1", f"-c{each}", f"-d{seconds}s", f"--timeout={timeout_s}s", "--latency",
             "-s", handle.name, url], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True) for url in urls]
        outputs = [p.communicate(timeout=seconds + 60)[0] for p in procs]
    finally:
        os.unlink(handle.name)
    parsed = [_parse_wrk(out) for out in outputs]
    requests = sum(int(p["requests"]) for p in parsed)
    weights = [max(p["requests"], 1.0) for p in parsed]
    p50 = sum(p["p50_ms"] * w for p, w in zip(parsed, weights, strict=True)) / sum(weights)
    return Result(rps=sum(p["rps"] for p in parsed), p50_ms=p50,
                  p99_ms=max(p["p99_ms"] for p in parsed), requests=requests,
                  non_2xx=sum(int(p["errors"]) for p in parsed),
                  socket_errors=sum(_socket_errors(out) for out in outputs))
