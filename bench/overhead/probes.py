"""What bench/overhead measures with: wrk runs, a time-to-first-event probe, process CPU and RSS."""

from __future__ import annotations

import asyncio
import json
import os
import re
import statistics
import subprocess
import tempfile
import time
from pathlib import Path


def wrk(url: str, body: dict[str, object], connections: int, seconds: int,
        key: str | None) -> dict[str, float]:
    """One wrk run (one thread, `connections` keep-alive connections) POSTing `body`."""
    lua = (
        'wrk.method = "POST"\n'
        f"wrk.body = {json.dumps(json.dumps(body))}\n"
        'wrk.headers["Content-Type"] = "application/json"\n'
        + (f'wrk.headers["Authorization"] = "Bearer {key}"\n' if key else "")
    )
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(lua)
    try:
        out = subprocess.run(
            ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", f.name, url],
            capture_output=True, text=True, check=True).stdout
    except FileNotFoundError:
        raise SystemExit("wrk is not installed: sudo apt-get install -y wrk") from None
    finally:
        os.unlink(f.name)
    return parse_wrk(out)


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def parse_wrk(out: str) -> dict[str, float]:
    result: dict[str, float] = {}
    for pct in ("50", "99"):
        m = re.search(rf"^\s+{pct}(?:\.000)?%\s+([\d.]+)(us|ms|s)\s*$", out, re.MULTILINE)
        result[f"p{pct}_ms"] = _ms(*m.groups()) if m else float("nan")
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    result["rps"] = float(m.group(1)) if m else 0.0
    m = re.search(r"(\d+) requests in", out)
    result["requests"] = float(m.group(1)) if m else 0.0
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    result["errors"] = float(m.group(1)) if m else 0.0
    return result


def first_event_ms(url: str, body: dict[str, object], key: str | None, requests: int) -> float:
    """Median time from sending a streaming request to its first `data:` event, one at a time
    on one keep-alive connection (raw sockets: the probe's own cost stays small)."""
    return statistics.median(asyncio.run(_first_events(url, body, key, requests)))


async def _first_events(url: str, body: dict[str, object], key: str | None,
                        requests: int) -> list[float]:
    m = re.match(r"http://([^:/]+):(\d+)(/.*)", url)
    assert m, url
    host, port, path = m.group(1), int(m.group(2)), m.group(3)
    payload = json.dumps(body).encode()
    head = (f"POST {path} HTTP/1.1\r\nhost: {host}\r\ncontent-type: application/json\r\n"
            f"content-length: {len(payload)}\r\n"
            + (f"authorization: Bearer {key}\r\n" if key else "") + "\r\n").encode()
    reader, writer = await asyncio.open_connection(host, port)
    times: list[float] = []
    try:
        for _ in range(requests):
            started = time.perf_counter()
            writer.write(head + payload)
            received = await reader.readuntil(b"data:")
            times.append((time.perf_counter() - started) * 1000)
            # The rest: up to [DONE] and the body's end (chunked or by length).
            rest = received + await reader.readuntil(b"[DONE]")
            if b"transfer-encoding: chunked" in rest.lower():
                await reader.readuntil(b"0\r\n\r\n")
            else:
                await reader.readuntil(b"\n\n")
    finally:
        writer.close()
    return times


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of `pid` and every process below it (workers, LiteLLM's)."""
    total = 0.0
    for child in [pid, *_descendants(pid)]:
        try:
            fields = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def _descendants(pid: int) -> list[int]:
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        children = parents.get(todo.pop(), [])
        found += children
        todo += children
    return found


def rss_mb(pid: int) -> float:
    """Resident memory of `pid` and its descendants, in MiB."""
    total = 0.0
    for child in [pid, *_descendants(pid)]:
        try:
            lines = Path(f"/proc/{child}/status").read_text().splitlines()
        except (FileNotFoundError, ProcessLookupError):
            continue
        total += next((int(line.split()[1]) / 1024 for line in lines
                       if line.startswith("VmRSS:")), 0.0)
    return total
