"""What the trace hooks cost per request: tracing off (NoTracing) against on (OtelTracing
batching to a loopback OTLP/HTTP sink). Hooks only, no HTTP request path, so the figure is
the tracing code's own cost.

    PYTHONPATH=. .venv/bin/python bench/tracing/overhead.py --requests 20000
"""

from __future__ import annotations

import argparse
import os
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from bench.machine import machine
from gateway.context import RequestContext
from gateway.tenants.config import TenantConfig
from gateway.tracing import Tracing, build_tracing
from routers.base import Decision


class _Sink(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", 0)))
        self.send_response(200)
        self.send_header("content-type", "application/x-protobuf")
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return None


def one_request(tracing: Tracing, tenant: TenantConfig, i: int) -> None:
    """The hooks one routed, non-streaming request calls, in the order the gateway calls them."""
    ctx = RequestContext(f"req-{i}", tenant)
    tracing.start_request(ctx, "auto", False)
    with tracing.activate(ctx):
        tracing.decision("auto", Decision("gpt-4o-mini", "table", 0.0001, 0.8), "table", 0.0001)
        with tracing.attempt("gpt-4o-mini", 1):
            pass
        ctx.log.update(model="gpt-4o-mini", prompt_tokens=20, completion_tokens=40,
                       cost_usd=0.00003, reason="table")
    tracing.end_request(ctx, 200)


def no_hooks(tracing: Tracing, tenant: TenantConfig, i: int) -> None:
    """The same work without any hook: the baseline the hooks are measured against."""
    ctx = RequestContext(f"req-{i}", tenant)
    Decision("gpt-4o-mini", "table", 0.0001, 0.8)
    ctx.log.update(model="gpt-4o-mini", prompt_tokens=20, completion_tokens=40,
                   cost_usd=0.00003, reason="table")


def per_request_us(tracing: Tracing, requests: int, body: Callable[..., None] = one_request
                   ) -> float:
    tenant = TenantConfig(name="bench")
    for i in range(min(1000, requests)):  # warm-up
        body(tracing, tenant, i)
    started = time.perf_counter()
    for i in range(requests):
        body(tracing, tenant, i)
    return (time.perf_counter() - started) / requests * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20000)
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Sink)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    os.environ.setdefault("OTEL_BSP_MAX_QUEUE_SIZE", str(args.requests * 4))
    off = build_tracing(None, {}, environ={})
    on = build_tracing(None, {"gpt-4o-mini": "openai"}, environ={
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{server.server_port}"})
    print(f"command: PYTHONPATH=. .venv/bin/python bench/tracing/overhead.py --requests {args.requests}")
    print(machine())
    base_us = per_request_us(off, args.requests, no_hooks)
    off_us = per_request_us(off, args.requests)
    on_us = per_request_us(on, args.requests)
    print(f"no hooks:    {base_us:8.2f} us per request (context, decision, log fields)")
    print(f"tracing off: {off_us:8.2f} us per request; the hooks add {off_us - base_us:.2f} us")
    print(f"tracing on:  {on_us:8.2f} us per request (2 spans, batched OTLP export); "
          f"the hooks add {on_us - base_us:.2f} us")
    on.provider.shutdown()  # type: ignore[attr-defined]
    server.shutdown()


if __name__ == "__main__":
    main()
