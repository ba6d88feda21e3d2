"""The database underneath every store: engine set-up, transactions, migrations.

SQLite (one file, WAL mode, writers queued on a kernel lock) or PostgreSQL (psycopg 3).
On SQLite, write transactions start with ``BEGIN IMMEDIATE`` so that two writers queue on
the busy timeout instead of failing when one upgrades a read lock. Database failures
surface as :class:`~gmlc.errors.StoreError`.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Self

import sqlalchemy as sa
from sqlalchemy import event, exc
from sqlalchemy.engine import URL, Connection, Engine
from sqlalchemy.pool import StaticPool

from gmlc.errors import StoreError

if TYPE_CHECKING:
    # Alembic is imported where it is used: most commands never migrate, and it costs a
    # quarter of a second at start-up.
    from alembic.config import Config

__all__ = ["Database"]

_WRITE: Final = "salve_write"
_MIGRATIONS_DIR: Final = Path(__file__).resolve().parent.parent / "migrations"
_VERSION_TABLE: Final = "alembic_version"
_MIGRATION_LOCK: Final = 0x53414C5645  # "SALVE", the advisory lock id held while migrating


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


def _driver_failure(operation: str, error: BaseException | None) -> StoreError:
    """The driver's own error (sqlite3, psycopg) as a StoreError: its first line, capped."""
    lines = str(error).strip().splitlines() if error is not None else []
    reason = lines[0][:200] if lines else ""
    return StoreError(f"database error while {operation}: {reason or type(error).__name__}")


def _database_failure(operation: str, error: exc.DBAPIError) -> StoreError:
    return _driver_failure(operation, error.orig if error.orig is not None else error)


@contextlib.contextmanager
def _translated(operation: str) -> Iterator[None]:
    try:
        yield
    except exc.DBAPIError as error:
        raise _database_failure(operation, error) from error
    except exc.SQLAlchemyError as error:
        raise StoreError(f"database error while {operation}: {type(error).__name__}") from error


class Database:
    """The connection pool, transactions and schema migrations that every store shares.

    Create with :meth:`open`; close with :meth:`close`.
    """

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
    def open(cls, url: str, *, clock: Callable[[], datetime] | None = None) -> Self:
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

    def __enter__(self) -> Self:
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

    def _count(self, table: sa.Table, operation: str, **equal: object) -> int:
        """How many rows of ``table`` have the given column values (None: any value)."""
        query = sa.select(sa.func.count()).select_from(table)
        for column, value in equal.items():
            if value is not None:
                query = query.where(table.c[column] == value)
        with self._read(operation) as conn:
            return int(conn.execute(query).scalar_one())

    @contextlib.contextmanager
    def _driver_write(self, operation: str = "writing") -> Iterator[Any]:
        """A write transaction on the driver's own cursor (sqlite3 or psycopg).

        For the one statement on the request path, the audit insert: SQLAlchemy's execution
        layer (pool events, statement cache keys, bind processing per row) costs several
        times the insert itself. Locking is that of :meth:`_write` (the writer gate and, on
        SQLite, ``BEGIN IMMEDIATE``); the transaction commits when the block ends and rolls
        back if it raises. SQL and parameters are in the driver's own paramstyle.

        Raises:
            StoreError: the database refused or could not be reached (rolled back).
        """
        gate = self._writer_gate.held() if self._writer_gate else contextlib.nullcontext()
        driver_error = self._engine.dialect.loaded_dbapi.Error
        with self._locked(), gate:
            try:
                connection = self._engine.raw_connection()
            except exc.DBAPIError as error:
                raise _database_failure(operation, error) from error
            cursor = None
            try:
                cursor = connection.cursor()
                if self.dialect == "sqlite":
                    # pysqlite runs without its own transactions here (see the connect hook).
                    cursor.execute("BEGIN IMMEDIATE")
                yield cursor
                connection.commit()
            except driver_error as error:
                self._abandon(connection, cursor, error)
                raise _driver_failure(operation, error) from error
            except BaseException:
                self._abandon(connection, cursor, None)
                raise
            finally:
                connection.close()  # back to the pool

    def _abandon(self, connection: Any, cursor: Any, error: Any) -> None:
        """Roll back a failed driver write; a connection that is gone leaves the pool."""
        try:
            connection.rollback()
        except Exception:
            connection.invalidate()
            return
        if error is not None and self._engine.dialect.is_disconnect(
            error, connection.dbapi_connection, cursor
        ):
            connection.invalidate()

    def _alembic_config(self, connection: Connection) -> Config:
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(_MIGRATIONS_DIR))
        config.attributes["connection"] = connection
        return config

    def migrate(self, revision: str = "head") -> None:
        """Create or upgrade the schema to the newest migration (safe to repeat).

        Args:
            revision: The migration to stop at; the newest by default (an older one is for
                testing an upgrade from a database made by an earlier version).

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

            command.upgrade(self._alembic_config(conn), revision)

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
