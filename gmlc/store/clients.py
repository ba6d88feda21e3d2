"""Clients: the web servers allowed to query the GMLC, and the targets each may locate."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc
from sqlalchemy.dialects import postgresql, sqlite

from gmlc.errors import DuplicateError, NotFoundError
from gmlc.schema import CLIENT_TARGETS, CLIENTS
from gmlc.store import validation as check
from gmlc.store.database import Database

__all__ = ["ClientRecord", "ClientStore"]


@dataclass(frozen=True, slots=True)
class ClientRecord:
    """A web server allowed to query the GMLC, and the targets it may locate."""

    client_id: str
    password_hash: str
    enabled: bool
    msisdns: frozenset[str]
    imsis: frozenset[str]
    created_at: datetime


# Built once: it is on every SLIR's path, and constructing a Core statement per call
# costs more than executing it (the compiled form is cached either way).
_CLIENT_WITH_TARGETS = (
    sa.select(CLIENTS, CLIENT_TARGETS.c.msid_type, CLIENT_TARGETS.c.value)
    .select_from(
        CLIENTS.outerjoin(CLIENT_TARGETS, CLIENT_TARGETS.c.client_id == CLIENTS.c.client_id)
    )
    .where(CLIENTS.c.client_id == sa.bindparam("client_id"))
)


class ClientStore(Database):
    """Clients and their authorized targets."""

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
        check.identifier("client id", client_id)
        check.password_hash(password_hash)
        targets = _target_rows(client_id, msisdns, imsis)
        now = check.aware("clock()", self._clock())
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
        check.password_hash(password_hash)
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


def _target_rows(
    client_id: str, msisdns: Iterable[str], imsis: Iterable[str]
) -> list[dict[str, str]]:
    rows = [
        {"client_id": client_id, "msid_type": "msisdn", "value": value}
        for value in check.strings("msisdns", msisdns, check.msisdn)
    ]
    rows += [
        {"client_id": client_id, "msid_type": "imsi", "value": value}
        for value in check.strings("imsis", imsis, check.imsi)
    ]
    return rows


def _insert_ignoring_duplicates(dialect: str, table: sa.Table) -> Any:
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    return sqlite.insert(table).on_conflict_do_nothing()


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
