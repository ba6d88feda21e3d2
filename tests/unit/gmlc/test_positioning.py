"""Cell-ID positioning: every branch and every result code it can give."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gmlc.positioning import (
    CellKey,
    Fix,
    NoFix,
    PositioningLimits,
    distance_m,
    locate,
    opencellid_radio,
)
from mlp.codes import ResultCode

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
LIMITS = PositioningLimits(
    max_age_s=300,
    radius_floor_m=1000,
    radius_ceiling_m=50000,
    area_fallback_radius_m=10000,
    lev_conf=68,
)


@dataclass(frozen=True)
class Cell:
    lat: float
    lon: float
    range_m: int
    samples: int = 10


class CellDb:
    """An in-memory cell table with the store's lookup signatures."""

    def __init__(
        self,
        cells: Mapping[CellKey, Cell] | None = None,
        areas: Mapping[tuple[str, int, int, int], tuple[float, float, float, int]] | None = None,
    ) -> None:
        self.cells = dict(cells or {})
        self.areas = dict(areas or {})
        self.queried: list[CellKey] = []

    def find_cells(self, keys: Sequence[CellKey]) -> dict[CellKey, Cell]:
        self.queried.extend(keys)
        return {k: self.cells[k] for k in keys if k in self.cells}

    def find_area(
        self, radio: str, mcc: int, mnc: int, area: int
    ) -> tuple[float, float, float, int] | None:
        return self.areas.get((radio, mcc, mnc, area))


def cell(**values: Any) -> dict[str, Any]:
    names = "rat mcc mnc lac tac ci pci arfcn earfcn uarfcn psc band rsrp rsrq rssi sinr rscp ecio"
    base: dict[str, Any] = dict.fromkeys(names.split())
    base.update(values)
    return base


def report(
    serving: dict[str, Any] | None,
    neighbours: list[dict[str, Any]] | None = None,
    state: str = "home",
    rat: str | None = "LTE",
) -> dict[str, Any]:
    return {
        "registration": {"state": state, "rat": rat, "domains": []},
        "serving": serving,
        "neighbours": neighbours or [],
    }


SERVING = cell(rat="LTE", mcc="228", mnc="01", tac=1000, ci=123456, rsrp=-90.0)
SERVING_KEY: CellKey = ("LTE", 228, 1, 1000, 123456)


def run(rep: dict[str, Any], db: CellDb, **kwargs: Any) -> Fix | NoFix:
    observed_at = kwargs.pop("observed_at", NOW - timedelta(seconds=10))
    return locate(
        rep,
        observed_at=observed_at,
        find_cells=db.find_cells,
        find_area=db.find_area,
        limits=LIMITS,
        now=NOW,
        **kwargs,
    )


def test_single_known_cell_uses_its_range() -> None:
    db = CellDb({SERVING_KEY: Cell(47.0, 8.0, 3000)})
    fix = run(report(SERVING), db)
    assert isinstance(fix, Fix)
    assert (fix.lat, fix.lon, fix.radius_m) == (47.0, 8.0, 3000)
    assert fix.method == "CELL"
    assert fix.lev_conf == 68
    assert fix.measured_at == NOW - timedelta(seconds=10)


@pytest.mark.parametrize(("range_m", "expected"), [(10, 1000), (80000, 50000), (0, 1000)])
def test_radius_is_clamped_to_floor_and_ceiling(range_m: int, expected: int) -> None:
    db = CellDb({SERVING_KEY: Cell(47.0, 8.0, range_m)})
    fix = run(report(SERVING), db)
    assert isinstance(fix, Fix)
    assert fix.radius_m == expected


def test_lte_m_and_nb_iot_map_to_lte_and_mnc_digits_to_int() -> None:
    assert opencellid_radio("LTE-M") == opencellid_radio("NB-IoT") == "LTE"
    assert opencellid_radio("GSM") == "GSM"
    assert opencellid_radio("5G?") is None
    db = CellDb({("LTE", 228, 1, 1000, 123456): Cell(47.0, 8.0, 2000)})
    nb = cell(rat="NB-IoT", mcc="228", mnc="001", tac=1000, ci=123456)
    assert isinstance(run(report(nb, rat="NB-IoT"), db), Fix)
    assert db.queried == [("LTE", 228, 1, 1000, 123456)]


def test_gsm_uses_lac_and_rssi() -> None:
    gsm = cell(rat="GSM", mcc="228", mnc="03", lac=77, ci=4242, rssi=-70.0)
    db = CellDb({("GSM", 228, 3, 77, 4242): Cell(46.5, 7.5, 5000)})
    fix = run(report(gsm, rat="GSM"), db)
    assert isinstance(fix, Fix)
    assert fix.radius_m == 5000


def test_missing_rat_on_the_cell_falls_back_to_registration() -> None:
    db = CellDb({SERVING_KEY: Cell(47.0, 8.0, 3000)})
    no_rat = dict(SERVING, rat=None)
    assert isinstance(run(report(no_rat, rat="LTE"), db), Fix)


def test_several_cells_give_a_weighted_estimate_between_them() -> None:
    neighbour = cell(tac=1000, ci=123457, rsrp=-110.0)  # PLMN inherited from the serving cell
    db = CellDb(
        {
            SERVING_KEY: Cell(47.000, 8.000, 2000, samples=100),
            ("LTE", 228, 1, 1000, 123457): Cell(47.010, 8.000, 2000, samples=100),
        }
    )
    fix = run(report(SERVING, [neighbour]), db)
    assert isinstance(fix, Fix)
    assert fix.cells_used == 2
    # The stronger serving cell pulls the estimate towards itself.
    assert 47.000 < fix.lat < 47.005
    assert fix.radius_m == 2000  # the spread (~1.1 km * 0.x) is below the smallest range


def test_far_neighbour_is_not_combined() -> None:
    neighbour = cell(rat="LTE", mcc="228", mnc="01", tac=1000, ci=999, rsrp=-60.0)
    db = CellDb(
        {
            SERVING_KEY: Cell(47.0, 8.0, 2000),
            ("LTE", 228, 1, 1000, 999): Cell(40.0, 8.0, 2000),  # 780 km away: a bad entry
        }
    )
    fix = run(report(SERVING, [neighbour]), db)
    assert isinstance(fix, Fix)
    assert fix.cells_used == 1
    assert (fix.lat, fix.lon) == (47.0, 8.0)


def test_only_neighbours_known() -> None:
    neighbour = cell(tac=1000, ci=555)
    db = CellDb({("LTE", 228, 1, 1000, 555): Cell(47.1, 8.1, 4000)})
    fix = run(report(SERVING, [neighbour]), db)
    assert isinstance(fix, Fix)
    assert (fix.lat, fix.lon, fix.radius_m) == (47.1, 8.1, 4000)


def test_unknown_cell_falls_back_to_its_area_with_a_larger_radius() -> None:
    db = CellDb(areas={("LTE", 228, 1, 1000): (46.9, 7.9, 4000.0, 12)})
    fix = run(report(SERVING), db)
    assert isinstance(fix, Fix)
    assert fix.method == "AREA"
    assert fix.radius_m == 10000  # the area fallback floor
    db = CellDb(areas={("LTE", 228, 1, 1000): (46.9, 7.9, 25000.0, 12)})
    fix = run(report(SERVING), db)
    assert isinstance(fix, Fix)
    assert fix.radius_m == 25000


def test_area_fallback_without_cell_id() -> None:
    area_only = dict(SERVING, ci=None)
    db = CellDb(areas={("LTE", 228, 1, 1000): (46.9, 7.9, 4000.0, 12)})
    fix = run(report(area_only), db)
    assert isinstance(fix, Fix)
    assert fix.method == "AREA"


@pytest.mark.parametrize(
    "rep",
    [
        report(SERVING),  # cell and area unknown
        report(None),  # registered but no serving cell reported
        report(cell(rat="LTE", pci=12, earfcn=1300)),  # cell without identity
        report(dict(SERVING, mcc=None, mnc=None)),  # no PLMN
        report(dict(SERVING, mcc="22x")),  # junk PLMN
    ],
)
def test_nothing_known_is_position_method_failure(rep: dict[str, Any]) -> None:
    result = run(rep, CellDb())
    assert isinstance(result, NoFix)
    assert result.result is ResultCode.POSITION_METHOD_FAILURE


@pytest.mark.parametrize("state", ["not_registered", "searching", "denied"])
def test_no_service_is_absent_subscriber(state: str) -> None:
    db = CellDb({SERVING_KEY: Cell(47.0, 8.0, 3000)})
    result = run(report(SERVING, state=state), db)
    assert isinstance(result, NoFix)
    assert result.result is ResultCode.ABSENT_SUBSCRIBER


def test_emergency_only_still_positions() -> None:
    db = CellDb({SERVING_KEY: Cell(47.0, 8.0, 3000)})
    assert isinstance(run(report(SERVING, state="emergency_only"), db), Fix)


def test_stale_observation_is_position_method_failure() -> None:
    db = CellDb({SERVING_KEY: Cell(47.0, 8.0, 3000)})
    result = run(report(SERVING), db, observed_at=NOW - timedelta(seconds=301))
    assert isinstance(result, NoFix)
    assert result.result is ResultCode.POSITION_METHOD_FAILURE
    assert isinstance(run(report(SERVING), db, observed_at=NOW - timedelta(seconds=300)), Fix)


def test_max_loc_age_and_hor_acc_give_qop_not_attainable() -> None:
    db = CellDb({SERVING_KEY: Cell(47.0, 8.0, 3000)})
    aged = run(report(SERVING), db, observed_at=NOW - timedelta(seconds=60), max_loc_age_s=30)
    assert isinstance(aged, NoFix)
    assert aged.result is ResultCode.QOP_NOT_ATTAINABLE
    assert aged.add_info == "max_loc_age"
    coarse = run(report(SERVING), db, hor_acc_m=2999)
    assert isinstance(coarse, NoFix)
    assert coarse.result is ResultCode.QOP_NOT_ATTAINABLE
    assert coarse.add_info == "hor_acc"
    assert isinstance(run(report(SERVING), db, hor_acc_m=3000, max_loc_age_s=10), Fix)


def test_observation_slightly_in_the_future_counts_as_fresh() -> None:
    db = CellDb({SERVING_KEY: Cell(47.0, 8.0, 3000)})
    fix = run(report(SERVING), db, observed_at=NOW + timedelta(seconds=5), max_loc_age_s=0)
    assert isinstance(fix, Fix)


def test_weighted_centre_across_the_antimeridian() -> None:
    east = cell(rat="LTE", mcc="530", mnc="01", tac=5, ci=1, rsrp=-90.0)
    west = cell(rat="LTE", mcc="530", mnc="01", tac=5, ci=2, rsrp=-90.0)
    db = CellDb(
        {
            ("LTE", 530, 1, 5, 1): Cell(-17.0, 179.99, 3000),
            ("LTE", 530, 1, 5, 2): Cell(-17.0, -179.99, 3000),
        }
    )
    fix = run(report(east, [west]), db)
    assert isinstance(fix, Fix)
    assert abs(abs(fix.lon) - 180.0) < 0.001


@settings(max_examples=60, deadline=None)
@given(
    points=st.lists(
        st.tuples(
            st.floats(-0.05, 0.05),
            st.floats(-0.05, 0.05),
            st.integers(0, 100000),
            st.one_of(st.none(), st.floats(-140, -44)),
        ),
        min_size=1,
        max_size=6,
    )
)
def test_estimate_is_always_within_limits_and_near_its_cells(
    points: list[tuple[float, float, int, float | None]],
) -> None:
    cells = {}
    observed = []
    for index, (dlat, dlon, range_m, rsrp) in enumerate(points):
        key: CellKey = ("LTE", 228, 1, 1000, index + 1)
        cells[key] = Cell(47.0 + dlat, 8.0 + dlon, range_m)
        observed.append(cell(rat="LTE", mcc="228", mnc="01", tac=1000, ci=index + 1, rsrp=rsrp))
    fix = run(report(observed[0], observed[1:]), CellDb(cells))
    assert isinstance(fix, Fix)
    assert LIMITS.radius_floor_m <= fix.radius_m <= LIMITS.radius_ceiling_m
    nearest = min(distance_m(fix.lat, fix.lon, c.lat, c.lon) for c in cells.values())
    assert nearest <= 20000
