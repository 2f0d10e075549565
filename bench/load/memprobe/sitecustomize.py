"""Memory probe for a gateway under load: where RSS growth lives (Python objects or native).

Put this folder first on PYTHONPATH and name an output prefix; every Python process that
imports `gateway` then writes one JSON line per period to PREFIX.<pid>:

    PYTHONPATH=bench/load/memprobe COSTROUTE_MEMPROBE_OUT=/tmp/probe \\
        .venv/bin/python bench/load/run.py --soak-seconds 600 ...

Each line: RSS; glibc's `mallinfo2` (heap arena, mmapped, bytes in use, free); Python's
allocated blocks and gc-tracked objects, and per type the change since the first minute.
Growing "inuse_mb" with flat "blocks" and "nobj" means native memory (a C/Rust library, or
numpy buffers); the k-NN fresh-prompt soak's rise was found this way (README, Load and soak).
COSTROUTE_MEMPROBE_EVERY sets the period (15 s); COSTROUTE_MEMPROBE_TRACE=SECONDS also starts
tracemalloc after that many seconds and logs the top growth by line (slow: several-fold fewer
requests per second).
"""

from __future__ import annotations

import os
import threading

PREFIX = os.environ.get("COSTROUTE_MEMPROBE_OUT")


def _probe(prefix: str) -> None:
    import collections
    import ctypes
    import gc
    import json
    import sys
    import time

    time.sleep(5)
    if "gateway" not in sys.modules:
        return  # the stub upstream, wrk's helpers: not what we measure

    class MallInfo2(ctypes.Structure):
        _fields_ = [(name, ctypes.c_size_t) for name in (
            "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
            "uordblks", "fordblks", "keepcost")]

    mallinfo2 = ctypes.CDLL("libc.so.6").mallinfo2
    mallinfo2.restype = MallInfo2
    every = float(os.environ.get("COSTROUTE_MEMPROBE_EVERY", "15"))
    trace_after = os.environ.get("COSTROUTE_MEMPROBE_TRACE")
    page = os.sysconf("SC_PAGE_SIZE")
    first_types: collections.Counter[str] | None = None
    first_snapshot = None
    start = time.time()
    with open(f"{prefix}.{os.getpid()}", "a") as out:
        while True:
            elapsed = time.time() - start
            with open("/proc/self/statm") as statm:
                rss = int(statm.read().split()[1]) * page / 2**20
            info = mallinfo2()
            types = collections.Counter(type(o).__name__ for o in gc.get_objects())
            row: dict[str, object] = {
                "t": round(elapsed), "rss_mb": round(rss, 1),
                "arena_mb": round(info.arena / 2**20, 1), "mmap_mb": round(info.hblkhd / 2**20, 1),
                "inuse_mb": round(info.uordblks / 2**20, 1),
                "free_mb": round(info.fordblks / 2**20, 1),
                "blocks": sys.getallocatedblocks(), "nobj": sum(types.values()),
            }
            if first_types is None and elapsed > 60:
                first_types = types
            if first_types is not None:
                row["type_change"] = {k: types[k] - first_types.get(k, 0) for k in types
                                      if abs(types[k] - first_types.get(k, 0)) > 200}
            if trace_after is not None and elapsed > float(trace_after):
                import tracemalloc

                if not tracemalloc.is_tracing():
                    tracemalloc.start(1)
                else:
                    snapshot = tracemalloc.take_snapshot()
                    if first_snapshot is None:
                        first_snapshot = snapshot
                    else:
                        top = snapshot.compare_to(first_snapshot, "lineno")[:8]
                        row["tracemalloc_top"] = [str(stat) for stat in top]
            out.write(json.dumps(row) + "\n")
            out.flush()
            time.sleep(every)


if PREFIX:
    threading.Thread(target=_probe, args=(PREFIX,), name="memprobe", daemon=True).start()
