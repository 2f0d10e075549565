"""What every training command shares: how many threads embed."""

from __future__ import annotations

import pytest

from routers.cli_support import train_threads


@pytest.mark.parametrize(("cores", "load", "threads"), [
    (2, 0.2, 2),  # a quiet machine: every core
    (2, 0.6, 1),  # one core busy
    (2, 6.4, 1),  # a busy gateway beside it: never fewer than one
    (16, 3.2, 13),
])
def test_each_busy_core_takes_a_thread_away(cores: int, load: float, threads: int) -> None:
    assert train_threads(cores, load) == threads


def test_it_reads_the_machine_when_not_told() -> None:
    assert train_threads() >= 1
