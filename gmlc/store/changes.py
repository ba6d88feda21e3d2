"""The change log: what changed, for the read models of every worker and node.

Database triggers (migration ``0004_changes``) add a row per changed client, appliance and
stored observation; nodes add the failed logins they count (:meth:`ChangeStore.publish`),
so the failure throttle is shared. SQLite is read by polling :meth:`ChangeStore.changes_since`
(ids only grow: SQLite has one writer at a time). PostgreSQL also sends every new row as a
NOTIFY on :data:`CHANNEL`; :class:`ChangeListener` receives them on a connection of its
own, in commit order.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final

import sqlalchemy as sa

from gmlc.errors import StoreError
from gmlc.schema import CHANGES
from gmlc.store.database import Database

__all__ = ["CHANNEL", "Change", "ChangeListener", "ChangeStore"]

CHANNEL: Final = "salve_changes"
_KEY_LIMIT: Final = 255


@dataclass(frozen=True, slots=True)
class Change:
    """One row of the change log.

    Attributes:
        id: Its position in the log.
        kind: ``client``, ``appliance``, ``observation``, ``keys`` or ``failure``.
        key: The client or appliance id; for ``failure`` the throttle key as JSON.
        origin: The node that published it (failures), None for a trigger's row.
    """

    id: int
    kind: str
    key: str
    origin: str | None = None


class ChangeStore(Database):
    """Reading and appending the change log."""

    def last_change_id(self) -> int:
        """The id of the newest change, 0 when the log is empty."""
        with self._read("reading the change log") as conn:
            return int(conn.execute(sa.select(sa.func.max(CHANGES.c.id))).scalar() or 0)

    def oldest_change_id(self) -> int:
        """The id of the oldest change kept, 0 when the log is empty."""
        with self._read("reading the change log") as conn:
            return int(conn.execute(sa.select(sa.func.min(CHANGES.c.id))).scalar() or 0)

    def changes_since(self, after_id: int, *, limit: int = 1000) -> list[Change]:
        """Changes with an id above ``after_id``, oldest first, at most ``limit``."""
        query = (
            sa.select(CHANGES.c.id, CHANGES.c.kind, CHANGES.c.key, CHANGES.c.origin)
            .where(CHANGES.c.id > after_id)
            .order_by(CHANGES.c.id)
            .limit(limit)
        )
        with self._read("reading the change log") as conn:
            rows = conn.execute(query).all()
        return [Change(int(r.id), r.kind, r.key, r.origin) for r in rows]

    def publish(self, kind: str, keys: Iterable[str], *, origin: str | None = None) -> None:
        """Append changes of one kind (one transaction).

        Raises:
            ValueError: a key longer than 255 characters.
        """
        rows = [{"kind": kind, "key": key, "origin": origin} for key in keys]
        if any(len(row["key"] or "") > _KEY_LIMIT for row in rows):
            raise ValueError(f"a change key is longer than {_KEY_LIMIT} characters")
        if not rows:
            return
        with self._write("writing the change log") as conn:
            conn.execute(CHANGES.insert(), rows)

    def prune_changes(self, *, keep: int) -> int:
        """Delete all but the newest ``keep`` changes; returns how many were deleted."""
        with self._write("pruning the change log") as conn:
            newest = conn.execute(sa.select(sa.func.max(CHANGES.c.id))).scalar()
            if newest is None:
                return 0
            return int(conn.execute(CHANGES.delete().where(CHANGES.c.id <= newest - keep)).rowcount)

    def listener(self) -> ChangeListener:
        """A connection of its own that receives the NOTIFY of every new change (PostgreSQL).

        Raises:
            StoreError: not PostgreSQL, or the connection cannot be made.
        """
        if self.dialect != "postgresql":
            raise StoreError("change notifications need PostgreSQL; SQLite is polled")
        url = self._engine.url.set(drivername="postgresql")
        return ChangeListener(url.render_as_string(hide_password=False))


class ChangeListener:
    """A PostgreSQL connection listening on :data:`CHANNEL` (see :meth:`ChangeStore.listener`).

    Raises:
        StoreError: the connection cannot be made.
    """

    def __init__(self, dsn: str) -> None:
        import psycopg  # only PostgreSQL deployments have it

        self._psycopg = psycopg
        try:
            self._conn: Any = psycopg.connect(dsn, autocommit=True)
            self._conn.execute(f"LISTEN {CHANNEL}")
        except psycopg.Error as exc:
            raise StoreError(f"cannot listen for changes: {str(exc).strip()[:200]}") from None

    def wait(self, timeout_s: float) -> list[Change]:
        """The changes notified within ``timeout_s`` (empty when none came).

        Raises:
            StoreError: the connection broke (reconnect, and load everything again).
        """
        changes: list[Change] = []
        try:
            for notice in self._conn.notifies(timeout=timeout_s, stop_after=1):
                changes.append(_change_from_payload(notice.payload))
            if changes:
                # Take what has arrived meanwhile without waiting for more.
                for notice in self._conn.notifies(timeout=0.001):
                    changes.append(_change_from_payload(notice.payload))
        except self._psycopg.Error as exc:
            raise StoreError(f"lost the change notifications: {str(exc).strip()[:200]}") from None
        return changes

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()


def _change_from_payload(payload: str) -> Change:
    value = json.loads(payload)
    return Change(int(value["id"]), str(value["kind"]), str(value["key"]), value.get("origin"))
