"""The cell database in the store."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gmlc.store import CellFieldError, CellRecord, Store


def _cell(cell: int, lat: float, lon: float, *, area: int = 1234, range_m: int = 500) -> CellRecord:
    return CellRecord("LTE", 228, 1, area, cell, lat, lon, range_m, 10)


def test_upsert_is_idempotent_and_updates_in_place(store: Store) -> None:
    first = [_cell(1, 47.0, 8.0), _cell(2, 47.01, 8.01)]
    assert store.upsert_cells(first) == 2
    assert store.upsert_cells(first) == 2
    assert store.cell_stats()["total"] == 2
    store.upsert_cells([_cell(1, 46.5, 7.5, range_m=900)])
    assert store.find_cell("LTE", 228, 1, 1234, 1) == _cell(1, 46.5, 7.5, range_m=900)
    assert store.cell_stats()["total"] == 2


def test_later_duplicate_in_one_batch_wins(store: Store) -> None:
    rows = [_cell(1, 47.0, 8.0), _cell(1, 45.0, 9.0)]
    assert store.upsert_cells(rows, batch_size=10) == 2
    assert store.find_cell("LTE", 228, 1, 1234, 1) == _cell(1, 45.0, 9.0)


def test_batches_split_a_long_stream(store: Store) -> None:
    rows = (_cell(n, 47.0 + n / 1000, 8.0) for n in range(1, 26))
    assert store.upsert_cells(rows, batch_size=7) == 25
    assert store.cell_stats()["total"] == 25


def test_find_cells_returns_only_known_keys(store: Store) -> None:
    store.upsert_cells(_cell(n, 47.0, 8.0) for n in range(1, 301))
    wanted = [("LTE", 228, 1, 1234, n) for n in range(250, 320)]
    found = store.find_cells(wanted)
    assert sorted(key[4] for key in found) == list(range(250, 301))
    assert found[("LTE", 228, 1, 1234, 260)].cell == 260
    assert store.find_cells([]) == {}
    assert store.find_cell("GSM", 228, 1, 1234, 1) is None


def test_area_estimate_covers_every_cell(store: Store) -> None:
    cells = [_cell(1, 47.0, 8.0, range_m=1000), _cell(2, 47.1, 8.0, range_m=2000)]
    store.upsert_cells([*cells, _cell(3, 10.0, 10.0, area=99)])
    estimate = store.area_estimate("LTE", 228, 1, 1234)
    assert estimate is not None
    lat, lon, radius, n = estimate
    assert n == 2
    assert lat == pytest.approx(47.05, abs=1e-6) and lon == pytest.approx(8.0, abs=1e-9)
    # Half the 0.1 degree spacing (about 5.56 km) plus the larger range.
    assert radius == pytest.approx(5559.7 + 2000, abs=5)
    assert store.area_estimate("LTE", 228, 1, 4242) is None


def test_area_across_the_antimeridian_is_centred_on_it(store: Store) -> None:
    store.upsert_cells([_cell(1, 0.0, 179.9), _cell(2, 0.0, -179.9)])
    estimate = store.area_estimate("LTE", 228, 1, 1234)
    assert estimate is not None
    assert abs(estimate[1]) == pytest.approx(180.0, abs=1e-6)
    assert estimate[2] < 12_000


def test_stats_count_per_radio_and_mcc(store: Store) -> None:
    store.upsert_cells(
        [
            CellRecord("GSM", 228, 1, 10, 1, 47.0, 8.0, 1000, 1),
            CellRecord("GSM", 262, 1, 10, 1, 52.0, 13.0, 1000, 1),
            CellRecord("NR", 228, 1, 10, 2**36 - 1, 47.0, 8.0, 300, 1),
            CellRecord("CDMA", 310, 20000, 10, 1, 40.0, -75.0, 3000, 1),
        ]
    )
    assert store.cell_stats() == {
        "total": 4,
        "by_radio": {"CDMA": 1, "GSM": 2, "NR": 1},
        "by_mcc": {228: 2, 262: 1, 310: 1},
    }


def test_upsert_refuses_other_objects(store: Store) -> None:
    with pytest.raises(TypeError, match="CellRecord"):
        store.upsert_cells([("LTE", 228, 1, 1, 1)])  # type: ignore[list-item]
    assert store.cell_stats()["total"] == 0


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"radio": "WIFI"}, "radio"),
        ({"mcc": 0}, "mcc"),
        ({"mcc": 1000}, "mcc"),
        ({"mnc": 1000}, "mnc"),
        ({"mnc": -1}, "mnc"),
        ({"area": -1}, "area"),
        ({"cell": 2**36}, "cell"),
        ({"lat": 90.5}, "lat"),
        ({"lat": math.nan}, "lat"),
        ({"lon": -180.01}, "lon"),
        ({"lon": math.inf}, "lon"),
        ({"range_m": -5}, "range_m"),
        ({"samples": 1.5}, "samples"),
        ({"mcc": True}, "mcc"),
        ({"lat": "47"}, "lat"),
    ],
)
def test_cell_record_names_the_bad_field(changes: dict[str, object], field: str) -> None:
    values: dict[str, object] = {
        "radio": "LTE",
        "mcc": 228,
        "mnc": 1,
        "area": 1,
        "cell": 1,
        "lat": 47.0,
        "lon": 8.0,
        "range_m": 1,
        "samples": 1,
        **changes,
    }
    with pytest.raises(CellFieldError) as raised:
        CellRecord(**values)  # type: ignore[arg-type]
    assert raised.value.field == field


@pytest.fixture(scope="module")
def geometry_store() -> Iterator[Store]:
    """One in-memory store for the property test; each example uses its own area."""
    store = Store.open("sqlite://")
    store.migrate()
    yield store
    store.close()


_areas = itertools.count(1)


@settings(max_examples=60, deadline=None)
@given(
    points=st.lists(
        st.tuples(st.floats(min_value=-60, max_value=60), st.floats(min_value=-179, max_value=179)),
        min_size=1,
        max_size=6,
    ).filter(lambda pts: max(p[1] for p in pts) - min(p[1] for p in pts) < 90)
)
def test_area_radius_reaches_every_cell(
    geometry_store: Store, points: list[tuple[float, float]]
) -> None:
    area = next(_areas)
    geometry_store.upsert_cells(
        _cell(n, lat, lon, area=area, range_m=0) for n, (lat, lon) in enumerate(points)
    )
    estimate = geometry_store.area_estimate("LTE", 228, 1, area)
    assert estimate is not None
    lat, lon, radius, n = estimate
    assert n == len(points)
    assert -90 <= lat <= 90 and -180 <= lon <= 180
    for plat, plon in points:
        assert _haversine(lat, lon, plat, plon) <= radius + 1e-3


def _haversine(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    h = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * 6_371_008.8 * math.asin(min(1.0, math.sqrt(h)))


def test_lookups_with_impossible_values_find_nothing_instead_of_failing(store: Store) -> None:
    store.upsert_cells([_cell(1, 47.0, 8.0)])
    impossible: list[tuple[object, ...]] = [
        ("LTE", 228, 1, 1234, 2**70),
        ("LTE", "228", 1, 1234, 1),
        ("LTE", 228, 1, -(2**64), 1),
        ("LTE", True, 1, 1234, 1),
        ("X" * 100, 228, 1, 1234, 1),
        ("LTE", 228, 1),
    ]
    found = store.find_cells([*impossible, ("LTE", 228, 1, 1234, 1)])  # type: ignore[list-item]
    assert list(found) == [("LTE", 228, 1, 1234, 1)]
    assert store.find_cell("LTE", 228, 1, 1234, 2**70) is None
    assert store.area_estimate("LTE", 228, 1, 2**80) is None
