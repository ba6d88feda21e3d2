"""Persistent state of the GMLC: clients, appliances, observations, cells and the audit log.

SQLAlchemy Core over SQLite (the default, one file in the state directory, WAL mode) or
PostgreSQL (for several GMLC nodes behind a load balancer). The schema is created and
upgraded by the Alembic migrations in ``gmlc/migrations``.

Every method is synchronous, thread-safe, and runs in its own short transaction, so a
caller never holds a transaction across a network round trip. Concurrency rules that
matter for correctness live in SQL, not in Python locks, because several processes (uvicorn
workers, GMLC nodes) share one database:

* ``accept_observation`` advances ``last_seq`` with a conditional ``UPDATE ... WHERE
  last_seq < :seq``; only the transaction that wins that row stores its report.
* A SIM serves at most one enabled appliance, enforced by partial unique indexes.
* The audit table refuses UPDATE and DELETE through database triggers.

On SQLite, write transactions start with ``BEGIN IMMEDIATE`` so that two writers queue on
the busy timeout instead of failing when one upgrades a read lock.

Wrong argument values raise ``ValueError``/``TypeError`` and change nothing; database
failures raise :class:`~gmlc.errors.StoreError`. Values that arrive from the network are
handled without failing where failing would lose a record: audit entries keep overlong
request fields cut to 255 characters (the cut noted in ``detail["truncated"]``), NUL
characters (which PostgreSQL cannot store) become U+FFFD in stored text and JSON, and
lookups with values no row can have simply find nothing.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import dataclasses
import fcntl
import functools
import json
import math
import os
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import event, exc
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, Connection, Engine
from sqlalchemy.pool import StaticPool

from gmlc.errors import DuplicateError, NotFoundError, StoreError

if TYPE_CHECKING:
    # Alembic is imported where it is used: most commands never migrate, and it costs a
    # quarter of a second at start-up.
    from alembic.config import Config
from gmlc.schema import APPLIANCES, AUDIT, CELLS, CLIENT_TARGETS, CLIENTS, OBSERVATIONS

__all__ = [
    "CELL_RADIOS",
    "ApplianceRecord",
    "AreaEstimate",
    "AuditRecord",
    "CellFieldError",
    "CellKey",
    "CellRecord",
    "ClientRecord",
    "ObservationRecord",
    "Store",
]

CELL_RADIOS: Final = frozenset({"GSM", "UMTS", "LTE", "NR", "CDMA"})
"""Radio technologies as OpenCelliD spells them."""

CellKey = tuple[str, int, int, int, int]
"""Identity of a cell: (radio, mcc, mnc, area, cell)."""

AreaEstimate = tuple[float, float, float, int]
"""(lat, lon, radius_m, n_cells) of a location area."""

_IDENTIFIER = re.compile(r"[A-Za-z0-9._-]{1,64}")
_AUDIT_KIND = re.compile(r"[a-z][a-z0-9_]{0,31}")
_IMSI = re.compile(r"[0-9]{6,15}")
_ICCID = re.compile(r"[0-9]{18,22}")
_MSISDN = re.compile(r"\+?([0-9]{3,15})")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_MAX_BIGINT: Final = 2**63 - 1
_MAX_INT32: Final = 2**31 - 1
_MAX_AREA: Final = 2**32 - 1
_MAX_CELL: Final = 2**36 - 1  # NR cell identities are 36 bits wide
_EARTH_RADIUS_M: Final = 6_371_008.8
_WRITE: Final = "salve_write"
_MIGRATIONS_DIR: Final = Path(__file__).resolve().parent / "migrations"
_PAGE: Final = 1000
_VERSION_TABLE: Final = "alembic_version"
_AUDIT_TEXT_LIMIT: Final = 255
_MIGRATION_LOCK: Final = 0x53414C5645  # "SALVE", the advisory lock id held while migrating
_KEYS_PER_QUERY: Final = 200


# --------------------------------------------------------------------------------------
# Records


@dataclass(frozen=True, slots=True)
class ClientRecord:
    """A web server allowed to query the GMLC, and the targets it may locate."""

    client_id: str
    password_hash: str
    enabled: bool
    msisdns: frozenset[str]
    imsis: frozenset[str]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ApplianceRecord:
    """An enrolled appliance, the SIM it holds, and the last sequence number it used."""

    appliance_id: str
    public_key: str
    imsi: str
    iccid: str
    msisdn: str | None
    site: str
    enabled: bool
    last_seq: int
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ObservationRecord:
    """One accepted observation report (its verified claims)."""

    appliance_id: str
    seq: int
    observed_at: datetime
    received_at: datetime
    report: dict[str, Any]


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


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """An audit entry to append (see :meth:`Store.append_audit` for the fields)."""

    kind: str
    client_id: str | None = None
    appliance_id: str | None = None
    source: str | None = None
    targets: Iterable[str] = ()
    result: int | None = None
    detail: Mapping[str, Any] | None = None
    at: datetime | None = None


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One entry of the append-only audit log."""

    id: int
    at: datetime
    kind: str
    client_id: str | None
    appliance_id: str | None
    source: str | None
    targets: list[str] = field(default_factory=list)
    result: int | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The entry as a JSON-ready dict (``at`` in ISO 8601 UTC)."""
        return {
            "id": self.id,
            "at": self.at.isoformat().replace("+00:00", "Z"),
            "kind": self.kind,
            "client_id": self.client_id,
            "appliance_id": self.appliance_id,
            "source": self.source,
            "targets": list(self.targets),
            "result": self.result,
            "detail": self.detail,
        }


# --------------------------------------------------------------------------------------
# Argument checks (ValueError/TypeError, raised before any database work)


def _identifier(kind: str, value: object) -> str:
    if not isinstance(value, str) or not _IDENTIFIER.fullmatch(value):
        raise ValueError(f"{kind} must be 1-64 characters of A-Z a-z 0-9 . _ -, got {value!r}")
    return value


def _digits(kind: str, pattern: re.Pattern[str], value: object, rule: str) -> str:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise ValueError(f"{kind} must be {rule}, got {value!r}")
    return value


def _imsi(value: object) -> str:
    return _digits("IMSI", _IMSI, value, "6-15 digits")


def _iccid(value: object) -> str:
    return _digits("ICCID", _ICCID, value, "18-22 digits")


def _msisdn(value: object) -> str:
    """An MSISDN in international form, stored without '+' so both spellings match."""
    match = _MSISDN.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f"MSISDN must be 3-15 digits, optionally after '+', got {value!r}")
    return match.group(1)


def _aware(name: str, value: object) -> datetime:
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be time-zone aware")
    return value.astimezone(UTC)


def _json_object(name: str, value: object) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise TypeError(f"{name} must be a dict, got {type(value).__name__}")
    try:
        # Round-trip so what we store is exactly what we will read back.
        loaded = json.loads(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name} is not representable as JSON: {error}") from None
    if not isinstance(loaded, dict):  # pragma: no cover - a dict stays a dict
        raise TypeError(f"{name} must be a JSON object")
    cleaned: dict[str, Any] = _without_nul(loaded)
    return cleaned


def _without_nul(value: Any) -> Any:
    """Replace NUL characters, which PostgreSQL cannot store in text or jsonb, by U+FFFD.

    The substitution is visible in what is stored, and both backends keep the same data.
    """
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, list):
        return [_without_nul(item) for item in value]
    if isinstance(value, dict):
        return {_without_nul(key): _without_nul(item) for key, item in value.items()}
    return value


def _strings(name: str, values: Iterable[str], check: Callable[[object], str]) -> list[str]:
    if isinstance(values, str | bytes):
        raise TypeError(f"{name} must be a collection of strings, not a single string")
    return sorted({check(v) for v in values})


def _public_key(value: object) -> str:
    if not isinstance(value, str) or len(value) != 43:
        raise ValueError("public key must be 43 characters of base64url (raw Ed25519 key)")
    try:
        raw = base64.urlsafe_b64decode(value + "=")
        Ed25519PublicKey.from_public_bytes(raw)
    except (binascii.Error, ValueError):
        raise ValueError("public key is not a base64url raw Ed25519 public key") from None
    return value


def _site(value: object) -> str:
    if not isinstance(value, str) or not 1 <= len(value.strip()) <= 200 or _CONTROL.search(value):
        raise ValueError("site must be 1-200 printable characters")
    return value.strip()


# --------------------------------------------------------------------------------------
# Geometry for area estimates


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


# --------------------------------------------------------------------------------------
# Engine set-up


def _normalise_url(url: str) -> URL:
    try:
        parsed = sa.engine.make_url(url)
    except exc.ArgumentError:
        raise StoreError(
            "the database URL cannot be parsed; use sqlite:///PATH or "
            "postgresql+psycopg://USER@HOST/DB"
        ) from None
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        if parsed.drivername in ("postgresql", "postgresql+psycopg"):
            return parsed.set(drivername="postgresql+psycopg")
        raise StoreError(
            f"database driver {parsed.drivername!r} is not supported; use postgresql+psycopg://"
        )
    if backend == "sqlite":
        if parsed.drivername not in ("sqlite", "sqlite+pysqlite"):
            raise StoreError(f"database driver {parsed.drivername!r} is not supported; use sqlite")
        return parsed
    raise StoreError(
        f"database {backend!r} is not supported; use sqlite:///PATH or postgresql+psycopg://"
    )


def _is_memory(url: URL) -> bool:
    return url.database in (None, "", ":memory:") or (url.query.get("mode") == "memory")


def _create_private_file(path: Path) -> None:
    """Create the SQLite file readable by its owner only (SQLite copies the mode to -wal)."""
    if not path.parent.is_dir():
        raise StoreError(f"directory {path.parent} does not exist; run `salve-gmlc init` first")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    except OSError as error:
        raise StoreError(f"cannot create database file {path}: {error.strerror}") from None
    os.close(fd)


class _WriterGate:
    """Serialises SQLite writers across threads and processes, waking on release.

    SQLite lets one writer in at a time; the others get SQLITE_BUSY and its busy handler
    retries after fixed sleeps of up to 100 ms, so under concurrency writers sleep long
    after the lock is free (the GMLC's workers saw p99 above a second). Taking an
    exclusive ``flock`` on a lock file beside the database first makes writers queue in
    the kernel and wake the moment the holder releases it. Readers are not affected
    (WAL), and the busy timeout still covers writers that do not use this gate.
    """

    def __init__(self, path: Path) -> None:
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        self._lock = threading.RLock()  # flock is per open file: threads queue here first
        self._depth = 0

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        with self._lock:
            if self._depth == 0:
                fcntl.flock(self._fd, fcntl.LOCK_EX)
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if self._depth == 0:
                    fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        os.close(self._fd)


def _target_lookup(msisdn: str | None, imsi: str | None) -> tuple[sa.Select[Any], str] | None:
    """The prebuilt query and normalised value for a target, None for an impossible value."""
    if (msisdn is None) == (imsi is None):
        raise ValueError("give exactly one of msisdn and imsi")
    try:
        if msisdn is not None:
            return _ENABLED_BY_MSISDN, _msisdn(msisdn)
        return _ENABLED_BY_IMSI, _imsi(imsi)
    except ValueError:
        return None


# Statements on every SLIR's path, built once: constructing a Core statement per call
# costs more than executing it (the compiled form is cached either way).
_CLIENT_WITH_TARGETS = (
    sa.select(CLIENTS, CLIENT_TARGETS.c.msid_type, CLIENT_TARGETS.c.value)
    .select_from(
        CLIENTS.outerjoin(CLIENT_TARGETS, CLIENT_TARGETS.c.client_id == CLIENTS.c.client_id)
    )
    .where(CLIENTS.c.client_id == sa.bindparam("client_id"))
)
_ENABLED_BY_MSISDN = APPLIANCES.select().where(
    APPLIANCES.c.msisdn == sa.bindparam("value"), APPLIANCES.c.enabled.is_(True)
)
_ENABLED_BY_IMSI = APPLIANCES.select().where(
    APPLIANCES.c.imsi == sa.bindparam("value"), APPLIANCES.c.enabled.is_(True)
)
_LATEST_OBSERVATION = (
    OBSERVATIONS.select()
    .where(OBSERVATIONS.c.appliance_id == sa.bindparam("appliance_id"))
    .order_by(OBSERVATIONS.c.seq.desc())
    .limit(1)
)


def _install_sqlite_hooks(engine: Engine, *, memory: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Hand transaction control to the "begin" hook below (pysqlite otherwise issues its
        # own deferred BEGIN, which cannot be made IMMEDIATE).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.execute("PRAGMA busy_timeout = 5000")
            if not memory:
                cursor.execute("PRAGMA journal_mode = WAL")
                # NORMAL is durable across application crashes in WAL mode; only a power
                # loss can roll back the last transactions, never corrupt the file.
                cursor.execute("PRAGMA synchronous = NORMAL")
            # 32 MiB of page cache (default 2 MiB) keeps the cell index's upper levels in
            # memory during imports; it is a ceiling, not an allocation.
            cursor.execute("PRAGMA cache_size = -32768")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        writing = conn.get_execution_options().get(_WRITE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if writing else "BEGIN")


def _database_failure(operation: str, error: exc.DBAPIError) -> StoreError:
    reason = str(error.orig).strip().splitlines()[0][:200] if error.orig is not None else ""
    return StoreError(f"database error while {operation}: {reason or type(error).__name__}")


@contextlib.contextmanager
def _translated(operation: str) -> Iterator[None]:
    try:
        yield
    except exc.DBAPIError as error:
        raise _database_failure(operation, error) from error
    except exc.SQLAlchemyError as error:
        raise StoreError(f"database error while {operation}: {type(error).__name__}") from error


# --------------------------------------------------------------------------------------
# The store


class Store:
    """Access to the GMLC database. Create with :meth:`open`; close with :meth:`close`."""

    def __init__(
        self,
        engine: Engine,
        *,
        clock: Callable[[], datetime] | None = None,
        memory: bool = False,
        writer_gate: _WriterGate | None = None,
    ) -> None:
        """Wrap an engine prepared by :meth:`open` (use that instead)."""
        self._engine = engine
        self._writer_gate = writer_gate
        self._clock = clock or (lambda: datetime.now(UTC))
        # An in-memory SQLite database is one shared connection; transactions on it must
        # take turns. File and server databases rely on the pool and the database's locks.
        self._serial: threading.RLock | None = threading.RLock() if memory else None
        self._head: str | None = None

    @classmethod
    def open(cls, url: str, *, clock: Callable[[], datetime] | None = None) -> Store:
        """Connect to the database at ``url`` (the schema is not touched; see :meth:`migrate`).

        Args:
            url: ``sqlite:///PATH`` (file created mode 0600 if absent), ``sqlite://`` (memory,
                for tests), or ``postgresql://`` / ``postgresql+psycopg://`` (psycopg 3).
            clock: returns the current aware time; default the system clock in UTC.

        Raises:
            StoreError: the URL is unsupported, or the database cannot be reached.
        """
        parsed = _normalise_url(url)
        memory = False
        writer_gate: _WriterGate | None = None
        options: dict[str, Any] = {}
        if parsed.get_backend_name() == "sqlite":
            memory = _is_memory(parsed)
            if memory:
                options.update(poolclass=StaticPool, connect_args={"check_same_thread": False})
            else:
                database_file = Path(parsed.database or "")
                _create_private_file(database_file)
                writer_gate = _WriterGate(database_file.with_name(database_file.name + ".writers"))
                options.update(connect_args={"check_same_thread": False})
        else:
            options.update(pool_pre_ping=True)
        engine = sa.create_engine(parsed, **options)
        if parsed.get_backend_name() == "sqlite":
            _install_sqlite_hooks(engine, memory=memory)
        store = cls(engine, clock=clock, memory=memory, writer_gate=writer_gate)
        try:
            with store._read() as conn:
                conn.execute(sa.text("SELECT 1"))
        except StoreError:
            store.close()
            raise
        return store

    # ---- lifecycle -------------------------------------------------------------------

    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self._engine.dialect.name

    @property
    def display_url(self) -> str:
        """The database URL with any password hidden, for messages and logs."""
        return self._engine.url.render_as_string(hide_password=True)

    def close(self) -> None:
        """Close every pooled connection. The store must not be used afterwards."""
        self._engine.dispose()
        if self._writer_gate is not None:
            self._writer_gate.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_exc_info: object) -> None:
        self.close()

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        if self._serial is None:
            yield
        else:
            with self._serial:
                yield

    @contextlib.contextmanager
    def _read(self, operation: str = "reading") -> Iterator[Connection]:
        with self._locked(), _translated(operation), self._engine.connect() as conn:
            with conn.begin():
                yield conn

    @contextlib.contextmanager
    def _write(self, operation: str = "writing") -> Iterator[Connection]:
        gate = self._writer_gate.held() if self._writer_gate else contextlib.nullcontext()
        with self._locked(), gate, _translated(operation), self._engine.connect() as conn:
            conn.execution_options(**{_WRITE: True})
            with conn.begin():
                yield conn

    def _alembic_config(self, connection: Connection) -> Config:
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(_MIGRATIONS_DIR))
        config.attributes["connection"] = connection
        return config

    def migrate(self) -> None:
        """Create or upgrade the schema to the newest migration (safe to repeat).

        Raises:
            StoreError: a migration failed; the database is left at the last good revision.
        """
        with self._write("migrating the schema") as conn:
            if self.dialect == "postgresql":
                # Nodes started together must not run the same migration twice at once.
                conn.execute(
                    sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK}
                )
            from alembic import command

            command.upgrade(self._alembic_config(conn), "head")

    def current_revision(self) -> str | None:
        """The migration the database is at, or None for an empty database."""
        # Read Alembic's version table directly: cheap enough for a readiness probe, and
        # without the log lines a MigrationContext writes on every call.
        with self._read("reading the schema revision") as conn:
            if not sa.inspect(conn).has_table(_VERSION_TABLE):
                return None
            versions = conn.execute(sa.text("SELECT version_num FROM alembic_version")).all()
        if len(versions) != 1:
            return None if not versions else ",".join(sorted(v[0] for v in versions))
        return str(versions[0][0])

    def head_revision(self) -> str | None:
        """The newest migration this version of the software knows."""
        if self._head is None:
            from alembic.config import Config
            from alembic.script import ScriptDirectory

            config = Config()
            config.set_main_option("script_location", str(_MIGRATIONS_DIR))
            self._head = ScriptDirectory.from_config(config).get_current_head()
        return self._head

    def schema_is_current(self) -> bool:
        """True when the database is migrated to the newest known revision."""
        return self.current_revision() == self.head_revision()

    # ---- clients ---------------------------------------------------------------------

    def add_client(
        self,
        client_id: str,
        password_hash: str,
        *,
        msisdns: Iterable[str] = (),
        imsis: Iterable[str] = (),
    ) -> ClientRecord:
        """Register a client (enabled) with the targets it may locate.

        Raises:
            DuplicateError: a client with that id exists.
            ValueError: an id, hash, MSISDN or IMSI is malformed.
        """
        _identifier("client id", client_id)
        _password_hash(password_hash)
        targets = _target_rows(client_id, msisdns, imsis)
        now = _aware("clock()", self._clock())
        with self._write("adding a client") as conn:
            try:
                with conn.begin_nested():
                    conn.execute(
                        CLIENTS.insert().values(
                            client_id=client_id,
                            password_hash=password_hash,
                            enabled=True,
                            created_at=now,
                        )
                    )
            except exc.IntegrityError:
                raise DuplicateError(f"client {client_id!r} already exists") from None
            if targets:
                conn.execute(CLIENT_TARGETS.insert(), targets)
        return ClientRecord(
            client_id=client_id,
            password_hash=password_hash,
            enabled=True,
            msisdns=frozenset(t["value"] for t in targets if t["msid_type"] == "msisdn"),
            imsis=frozenset(t["value"] for t in targets if t["msid_type"] == "imsi"),
            created_at=now,
        )

    def get_client(self, client_id: str) -> ClientRecord | None:
        """The client with that id, or None."""
        if "\x00" in client_id:  # cannot be stored, so cannot match; PostgreSQL would refuse it
            return None
        with self._read("reading a client") as conn:
            rows = conn.execute(_CLIENT_WITH_TARGETS, {"client_id": client_id}).all()
        if not rows:
            return None
        # One row per authorized target (one row with NULL target fields when none).
        return _client_record(rows[0], [r for r in rows if r.msid_type is not None])

    def list_clients(self) -> list[ClientRecord]:
        """Every client, ordered by id."""
        with self._read("listing clients") as conn:
            rows = conn.execute(CLIENTS.select().order_by(CLIENTS.c.client_id)).all()
            targets = conn.execute(CLIENT_TARGETS.select()).all()
        by_client: dict[str, list[sa.Row[Any]]] = {}
        for target in targets:
            by_client.setdefault(target.client_id, []).append(target)
        return [_client_record(row, by_client.get(row.client_id, [])) for row in rows]

    def set_client_enabled(self, client_id: str, enabled: bool) -> None:
        """Enable or disable a client.

        Raises:
            NotFoundError: no such client.
        """
        with self._write("updating a client") as conn:
            result = conn.execute(
                CLIENTS.update()
                .where(CLIENTS.c.client_id == client_id)
                .values(enabled=bool(enabled))
            )
            if result.rowcount == 0:
                raise NotFoundError(f"client {client_id!r} does not exist")

    def set_client_password(self, client_id: str, password_hash: str) -> None:
        """Replace a client's password hash.

        Raises:
            NotFoundError: no such client.
            ValueError: the hash is empty.
        """
        _password_hash(password_hash)
        with self._write("updating a client") as conn:
            result = conn.execute(
                CLIENTS.update()
                .where(CLIENTS.c.client_id == client_id)
                .values(password_hash=password_hash)
            )
            if result.rowcount == 0:
                raise NotFoundError(f"client {client_id!r} does not exist")

    def authorize_client(
        self, client_id: str, *, msisdns: Iterable[str] = (), imsis: Iterable[str] = ()
    ) -> ClientRecord:
        """Allow a client to locate more targets (targets it already has are kept).

        Raises:
            NotFoundError: no such client.
            ValueError: an MSISDN or IMSI is malformed.
        """
        targets = _target_rows(client_id, msisdns, imsis)
        with self._write("authorizing a client") as conn:
            exists = conn.execute(
                sa.select(CLIENTS.c.client_id).where(CLIENTS.c.client_id == client_id)
            ).first()
            if exists is None:
                raise NotFoundError(f"client {client_id!r} does not exist")
            if targets:
                conn.execute(_insert_ignoring_duplicates(self.dialect, CLIENT_TARGETS), targets)
        record = self.get_client(client_id)
        if record is None:  # removed by someone else in between
            raise NotFoundError(f"client {client_id!r} does not exist")
        return record

    # ---- appliances ------------------------------------------------------------------

    def add_appliance(
        self,
        appliance_id: str,
        *,
        public_key: str,
        imsi: str,
        iccid: str,
        msisdn: str | None,
        site: str,
    ) -> ApplianceRecord:
        """Enrol an appliance (enabled, ``last_seq`` 0) with the SIM it holds.

        Raises:
            DuplicateError: the id exists, or the IMSI, ICCID or MSISDN is already bound to
                another enabled appliance.
            ValueError: a field is malformed.
        """
        record = ApplianceRecord(
            appliance_id=_identifier("appliance id", appliance_id),
            public_key=_public_key(public_key),
            imsi=_imsi(imsi),
            iccid=_iccid(iccid),
            msisdn=None if msisdn is None else _msisdn(msisdn),
            site=_site(site),
            enabled=True,
            last_seq=0,
            created_at=_aware("clock()", self._clock()),
        )
        values = dataclasses.asdict(record)
        with self._write("adding an appliance") as conn:
            if conn.execute(
                sa.select(APPLIANCES.c.appliance_id).where(
                    APPLIANCES.c.appliance_id == appliance_id
                )
            ).first():
                raise DuplicateError(f"appliance {appliance_id!r} already exists")
            _refuse_sim_conflict(conn, appliance_id, values)
            try:
                with conn.begin_nested():
                    conn.execute(APPLIANCES.insert().values(**values))
            except exc.IntegrityError:
                # Lost a race with a concurrent enrolment on another connection or node.
                raise DuplicateError(
                    f"appliance {appliance_id!r} or its SIM is already enrolled"
                ) from None
        return record

    def get_appliance(self, appliance_id: str) -> ApplianceRecord | None:
        """The appliance with that id (enabled or not), or None."""
        if "\x00" in appliance_id:  # cannot be stored, so cannot match; PostgreSQL would refuse it
            return None
        with self._read("reading an appliance") as conn:
            row = conn.execute(
                APPLIANCES.select().where(APPLIANCES.c.appliance_id == appliance_id)
            ).one_or_none()
        return None if row is None else _appliance_record(row)

    def list_appliances(self) -> list[ApplianceRecord]:
        """Every appliance, ordered by id."""
        with self._read("listing appliances") as conn:
            rows = conn.execute(APPLIANCES.select().order_by(APPLIANCES.c.appliance_id)).all()
        return [_appliance_record(row) for row in rows]

    def set_appliance_enabled(self, appliance_id: str, enabled: bool) -> None:
        """Enable or disable an appliance.

        Raises:
            NotFoundError: no such appliance.
            DuplicateError: enabling it would bind its SIM to two enabled appliances.
        """
        with self._write("updating an appliance") as conn:
            row = conn.execute(
                APPLIANCES.select().where(APPLIANCES.c.appliance_id == appliance_id)
            ).one_or_none()
            if row is None:
                raise NotFoundError(f"appliance {appliance_id!r} does not exist")
            if enabled:
                _refuse_sim_conflict(conn, appliance_id, row._asdict())
            try:
                with conn.begin_nested():
                    conn.execute(
                        APPLIANCES.update()
                        .where(APPLIANCES.c.appliance_id == appliance_id)
                        .values(enabled=bool(enabled))
                    )
            except exc.IntegrityError:
                raise DuplicateError(
                    f"the SIM of appliance {appliance_id!r} is bound to another enabled appliance"
                ) from None

    def find_appliance_for_target(
        self, *, msisdn: str | None = None, imsi: str | None = None
    ) -> ApplianceRecord | None:
        """The enabled appliance holding the SIM with that MSISDN or IMSI, or None.

        Exactly one of ``msisdn`` and ``imsi`` must be given. A malformed value finds
        nothing (it cannot match an enrolled SIM).

        Raises:
            ValueError: neither or both were given.
        """
        lookup = _target_lookup(msisdn, imsi)
        if lookup is None:
            return None
        statement, value = lookup
        with self._read("finding an appliance") as conn:
            row = conn.execute(statement, {"value": value}).first()
        return None if row is None else _appliance_record(row)

    def target_snapshot(
        self, *, msisdn: str | None = None, imsi: str | None = None
    ) -> tuple[ApplianceRecord, ObservationRecord | None] | None:
        """The enabled appliance for a target and its latest observation, in one read.

        Same as :meth:`find_appliance_for_target` followed by :meth:`latest_observation`,
        but consistent (one transaction) and cheaper: this is on every SLIR's path.

        Raises:
            ValueError: neither or both of ``msisdn`` and ``imsi`` were given.
        """
        lookup = _target_lookup(msisdn, imsi)
        if lookup is None:
            return None
        statement, value = lookup
        with self._read("finding an appliance") as conn:
            row = conn.execute(statement, {"value": value}).first()
            if row is None:
                return None
            latest = conn.execute(_LATEST_OBSERVATION, {"appliance_id": row.appliance_id}).first()
        return _appliance_record(row), None if latest is None else _observation_record(latest)

    # ---- observations ----------------------------------------------------------------

    def accept_observation(
        self,
        appliance_id: str,
        seq: int,
        observed_at: datetime,
        report: dict[str, Any],
        received_at: datetime,
    ) -> bool:
        """Store an observation if its ``seq`` is above the appliance's ``last_seq``.

        The check and the advance are one conditional UPDATE, so concurrent deliveries
        of the same or older sequence numbers store nothing and return False.

        Returns:
            True if stored; False for a replay (``seq`` not above ``last_seq``).

        Raises:
            NotFoundError: no such appliance.
            ValueError, TypeError: a malformed argument.
        """
        if type(seq) is not int or not 1 <= seq <= _MAX_BIGINT:
            raise ValueError(f"seq must be an integer 1..2^63-1, got {seq!r}")
        values = {
            "appliance_id": appliance_id,
            "seq": seq,
            "observed_at": _aware("observed_at", observed_at),
            "received_at": _aware("received_at", received_at),
            "report": _json_object("report", report),
        }
        with self._write("storing an observation") as conn:
            advanced = conn.execute(
                APPLIANCES.update()
                .where(APPLIANCES.c.appliance_id == appliance_id, APPLIANCES.c.last_seq < seq)
                .values(last_seq=seq)
            ).rowcount
            if advanced == 0:
                known = conn.execute(
                    sa.select(APPLIANCES.c.appliance_id).where(
                        APPLIANCES.c.appliance_id == appliance_id
                    )
                ).first()
                if known is None:
                    raise NotFoundError(f"appliance {appliance_id!r} does not exist")
                return False
            conn.execute(OBSERVATIONS.insert().values(**values))
        return True

    def latest_observation(self, appliance_id: str) -> ObservationRecord | None:
        """The accepted observation with the highest ``seq``, or None."""
        if "\x00" in appliance_id:  # cannot be stored, so cannot match; PostgreSQL would refuse it
            return None
        with self._read("reading an observation") as conn:
            row = conn.execute(_LATEST_OBSERVATION, {"appliance_id": appliance_id}).first()
        return None if row is None else _observation_record(row)

    def list_observations(
        self, appliance_id: str, *, limit: int | None = None
    ) -> list[ObservationRecord]:
        """Stored observations of one appliance, newest (highest ``seq``) first."""
        query = (
            OBSERVATIONS.select()
            .where(OBSERVATIONS.c.appliance_id == appliance_id)
            .order_by(OBSERVATIONS.c.seq.desc())
        )
        if limit is not None:
            query = query.limit(_positive("limit", limit))
        with self._read("reading observations") as conn:
            rows = conn.execute(query).all()
        return [_observation_record(row) for row in rows]

    def count_observations(self, appliance_id: str | None = None) -> int:
        """How many observations are stored (for one appliance, or in total)."""
        query = sa.select(sa.func.count()).select_from(OBSERVATIONS)
        if appliance_id is not None:
            query = query.where(OBSERVATIONS.c.appliance_id == appliance_id)
        with self._read("counting observations") as conn:
            return int(conn.execute(query).scalar_one())

    def prune_observations(self, *, older_than: datetime, keep_per_appliance: int) -> int:
        """Delete observations received before ``older_than`` and beyond the newest
        ``keep_per_appliance`` of each appliance (``last_seq`` is kept, so replays of
        pruned reports are still refused).

        Returns:
            The number of observations deleted.

        Raises:
            ValueError: ``keep_per_appliance`` below 1, or a naive ``older_than``.
        """
        cutoff = _aware("older_than", older_than)
        keep = _positive("keep_per_appliance", keep_per_appliance)
        deleted = 0
        with self._write("pruning observations") as conn:
            deleted += conn.execute(
                OBSERVATIONS.delete().where(OBSERVATIONS.c.received_at < cutoff)
            ).rowcount
            crowded = conn.execute(
                sa.select(OBSERVATIONS.c.appliance_id)
                .group_by(OBSERVATIONS.c.appliance_id)
                .having(sa.func.count() > keep)
            ).scalars()
            for appliance_id in list(crowded):
                oldest_kept = conn.execute(
                    sa.select(OBSERVATIONS.c.seq)
                    .where(OBSERVATIONS.c.appliance_id == appliance_id)
                    .order_by(OBSERVATIONS.c.seq.desc())
                    .offset(keep - 1)
                    .limit(1)
                ).scalar_one()
                deleted += conn.execute(
                    OBSERVATIONS.delete().where(
                        OBSERVATIONS.c.appliance_id == appliance_id,
                        OBSERVATIONS.c.seq < oldest_kept,
                    )
                ).rowcount
        return deleted

    # ---- cells -----------------------------------------------------------------------

    def upsert_cells(self, rows: Iterable[CellRecord], *, batch_size: int = 5000) -> int:
        """Insert or update cells, ``batch_size`` rows per transaction (idempotent).

        A cell already present (same radio, mcc, mnc, area, cell) takes the new values.
        Rows are consumed lazily, so a generator over a huge file works in constant memory.

        Returns:
            The number of rows applied (duplicates within the input count each time).

        Raises:
            TypeError: an element is not a CellRecord (earlier batches stay applied).
        """
        batch_size = _positive("batch_size", batch_size)
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

    # ---- audit -----------------------------------------------------------------------

    def append_audit(
        self,
        kind: str,
        *,
        client_id: str | None = None,
        appliance_id: str | None = None,
        source: str | None = None,
        targets: Iterable[str] = (),
        result: int | None = None,
        detail: Mapping[str, Any] | None = None,
        at: datetime | None = None,
    ) -> None:
        """Append one entry to the audit log (never updated or deleted afterwards).

        Args:
            kind: what happened: ``slir``, ``statement``, ``observation_rejected``,
                ``sim_mismatch``, ``auth_failure``… (lower case, digits, ``_``).
            client_id: the MLP client concerned, if any.
            appliance_id: the appliance concerned, if any.
            source: the peer address of the request.
            targets: the MSIDs the entry is about.
            result: the request-level MLP result code, if any.
            detail: kind-specific facts, JSON-serialisable.
            at: when it happened; default now.

        Raises:
            ValueError, TypeError: a malformed argument (nothing is written).
        """
        self.append_audits(
            [
                AuditEntry(
                    kind,
                    client_id=client_id,
                    appliance_id=appliance_id,
                    source=source,
                    targets=targets,
                    result=result,
                    detail=detail,
                    at=at,
                )
            ]
        )

    def append_audits(self, entries: Iterable[AuditEntry]) -> None:
        """Append several audit entries in one transaction: all of them or none.

        One request's entries (its ``slir`` row and the ``statement`` rows it issued) are
        written together, which costs one commit instead of one per row.

        Raises:
            ValueError, TypeError: a malformed entry (nothing is written).
        """
        rows = [self._audit_row(entry) for entry in entries]
        if not rows:
            return
        with self._write("writing the audit log") as conn:
            conn.execute(AUDIT.insert(), rows)

    def _audit_row(self, entry: AuditEntry) -> dict[str, Any]:
        kind, client_id, appliance_id, source = (
            entry.kind,
            entry.client_id,
            entry.appliance_id,
            entry.source,
        )
        targets, result, detail, at = entry.targets, entry.result, entry.detail, entry.at
        if not isinstance(kind, str) or not _AUDIT_KIND.fullmatch(kind):
            raise ValueError(f"audit kind must match [a-z][a-z0-9_]{{0,31}}, got {kind!r}")
        if result is not None and type(result) is not int:
            raise TypeError(f"result must be an int or None, got {type(result).__name__}")
        if isinstance(targets, str | bytes):
            raise TypeError("targets must be a collection of strings, not a single string")
        target_list = list(targets)
        if not all(isinstance(t, str) for t in target_list):
            raise TypeError("targets must be strings")
        # These come from requests, so they may be hostile or absurdly long; the entry is
        # still written (that is the point of an audit log), cut to the column size, and
        # the cut is recorded in the detail.
        texts: dict[str, str | None] = {}
        truncated: dict[str, int] = {}
        for name, text in (
            ("client_id", client_id),
            ("appliance_id", appliance_id),
            ("source", source),
        ):
            if text is not None and not isinstance(text, str):
                raise TypeError(f"{name} must be a string or None, got {type(text).__name__}")
            if text is not None and len(text) > _AUDIT_TEXT_LIMIT:
                truncated[name] = len(text)
                text = text[:_AUDIT_TEXT_LIMIT]
            texts[name] = None if text is None else _without_nul(text)
        details = dict(detail or {})
        if truncated:
            details["truncated"] = truncated
        values = {
            "at": _aware("at", self._clock() if at is None else at),
            "kind": kind,
            **texts,
            "targets": _without_nul(target_list),
            "result": result,
            "detail": _json_object("detail", details),
        }
        return values

    def list_audit(
        self,
        *,
        since: datetime | None = None,
        kind: str | None = None,
        limit: int | None = None,
        newest_first: bool = False,
    ) -> Iterator[AuditRecord]:
        """Audit entries in the order they were written (or newest first).

        Entries are fetched page by page, each page in its own short transaction, so an
        export of millions of entries neither holds a transaction open nor fills memory.

        Args:
            since: only entries at or after this time.
            kind: only entries of this kind.
            limit: at most this many entries.
            newest_first: walk backwards from the most recent entry.
        """
        conditions: list[sa.ColumnElement[bool]] = []
        if since is not None:
            conditions.append(AUDIT.c.at >= _aware("since", since))
        if kind is not None:
            conditions.append(AUDIT.c.kind == kind)
        remaining = None if limit is None else _positive("limit", limit)
        return self._audit_pages(conditions, remaining, newest_first)

    def _audit_pages(
        self,
        conditions: list[sa.ColumnElement[bool]],
        remaining: int | None,
        newest_first: bool,
    ) -> Iterator[AuditRecord]:
        last_id: int | None = None
        while remaining is None or remaining > 0:
            page = _PAGE if remaining is None else min(_PAGE, remaining)
            query = AUDIT.select().where(*conditions)
            if last_id is not None:
                query = query.where(AUDIT.c.id < last_id if newest_first else AUDIT.c.id > last_id)
            query = query.order_by(AUDIT.c.id.desc() if newest_first else AUDIT.c.id).limit(page)
            with self._read("reading the audit log") as conn:
                rows = conn.execute(query).all()
            for row in rows:
                yield _audit_record(row)
            if remaining is not None:
                remaining -= len(rows)
            if len(rows) < page:
                return
            last_id = rows[-1].id

    def count_audit(self, kind: str | None = None) -> int:
        """How many audit entries there are (of one kind, or in total)."""
        query = sa.select(sa.func.count()).select_from(AUDIT)
        if kind is not None:
            query = query.where(AUDIT.c.kind == kind)
        with self._read("counting audit entries") as conn:
            return int(conn.execute(query).scalar_one())


# --------------------------------------------------------------------------------------
# Row helpers


def _storable_key(key: tuple[object, ...]) -> bool:
    """Whether a cell key could be in the table at all (types and column ranges)."""
    if len(key) != 5 or not isinstance(key[0], str) or len(key[0]) > 8:
        return False
    return all(type(v) is int and 0 <= v <= _MAX_BIGINT for v in key[1:])


def _positive(name: str, value: object) -> int:
    if type(value) is not int or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return value


def _password_hash(value: object) -> str:
    if not isinstance(value, str) or not value or len(value) > 1024:
        raise ValueError("password hash must be a non-empty string")
    return value


def _target_rows(
    client_id: str, msisdns: Iterable[str], imsis: Iterable[str]
) -> list[dict[str, str]]:
    rows = [
        {"client_id": client_id, "msid_type": "msisdn", "value": value}
        for value in _strings("msisdns", msisdns, _msisdn)
    ]
    rows += [
        {"client_id": client_id, "msid_type": "imsi", "value": value}
        for value in _strings("imsis", imsis, _imsi)
    ]
    return rows


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


def _insert_ignoring_duplicates(dialect: str, table: sa.Table) -> Any:
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    return sqlite.insert(table).on_conflict_do_nothing()


def _refuse_sim_conflict(conn: Connection, appliance_id: str, values: Mapping[str, Any]) -> None:
    for column_name, label in (("imsi", "IMSI"), ("iccid", "ICCID"), ("msisdn", "MSISDN")):
        value = values.get(column_name)
        if value is None:
            continue
        column = APPLIANCES.c[column_name]
        holder = conn.execute(
            sa.select(APPLIANCES.c.appliance_id).where(
                column == value,
                APPLIANCES.c.enabled.is_(True),
                APPLIANCES.c.appliance_id != appliance_id,
            )
        ).scalar_one_or_none()
        if holder is not None:
            raise DuplicateError(
                f"{label} {value} is already bound to enabled appliance {holder!r}"
            )


def _client_record(row: sa.Row[Any], targets: Iterable[sa.Row[Any]]) -> ClientRecord:
    msisdns = frozenset(t.value for t in targets if t.msid_type == "msisdn")
    imsis = frozenset(t.value for t in targets if t.msid_type == "imsi")
    return ClientRecord(
        client_id=row.client_id,
        password_hash=row.password_hash,
        enabled=bool(row.enabled),
        msisdns=msisdns,
        imsis=imsis,
        created_at=row.created_at,
    )


def _appliance_record(row: sa.Row[Any]) -> ApplianceRecord:
    return ApplianceRecord(
        appliance_id=row.appliance_id,
        public_key=row.public_key,
        imsi=row.imsi,
        iccid=row.iccid,
        msisdn=row.msisdn,
        site=row.site,
        enabled=bool(row.enabled),
        last_seq=int(row.last_seq),
        created_at=row.created_at,
    )


def _observation_record(row: sa.Row[Any]) -> ObservationRecord:
    return ObservationRecord(
        appliance_id=row.appliance_id,
        seq=int(row.seq),
        observed_at=row.observed_at,
        received_at=row.received_at,
        report=dict(row.report),
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


def _audit_record(row: sa.Row[Any]) -> AuditRecord:
    return AuditRecord(
        id=int(row.id),
        at=row.at,
        kind=row.kind,
        client_id=row.client_id,
        appliance_id=row.appliance_id,
        source=row.source,
        targets=list(row.targets),
        result=row.result,
        detail=dict(row.detail),
    )
