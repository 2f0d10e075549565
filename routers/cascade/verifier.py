"""Verifier signal for code answers: does the code parse, run, and pass the prompt's tests?

The code never runs in the calling (gateway or training) process. `Sandbox` starts one
worker process (`sandbox_worker.py`) with Python's isolated mode (-I), under `unshare -n`
when the machine allows it (root, or user namespaces: the worker then has no network
interface but loopback, and loopback is down), and the worker runs each answer in a forked
child with CPU-time (2 s), address-space (512 MiB) and file-size (1 MiB) limits, in a fresh
temporary directory, killed after a wall-clock timeout. Where `unshare` is unavailable the
worker runs without a network namespace: a best effort, said in `Sandbox.isolation`. There
is no seccomp filter; an answer can still read files the user can read.

Features (`VERIFIER_FEATURES`): is there code, does it parse, does it run (its own examples
and asserts included), the share of the prompt's `assert` tests it passes (0.5 when the
prompt states none), and whether any test was stated.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Protocol, Self

import numpy as np
import numpy.typing as npt

from routers.cascade.agreement import unwrap

VERIFIER_FEATURES = ("has_code", "parses", "runs", "tests_passed_share", "has_tests")
TIMEOUT_S = 2.0
_FENCE = re.compile(r"```(?:python|py|Python)?[^\n]*\n(.*?)```", re.DOTALL)
_ASSERT = re.compile(r"^\s*assert\b.*$", re.MULTILINE)


def extract_code(answer: str) -> str | None:
    """The Python in an answer: its fenced blocks joined, or the whole text if it parses."""
    text = unwrap(answer)
    blocks = _FENCE.findall(text)
    if blocks:
        return "\n\n".join(b.strip("\n") for b in blocks)
    if "def " in text:
        try:
            compile(text, "<answer>", "exec")
        except (SyntaxError, ValueError):
            return None
        return text
    return None


def prompt_tests(prompt: str) -> list[str]:
    """The `assert ...` lines a prompt states (MBPP's test list)."""
    return [line.strip() for line in _ASSERT.findall(unwrap(prompt))]


class CodeRunner(Protocol):
    def run(self, code: str, tests: Sequence[str] = ()) -> dict[str, object]:
        """{"parses", "runs", "passed", "tests"} of `code` followed by `tests`."""


class Sandbox:
    """A worker process that runs code answers under limits; use as a context manager."""

    def __init__(self, timeout_s: float = TIMEOUT_S, isolation: str | None = None):
        self.timeout_s = timeout_s
        if isolation is None:
            isolation = "unshare -n" if _can_unshare() else "rlimits only (no unshare)"
        self.isolation = isolation
        # -I ignores PYTHONPATH and the user's site: the worker (stdlib only) runs by path.
        command = [sys.executable, "-I", str(Path(__file__).with_name("sandbox_worker.py"))]
        if self.isolation.startswith("unshare"):
            command = ["unshare", "-n", *command]
        self._process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd="/",
            env={"PATH": "/usr/bin:/bin"},
        )
        self._lock = threading.Lock()

    def run(self, code: str, tests: Sequence[str] = ()) -> dict[str, object]:
        """{"parses", "runs", "passed", "tests"} of `code` followed by `tests`."""
        job = {"code": code, "tests": list(tests), "timeout_s": self.timeout_s}
        with self._lock:
            assert self._process.stdin is not None and self._process.stdout is not None
            self._process.stdin.write(json.dumps(job) + "\n")
            self._process.stdin.flush()
            line = self._process.stdout.readline()
        if not line:
            raise RuntimeError("the sandbox worker exited")
        result: dict[str, object] = json.loads(line)
        return result

    def close(self) -> None:
        if self._process.stdin is not None:
            with contextlib.suppress(OSError):  # a dead worker: the unsent job breaks the pipe
                self._process.stdin.close()
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class SandboxPool:
    """Warm sandbox workers shared by concurrent callers (the gateway's cascade).

    A worker carries nothing from one answer to the next: each answer still runs in a fresh
    forked child of it, under its own limits and in its own temporary directory. What the
    pool saves is the worker's start, about 40 ms of `unshare` and Python per answer. At
    most `size` workers run answers at once; a caller beyond that waits for one. A worker
    that died (or failed a job) is dropped and the job tried once on a fresh one.
    """

    def __init__(self, size: int = 4, timeout_s: float = TIMEOUT_S,
                 factory: Callable[[], Sandbox] | None = None):
        self.size = size
        self._factory = factory or self._start
        self._timeout_s = timeout_s
        self._isolation: str | None = None  # probed once, on the first start
        self._idle: list[Sandbox] = []
        self._running = 0  # workers started and not closed
        self._free = threading.Condition()
        self.started = 0  # workers ever started, for tests and metrics

    def _start(self) -> Sandbox:
        sandbox = Sandbox(self._timeout_s, self._isolation)
        self._isolation = sandbox.isolation
        return sandbox

    def run(self, code: str, tests: Sequence[str] = ()) -> dict[str, object]:
        for attempt in (0, 1):
            sandbox = self._take()
            try:
                result = sandbox.run(code, tests)
            except (RuntimeError, OSError, ValueError):
                self._drop(sandbox)
                if attempt:
                    raise
                continue
            self._give(sandbox)
            return result
        raise AssertionError("unreachable")

    def _take(self) -> Sandbox:
        with self._free:
            while not self._idle and self._running >= self.size:
                self._free.wait()
            if self._idle:
                return self._idle.pop()
            self._running += 1
        try:
            sandbox = self._factory()
        except BaseException:
            with self._free:
                self._running -= 1
                self._free.notify()
            raise
        self.started += 1
        return sandbox

    def _give(self, sandbox: Sandbox) -> None:
        with self._free:
            self._idle.append(sandbox)
            self._free.notify()

    def _drop(self, sandbox: Sandbox) -> None:
        sandbox.close()
        with self._free:
            self._running -= 1
            self._free.notify()

    def close(self) -> None:
        with self._free:
            idle, self._idle = self._idle, []
            self._running -= len(idle)
        for sandbox in idle:
            sandbox.close()


def _can_unshare() -> bool:
    if shutil.which("unshare") is None:
        return False
    try:
        done = subprocess.run(
            ["unshare", "-n", "true"], capture_output=True, timeout=5, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


def verifier_features(
    sandbox: CodeRunner | None,
    answer: str | None,
    prompt: str,
    cache: dict[str, list[float]] | None = None,
) -> list[float]:
    """The `VERIFIER_FEATURES` of one answer (zeros when it holds no code; only code needs
    the sandbox)."""
    code = extract_code(answer or "")
    tests = prompt_tests(prompt)
    if code is None:
        return [0.0, 0.0, 0.0, 0.5 if not tests else 0.0, 1.0 if tests else 0.0]
    key = json.dumps([code, tests])
    if cache is not None and key in cache:
        return cache[key]
    if sandbox is None:
        raise ValueError("running a code answer needs a Sandbox")
    result = sandbox.run(code, tests)
    total = int(str(result.get("tests", 0)))
    share = int(str(result.get("passed", 0))) / total if total else 0.5
    features = [
        1.0,
        1.0 if result.get("parses") else 0.0,
        1.0 if result.get("runs") else 0.0,
        share,
        1.0 if total else 0.0,
    ]
    if cache is not None:
        cache[key] = features
    return features


def verifier_matrix(
    sandbox: CodeRunner,
    answers: Sequence[str | None],
    prompts: Sequence[str],
    cache: dict[str, list[float]] | None = None,
) -> npt.NDArray[np.float64]:
    """(n, len(VERIFIER_FEATURES)) for n answers to their prompts."""
    return np.array(
        [verifier_features(sandbox, a, p, cache) for a, p in zip(answers, prompts, strict=True)],
        dtype=np.float64,
    ).reshape(len(answers), len(VERIFIER_FEATURES))
