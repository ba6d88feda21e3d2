"""Domains: the web services each client gets statements for, the client's statement
options, and the M2DMRT declarations exchanged with each domain's front.

A domain belongs to exactly one client (it is the primary key of its table, so the
database settles two concurrent enrolments). The SIMs of a domain are its client's
authorized targets. Enrolling a domain needs evidence: the DNSSEC-validated ``_salve``
policy naming this GMLC (:mod:`gmlc.enrolment` finds it; the store only keeps it).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, Literal, TypeAlias, get_args

import sqlalchemy as sa
from sqlalchemy import exc

from gmlc.errors import DuplicateError, NotFoundError
from gmlc.schema import CLIENT_DOMAINS, CLIENTS, DECLARATIONS
from gmlc.store import validation as check
from gmlc.store.database import Database
from mlp.keys import b64url_decode, b64url_encode
from mlp.names import HostNameError, check_host_name

__all__ = [
    "MAX_PRECISION_M",
    "DeclarationRecord",
    "DomainEnrolment",
    "DomainRecord",
    "DomainStore",
    "StatementMode",
    "domain_name",
    "precision_m",
    "statement_mode",
]

StatementMode: TypeAlias = Literal["one", "all"]
MAX_PRECISION_M: Final = 100_000
"""Coarsest grid a client can be given (100 km): coarser positions prove nothing."""
_MAX_SPKI_BYTES: Final = 4096  # an RSA-16384 key's SPKI is about 2 KB
_HEX64: Final = re.compile(r"[0-9a-f]{64}")


def domain_name(value: object) -> str:
    """A domain as stored: a canonical host name (receivers never normalise).

    Raises:
        ValueError: not a canonical host name (the message says why).
    """
    try:
        return check_host_name(value)
    except HostNameError as error:
        raise ValueError(f"domain {str(value)[:80]!r}: {error}") from None


def statement_mode(value: object) -> StatementMode:
    """``one`` or ``all``.

    Raises:
        ValueError: anything else.
    """
    for mode in get_args(StatementMode):
        if value == mode:
            chosen: StatementMode = mode
            return chosen
    raise ValueError(f"statement mode must be 'one' or 'all', got {value!r}")


def precision_m(value: object) -> int | None:
    """A coarse-position grid in whole metres (1-100,000), or None for exact positions.

    Raises:
        ValueError: out of range or not an integer.
    """
    if value is None:
        return None
    if type(value) is not int or not 1 <= value <= MAX_PRECISION_M:
        raise ValueError(f"precision must be whole metres from 1 to {MAX_PRECISION_M}")
    return value


@dataclass(frozen=True, slots=True)
class DomainEnrolment:
    """A domain ready to be enrolled, with the evidence that allowed it.

    Attributes:
        domain: The canonical host name.
        evidence: What the enrolment was decided on (the validated policy text, where it
            was looked up); kept for the audit trail.
    """

    domain: str
    evidence: Mapping[str, Any] = field(default_factory=dict)

    def row(self, client_id: str, now: datetime) -> dict[str, Any]:
        """The ``client_domains`` row (checked)."""
        return {
            "domain": domain_name(self.domain),
            "client_id": client_id,
            "enrolled_at": now,
            "evidence": check.without_nul(check.json_object("evidence", dict(self.evidence))),
        }


@dataclass(frozen=True, slots=True)
class DomainRecord:
    """An enrolled domain."""

    domain: str
    client_id: str
    enrolled_at: datetime
    evidence: dict[str, Any]


@dataclass(frozen=True, slots=True)
class DeclarationRecord:
    """One M2DMRT declaration pair for a domain.

    Attributes:
        domain: The site ``H``.
        site_spki_sha256: SHA-256 of the site's TLS SPKI (hex).
        gmlc_spki_sha256: SHA-256 of the GMLC's TLS SPKI the site declared (hex).
        site_spki: The site's DER SPKI.
        site_declaration: The value of ``G._m2dmrt.H`` the site sent (signed by H).
        gmlc_declaration: The value of ``H._m2dmrt.G`` (signed by this GMLC).
        declared_at: When it was first declared.
    """

    domain: str
    site_spki_sha256: str
    gmlc_spki_sha256: str
    site_spki: bytes
    site_declaration: str
    gmlc_declaration: str
    declared_at: datetime


def _domain_record(row: sa.Row[Any]) -> DomainRecord:
    return DomainRecord(row.domain, row.client_id, row.enrolled_at, dict(row.evidence))


def _declaration_record(row: sa.Row[Any]) -> DeclarationRecord:
    return DeclarationRecord(
        domain=row.domain,
        site_spki_sha256=row.site_spki_sha256,
        gmlc_spki_sha256=row.gmlc_spki_sha256,
        site_spki=b64url_decode(row.site_spki),
        site_declaration=row.site_declaration,
        gmlc_declaration=row.gmlc_declaration,
        declared_at=row.declared_at,
    )


def domain_rows(
    client_id: str, enrolments: Iterable[DomainEnrolment], now: datetime
) -> list[dict[str, Any]]:
    """Checked ``client_domains`` rows, one per distinct domain.

    Raises:
        TypeError: ``enrolments`` is not a collection of :class:`DomainEnrolment`.
        ValueError: a non-canonical domain, or a domain given twice.
    """
    if isinstance(enrolments, str | bytes | DomainEnrolment):
        raise TypeError("domains must be a collection of DomainEnrolment")
    rows: dict[str, dict[str, Any]] = {}
    for enrolment in enrolments:
        if not isinstance(enrolment, DomainEnrolment):
            raise TypeError("domains must be a collection of DomainEnrolment")
        row = enrolment.row(client_id, now)
        rows[row["domain"]] = row
    return [rows[domain] for domain in sorted(rows)]


def owner_conflict(conn: sa.Connection, client_id: str, domains: Iterable[str]) -> None:
    """Raise when one of ``domains`` belongs to another client (in ``conn``'s transaction).

    Raises:
        DuplicateError: naming the domain and its owner.
    """
    owned = conn.execute(
        sa.select(CLIENT_DOMAINS.c.domain, CLIENT_DOMAINS.c.client_id).where(
            CLIENT_DOMAINS.c.domain.in_(sorted(domains)),
            CLIENT_DOMAINS.c.client_id != client_id,
        )
    ).first()
    if owned is not None:
        raise DuplicateError(
            f"domain {owned.domain} belongs to client {owned.client_id!r}; a domain belongs "
            "to exactly one client (remove it there first)"
        )


def require_client(conn: sa.Connection, client_id: str) -> None:
    """Inside a write: refuse to go on for a client that does not exist.

    Raises:
        NotFoundError: no such client.
    """
    found = conn.execute(
        sa.select(CLIENTS.c.client_id).where(CLIENTS.c.client_id == client_id)
    ).first()
    if found is None:
        raise NotFoundError(f"client {client_id!r} does not exist")


def update_client(conn: sa.Connection, client_id: str, values: dict[str, Any]) -> None:
    """Inside a write: set columns of a client's row.

    Raises:
        NotFoundError: no such client.
    """
    result = conn.execute(CLIENTS.update().where(CLIENTS.c.client_id == client_id).values(values))
    if result.rowcount == 0:
        raise NotFoundError(f"client {client_id!r} does not exist")


class DomainStore(Database):
    """Client domains, statement options and declarations."""

    def enrol_domains(
        self, client_id: str, enrolments: Iterable[DomainEnrolment]
    ) -> list[DomainRecord]:
        """Give a client domains, in one transaction; a domain it already has is refreshed.

        Args:
            client_id: The client.
            enrolments: The domains and the evidence of each (see :mod:`gmlc.enrolment`).

        Returns:
            Every domain of the client now, ordered by name.

        Raises:
            NotFoundError: no such client.
            DuplicateError: a domain belongs to another client (nothing is changed).
            ValueError: a non-canonical domain.
        """
        now = check.aware("clock()", self._clock())
        rows = domain_rows(client_id, enrolments, now)
        with self._write("enrolling domains") as conn:
            require_client(conn, client_id)
            owner_conflict(conn, client_id, (row["domain"] for row in rows))
            held = {record.domain for record in self._domains_of(conn, client_id)}
            for row in rows:
                if row["domain"] in held:
                    # Validated again: new evidence, and the declarations stay.
                    conn.execute(
                        CLIENT_DOMAINS.update()
                        .where(CLIENT_DOMAINS.c.domain == row["domain"])
                        .values(enrolled_at=row["enrolled_at"], evidence=row["evidence"])
                    )
            new_rows = [row for row in rows if row["domain"] not in held]
            if new_rows:
                try:
                    with conn.begin_nested():
                        conn.execute(CLIENT_DOMAINS.insert(), new_rows)
                except exc.IntegrityError:
                    # Another client enrolled one of them between the check and the insert.
                    owner_conflict(conn, client_id, (row["domain"] for row in new_rows))
                    raise
            return self._domains_of(conn, client_id)

    def remove_domains(self, client_id: str, domains: Iterable[str]) -> list[DomainRecord]:
        """Take domains from a client (their declarations go with them).

        Returns:
            The client's remaining domains.

        Raises:
            NotFoundError: no such client, or it does not have one of the domains.
            ValueError: a non-canonical domain.
        """
        names = check.strings("domains", domains, domain_name)
        with self._write("removing domains") as conn:
            require_client(conn, client_id)
            owned = set(
                conn.execute(
                    sa.select(CLIENT_DOMAINS.c.domain).where(
                        CLIENT_DOMAINS.c.client_id == client_id
                    )
                ).scalars()
            )
            missing = [name for name in names if name not in owned]
            if missing:
                raise NotFoundError(f"client {client_id!r} has no domain {', '.join(missing)}")
            # Declarations first: SQLite only cascades with foreign keys on, and the
            # removal must not depend on a connection setting.
            conn.execute(DECLARATIONS.delete().where(DECLARATIONS.c.domain.in_(names)))
            conn.execute(CLIENT_DOMAINS.delete().where(CLIENT_DOMAINS.c.domain.in_(names)))
            return self._domains_of(conn, client_id)

    def list_domains(self, client_id: str | None = None) -> list[DomainRecord]:
        """Enrolled domains (of one client, or all), ordered by name.

        Raises:
            NotFoundError: ``client_id`` given and no such client.
        """
        with self._read("listing domains") as conn:
            if client_id is None:
                rows = conn.execute(CLIENT_DOMAINS.select().order_by(CLIENT_DOMAINS.c.domain))
                return [_domain_record(row) for row in rows]
            require_client(conn, client_id)
            return self._domains_of(conn, client_id)

    def set_statement_options(
        self, client_id: str, *, mode: StatementMode, precision: int | None
    ) -> None:
        """Set a client's statement mode and coarse-position grid (None: exact).

        Raises:
            NotFoundError: no such client.
            ValueError: a mode other than one/all, or a precision out of range.
        """
        values = {"statement_mode": statement_mode(mode), "precision_m": precision_m(precision)}
        with self._write("setting statement options") as conn:
            update_client(conn, client_id, values)

    def record_declaration(
        self,
        *,
        client_id: str,
        domain: str,
        site_spki: bytes,
        site_declaration: str,
        gmlc_spki_sha256: str,
        gmlc_declaration: str,
    ) -> tuple[DeclarationRecord, bool]:
        """Store a declaration pair, unless this site key was declared to this GMLC key.

        Re-declaring the same key is idempotent: the stored pair is returned unchanged, so
        the GMLC's published record does not change with every call.

        Args:
            client_id: The client declaring; it must own ``domain``.
            domain: The site ``H``.
            site_spki: The site's DER SPKI.
            site_declaration: The site's declaration text (``G._m2dmrt.H``).
            gmlc_spki_sha256: SHA-256 (hex) of the GMLC TLS key that signed below.
            gmlc_declaration: This GMLC's declaration text (``H._m2dmrt.G``).

        Returns:
            The stored pair, and whether it was stored now (False: declared before).

        Raises:
            NotFoundError: the domain is not (or no longer) the client's.
            ValueError: a malformed value.
        """
        domain = domain_name(domain)
        if not isinstance(site_spki, bytes) or not 1 <= len(site_spki) <= _MAX_SPKI_BYTES:
            raise ValueError(f"site SPKI must be 1-{_MAX_SPKI_BYTES} bytes of DER")
        for name, text in (("site", site_declaration), ("GMLC", gmlc_declaration)):
            if not isinstance(text, str) or not text.isascii() or not 1 <= len(text) <= 4096:
                raise ValueError(f"the {name} declaration must be 1-4096 ASCII characters")
        gmlc_key = check.digits(
            "GMLC SPKI SHA-256", _HEX64, gmlc_spki_sha256, "64 lower-case hex digits"
        )
        now = check.aware("clock()", self._clock())
        row = {
            "domain": domain,
            "site_spki_sha256": hashlib.sha256(site_spki).hexdigest(),
            "gmlc_spki_sha256": gmlc_key,
            "site_spki": b64url_encode(site_spki),
            "site_declaration": site_declaration,
            "gmlc_declaration": gmlc_declaration,
            "declared_at": now,
        }
        key = (
            DECLARATIONS.c.domain == domain,
            DECLARATIONS.c.site_spki_sha256 == row["site_spki_sha256"],
            DECLARATIONS.c.gmlc_spki_sha256 == gmlc_key,
        )
        with self._write("recording a declaration") as conn:
            owner = conn.execute(
                sa.select(CLIENT_DOMAINS.c.client_id).where(CLIENT_DOMAINS.c.domain == domain)
            ).scalar()
            if owner != client_id:
                raise NotFoundError(f"domain {domain} is not registered to client {client_id!r}")
            existing = conn.execute(DECLARATIONS.select().where(*key)).first()
            if existing is not None:
                return _declaration_record(existing), False
            try:
                with conn.begin_nested():
                    conn.execute(DECLARATIONS.insert().values(**row))
            except exc.IntegrityError:
                # The same declaration from another worker in between: theirs stands.
                stored = conn.execute(DECLARATIONS.select().where(*key)).one()
                return _declaration_record(stored), False
            return _declaration_record(conn.execute(DECLARATIONS.select().where(*key)).one()), True

    def list_declarations(self, domain: str | None = None) -> list[DeclarationRecord]:
        """Stored declarations (of one domain, or all), by domain then time."""
        query = DECLARATIONS.select().order_by(
            DECLARATIONS.c.domain, DECLARATIONS.c.declared_at, DECLARATIONS.c.site_spki_sha256
        )
        if domain is not None:
            query = query.where(DECLARATIONS.c.domain == domain_name(domain))
        with self._read("listing declarations") as conn:
            return [_declaration_record(row) for row in conn.execute(query)]

    @staticmethod
    def _domains_of(conn: sa.Connection, client_id: str) -> list[DomainRecord]:
        rows = conn.execute(
            CLIENT_DOMAINS.select()
            .where(CLIENT_DOMAINS.c.client_id == client_id)
            .order_by(CLIENT_DOMAINS.c.domain)
        )
        return [_domain_record(row) for row in rows]
