"""The cell database: OpenCelliD-format cells, batch lookups and location-area estimates."""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from gmlc.errors import StoreError
from gmlc.schema import CELLS
from gmlc.store import validation as check
from gmlc.store.database import Database
from gmlc.store.validation import MAX_BIGINT

__all__ = ["CELL_RADIOS", "AreaEstimate", "CellFieldError", "CellKey", "CellRecord", "CellStore"]

CELL_RADIOS: Final = frozenset({"GSM", "UMTS", "LTE", "NR", "CDMA"})
"""Radio technologies as OpenCelliD spells them."""

CellKey = tuple[str, int, int, int, int]
"""Identity of a cell: (radio, mcc, mnc, area, cell)."""

AreaEstimate = tuple[float, float, float, int]
"""(lat, lon, radius_m, n_cells) of a location area."""

_MAX_INT32: Final = 2**31 - 1
_MAX_AREA: Final = 2**32 - 1
_MAX_CELL: Final = 2**36 - 1  # NR cell identities are 36 bits wide
_EARTH_RADIUS_M: Final = 6_371_008.8
_KEYS_PER_QUERY: Final = 200


class CellFieldError(ValueError):
    """A cell record field is out of range; ``field`` names it (``"lat"``, ``"mcc"``…)."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field = field_name


def _check_int(name: str, value: object, low: int, high: int) -> None:
    if type(value) is not int:
        raise CellFieldError(name, f"must be an integer, got {type(value).__name__}")
    if not low <= value <= high:
        raise CellFieldError(name, f"{value} is outside {low}..{high}")


def _check_degrees(name: str, value: object, limit: float) -> None:
    if type(value) is not float and type(value) is not int:
        raise CellFieldError(name, f"must be a number, got {type(value).__name__}")
    if not math.isfinite(value) or not -limit <= value <= limit:
        raise CellFieldError(name, f"{value} is outside -{limit:g}..{limit:g}")


@dataclass(frozen=True, slots=True)
class CellRecord:
    """One cell of the cell database, as OpenCelliD describes it.

    Raises:
        CellFieldError: a field is out of range (the instance is never created).
    """

    radio: str
    mcc: int
    mnc: int
    area: int
    cell: int
    lat: float
    lon: float
    range_m: int
    samples: int

    def __post_init__(self) -> None:
        # One combined test on the hot path (imports build millions of these); the
        # field-by-field checks below only run to name what is wrong.
        mcc, mnc, area, cell, lat, lon = (
            self.mcc,
            self.mnc,
            self.area,
            self.cell,
            self.lat,
            self.lon,
        )
        if (
            type(mcc) is int
            and type(mnc) is int
            and type(area) is int
            and type(cell) is int
            and type(self.range_m) is int
            and type(self.samples) is int
            and (type(lat) is float or type(lat) is int)
            and (type(lon) is float or type(lon) is int)
            and self.radio in CELL_RADIOS
            and 1 <= mcc <= 999
            and 0 <= mnc <= 999
            and 0 <= area <= _MAX_AREA
            and 0 <= cell <= _MAX_CELL
            and -90.0 <= lat <= 90.0
            and -180.0 <= lon <= 180.0
            and 0 <= self.range_m <= _MAX_INT32
            and 0 <= self.samples <= _MAX_INT32
        ):
            return
        self._explain()

    def _explain(self) -> None:
        if self.radio not in CELL_RADIOS:
            raise CellFieldError("radio", f"{self.radio!r} is not one of {sorted(CELL_RADIOS)}")
        _check_int("mcc", self.mcc, 1, 999)
        # CDMA puts the System ID (15 bits) where the others put the MNC.
        _check_int("mnc", self.mnc, 0, 32767 if self.radio == "CDMA" else 999)
        _check_int("area", self.area, 0, _MAX_AREA)
        _check_int("cell", self.cell, 0, _MAX_CELL)
        _check_degrees("lat", self.lat, 90.0)
        _check_degrees("lon", self.lon, 180.0)
        _check_int("range_m", self.range_m, 0, _MAX_INT32)
        _check_int("samples", self.samples, 0, _MAX_INT32)

    @property
    def key(self) -> CellKey:
        """The identity of the cell: (radio, mcc, mnc, area, cell)."""
        return (self.radio, self.mcc, self.mnc, self.area, self.cell)


def _to_vector(lat: float, lon: float) -> tuple[float, float, float]:
    phi, lam = math.radians(lat), math.radians(lon)
    return (math.cos(phi) * math.cos(lam), math.cos(phi) * math.sin(lam), math.sin(phi))


def _distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlam = phi2 - phi1, math.radians(lon2 - lon1)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlam / 2) ** 2
    return 2 * _EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def _centroid(points: list[tuple[float, float]]) -> tuple[float, float]:
    """Mean position on the sphere, correct across the antimeridian and near the poles."""
    x = y = z = 0.0
    for lat, lon in points:
        vx, vy, vz = _to_vector(lat, lon)
        x, y, z = x + vx, y + vy, z + vz
    norm = math.sqrt(x * x + y * y + z * z)
    if norm < 1e-12:  # antipodal cells: no meaningful mean, fall back to the first one
        return points[0]
    lat = math.degrees(math.asin(max(-1.0, min(1.0, z / norm))))
    lon = math.degrees(math.atan2(y, x))
    return lat, lon


class CellStore(Database):
    """Cells and area estimates."""

    def upsert_cells(self, rows: Iterable[CellRecord], *, batch_size: int = 5000) -> int:
        """Insert or update cells, ``batch_size`` rows per transaction (idempotent).

        A cell already present (same radio, mcc, mnc, area, cell) takes the new values.
        Rows are consumed lazily, so a generator over a huge file works in constant memory.

        Returns:
            The number of rows applied (duplicates within the input count each time).

        Raises:
            TypeError: an element is not a CellRecord (earlier batches stay applied).
        """
        batch_size = check.positive("batch_size", batch_size)
        applied = 0
        batch: dict[CellKey, CellRecord] = {}
        pending = 0
        for row in rows:
            if not isinstance(row, CellRecord):
                raise TypeError(f"upsert_cells takes CellRecord values, got {type(row).__name__}")
            # Later rows win; PostgreSQL refuses one statement touching a row twice.
            batch[row.key] = row
            pending += 1
            if pending >= batch_size:
                self._upsert_cell_batch(batch.values())
                applied += pending
                batch.clear()
                pending = 0
        if batch:
            self._upsert_cell_batch(batch.values())
            applied += pending
        return applied

    def _upsert_cell_batch(self, records: Iterable[CellRecord]) -> None:
        rows = [
            (
                r.radio,
                r.mcc,
                r.mnc,
                r.area,
                r.cell,
                float(r.lat),
                float(r.lon),
                r.range_m,
                r.samples,
            )
            for r in records
        ]
        with self._write("importing cells") as conn:
            if self.dialect == "sqlite":
                # The statement is compiled once with positional parameters in column
                # order; sqlite3 takes the tuples without per-row processing.
                conn.exec_driver_sql(self._sqlite_cell_upsert, rows)
            else:
                _copy_upsert_cells(conn, rows)

    def _cell_upsert_statement(self) -> Any:
        insert = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
        statement = insert(CELLS)
        return statement.on_conflict_do_update(
            index_elements=[CELLS.c.radio, CELLS.c.mcc, CELLS.c.mnc, CELLS.c.area, CELLS.c.cell],
            set_={name: statement.excluded[name] for name in ("lat", "lon", "range_m", "samples")},
        )

    @functools.cached_property
    def _sqlite_cell_upsert(self) -> str:
        compiled = self._cell_upsert_statement().compile(
            dialect=self._engine.dialect,
            column_keys=[c.name for c in CELLS.columns],
        )
        order = list(compiled.positiontup or ())
        if order != [c.name for c in CELLS.columns]:  # pragma: no cover - schema changed
            raise StoreError("cell upsert parameters are not in column order")
        return str(compiled)

    def find_cell(self, radio: str, mcc: int, mnc: int, area: int, cell: int) -> CellRecord | None:
        """The cell with that identity, or None (also for values no cell can have)."""
        if not _storable_key((radio, mcc, mnc, area, cell)):
            return None
        with self._read("looking up a cell") as conn:
            row = conn.execute(
                CELLS.select().where(
                    CELLS.c.radio == radio,
                    CELLS.c.mcc == mcc,
                    CELLS.c.mnc == mnc,
                    CELLS.c.area == area,
                    CELLS.c.cell == cell,
                )
            ).first()
        return None if row is None else _cell_record(row)

    def find_cells(self, keys: Iterable[CellKey]) -> dict[CellKey, CellRecord]:
        """Look up many cells at once; keys not in the database are absent from the result."""
        # Keys come from appliance reports; values no cell can have (a 70-bit cell id, a
        # string mcc) cannot match and must not reach the driver, which may refuse them.
        wanted = list(dict.fromkeys(key for key in map(tuple, keys) if _storable_key(key)))
        found: dict[CellKey, CellRecord] = {}
        key_columns = sa.tuple_(CELLS.c.radio, CELLS.c.mcc, CELLS.c.mnc, CELLS.c.area, CELLS.c.cell)
        with self._read("looking up cells") as conn:
            for start in range(0, len(wanted), _KEYS_PER_QUERY):
                chunk = wanted[start : start + _KEYS_PER_QUERY]
                for row in conn.execute(CELLS.select().where(key_columns.in_(chunk))):
                    record = _cell_record(row)
                    found[record.key] = record
        return found

    def area_estimate(self, radio: str, mcc: int, mnc: int, area: int) -> AreaEstimate | None:
        """Centre and covering radius of a location area from its known cells.

        The centre is the mean of the cell positions; the radius reaches the farthest
        cell's position plus its own range, so every cell's coverage is inside.

        Returns:
            (lat, lon, radius_m, n_cells), or None when the area has no known cell.
        """
        if not _storable_key((radio, mcc, mnc, area, 0)):
            return None
        with self._read("estimating an area") as conn:
            rows = conn.execute(
                sa.select(CELLS.c.lat, CELLS.c.lon, CELLS.c.range_m).where(
                    CELLS.c.radio == radio,
                    CELLS.c.mcc == mcc,
                    CELLS.c.mnc == mnc,
                    CELLS.c.area == area,
                )
            ).all()
        if not rows:
            return None
        lat, lon = _centroid([(row.lat, row.lon) for row in rows])
        radius = max(_distance_m(lat, lon, row.lat, row.lon) + row.range_m for row in rows)
        return (lat, lon, radius, len(rows))

    def cell_stats(self) -> dict[str, Any]:
        """Counts of cells: ``{"total": n, "by_radio": {radio: n}, "by_mcc": {mcc: n}}``."""
        with self._read("counting cells") as conn:
            by_radio = {
                str(radio): int(n)
                for radio, n in conn.execute(
                    sa.select(CELLS.c.radio, sa.func.count()).group_by(CELLS.c.radio)
                )
            }
            by_mcc = {
                int(mcc): int(n)
                for mcc, n in conn.execute(
                    sa.select(CELLS.c.mcc, sa.func.count()).group_by(CELLS.c.mcc)
                )
            }
        return {
            "total": sum(by_radio.values()),
            "by_radio": dict(sorted(by_radio.items())),
            "by_mcc": dict(sorted(by_mcc.items())),
        }


def _storable_key(key: tuple[object, ...]) -> bool:
    """Whether a cell key could be in the table at all (types and column ranges)."""
    if len(key) != 5 or not isinstance(key[0], str) or len(key[0]) > 8:
        return False
    return all(type(v) is int and 0 <= v <= MAX_BIGINT for v in key[1:])


_CELL_COLUMN_LIST: Final = "radio, mcc, mnc, area, cell, lat, lon, range_m, samples"


def _copy_upsert_cells(conn: Connection, rows: list[tuple[Any, ...]]) -> None:
    """PostgreSQL: COPY the batch into a session-local staging table, then upsert from it.

    COPY moves a batch in one round trip, an order of magnitude faster than
    row-by-row INSERTs; the staging table empties itself at commit.
    """
    driver = conn.connection.driver_connection
    if driver is None:  # pragma: no cover - a checked-out connection always has one
        raise StoreError("database connection lost while importing cells")
    with driver.cursor() as cursor:
        cursor.execute(
            "CREATE TEMPORARY TABLE IF NOT EXISTS cells_staging "
            "(LIKE cells INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
        )
        with cursor.copy(f"COPY cells_staging ({_CELL_COLUMN_LIST}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        cursor.execute(
            f"INSERT INTO cells ({_CELL_COLUMN_LIST}) "  # noqa: S608 - constant column list
            f"SELECT {_CELL_COLUMN_LIST} FROM cells_staging "
            "ON CONFLICT (radio, mcc, mnc, area, cell) DO UPDATE SET "
            "lat = excluded.lat, lon = excluded.lon, range_m = excluded.range_m, "
            "samples = excluded.samples"
        )


def _cell_record(row: sa.Row[Any]) -> CellRecord:
    return CellRecord(
        radio=row.radio,
        mcc=int(row.mcc),
        mnc=int(row.mnc),
        area=int(row.area),
        cell=int(row.cell),
        lat=float(row.lat),
        lon=float(row.lon),
        range_m=int(row.range_m),
        samples=int(row.samples),
    )
