"""Where costroute's per-request CPU goes: py-spy on the gateway under wrk, per cell.

Starts the stub and costroute as bench/overhead/run.py does (access log on), then for each
of plain/streaming x 1/32 connections records py-spy (collapsed stacks, `--format raw`,
which any flame graph tool renders) while wrk drives the gateway, and prints the top
entries by own time and by inclusive time.
Run: python bench/overhead/profile.py [--seconds 8] [--out DIR]
"""

from __future__ import annotations

import argparse
import collections
import os
import shutil
import subprocess
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from bench.overhead.probes import wrk
from bench.overhead.run import BODY, KEY, _serving

TOP = 12
CELLS = ("plain-c1", "plain-c32", "stream-c1", "stream-c32")


def _frame(entry: str) -> str:
    """`function (path/to/module.py:LINE)` -> `function (module.py)`: lines apart merge."""
    name, _, where = entry.partition(" (")
    path = where.rsplit(":", 1)[0]
    return f"{name} ({'/'.join(Path(path).parts[-2:])})"


def top_entries(collapsed: Path) -> tuple[int, list[tuple[str, int]], list[tuple[str, int]]]:
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        n = int(count)
        total += n
        frames = [_frame(f) for f in stack.split(";")[1:]]  # [0] is the process/thread
        if frames:
            own[frames[-1]] += n
        for frame in set(frames):
            inclusive[frame] += n
    return total, own.most_common(TOP), inclusive.most_common(TOP * 3)


COMPONENTS = (  # (label, how the innermost frame's file starts, as py-spy names it)
    ("spend log thread: write + fsync", ("gateway/ledger/journal.py", "concurrent/futures/",
                                         "threading.py")),
    ("language ID (py3langid, numpy)", ("py3langid/", "numpy/", "pricing/langid.py")),
    ("token counts (tiktoken)", ("tiktoken/",)),
    ("costroute pipeline", ("gateway/", "pricing/", "routers/", "dispatch.py", "http.py",
                            "pool.py", "normalize.py")),
    ("aiohttp client (upstream)", ("aiohttp/", "multidict/", "yarl/", "aiohappyeyeballs/",
                                   "propcache/")),
    ("uvicorn server, socket writes", ("uvicorn/", "httptools/")),
    ("FastAPI / Starlette", ("fastapi/", "starlette/", "anyio/")),
    ("pydantic validation", ("pydantic/", "pydantic_core/")),
    ("prometheus_client", ("prometheus_client/",)),
    ("logging", ("logging/",)),
    ("asyncio, stdlib", ("asyncio/", "<frozen", "<string>", "contextlib.py", "collections/",
                         "uuid.py", "_weakrefset.py", "fnmatch.py", "datetime.py",
                         "zoneinfo/", "json/", "enum.py", "typing.py", "functools.py")),
)
IDLE = ("Runner.run (", "_worker (")  # the event loop waiting; an idle pool thread


def by_component(collapsed: Path) -> tuple[int, list[tuple[str, int]]]:
    """Busy samples, and how many had their innermost frame in each component."""
    counts: collections.Counter[str] = collections.Counter()
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        leaf = stack.split(";")[-1]
        if not stack or leaf.startswith(IDLE):
            continue
        total += int(count)
        where = leaf.partition(" (")[2]
        label = next((name for name, starts in COMPONENTS if where.startswith(starts)),
                     "other")
        counts[label] += int(count)
    return total, counts.most_common()


def summarize(out: Path) -> None:
    print("| component (innermost frame) | " + " | ".join(CELLS) + " |")
    print("|---|" + "---|" * len(CELLS))
    tables = {cell: dict(by_component(out / f"{cell}.collapsed.txt")[1]) for cell in CELLS}
    totals = {cell: by_component(out / f"{cell}.collapsed.txt")[0] for cell in CELLS}
    for name, _ in (*COMPONENTS, ("other", ())):
        print(f"| {name} | " + " | ".join(
            f"{100 * tables[c].get(name, 0) / max(totals[c], 1):.1f}%" for c in CELLS) + " |")


def pyspy_path() -> str:
    """py-spy on PATH, else beside this Python (a venv's `pip install py-spy`)."""
    return shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--gil", action="store_true",
                        help="sample only the thread holding the GIL (CPU in Python, not waits)")
    parser.add_argument("--summarize", type=Path, default=None,
                        help="only print the component table of an earlier run's --out DIR")
    args = parser.parse_args()
    if args.summarize:
        summarize(args.summarize)
        return
    pyspy = pyspy_path()
    workdir = Path(tempfile.mkdtemp(prefix="costroute-profile-"))
    out = args.out or workdir
    out.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with ExitStack() as stack:
        gw, url = _serving(stack, workdir, "profile", env)
        wrk(url, BODY, 4, 2, KEY)
        wrk(url, {**BODY, "stream": True}, 4, 1, KEY)
        for stream in (False, True):
            for conns in (1, 32):
                name = f"{'stream' if stream else 'plain'}-c{conns}"
                raw = out / f"{name}.collapsed.txt"
                spy = subprocess.Popen([pyspy, "record", "--pid", str(gw.pid), "--rate", "250",
                                        "--duration", str(args.seconds), "--format", "raw",
                                        "--nonblocking", "-o", str(raw),
                                        *(["--gil"] if args.gil else [])],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                body = {**BODY, "stream": True} if stream else BODY
                result = wrk(url, body, conns, args.seconds, KEY)
                spy.wait(60)
                total, own, inclusive = top_entries(raw)
                print(f"\n## {name}: {result['rps']:.0f} rps, {total} samples")
                print("own time:")
                for frame, n in own:
                    print(f"  {100 * n / total:5.1f}%  {frame}")
                print("inclusive:")
                for frame, n in inclusive:
                    print(f"  {100 * n / total:5.1f}%  {frame}")
    print()
    summarize(out)
    print(f"\ncollapsed stacks in {out}")


if __name__ == "__main__":
    main()
