"""The serving process freezes start-up's heap and makes gen0 collections rarer once its app
has started, and only then; requests pass through untouched. The collector is process-wide,
so each check runs in a fresh interpreter rather than in the test process."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent("""
    import asyncio, gc, json
    from gateway.gc_tuning import GEN0_THRESHOLD, after_startup

    seen = []

    async def app(scope, receive, send):
        if scope["type"] == "lifespan":
            await receive()
            seen.append(("before startup.complete", gc.get_freeze_count(),
                         gc.get_threshold()[0] == GEN0_THRESHOLD))
            await send({"type": "lifespan.startup.complete"})
            await receive()
            await send({"type": "lifespan.shutdown.complete"})
        else:
            seen.append(("http", scope["path"]))
            await send({"type": "http.response.start", "status": 204, "headers": []})
            await send({"type": "http.response.body", "body": b""})

    async def main():
        wrapped = after_startup(app)
        sent = []

        async def send(message):
            sent.append(message["type"])
            if message["type"] == "lifespan.startup.complete":
                seen.append(("sent startup.complete", gc.get_freeze_count() > 0,
                             gc.get_threshold()[0] == GEN0_THRESHOLD))

        messages = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])

        async def receive():
            return next(messages)

        await wrapped({"type": "lifespan"}, receive, send)
        await wrapped({"type": "http", "path": "/v1/chat/completions"}, receive, send)
        print(json.dumps({"seen": seen, "sent": sent}))

    asyncio.run(main())
""")


def test_the_heap_is_frozen_once_startup_completes_and_requests_pass_through() -> None:
    out = subprocess.run([sys.executable, "-c", SCRIPT], cwd=REPO, capture_output=True,
                         text=True, check=True, env={"PYTHONPATH": str(REPO)}).stdout
    result = json.loads(out)
    before, settled, http = result["seen"]
    assert before == ["before startup.complete", 0, False]  # CPython's own until then
    assert settled == ["sent startup.complete", True, True]
    assert http == ["http", "/v1/chat/completions"]
    assert result["sent"] == ["lifespan.startup.complete", "lifespan.shutdown.complete",
                              "http.response.start", "http.response.body"]
