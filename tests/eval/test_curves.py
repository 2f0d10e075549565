"""Hull, AIQ, APGR and CPT on hand-placed points whose values are worked out in each test."""

from __future__ import annotations

import math

import numpy as np
import pytest

from eval.curves import aiq, apgr, area_under_hull, cpt, non_decreasing_convex_hull, pgr


def arr(*values: float) -> np.ndarray:
    return np.array(values, dtype=np.float64)


def hull_points(costs: np.ndarray, qualities: np.ndarray) -> list[tuple[float, float]]:
    h = non_decreasing_convex_hull(costs, qualities)
    return list(zip(h.costs.tolist(), h.qualities.tolist()))


def test_hull_drops_dominated_points_and_points_under_a_chord() -> None:
    # (2, .4) and (4, .85) are dominated; (2, .6) lies under the chord (1,.5)-(3,.9) (0.7 there).
    got = hull_points(arr(1, 2, 3, 2, 4), arr(0.5, 0.4, 0.9, 0.6, 0.85))
    assert got == [(1, 0.5), (3, 0.9)]


def test_hull_keeps_a_concave_vertex_and_drops_a_collinear_one() -> None:
    assert hull_points(arr(1, 2, 3), arr(0.5, 0.8, 0.9)) == [(1, 0.5), (2, 0.8), (3, 0.9)]
    assert hull_points(arr(1, 2, 3), arr(0.5, 0.7, 0.9)) == [(1, 0.5), (3, 0.9)]


def test_hull_ties_keep_the_best_quality_at_a_cost_and_the_cheapest_at_a_quality() -> None:
    assert hull_points(arr(1, 1), arr(0.3, 0.5)) == [(1, 0.5)]
    assert hull_points(arr(1, 2), arr(0.5, 0.5)) == [(1, 0.5)]
    assert hull_points(arr(1, np.nan), arr(0.5, 0.9)) == [(1, 0.5)]


def test_hull_quality_is_zero_below_interpolated_inside_and_flat_beyond() -> None:
    h = non_decreasing_convex_hull(arr(1, 2, 3), arr(0.5, 0.8, 0.9))
    assert h.quality_at(0.5) == 0.0
    assert h.quality_at(1.5) == pytest.approx(0.65)
    assert h.quality_at(10.0) == pytest.approx(0.9)


def test_aiq_over_the_points_own_range() -> None:
    # Trapezoids (0.5+0.8)/2*1 + (0.8+0.9)/2*1 = 1.5 over a width of 2 -> 0.75.
    assert aiq(arr(1, 2, 3), arr(0.5, 0.8, 0.9)) == pytest.approx(0.75)
    # Hull (1,.5)-(3,.9): area (0.5+0.9)/2*2 = 1.4 over width 2 -> 0.7.
    assert aiq(arr(1, 2, 3), arr(0.5, 0.6, 0.9)) == pytest.approx(0.7)


def test_aiq_over_a_wider_common_range_extends_flat_right_and_zero_left() -> None:
    # [1, 5]: 1.4 + 0.9*2 = 3.2 over 4 -> 0.8.   [0, 3]: 0 + 1.4 over 3.
    assert aiq(arr(1, 3), arr(0.5, 0.9), c_max=5.0) == pytest.approx(0.8)
    assert aiq(arr(1, 3), arr(0.5, 0.9), c_min=0.0, c_max=3.0) == pytest.approx(1.4 / 3)
    h = non_decreasing_convex_hull(arr(1, 3), arr(0.5, 0.9))
    assert area_under_hull(h, 0.0, 0.5) == 0.0


def test_aiq_of_a_single_point_is_its_quality() -> None:
    assert aiq(arr(2), arr(0.7)) == pytest.approx(0.7)
    assert aiq(arr(2), arr(0.7), c_min=1.0, c_max=1.0) == 0.0
    assert math.isnan(aiq(arr(np.nan), arr(np.nan)))


def test_pgr_is_the_share_of_the_gap_recovered() -> None:
    assert float(pgr(0.75, weak=0.6, strong=0.9)) == pytest.approx(0.5)
    with pytest.raises(ValueError):
        pgr(0.7, weak=0.6, strong=0.6)


def test_apgr_of_a_router_curve() -> None:
    # PGR at x = 0, .5, 1 is 0, 5/6, 1: area .5*(0+5/6)/2 + .5*(5/6+1)/2 = 2/3.
    assert apgr(arr(0, 0.5, 1), arr(0.6, 0.85, 0.9), 0.6, 0.9) == pytest.approx(2 / 3)
    # The endpoints are implied when missing: same curve from its middle point alone.
    assert apgr(arr(0.5), arr(0.85), 0.6, 0.9) == pytest.approx(2 / 3)


def test_apgr_of_random_routing_is_one_half() -> None:
    # Random routing is linear between weak and strong: PGR = x, area 1/2.
    assert apgr(arr(0.25, 0.5), arr(0.675, 0.75), 0.6, 0.9) == pytest.approx(0.5)


def test_cpt_interpolates_the_first_crossing() -> None:
    x, acc = arr(0, 0.5, 1), arr(0.6, 0.85, 0.9)  # PGR 0, 5/6, 1
    # 50%: 0.5 / (5/6) * 0.5 = 0.3.   80%: 0.8 / (5/6) * 0.5 = 0.48.
    assert cpt(x, acc, 0.6, 0.9, 0.5) == pytest.approx(0.3)
    assert cpt(x, acc, 0.6, 0.9, 0.8) == pytest.approx(0.48)
    assert cpt(x, acc, 0.6, 0.9, 1.0) == pytest.approx(1.0)
    assert cpt(x, acc, 0.6, 0.9, 1.1) == math.inf
    assert cpt(x, acc, 0.6, 0.9, 0.0) == 0.0
