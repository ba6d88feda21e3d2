"""Coarse positions and the per-client statement rate (pure parts of gmlc.statements)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gmlc.statements import StatementRateLimiter, coarse_circle
from mlp.statement import EARTH_RADIUS_M, great_circle_distance_m

latitudes = st.floats(min_value=-90, max_value=90, allow_nan=False)
longitudes = st.floats(min_value=-180, max_value=180, allow_nan=False)
radii = st.floats(min_value=0, max_value=60_000, allow_nan=False)
precisions = st.integers(min_value=1, max_value=100_000)


@given(lat=latitudes, lon=longitudes, radius=radii, precision=precisions)
def test_the_coarse_circle_holds_the_true_one(
    lat: float, lon: float, radius: float, precision: int
) -> None:
    coarse = coarse_circle(lat, lon, radius, precision)
    # Inside, measured the way a verifier measures (haversine on the same sphere).
    assert great_circle_distance_m(lat, lon, coarse.lat, coarse.lon) + radius <= coarse.radius_m
    assert coarse.radius_m >= radius
    assert coarse.radius_m % precision == 0


@given(lat=st.floats(min_value=-80, max_value=80), lon=longitudes, precision=precisions)
def test_the_centre_is_on_the_grid(lat: float, lon: float, precision: int) -> None:
    coarse = coarse_circle(lat, lon, 100, precision)
    row = precision * 180 / (math.pi * EARTH_RADIUS_M)  # grid rows, in degrees
    rows = coarse.lat / row
    # On a row (up to the 6-decimal rounding of the wire), and at most half a cell away.
    assert abs(rows - round(rows)) * row <= 1e-6
    assert abs(coarse.lat - lat) <= row / 2 + 1e-6


def test_nearby_fixes_in_one_cell_are_stated_alike() -> None:
    # Two fixes 300 m apart, both near the centre of a 10 km cell: one stated circle, so the
    # statement does not tell them apart.
    first = coarse_circle(47.37, 8.54, 1000, 10_000)
    second = coarse_circle(47.3727, 8.54, 1000, 10_000)
    assert first == second


def test_without_precision_the_circle_is_exact() -> None:
    exact = coarse_circle(47.3769, 8.5417, 2499.2, None)
    assert (exact.lat, exact.lon, exact.radius_m) == (47.3769, 8.5417, 2500)


def test_near_the_poles_and_the_antimeridian() -> None:
    polar = coarse_circle(89.99999, 123.0, 10, 5000)
    assert polar.lon == 0.0  # every longitude is the same point there
    assert great_circle_distance_m(89.99999, 123.0, polar.lat, polar.lon) + 10 <= polar.radius_m
    east = coarse_circle(0.0, 179.99, 10, 5000)
    assert -180.0 <= east.lon <= 180.0


def test_out_of_range_fixes_are_refused() -> None:
    with pytest.raises(ValueError, match="latitude"):
        coarse_circle(91.0, 0.0, 10, 1000)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_bucket_allows_a_burst_then_the_rate() -> None:
    clock = Clock()
    limiter = StatementRateLimiter(2.0, 3, monotonic=clock)
    assert [limiter.take("web-1") for _ in range(4)] == [True, True, True, False]
    assert limiter.take("web-2")  # every client has its own bucket
    clock.now = 0.5  # one token back
    assert limiter.take("web-1")
    assert not limiter.take("web-1")
    clock.now = 100.0  # never more than the burst
    assert not limiter.take("web-1", 4)  # a request asking for more takes nothing
    assert [limiter.take("web-1") for _ in range(4)] == [True, True, True, False]


def test_forgotten_buckets_are_bounded() -> None:
    limiter = StatementRateLimiter(1.0, 1, monotonic=Clock(), max_clients=2)
    for client in ("a", "b", "c"):
        assert limiter.take(client)
    assert len(limiter._buckets) == 2
    assert not limiter.take("c")


@pytest.mark.parametrize(("rate", "burst"), [(0.0, 1), (-1.0, 1), (1.0, 0)])
def test_nonsense_limits_are_refused(rate: float, burst: int) -> None:
    with pytest.raises(ValueError, match="rate_per_s"):
        StatementRateLimiter(rate, burst)
