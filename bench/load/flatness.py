"""RSS over time, and whether it is flat: a linear fit after warm-up against the noise.

A leak shows as a slope whose growth over the measured window clearly exceeds the scatter
of the samples around the fit; allocator noise and caches filling up during warm-up do not.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Self

import numpy as np


@dataclass(frozen=True)
class Flatness:
    """The verdict on one RSS series (MiB against seconds)."""

    samples: int
    start_mib: float  # first sample after warm-up
    end_mib: float
    slope_mib_per_h: float
    growth_mib: float  # slope × the measured window
    noise_mib: float  # standard deviation of the residuals of the fit
    tolerance_mib: float
    flat: bool

    def describe(self) -> str:
        verdict = "FLAT" if self.flat else "GROWING"
        return (f"{verdict}: {self.samples} samples after warm-up, {self.start_mib:.1f} -> "
                f"{self.end_mib:.1f} MiB, slope {self.slope_mib_per_h:+.2f} MiB/h, "
                f"fitted growth {self.growth_mib:+.2f} MiB vs tolerance "
                f"{self.tolerance_mib:.2f} MiB (3 x noise {self.noise_mib:.2f}, floor 1%)")


def flatness(times_s: Sequence[float], rss_mib: Sequence[float], warmup_s: float) -> Flatness:
    """Fits RSS = a + b·t to the samples after `warmup_s`; flat when b·window stays within
    max(3 × residual std, 1 % of the mean RSS)."""
    t = np.asarray(times_s, dtype=float)
    y = np.asarray(rss_mib, dtype=float)
    keep = t >= warmup_s
    t, y = t[keep], y[keep]
    if len(t) < 3:
        raise ValueError(f"need at least 3 samples after warm-up, have {len(t)}")
    slope, intercept = np.polyfit(t, y, 1)
    residuals = y - (intercept + slope * t)
    noise = float(np.std(residuals, ddof=2)) if len(t) > 2 else 0.0
    growth = float(slope * (t[-1] - t[0]))
    tolerance = max(3 * noise, 0.01 * float(np.mean(y)))
    return Flatness(len(t), float(y[0]), float(y[-1]), float(slope * 3600), growth, noise,
                    tolerance, abs(growth) <= tolerance)


class Sampler:
    """Calls `read()` every `interval_s` seconds in a thread; keeps (elapsed s, value)."""

    def __init__(self, read: Callable[[], float], interval_s: float = 10.0):
        self._read = read
        self._interval_s = interval_s
        self._stop = threading.Event()
        self.samples: list[tuple[float, float]] = []
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Self:
        self._started = time.monotonic()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while True:
            self.samples.append((time.monotonic() - self._started, self._read()))
            if self._stop.wait(self._interval_s):
                return
