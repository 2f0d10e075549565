"""The sandbox's worker process: runs untrusted code answers, one forked child per job.

Started by `verifier.Sandbox` as `python -I -m routers.cascade.sandbox_worker`, under
`unshare -n` (no network namespace) when available. It reads one JSON job per line
({"code", "tests", "timeout_s"}) and writes one JSON result per line. Each job runs in a
forked child that first sets CPU-time, memory, file-size and process limits, moves to a
fresh temporary directory, then compiles and executes the code and the tests; the parent
waits at most a wall-clock timeout and kills the child after it. Nothing here imports the
gateway; the gateway process never executes answer code.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import sys
import tempfile

MEMORY_BYTES = 512 * 1024 * 1024
FILE_BYTES = 1024 * 1024


def _child(job: dict[str, object], write_fd: int) -> None:
    timeout = int(float(str(job.get("timeout_s", 2))) + 1)
    resource.setrlimit(resource.RLIMIT_CPU, (timeout, timeout))
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BYTES, MEMORY_BYTES))
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_BYTES, FILE_BYTES))
    resource.setrlimit(resource.RLIMIT_NPROC, (0, 0))
    os.chdir(tempfile.mkdtemp(prefix="costroute-sandbox-"))
    # The answer's prints go nowhere; only our result line reaches the parent.
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    result = {"parses": False, "runs": False, "passed": 0, "tests": 0}
    raw_tests = job.get("tests", [])
    tests = [str(t) for t in raw_tests] if isinstance(raw_tests, list) else []
    result["tests"] = len(tests)
    try:
        code = compile(str(job["code"]), "<answer>", "exec")
        result["parses"] = True
        scope: dict[str, object] = {"__name__": "__answer__"}
        os.write(write_fd, (json.dumps(result) + "\n").encode())
        exec(code, scope)  # noqa: S102 - the point of the sandbox
        result["runs"] = True
        os.write(write_fd, (json.dumps(result) + "\n").encode())
        for test in tests:
            try:
                exec(compile(test, "<test>", "exec"), scope)  # noqa: S102
                result["passed"] = int(str(result["passed"])) + 1
            except BaseException:  # noqa: BLE001, S110 - any failure of untrusted code: a fail
                pass
    except BaseException:  # noqa: BLE001, S110 - the result says how far it got
        pass
    os.write(write_fd, (json.dumps(result) + "\n").encode())
    os._exit(0)


def run_job(job: dict[str, object]) -> dict[str, object]:
    """Runs one job in a limited child; the last result line it wrote before it ended."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        try:
            _child(job, write_fd)
        finally:
            os._exit(1)
    os.close(write_fd)
    timeout = float(str(job.get("timeout_s", 2)))

    def expire(signum: int, frame: object) -> None:
        os.kill(pid, signal.SIGKILL)

    signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, timeout + 0.5)
    chunks = []
    with os.fdopen(read_fd, "rb") as pipe:
        while True:
            try:
                chunk = pipe.read(65536)
            except InterruptedError:
                continue
            if not chunk:
                break
            chunks.append(chunk)
    signal.setitimer(signal.ITIMER_REAL, 0)
    os.waitpid(pid, 0)
    lines = b"".join(chunks).decode(errors="replace").strip().splitlines()
    last: dict[str, object] = {"parses": False, "runs": False, "passed": 0, "tests": 0}
    if lines:
        last = json.loads(lines[-1])
    return last


def main() -> None:
    for line in sys.stdin:
        if line.strip():
            print(json.dumps(run_job(json.loads(line))), flush=True)


if __name__ == "__main__":
    main()
