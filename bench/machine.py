"""The one-line machine description every benchmark prints next to its figures."""

from __future__ import annotations

import os
import platform


def machine() -> str:
    """`machine: nproc=.. RAM=.. GiB load=../../.. ARCH python X.Y.Z`."""
    with open("/proc/meminfo") as meminfo:
        mem_kb = next((int(line.split()[1]) for line in meminfo
                       if line.startswith("MemTotal:")), 0)
    load = os.getloadavg()
    return (f"machine: nproc={os.cpu_count()} RAM={mem_kb / 2**20:.1f} GiB "
            f"load={load[0]:.1f}/{load[1]:.1f}/{load[2]:.1f} "
            f"{platform.processor() or platform.machine()} python {platform.python_version()}")
