"""The append-only audit log (UPDATE and DELETE are refused by database triggers).

Entries come from requests, so they may be hostile or absurdly long: an entry is still
written (that is the point of an audit log), overlong fields cut to the column size with
the cut noted in ``detail["truncated"]``, NUL characters replaced by U+FFFD.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

import sqlalchemy as sa

from gmlc.schema import AUDIT
from gmlc.store import validation as check
from gmlc.store.database import Database

__all__ = ["AuditEntry", "AuditRecord", "AuditStore"]

_AUDIT_KIND = re.compile(r"[a-z][a-z0-9_]{0,31}")
_AUDIT_TEXT_LIMIT: Final = 255
_RESULT_MIN: Final = -(2**31)  # the result column is a 32-bit INTEGER on PostgreSQL
_RESULT_MAX: Final = 2**31 - 1
_PAGE: Final = 1000


# The row as the driver takes it: at, kind, client_id, appliance_id, source, targets,
# result, detail (the JSON columns as JSON text).
_AuditRow = tuple[Any, str, str | None, str | None, str | None, str, int | None, str]
_AUDIT_COLUMNS: Final = (
    "at",
    "kind",
    "client_id",
    "appliance_id",
    "source",
    "targets",
    "result",
    "detail",
)
_JSON_COLUMNS: Final = frozenset({"targets", "detail"})


@functools.cache
def _audit_insert(dialect: str) -> str:
    """The audit insert in the driver's paramstyle (JSON text cast to jsonb on PostgreSQL)."""
    if dialect == "postgresql":
        marks = ["%s::jsonb" if c in _JSON_COLUMNS else "%s" for c in _AUDIT_COLUMNS]
    else:
        marks = ["?"] * len(_AUDIT_COLUMNS)
    columns = ", ".join(_AUDIT_COLUMNS)
    # Only constant names and bind markers are joined here; the values are parameters.
    return f"INSERT INTO {AUDIT.name} ({columns}) VALUES ({', '.join(marks)})"  # noqa: S608


def _unchanged(value: datetime) -> datetime:
    return value


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


class AuditStore(Database):
    """Appending to and reading the audit log."""

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
        written together, which costs one commit instead of one per row. Every request
        writes here, so the rows are serialised once in Python (JSON text, the time as the
        column stores it) and inserted by one prepared statement of the database driver.

        Raises:
            ValueError, TypeError: a malformed entry (nothing is written).
            StoreError: the database refused the rows or could not be reached.
        """
        bind_at = self._audit_at_binder()
        rows = [self._audit_row(entry, bind_at) for entry in entries]
        if not rows:
            return
        with self._driver_write("writing the audit log") as cursor:
            cursor.executemany(_audit_insert(self.dialect), rows)

    def _audit_at_binder(self) -> Callable[[datetime], Any]:
        # SQLAlchemy's own conversion of the column type (UtcDateTime, then the dialect's):
        # the rows this path writes are stored exactly as SQLAlchemy would store them.
        dialect = self._engine.dialect
        binder = AUDIT.c.at.type.dialect_impl(dialect).bind_processor(dialect)
        return binder if binder is not None else _unchanged

    def _audit_row(self, entry: AuditEntry, bind_at: Callable[[datetime], Any]) -> _AuditRow:
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
        if result is not None and not _RESULT_MIN <= result <= _RESULT_MAX:
            raise ValueError(f"result must fit the column (32 bits), got {result}")
        if isinstance(targets, str | bytes):
            raise TypeError("targets must be a collection of strings, not a single string")
        target_list = list(targets)
        if not all(isinstance(t, str) for t in target_list):
            raise TypeError("targets must be strings")
        # These come from requests, so they may be hostile or absurdly long; the entry is
        # still written (that is the point of an audit log), cut to the column size, and
        # the cut is recorded in the detail.
        texts: list[str | None] = []
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
            texts.append(None if text is None else check.without_nul(text))
        details = dict(detail or {})
        if truncated:
            details["truncated"] = truncated
        return (
            bind_at(check.aware("at", self._clock() if at is None else at)),
            kind,
            *texts,
            check.json_text("targets", check.without_nul(target_list)),
            result,
            check.json_text("detail", details),
        )

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
            conditions.append(AUDIT.c.at >= check.aware("since", since))
        if kind is not None:
            conditions.append(AUDIT.c.kind == kind)
        remaining = None if limit is None else check.positive("limit", limit)
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
        return self._count(AUDIT, "counting audit entries", kind=kind)


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
