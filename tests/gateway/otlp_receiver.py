"""A test OTLP/HTTP trace receiver on loopback: decodes the protobuf export, keeps the spans."""

from __future__ import annotations

import gzip
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.servers import serve_asgi

PROTOBUF = "application/x-protobuf"


@dataclass(frozen=True)
class ReceivedSpan:
    name: str
    kind: int  # opentelemetry.proto Span.SpanKind: 2 server, 3 client, 1 internal
    trace_id: str
    span_id: str
    parent_span_id: str
    attributes: dict[str, Any]
    status_code: int  # 0 unset, 1 ok, 2 error
    service: str


def plain(value: AnyValue) -> Any:
    which = value.WhichOneof("value")
    return getattr(value, which) if which else None


@dataclass
class Receiver:
    url: str = ""
    spans: list[ReceivedSpan] = field(default_factory=list)
    content_types: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def trace_of(self, predicate: Any, timeout_s: float = 15.0) -> list[ReceivedSpan]:
        """Every span of the first trace whose root span satisfies `predicate` (waits)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self.lock:
                roots = [s for s in self.spans if not s.parent_span_id and predicate(s)]
                if roots:
                    return [s for s in self.spans if s.trace_id == roots[0].trace_id]
            time.sleep(0.05)
        raise AssertionError(f"no matching trace among {[s.name for s in self.spans]}")


@contextmanager
def otlp_receiver() -> Iterator[Receiver]:
    receiver = Receiver()

    async def traces(request: Request) -> Response:
        body = await request.body()
        if request.headers.get("content-encoding") == "gzip":
            body = gzip.decompress(body)
        message = ExportTraceServiceRequest()
        message.ParseFromString(body)
        with receiver.lock:
            receiver.content_types.append(request.headers.get("content-type", ""))
            for resource_spans in message.resource_spans:
                resource = {a.key: plain(a.value) for a in resource_spans.resource.attributes}
                for scope_spans in resource_spans.scope_spans:
                    for span in scope_spans.spans:
                        receiver.spans.append(ReceivedSpan(
                            span.name, span.kind, span.trace_id.hex(), span.span_id.hex(),
                            span.parent_span_id.hex(),
                            {a.key: plain(a.value) for a in span.attributes},
                            span.status.code, str(resource.get("service.name"))))
        return Response(ExportTraceServiceResponse().SerializeToString(), media_type=PROTOBUF)

    app = Starlette(routes=[Route("/v1/traces", traces, methods=["POST"])])
    with serve_asgi(app) as root:
        receiver.url = root
        yield receiver
