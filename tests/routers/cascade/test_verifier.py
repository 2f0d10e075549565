"""The code verifier runs answers in a limited sandbox process, never in ours."""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from routers.cascade.verifier import (
    Sandbox,
    SandboxPool,
    extract_code,
    prompt_tests,
    verifier_features,
)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(timeout_s=1.0) as box:
        yield box


def test_code_is_extracted_from_fences_and_tests_from_the_prompt() -> None:
    answer = "['Here:\\n```python\\ndef f(x):\\n    return x + 1\\n```\\nDone.']"
    assert extract_code(answer) == "def f(x):\n    return x + 1"
    assert extract_code("The answer is B") is None
    assert prompt_tests("Write f.\nassert f(1) == 2\nassert f(2) == 3") == [
        "assert f(1) == 2",
        "assert f(2) == 3",
    ]


def test_passing_failing_and_broken_code(sandbox: Sandbox) -> None:
    assert sandbox.run("def f(x):\n    return x + 1", ["assert f(1) == 2", "assert f(1) == 3"]) == {
        "parses": True, "runs": True, "passed": 1, "tests": 2,
    }
    assert sandbox.run("def f(:", [])["parses"] is False
    assert sandbox.run("raise SystemExit(3)", [])["runs"] is False


def test_limits_end_loops_and_memory_hogs(sandbox: Sandbox) -> None:
    assert sandbox.run("while True:\n    pass", [])["runs"] is False
    assert sandbox.run("x = bytearray(4 * 1024 ** 3)", [])["runs"] is False
    # The sandbox still answers afterwards.
    assert sandbox.run("y = 1", [])["runs"] is True


def test_no_network_when_unshare_is_available(sandbox: Sandbox) -> None:
    if not sandbox.isolation.startswith("unshare"):
        pytest.skip("unshare -n is not available here: rlimits only")
    code = "import socket\nsocket.create_connection(('127.0.0.1', 9), timeout=1)"
    assert sandbox.run(code, [])["runs"] is False


def test_the_answer_never_runs_in_this_process(sandbox: Sandbox, tmp_path: object) -> None:
    marker = f"/tmp/costroute-verifier-{os.getpid()}"
    code = f"import os\nMARK = os.getpid()\nopen('{marker}', 'w').write(str(os.getpid()))"
    features = verifier_features(sandbox, f"```python\n{code}\n```", "Write it.")
    assert features[:3] == [1.0, 1.0, 1.0]
    with open(marker) as written:
        assert int(written.read()) != os.getpid()
    os.remove(marker)


def test_a_pool_reuses_warm_workers_and_no_answer_sees_the_last_ones_state() -> None:
    pool = SandboxPool(size=2, timeout_s=1.0)
    try:
        # Each answer runs in a fresh child: a global set by one is gone for the next.
        assert pool.run("import builtins\nbuiltins.LEFT = 1", [])["runs"] is True
        assert pool.run("import builtins\nassert not hasattr(builtins, 'LEFT')", [])["runs"]
        assert pool.run("def f(x):\n    return x * 2", ["assert f(2) == 4"])["passed"] == 1
        assert pool.started == 1
        with ThreadPoolExecutor(4) as threads:
            results = list(threads.map(lambda i: pool.run(f"x = {i}", [])["runs"], range(8)))
        assert all(results) and pool.started <= 2
    finally:
        pool.close()


def test_a_pool_replaces_a_worker_that_died() -> None:
    made: list[Sandbox] = []

    def start() -> Sandbox:
        made.append(Sandbox(timeout_s=1.0))
        return made[-1]

    pool = SandboxPool(size=1, factory=start)
    try:
        assert pool.run("y = 1", [])["runs"] is True
        made[0]._process.kill()
        made[0]._process.wait()
        assert pool.run("y = 2", [])["runs"] is True  # retried on a fresh worker
        assert len(made) == 2
    finally:
        pool.close()
