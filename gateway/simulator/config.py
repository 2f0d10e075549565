"""How one simulator instance behaves: latency scale, seed, auth, and where its data comes from."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pricing import PriceCatalog, TokenizerRegistry

SYSTEM_FINGERPRINT = "costroute-simulator"
OWNED_BY = "costroute-simulator"


@dataclass(frozen=True)
class SimulatorConfig:
    """Settings of one simulator app. The defaults serve the shipped models and recordings.

    `latency_scale` multiplies every simulated delay (0 = answer at once, for tests; fault
    delays such as `slow` are not scaled). `seed` changes every synthetic answer. With
    `api_key` set, `/v1/*` requires `Authorization: Bearer <api_key>`; the `/_simulator/*`
    control endpoints never do, and exist only while `control` is true.
    """

    latency_scale: float = 1.0
    seed: int = 0
    api_key: str | None = field(default=None, repr=False)
    models_path: Path | None = None
    recordings_path: Path | None = None
    control: bool = True
    recent_requests: int = 100
    # ε of the simulated judge (gateway/simulator/judge.py): chance it flips a recorded grade.
    judge_flip: float = 0.0
    catalog: PriceCatalog | None = field(default=None, compare=False, repr=False)
    tokenizers: TokenizerRegistry | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.latency_scale < 0:
            raise ValueError("latency_scale must be >= 0")
        if not 0.0 <= self.judge_flip <= 1.0:
            raise ValueError("judge_flip must be in [0, 1]")
        if self.recent_requests < 0:
            raise ValueError("recent_requests must be >= 0")
