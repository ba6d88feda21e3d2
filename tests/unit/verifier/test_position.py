"""The position check: circles against legitimate sites, in modes one and all."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlp.dnsrecords import LocSite
from mlp.statement import StatementPosition, great_circle_distance_m
from verifier.position import check_position, format_distance, format_site

BERN = LocSite(46.9480, 7.4474, 10000)
ZURICH = LocSite(47.3769, 8.5417, 2000)


def test_mode_one_accepts_a_circle_inside_any_site() -> None:
    result = check_position(StatementPosition(47.3769, 8.5417, 500), [BERN, ZURICH], "one")

    assert result.ok and result.fits[0].site == ZURICH
    assert result.fits[0].margin_m == pytest.approx(500)
    assert result.unattested == (BERN,)


def test_mode_one_names_the_distance_to_the_nearest_site() -> None:
    result = check_position(StatementPosition(46.2044, 6.1432, 1000), [BERN, ZURICH], "one")

    assert (result.ok, result.code) == (False, "position.outside")
    assert result.reason == (
        "position 130 km from the nearest legitimate site (46.9480°N 7.4474°E, ±5 km)"
    )


def test_a_centre_inside_with_too_wide_an_uncertainty_is_outside() -> None:
    result = check_position(StatementPosition(46.9480, 7.4474, 6000), [BERN], "one")

    assert not result.ok
    assert "uncertainty of ±6 km reaches 1 km beyond it" in result.reason


def test_mode_all_needs_a_list_every_circle_inside_and_every_site_attested() -> None:
    near = StatementPosition(46.9480, 7.4474, 1000)
    far = StatementPosition(47.3769, 8.5417, 500)

    assert check_position((near, far), [BERN, ZURICH], "all").ok
    single = check_position(near, [BERN, ZURICH], "all")
    assert (single.ok, single.code) == (False, "position.mode")
    half = check_position((near,), [BERN, ZURICH], "all")
    assert (half.ok, half.code) == (False, "position.unattested")
    assert "47.3769°N 8.5417°E" in half.reason
    stray = check_position((near, far, StatementPosition(0, 0, 1)), [BERN, ZURICH], "all")
    assert (stray.ok, stray.code) == (False, "position.outside")


def test_no_site_accepts_nothing() -> None:
    result = check_position(StatementPosition(0, 0, 1), [], "one")
    assert (result.ok, result.code) == (False, "position.no_sites")


@pytest.mark.parametrize(
    ("metres", "text"),
    [
        (0, "0 m"),
        (999.4, "999 m"),
        (1000, "1 km"),
        (1250, "1.2 km"),
        (9999, "10 km"),
        (305_400, "305 km"),
    ],
)
def test_distances_read_well(metres: float, text: str) -> None:
    assert format_distance(metres) == text


def test_sites_read_well() -> None:
    assert format_site(LocSite(-33.8688, -151.2093, 2000)) == "33.8688°S 151.2093°W, ±1 km"


@given(
    lat=st.floats(-80, 80),
    lon=st.floats(-170, 170),
    radius=st.integers(0, 50_000),
    hp=st.sampled_from([100.0, 2000.0, 10_000.0, 100_000.0]),
)
def test_accepted_exactly_when_the_circle_lies_within_half_the_diameter(
    lat: float, lon: float, radius: int, hp: float
) -> None:
    site = LocSite(46.9480, 7.4474, hp)
    circle = StatementPosition(lat, lon, radius)
    inside = great_circle_distance_m(site.lat, site.lon, circle.lat, circle.lon) + radius <= hp / 2

    assert check_position(circle, [site], "one").ok is inside
