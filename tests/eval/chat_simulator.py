"""A stand-in chat-completions simulator on loopback, for live-evaluation tests.

Not the project's simulator (gateway/simulator): a few dozen lines of stdlib HTTP server
with scripted answers, so tests can count exactly which requests were paid for.
"""

from __future__ import annotations

import json
import re
import threading
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

COST_HEADER = "x-costroute-cost-usd"


class StandInSimulator:
    """Scripted models: `answers[model][prompt]` is the reply; unknown prompts get "?".

    Models in `header_costs` send that USD amount in the cost header (as the gateway
    does); `flaky` models answer 503 to their first request.
    """

    def __init__(
        self,
        answers: Mapping[str, Mapping[str, str]],
        header_costs: Mapping[str, float] | None = None,
        flaky: frozenset[str] = frozenset(),
    ) -> None:
        self.answers = answers
        self.header_costs = dict(header_costs or {})
        self.flaky = set(flaky)
        self.calls: Counter[str] = Counter()
        self._lock = threading.Lock()

    def reply(self, body: Mapping[str, Any]) -> tuple[int, dict[str, str], dict[str, Any]]:
        model = str(body.get("model"))
        with self._lock:
            self.calls[model] += 1
            if model in self.flaky:
                self.flaky.discard(model)
                return 503, {}, {"error": {"message": "busy, retry"}}
        if model not in self.answers and model != "sim-judge":
            return 404, {}, {"error": {"message": f"model {model} not found"}}
        prompt = body["messages"][-1]["content"]
        text = _judge(prompt) if model == "sim-judge" else self.answers[model].get(prompt, "?")
        headers = {COST_HEADER: str(self.header_costs[model])} if model in self.header_costs else {}
        payload = {
            "id": "chatcmpl-standin",
            "object": "chat.completion",
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "stop",
                    "message": {"role": "assistant", "content": text},
                }
            ],
            "usage": {"prompt_tokens": 10, "completion_tokens": 2, "total_tokens": 12},
        }
        return 200, headers, payload


def _judge(prompt: str) -> str:
    reference = re.search(r"Reference answer:\n(.*?)\n\n", prompt, re.DOTALL)
    candidate = re.search(r"Candidate answer:\n(.*?)\n\n", prompt, re.DOTALL)
    same = reference and candidate and reference.group(1).strip() in candidate.group(1)
    return "YES" if same else "NO"


@contextmanager
def serve(sim: StandInSimulator) -> Iterator[str]:
    """Run `sim` on 127.0.0.1 (free port); yields its base URL ending in /v1."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", 0))
            status, headers, payload = sim.reply(json.loads(self.rfile.read(length)))
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
