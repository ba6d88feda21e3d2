"""Clients: the web servers allowed to query the GMLC, the targets each may locate, the
networks each may connect from (see :mod:`gmlc.networks`), and the domains each gets
statements for (see :mod:`gmlc.store.domains`)."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc
from sqlalchemy.dialects import postgresql, sqlite

from gmlc.errors import DuplicateError, NotFoundError
from gmlc.networks import ANYWHERE, Network, canonical_network
from gmlc.peers import canonical_fingerprint
from gmlc.schema import (
    CLIENT_CERTIFICATES,
    CLIENT_DOMAINS,
    CLIENT_NETWORKS,
    CLIENT_TARGETS,
    CLIENTS,
)
from gmlc.store import validation as check
from gmlc.store.database import Database
from gmlc.store.domains import (
    DomainEnrolment,
    StatementMode,
    domain_rows,
    owner_conflict,
    precision_m,
    require_client,
    statement_mode,
    update_client,
)

__all__ = ["ANYWHERE", "ClientRecord", "ClientStore"]


@dataclass(frozen=True, slots=True)
class ClientRecord:
    """A web server allowed to query the GMLC, the targets it may locate, the networks it
    may connect from (:data:`ANYWHERE` for any address), the TLS client certificates it
    must present (none: no certificate needed), the domains it gets statements for, and
    its statement options (mode ``one`` or ``all``; a coarse-position grid in metres, None
    for exact positions)."""

    client_id: str
    password_hash: str
    enabled: bool
    msisdns: frozenset[str]
    imsis: frozenset[str]
    created_at: datetime
    networks: frozenset[Network] = frozenset()
    certificates: frozenset[str] = frozenset()
    domains: frozenset[str] = frozenset()
    statement_mode: StatementMode = "one"
    precision_m: int | None = None

    @property
    def from_anywhere(self) -> bool:
        """Whether the client may connect from any address."""
        return {str(network) for network in self.networks} >= set(ANYWHERE)


# A client's targets, networks, certificate pins and domains, each as (kind, value) rows:
# the kind is a column (a target's msid_type) or a fixed word, the value a column.
_CLIENT_ITEM_COLUMNS: tuple[tuple[sa.Column[str] | str, sa.Column[str]], ...] = (
    (CLIENT_TARGETS.c.msid_type, CLIENT_TARGETS.c.value),
    ("network", CLIENT_NETWORKS.c.network),
    ("certificate", CLIENT_CERTIFICATES.c.spki_sha256),
    ("domain", CLIENT_DOMAINS.c.domain),
)


def _client_items(*, of_one: bool) -> sa.CompoundSelect[Any]:
    """Every client's (client_id, kind, value) rows, or one client's (``client_id`` bound)."""
    branches = []
    for kind, value in _CLIENT_ITEM_COLUMNS:
        owner = value.table.c.client_id
        kind_column = kind if isinstance(kind, sa.Column) else sa.literal(kind, sa.String(11))
        branch = sa.select(owner, kind_column.label("kind"), value.label("value"))
        branches.append(branch.where(owner == sa.bindparam("client_id")) if of_one else branch)
    return sa.union_all(*branches)


# Built once: it is on every SLIR's path, and constructing a Core statement per call
# costs more than executing it (the compiled form is cached either way). Each branch is
# filtered by the id, so the record costs one round trip.
_CLIENT_ITEMS = _client_items(of_one=True).subquery()
_CLIENT_WITH_ITEMS = (
    sa.select(CLIENTS, _CLIENT_ITEMS.c.kind, _CLIENT_ITEMS.c.value)
    .select_from(CLIENTS.outerjoin(_CLIENT_ITEMS, _CLIENT_ITEMS.c.client_id == CLIENTS.c.client_id))
    .where(CLIENTS.c.client_id == sa.bindparam("client_id"))
)


class ClientStore(Database):
    """Clients and their authorized targets."""

    def add_client(
        self,
        client_id: str,
        password_hash: str,
        *,
        networks: Iterable[str],
        msisdns: Iterable[str] = (),
        imsis: Iterable[str] = (),
        domains: Iterable[DomainEnrolment] = (),
        mode: StatementMode = "one",
        precision: int | None = None,
    ) -> ClientRecord:
        """Register a client (enabled) with the targets it may locate.

        Args:
            client_id: The id it sends as ``hdr/client/id``.
            password_hash: Its argon2 password hash.
            networks: Where it may connect from (CIDR or single addresses; at least one).
                There is deliberately no default: pass :data:`ANYWHERE` to allow any
                address.
            msisdns: MSISDNs it may locate.
            imsis: IMSIs it may locate.
            domains: The domains it gets statements for, each with the evidence of its
                validation (see :mod:`gmlc.enrolment`).
            mode: Statement mode, ``one`` or ``all``.
            precision: Coarse-position grid in metres; None for exact positions.

        Raises:
            DuplicateError: a client with that id exists, or a domain belongs to another
                client (nothing is stored).
            ValueError: an id, hash, network, MSISDN, IMSI, domain, mode or precision is
                malformed, or no network is given.
        """
        check.identifier("client id", client_id)
        check.password_hash(password_hash)
        targets = _target_rows(client_id, msisdns, imsis)
        network_rows = _NETWORKS.rows(client_id, networks)
        if not network_rows:
            raise ValueError("a client needs at least one network to connect from")
        chosen_mode, chosen_precision = statement_mode(mode), precision_m(precision)
        now = check.aware("clock()", self._clock())
        enrolled = domain_rows(client_id, domains, now)
        with self._write("adding a client") as conn:
            try:
                with conn.begin_nested():
                    conn.execute(
                        CLIENTS.insert().values(
                            client_id=client_id,
                            password_hash=password_hash,
                            enabled=True,
                            created_at=now,
                            statement_mode=chosen_mode,
                            precision_m=chosen_precision,
                        )
                    )
            except exc.IntegrityError:
                raise DuplicateError(f"client {client_id!r} already exists") from None
            if targets:
                conn.execute(CLIENT_TARGETS.insert(), targets)
            conn.execute(CLIENT_NETWORKS.insert(), network_rows)
            if enrolled:
                owner_conflict(conn, client_id, (row["domain"] for row in enrolled))
                try:
                    with conn.begin_nested():
                        conn.execute(CLIENT_DOMAINS.insert(), enrolled)
                except exc.IntegrityError:
                    owner_conflict(conn, client_id, (row["domain"] for row in enrolled))
                    raise
        return ClientRecord(
            client_id=client_id,
            password_hash=password_hash,
            enabled=True,
            msisdns=frozenset(t["value"] for t in targets if t["msid_type"] == "msisdn"),
            imsis=frozenset(t["value"] for t in targets if t["msid_type"] == "imsi"),
            created_at=now,
            networks=frozenset(ipaddress.ip_network(r["network"]) for r in network_rows),
            domains=frozenset(row["domain"] for row in enrolled),
            statement_mode=chosen_mode,
            precision_m=chosen_precision,
        )

    def get_client(self, client_id: str) -> ClientRecord | None:
        """The client with that id, or None."""
        if "\x00" in client_id:  # cannot be stored, so cannot match; PostgreSQL would refuse it
            return None
        with self._read("reading a client") as conn:
            rows = conn.execute(_CLIENT_WITH_ITEMS, {"client_id": client_id}).all()
        if not rows:
            return None
        # One row per target, network, pin or domain (one row of NULL items when none).
        return _client_record(rows[0], [(r.kind, r.value) for r in rows if r.kind is not None])

    def list_clients(self) -> list[ClientRecord]:
        """Every client, ordered by id."""
        with self._read("listing clients") as conn:
            rows = conn.execute(CLIENTS.select().order_by(CLIENTS.c.client_id)).all()
            items = conn.execute(_client_items(of_one=False)).all()
        by_client: dict[str, list[tuple[str, str]]] = {}
        for item in items:
            by_client.setdefault(item.client_id, []).append((item.kind, item.value))
        return [_client_record(row, by_client.get(row.client_id, [])) for row in rows]

    def set_client_networks(
        self,
        client_id: str,
        *,
        add: Iterable[str] = (),
        remove: Iterable[str] = (),
        replace: bool = False,
    ) -> ClientRecord:
        """Change where a client may connect from, in one transaction.

        Args:
            client_id: The client.
            add: Networks to allow (already allowed ones are kept).
            remove: Networks to allow no more (each must be allowed now).
            replace: Remove every current network first (``add`` then is the whole set).

        Returns:
            The client as it is now.

        Raises:
            NotFoundError: no such client, or a network to remove is not allowed now.
            ValueError: a malformed network, or a change that would leave the client no
                network at all (it could never connect again; disable it instead).
        """
        return self._change_client_set(_NETWORKS, client_id, add, remove, replace)

    def set_client_certificates(
        self,
        client_id: str,
        *,
        add: Iterable[str] = (),
        remove: Iterable[str] = (),
        replace: bool = False,
    ) -> ClientRecord:
        """Change which TLS client certificates a client must present (see gmlc.peers).

        Args:
            client_id: The client.
            add: Certificate pins (SPKI SHA-256, hex) to accept.
            remove: Pins to accept no more (each must be accepted now).
            replace: Remove every current pin first.

        Returns:
            The client as it is now; without pins it may connect without a certificate.

        Raises:
            NotFoundError: no such client, or a pin to remove is not accepted now.
            ValueError: a malformed pin.
        """
        return self._change_client_set(_CERTIFICATES, client_id, add, remove, replace)

    def _change_client_set(
        self,
        kind: _ClientSet,
        client_id: str,
        add: Iterable[str],
        remove: Iterable[str],
        replace: bool,
    ) -> ClientRecord:
        additions = kind.rows(client_id, add)
        removals = {row[kind.column.name] for row in kind.rows(client_id, remove)}
        with self._write(f"changing a client's {kind.plural}") as conn:
            require_client(conn, client_id)
            current = set(
                conn.execute(
                    sa.select(kind.column).where(kind.table.c.client_id == client_id)
                ).scalars()
            )
            unknown = sorted(removals - current)
            if unknown:
                raise NotFoundError(
                    f"client {client_id!r} has no {kind.singular} {', '.join(unknown)} to remove"
                )
            kept = set() if replace else current - removals
            if kind.required and not kept | {row[kind.column.name] for row in additions}:
                raise ValueError(
                    f"client {client_id!r} would be left without any {kind.singular}; "
                    "disable the client instead"
                )
            dropped = current - kept
            if dropped:
                conn.execute(
                    kind.table.delete().where(
                        kind.table.c.client_id == client_id, kind.column.in_(sorted(dropped))
                    )
                )
            if additions:
                conn.execute(_insert_ignoring_duplicates(self.dialect, kind.table), additions)
        return self._client_now(client_id)

    def _client_now(self, client_id: str) -> ClientRecord:
        """The client as a change just left it."""
        record = self.get_client(client_id)
        if record is None:  # removed by someone else in between
            raise NotFoundError(f"client {client_id!r} does not exist")
        return record

    def set_client_enabled(self, client_id: str, enabled: bool) -> None:
        """Enable or disable a client.

        Raises:
            NotFoundError: no such client.
        """
        with self._write("updating a client") as conn:
            update_client(conn, client_id, {"enabled": bool(enabled)})

    def set_client_password(self, client_id: str, password_hash: str) -> None:
        """Replace a client's password hash.

        Raises:
            NotFoundError: no such client.
            ValueError: the hash is empty.
        """
        check.password_hash(password_hash)
        with self._write("updating a client") as conn:
            update_client(conn, client_id, {"password_hash": password_hash})

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
            require_client(conn, client_id)
            if targets:
                conn.execute(_insert_ignoring_duplicates(self.dialect, CLIENT_TARGETS), targets)
        return self._client_now(client_id)


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


@dataclass(frozen=True)
class _ClientSet:
    """A per-client set of values in its own table: its networks or its certificate pins."""

    table: sa.Table
    column: sa.Column[str]
    canonical: Callable[[str], str]
    singular: str
    plural: str
    required: bool  # whether a client must keep at least one

    def rows(self, client_id: str, values: Iterable[str]) -> list[dict[str, str]]:
        if isinstance(values, str):
            raise TypeError(f"{self.plural} must be a collection of strings, not a single string")
        canonical = sorted({self.canonical(value) for value in values})
        return [{"client_id": client_id, self.column.name: value} for value in canonical]


_NETWORKS = _ClientSet(
    CLIENT_NETWORKS, CLIENT_NETWORKS.c.network, canonical_network, "network", "networks", True
)
_CERTIFICATES = _ClientSet(
    CLIENT_CERTIFICATES,
    CLIENT_CERTIFICATES.c.spki_sha256,
    canonical_fingerprint,
    "certificate",
    "certificates",
    False,
)


def _insert_ignoring_duplicates(dialect: str, table: sa.Table) -> Any:
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    return sqlite.insert(table).on_conflict_do_nothing()


def _client_record(row: sa.Row[Any], items: Iterable[tuple[str, str]]) -> ClientRecord:
    values: dict[str, set[str]] = {
        "msisdn": set(),
        "imsi": set(),
        "network": set(),
        "certificate": set(),
        "domain": set(),
    }
    for kind, value in items:
        values[kind].add(value)
    return ClientRecord(
        client_id=row.client_id,
        password_hash=row.password_hash,
        enabled=bool(row.enabled),
        msisdns=frozenset(values["msisdn"]),
        imsis=frozenset(values["imsi"]),
        created_at=row.created_at,
        networks=frozenset(ipaddress.ip_network(value) for value in values["network"]),
        certificates=frozenset(values["certificate"]),
        domains=frozenset(values["domain"]),
        statement_mode=statement_mode(row.statement_mode),
        precision_m=row.precision_m,
    )
