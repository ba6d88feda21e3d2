"""Opening the store, migrations, and what the database itself enforces."""

from __future__ import annotations

import os
import socket
import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from gmlc.errors import StoreError
from gmlc.schema import METADATA
from gmlc.store import ANYWHERE, Store


def test_empty_database_is_not_current_until_migrated(store_url: str) -> None:
    with Store.open(store_url) as store:
        assert store.current_revision() is None
        assert not store.schema_is_current()
        store.migrate()
        assert store.schema_is_current()
        assert store.current_revision() == store.head_revision()


def test_migrating_twice_changes_nothing(store: Store) -> None:
    store.add_client("web-1", "hash", networks=ANYWHERE)
    store.migrate()
    assert store.schema_is_current()
    assert [c.client_id for c in store.list_clients()] == ["web-1"]


def test_migrated_schema_matches_the_table_definitions(store_url: str) -> None:
    with Store.open(store_url) as store:
        store.migrate()
    engine = sa.create_engine(store_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            differences = compare_metadata(context, METADATA)
    finally:
        engine.dispose()
    assert differences == []


def test_audit_rows_cannot_be_changed_or_deleted_even_with_raw_sql(store_url: str) -> None:
    store = Store.open(store_url)
    store.migrate()
    store.append_audit("slir", client_id="web-1", result=0)
    engine = sa.create_engine(store_url)
    try:
        for statement in ("UPDATE audit SET kind = 'forged'", "DELETE FROM audit"):
            with pytest.raises(sa.exc.DatabaseError, match="append-only"), engine.begin() as conn:
                conn.execute(sa.text(statement))
        assert [r.kind for r in store.list_audit()] == ["slir"]
    finally:
        engine.dispose()
        store.close()


def test_sqlite_file_is_private_and_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "gmlc.sqlite3"
    with Store.open(f"sqlite:///{path}") as store:
        store.migrate()
    assert path.stat().st_mode & 0o777 == 0o600
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_in_memory_sqlite_works_for_tests() -> None:
    with Store.open("sqlite://") as store:
        store.migrate()
        store.add_client("web-1", "hash", networks=ANYWHERE)
        assert store.get_client("web-1") is not None


def test_existing_sqlite_file_keeps_its_mode(tmp_path: Path) -> None:
    path = tmp_path / "gmlc.sqlite3"
    path.touch(mode=0o640)
    os.chmod(path, 0o640)
    with Store.open(f"sqlite:///{path}") as store:
        store.migrate()
    assert path.stat().st_mode & 0o777 == 0o640


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://user@localhost/db", "not supported"),
        ("postgresql+asyncpg://user@localhost/db", "not supported"),
        ("sqlite+aiosqlite:///x.db", "not supported"),
        ("not a url", "cannot be parsed"),
    ],
)
def test_unsupported_urls_are_refused_in_plain_words(url: str, message: str) -> None:
    with pytest.raises(StoreError, match=message):
        Store.open(url)


def test_sqlite_in_a_missing_directory_names_the_fix(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="salve-gmlc init"):
        Store.open(f"sqlite:///{tmp_path / 'absent' / 'gmlc.sqlite3'}")


def test_unreachable_postgresql_is_a_store_error() -> None:
    port = _closed_port()
    with pytest.raises(StoreError, match="database error"):
        Store.open(f"postgresql://nobody@127.0.0.1:{port}/none?connect_timeout=2")


def test_password_is_hidden_in_the_display_url(tmp_path: Path) -> None:
    with Store.open(f"sqlite:///{tmp_path / 'g.sqlite3'}") as store:
        assert store.dialect == "sqlite"
        assert store.display_url.endswith("g.sqlite3")


def _closed_port() -> int:
    """A loopback port with nothing listening on it."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port
