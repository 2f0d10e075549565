"""The paired AIQ comparison of a router with the per-task lookup."""

from __future__ import annotations

import math

import numpy as np
import pytest

from eval.paired import aiq_difference, versus_baseline
from eval.replay import Curve
from eval.sweep import Outcomes

N = 200


def _curve(name: str, kind: str, steps: list[tuple[float, np.ndarray]]) -> Curve:
    """A curve whose step i costs `cost` per prompt and scores the given 0/1 vector."""
    return Curve(name, kind, [  # type: ignore[arg-type]
        Outcomes(knob=float(i), cost=np.full(N, cost), score=score.astype(float))
        for i, (cost, score) in enumerate(steps)
    ])


def _scores(rng: np.random.Generator, p: float) -> np.ndarray:
    return (rng.random(N) < p).astype(float)


def test_a_router_right_wherever_the_baseline_is_right_and_more_is_ahead_in_every_resample() -> None:
    rng = np.random.default_rng(1)
    cheap, dear = _scores(rng, 0.5), _scores(rng, 0.8)
    # Same cost points; the router's mid step adds correct answers on top of the baseline's.
    base_mid = np.maximum(cheap, _scores(rng, 0.3))
    better_mid = np.maximum(base_mid, _scores(rng, 0.3))
    baseline = _curve("task-lookup", "baseline", [(1.0, cheap), (2.0, base_mid), (3.0, dear)])
    router = _curve("knn", "router", [(1.0, cheap), (2.0, better_mid), (3.0, dear)])

    gain = aiq_difference(router, baseline, np.arange(N), (1.0, 3.0), 300, 0.95)

    assert gain.difference > 0
    assert gain.ci.low > 0
    assert gain.share_not_above == 0.0
    assert gain.n_resamples == 300


def test_identical_curves_differ_by_exactly_zero() -> None:
    rng = np.random.default_rng(2)
    steps = [(1.0, _scores(rng, 0.5)), (4.0, _scores(rng, 0.7))]
    gain = aiq_difference(_curve("a", "router", steps), _curve("b", "baseline", steps),
                          np.arange(N), (1.0, 4.0), 100, 0.9)
    assert gain.difference == 0.0
    assert (gain.ci.low, gain.ci.high) == (0.0, 0.0)
    assert gain.share_not_above == 1.0


def test_a_noisy_tie_has_an_interval_around_zero() -> None:
    rng = np.random.default_rng(3)
    low = _scores(rng, 0.5)
    a = _curve("a", "router", [(1.0, low), (2.0, _scores(rng, 0.7))])
    b = _curve("b", "baseline", [(1.0, low), (2.0, _scores(rng, 0.7))])
    gain = aiq_difference(a, b, np.arange(N), (1.0, 2.0), 400, 0.95)
    assert gain.ci.low < gain.difference < gain.ci.high
    assert 0.0 < gain.share_not_above < 1.0


def test_unknown_outcomes_are_left_out_not_counted_as_wrong() -> None:
    rng = np.random.default_rng(4)
    score = _scores(rng, 0.6)
    holes = score.copy()
    holes[::2] = np.nan
    a = _curve("a", "router", [(1.0, holes)])
    b = _curve("b", "baseline", [(1.0, score)])
    gain = aiq_difference(a, b, np.arange(N), (1.0, 1.0), 50, 0.95)
    expected = float(np.nanmean(holes) - score.mean())
    assert gain.difference == pytest.approx(expected)
    assert not math.isnan(gain.ci.low)


def test_only_routers_and_cascades_are_compared_and_only_with_a_baseline_present() -> None:
    rng = np.random.default_rng(5)
    steps = [(1.0, _scores(rng, 0.5)), (2.0, _scores(rng, 0.9))]
    curves = [_curve("m", "model", steps[:1]), _curve("task-lookup", "baseline", steps),
              _curve("knn", "router", steps), _curve("cascade", "cascade", steps)]
    rows = np.arange(N)
    compared = versus_baseline(curves, "task-lookup", rows, (1.0, 2.0), 20, 0.95)
    assert [d.candidate for d in compared] == ["knn", "cascade"]
    assert versus_baseline(curves[2:], "task-lookup", rows, (1.0, 2.0), 20, 0.95) == []
    assert versus_baseline(curves, "task-lookup", rows, (1.0, 2.0), 0, 0.95) == []
