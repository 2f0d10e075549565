"""A small synchronous client of the simulator's `/_simulator/*` control endpoints."""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType
from typing import Any, Self

import httpx


class SimulatorControlError(RuntimeError):
    """The simulator refused a control request; the message is its error message."""


class SimulatorControl:
    """Arms faults, queues scripted answers and reads request counts of one simulator.

    It is synchronous on purpose: the simulator serves from its own thread or process, so a
    blocking call from an async test does not stall the server it talks to.
    """

    def __init__(self, root_url: str, timeout_s: float = 10.0):
        self.root_url = root_url.rstrip("/")
        self._http = httpx.Client(base_url=self.root_url, timeout=timeout_s)

    def inject_fault(self, model: str, kind: str, count: int = 1, **params: Any) -> None:
        """Make the next `count` requests to `model` (or `*`) fail as `kind`.

        `params`: retry_after, delay_s, after_chunks, status, vllm_shape (see faults.py).
        """
        self._call("POST", "/_simulator/faults", {"model": model, "kind": kind, "count": count,
                                                  **params})

    def clear_faults(self, model: str | None = None) -> None:
        self._call("DELETE", "/_simulator/faults", params=_model_param(model))

    def pending_faults(self) -> dict[str, list[dict[str, Any]]]:
        faults: dict[str, list[dict[str, Any]]] = self._call("GET", "/_simulator/faults")["faults"]
        return faults

    def script(self, model: str, responses: Sequence[str]) -> None:
        """Queue exact answers that `model` returns, in order, before answering normally."""
        self._call("POST", "/_simulator/script", {"model": model, "responses": list(responses)})

    def clear_scripts(self, model: str | None = None) -> None:
        self._call("DELETE", "/_simulator/script", params=_model_param(model))

    def stats(self) -> dict[str, Any]:
        """`{"total", "requests": {model: n}, "faults": {model: {kind: n}}, "recent": [...]}`."""
        stats: dict[str, Any] = self._call("GET", "/_simulator/stats")
        return stats

    def requests(self, model: str) -> int:
        """How many chat requests named `model` since start or the last reset."""
        return int(self.stats()["requests"].get(model, 0))

    def reset_stats(self) -> None:
        self._call("DELETE", "/_simulator/stats")

    def reset(self) -> None:
        """Clear faults, scripts and stats."""
        self._call("POST", "/_simulator/reset")

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _call(
        self, method: str, path: str, body: Any = None, params: dict[str, str] | None = None
    ) -> Any:
        response = self._http.request(method, path, json=body, params=params)
        if response.status_code != 200:
            try:
                message = response.json()["error"]["message"]
            except (ValueError, KeyError, TypeError):
                message = response.text
            raise SimulatorControlError(f"{method} {path}: {response.status_code} {message}")
        return response.json()


def _model_param(model: str | None) -> dict[str, str] | None:
    return {"model": model} if model is not None else None
