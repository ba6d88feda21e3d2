"""Cell-ID positioning: from an appliance's observation report to a circle on the map.

Pure: the caller passes the report (its verified claims), the cell database lookups, the
limits from the settings and the current time; nothing here reads a clock, a file or a
database.

Theory of operation (after Mozilla ichnaea's cell locator, see the research notes):

1. Freshness. The position is as old as the observation (``observed_at``), and ``pd/time``
   says so. Older than the server's ``max_age_s`` -> 6 POSITION METHOD FAILURE (we do
   not know where the SIM is now). Fresh enough for the server but older than the
   request's ``max_loc_age`` -> 201 QOP NOT ATTAINABLE.
2. Service. An appliance whose modem is not registered (not registered, searching,
   registration denied) reports cells it is not attached to, if any: 5 ABSENT
   SUBSCRIBER.
3. Cells. The serving cell and the neighbours that carry a full identity (radio, MCC,
   MNC, LAC/TAC, cell id) are looked up in the cell database in one batch. Modem RATs
   map to OpenCelliD radios (LTE-M and NB-IoT are LTE cells there); the MNC digit string
   becomes an integer, as OpenCelliD stores it. Neighbours without PLMN inherit the
   serving cell's (intra-PLMN neighbour lists omit it).
4. One known cell: its centre, radius = the cell's range clamped to [floor, ceiling].
   Several known cells: a weighted mean of their centres, weight = sample weight /
   signal^2 (ichnaea: log2(samples) clamped to [0.5, 10]; a missing signal counts as the
   radio's weakest value). The radius is the larger of the 95th percentile of the
   centres' distances from the mean and the smallest member range, clamped likewise.
   Neighbours whose coverage cannot overlap the serving cell's are left out, so one
   mislocated database entry cannot drag the estimate away.
5. No known cell: the location area (LAC/TAC) of the serving cell, else of a
   neighbour, with radius max(area radius, ``area_fallback_radius_m``), method "AREA".
6. Nothing known -> 6. A radius larger than the request's ``hor_acc`` -> 201.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from mlp.codes import ResultCode

if TYPE_CHECKING:
    from gmlc.settings import Settings

__all__ = [
    "AreaEstimate",
    "AreaLookup",
    "CellKey",
    "CellLike",
    "CellLookup",
    "Fix",
    "NoFix",
    "PositioningLimits",
    "locate",
    "opencellid_radio",
]

CellKey = tuple[str, int, int, int, int]
AreaEstimate = tuple[float, float, float, int]


class CellLike(Protocol):
    """What positioning reads from a cell database record."""

    @property
    def lat(self) -> float: ...

    @property
    def lon(self) -> float: ...

    @property
    def range_m(self) -> int: ...

    @property
    def samples(self) -> int: ...


CellLookup = Callable[[Sequence[CellKey]], Mapping[CellKey, CellLike]]
AreaLookup = Callable[[str, int, int, int], AreaEstimate | None]

_RADIO_BY_RAT = {
    "GSM": "GSM",
    "UMTS": "UMTS",
    "LTE": "LTE",
    "LTE-M": "LTE",
    "NB-IoT": "LTE",
    "NR": "NR",
}
# The weakest signal each radio reports (dBm), used when a cell has no measurement
# (ichnaea's rule: an unmeasured cell weighs like the weakest measured one).
_WEAKEST_SIGNAL = {"GSM": -113.0, "UMTS": -121.0, "LTE": -140.0, "NR": -140.0}
_NO_SERVICE_STATES = frozenset({"not_registered", "searching", "denied"})
_EARTH_RADIUS_M = 6371008.8


@dataclass(frozen=True, slots=True)
class PositioningLimits:
    """The settings positioning depends on.

    Attributes:
        max_age_s: Oldest observation the server still uses.
        radius_floor_m: Smallest radius ever claimed for a cell estimate.
        radius_ceiling_m: Largest radius a cell estimate is clamped to.
        area_fallback_radius_m: Smallest radius of a location-area estimate.
        lev_conf: Confidence (percent) stated with every position.
    """

    max_age_s: int
    radius_floor_m: int
    radius_ceiling_m: int
    area_fallback_radius_m: int
    lev_conf: int

    @classmethod
    def from_settings(cls, settings: Settings) -> PositioningLimits:
        """The limits the node's settings give."""
        return cls(
            max_age_s=settings.observation_max_age_s,
            radius_floor_m=settings.radius_floor_m,
            radius_ceiling_m=settings.radius_ceiling_m,
            area_fallback_radius_m=settings.area_fallback_radius_m,
            lev_conf=settings.lev_conf,
        )


@dataclass(frozen=True, slots=True)
class Fix:
    """A position estimate.

    Attributes:
        lat: Latitude of the centre, WGS84 degrees.
        lon: Longitude of the centre, WGS84 degrees.
        radius_m: Radius of the circle, whole metres.
        measured_at: When the appliance read its modem (the position's time).
        method: "CELL" (exact cells) or "AREA" (location-area fallback).
        cells_used: Database entries that went into the estimate.
        lev_conf: Confidence in percent that the SIM is inside the circle.
    """

    lat: float
    lon: float
    radius_m: int
    measured_at: datetime
    method: str
    cells_used: int
    lev_conf: int


@dataclass(frozen=True, slots=True)
class NoFix:
    """No position, and the MLP result code that says why.

    Attributes:
        result: The per-target result code (5, 6 or 201).
        add_info: A fixed explanation for the client (never data from the report).
    """

    result: ResultCode
    add_info: str


@dataclass(frozen=True, slots=True)
class _ObservedCell:
    key: CellKey
    signal: float | None
    serving: bool


def opencellid_radio(rat: str | None) -> str | None:
    """Map a modem RAT name to the OpenCelliD radio of its cells (None when unknown)."""
    return None if rat is None else _RADIO_BY_RAT.get(rat)


def _int_or_none(value: Any) -> int | None:
    return value if type(value) is int else None


def _number_or_none(value: Any) -> float | None:
    if type(value) in (int, float) and math.isfinite(value):
        return float(value)
    return None


def _plmn_number(value: Any, min_digits: int, max_digits: int) -> int | None:
    # MCC and MNC are digit strings ("01" and "001" are different networks on the air,
    # but OpenCelliD stores the MNC as an integer, so both become 1 for the lookup).
    if isinstance(value, str) and value.isascii() and value.isdigit():
        if min_digits <= len(value) <= max_digits:
            return int(value)
    return None


def _cell_key(
    cell: Mapping[str, Any], inherited: Mapping[str, Any] | None, fallback_rat: str | None
) -> CellKey | None:
    rat = cell.get("rat") or (inherited or {}).get("rat") or fallback_rat
    radio = opencellid_radio(rat if isinstance(rat, str) else None)
    mcc_text = cell.get("mcc") if cell.get("mcc") is not None else (inherited or {}).get("mcc")
    mnc_text = cell.get("mnc") if cell.get("mnc") is not None else (inherited or {}).get("mnc")
    mcc = _plmn_number(mcc_text, 3, 3)
    mnc = _plmn_number(mnc_text, 2, 3)
    lac, tac = _int_or_none(cell.get("lac")), _int_or_none(cell.get("tac"))
    # LTE and NR cells live in tracking areas, GSM and UMTS cells in location areas.
    area = tac if radio in ("LTE", "NR") and tac is not None else lac if lac is not None else tac
    cell_id = _int_or_none(cell.get("ci"))
    if radio is None or mcc is None or mnc is None or area is None or cell_id is None:
        return None
    return (radio, mcc, mnc, area, cell_id)


def _signal(cell: Mapping[str, Any], radio: str) -> float | None:
    preferred = {"LTE": "rsrp", "NR": "rsrp", "UMTS": "rscp", "GSM": "rssi"}[radio]
    for name in (preferred, "rssi"):
        value = _number_or_none(cell.get(name))
        if value is not None and value < 0:
            return value
    return None


def _observed_cells(report: Mapping[str, Any]) -> list[_ObservedCell]:
    registration = report.get("registration") or {}
    fallback_rat = registration.get("rat") if isinstance(registration, Mapping) else None
    serving = report.get("serving")
    cells: list[_ObservedCell] = []
    seen: set[CellKey] = set()
    serving_map = serving if isinstance(serving, Mapping) else None
    if serving_map is not None:
        key = _cell_key(serving_map, None, fallback_rat)
        if key is not None:
            cells.append(_ObservedCell(key, _signal(serving_map, key[0]), serving=True))
            seen.add(key)
    neighbours = report.get("neighbours") or []
    for neighbour in neighbours if isinstance(neighbours, list) else []:
        if not isinstance(neighbour, Mapping):
            continue
        key = _cell_key(neighbour, serving_map, fallback_rat)
        if key is not None and key not in seen:
            cells.append(_ObservedCell(key, _signal(neighbour, key[0]), serving=False))
            seen.add(key)
    return cells


def _area_keys(report: Mapping[str, Any]) -> list[tuple[str, int, int, int]]:
    """Location areas named by the report, serving cell's first, even without cell ids."""
    registration = report.get("registration") or {}
    fallback_rat = registration.get("rat") if isinstance(registration, Mapping) else None
    serving = report.get("serving")
    serving_map = serving if isinstance(serving, Mapping) else None
    candidates: list[Mapping[str, Any]] = [serving_map] if serving_map is not None else []
    neighbours = report.get("neighbours") or []
    candidates += [n for n in neighbours if isinstance(n, Mapping)]
    areas: list[tuple[str, int, int, int]] = []
    for cell in candidates:
        # A stand-in cell id (0) makes _cell_key usable for cells that only name an area.
        probe = dict(cell)
        probe["ci"] = 0
        key = _cell_key(probe, serving_map if cell is not serving_map else None, fallback_rat)
        if key is not None and key[:4] not in areas:
            areas.append(key[:4])
    return areas


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres (haversine, mean Earth radius)."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlmb = phi2 - phi1, math.radians(lon2 - lon1)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * _EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def _weighted_centre(points: Sequence[tuple[float, float, float]]) -> tuple[float, float]:
    """Weighted mean of (lat, lon, weight) on the unit sphere (safe across the antimeridian)."""
    x = y = z = 0.0
    for lat, lon, weight in points:
        phi, lmb = math.radians(lat), math.radians(lon)
        x += weight * math.cos(phi) * math.cos(lmb)
        y += weight * math.cos(phi) * math.sin(lmb)
        z += weight * math.sin(phi)
    lat = math.degrees(math.atan2(z, math.hypot(x, y)))
    lon = math.degrees(math.atan2(y, x))
    return lat, lon


def _percentile95(values: Sequence[float]) -> float:
    ordered = sorted(values)
    index = max(0, math.ceil(0.95 * len(ordered)) - 1)
    return ordered[index]


def _clamp(value: float, low: int, high: int) -> int:
    return round(min(max(value, low), high))


def _sample_weight(samples: int) -> float:
    return min(max(math.log2(samples), 0.5), 10.0) if samples > 0 else 0.5


def _estimate_from_cells(
    observed: Sequence[_ObservedCell],
    found: Mapping[CellKey, CellLike],
    limits: PositioningLimits,
) -> tuple[float, float, int, int] | None:
    known = [(cell, found[cell.key]) for cell in observed if cell.key in found]
    if not known:
        return None
    serving = next((record for cell, record in known if cell.serving), None)
    if serving is not None:
        # Keep only neighbours whose coverage can overlap the serving cell's.
        known = [
            (cell, record)
            for cell, record in known
            if cell.serving
            or distance_m(serving.lat, serving.lon, record.lat, record.lon)
            <= max(serving.range_m, limits.radius_floor_m)
            + max(record.range_m, limits.radius_floor_m)
        ]
    if len(known) == 1:
        record = known[0][1]
        radius = _clamp(record.range_m, limits.radius_floor_m, limits.radius_ceiling_m)
        return record.lat, record.lon, radius, 1
    weighted = []
    for cell, record in known:
        signal = cell.signal if cell.signal is not None else _WEAKEST_SIGNAL[cell.key[0]]
        weighted.append((record.lat, record.lon, _sample_weight(record.samples) / signal**2))
    lat, lon = _weighted_centre(weighted)
    spread = _percentile95([distance_m(lat, lon, r.lat, r.lon) for _, r in known])
    smallest_range = min(r.range_m for _, r in known)
    radius = _clamp(max(spread, smallest_range), limits.radius_floor_m, limits.radius_ceiling_m)
    return lat, lon, radius, len(known)


def locate(
    report: Mapping[str, Any],
    *,
    observed_at: datetime,
    find_cells: CellLookup,
    find_area: AreaLookup,
    limits: PositioningLimits,
    now: datetime,
    max_loc_age_s: int | None = None,
    hor_acc_m: int | None = None,
) -> Fix | NoFix:
    """Estimate where the appliance's SIM is from its latest observation.

    Args:
        report: The observation's verified claims (mlp.observation schema).
        observed_at: When the modem was read (tz-aware).
        find_cells: Batch lookup of cells by (radio, mcc, mnc, area, cell).
        find_area: Location-area estimate (lat, lon, radius_m, n_cells) or None.
        limits: Settings values.
        now: The current time (tz-aware).
        max_loc_age_s: The request's ``eqop/max_loc_age``, if any.
        hor_acc_m: The request's ``eqop/hor_acc``, if any.

    Returns:
        A :class:`Fix`, or a :class:`NoFix` carrying 5, 6 or 201.
    """
    age = max(now - observed_at, timedelta(0))
    if age > timedelta(seconds=limits.max_age_s):
        return NoFix(ResultCode.POSITION_METHOD_FAILURE, "no recent observation of the target")
    if max_loc_age_s is not None and age > timedelta(seconds=max_loc_age_s):
        return NoFix(ResultCode.QOP_NOT_ATTAINABLE, "max_loc_age")

    registration = report.get("registration")
    state = registration.get("state") if isinstance(registration, Mapping) else None
    if state in _NO_SERVICE_STATES:
        return NoFix(ResultCode.ABSENT_SUBSCRIBER, "the target has no network service")

    observed = _observed_cells(report)
    estimate = None
    method = "CELL"
    if observed:
        estimate = _estimate_from_cells(observed, find_cells([c.key for c in observed]), limits)
    if estimate is None:
        for radio, mcc, mnc, area in _area_keys(report):
            area_estimate = find_area(radio, mcc, mnc, area)
            if area_estimate is not None:
                lat, lon, area_radius, n_cells = area_estimate
                radius = round(max(area_radius, limits.area_fallback_radius_m))
                estimate, method = (lat, lon, radius, n_cells), "AREA"
                break
    if estimate is None:
        return NoFix(ResultCode.POSITION_METHOD_FAILURE, "the target's cells are not known")
    lat, lon, radius, used = estimate
    if hor_acc_m is not None and radius > hor_acc_m:
        return NoFix(ResultCode.QOP_NOT_ATTAINABLE, "hor_acc")
    return Fix(
        lat=round(lat, 7),
        lon=round(lon, 7),
        radius_m=radius,
        measured_at=observed_at,
        method=method,
        cells_used=used,
        lev_conf=limits.lev_conf,
    )
