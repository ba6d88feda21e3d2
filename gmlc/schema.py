"""Table definitions of the GMLC store (SQLAlchemy Core).

The migrations in ``gmlc/migrations/versions`` create exactly these tables; a test compares
the migrated database with this metadata, so the two cannot drift apart unnoticed.

Times are stored in UTC. SQLite has no time-zone-aware type, so :class:`UtcDateTime` strips
the zone on the way in (after converting to UTC) and puts it back on the way out; PostgreSQL
stores ``timestamp with time zone``. Either way the application only ever sees aware UTC
datetimes, and naive ones are refused rather than guessed at.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect

__all__ = [
    "APPLIANCES",
    "AUDIT",
    "CELLS",
    "CHANGES",
    "CLIENTS",
    "CLIENT_CERTIFICATES",
    "CLIENT_DOMAINS",
    "CLIENT_NETWORKS",
    "CLIENT_TARGETS",
    "DECLARATIONS",
    "METADATA",
    "OBSERVATIONS",
    "JsonDocument",
    "UtcDateTime",
]


class UtcDateTime(sa.types.TypeDecorator[datetime]):
    """A timestamp that is always an aware UTC datetime in Python."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("naive datetime refused: pass an aware datetime (UTC)")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            # Stored as ISO text; all rows in UTC keep string order equal to time order.
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def JsonDocument() -> sa.types.TypeEngine[Any]:  # noqa: N802 - reads like a column type
    """JSON column type: ``jsonb`` on PostgreSQL, JSON text on SQLite."""
    return sa.JSON().with_variant(JSONB(), "postgresql")


def _big_id() -> sa.types.TypeEngine[int]:
    # SQLite only auto-increments a column declared exactly INTEGER PRIMARY KEY.
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


METADATA = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
    }
)

CLIENTS = sa.Table(
    "clients",
    METADATA,
    sa.Column("client_id", sa.String(64), primary_key=True),
    sa.Column("password_hash", sa.Text(), nullable=False),
    sa.Column("enabled", sa.Boolean(), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    # Statement options: "one" (the asked target's circle) or "all" (one circle per SIM of
    # the client), and the grid in metres positions are coarsened to (NULL: exact).
    sa.Column("statement_mode", sa.String(3), nullable=False, server_default="one"),
    sa.Column("precision_m", sa.Integer(), nullable=True),
)


def _client_key() -> sa.Column[str]:
    """The ``client_id`` that keys a client's rows in its per-client tables (with the
    table's own key columns); they go when the client goes."""
    return sa.Column(
        "client_id",
        sa.String(64),
        sa.ForeignKey("clients.client_id", ondelete="CASCADE"),
        primary_key=True,
    )


# Which targets a client may locate: one row per (client, "msisdn"|"imsi", value).
CLIENT_TARGETS = sa.Table(
    "client_targets",
    METADATA,
    _client_key(),
    sa.Column("msid_type", sa.String(8), primary_key=True),
    sa.Column("value", sa.String(16), primary_key=True),
)

# Where a client may connect from: one row per (client, network in canonical CIDR form).
# "Anywhere" is the two rows 0.0.0.0/0 and ::/0; a client without rows is refused everywhere.
CLIENT_NETWORKS = sa.Table(
    "client_networks",
    METADATA,
    _client_key(),
    sa.Column("network", sa.String(43), primary_key=True),
)

# TLS client certificates a client must present (mutual TLS), by the SHA-256 of their
# public key (SubjectPublicKeyInfo, lower-case hex), so a renewed certificate for the same
# key keeps working. A client without rows may connect without a certificate.
CLIENT_CERTIFICATES = sa.Table(
    "client_certificates",
    METADATA,
    _client_key(),
    sa.Column("spki_sha256", sa.String(64), primary_key=True),
)

# The web services (canonical host names) each client gets statements for. The domain is
# the primary key: a domain belongs to exactly one client, and the database settles a race
# between two enrolments. ``evidence`` records the validated _salve policy that allowed it.
CLIENT_DOMAINS = sa.Table(
    "client_domains",
    METADATA,
    sa.Column("domain", sa.String(253), primary_key=True),
    sa.Column(
        "client_id",
        sa.String(64),
        sa.ForeignKey("clients.client_id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("enrolled_at", UtcDateTime(), nullable=False),
    sa.Column("evidence", JsonDocument(), nullable=False),
    sa.Index("ix_client_domains_client_id", "client_id"),
)

# M2DMRT declarations exchanged with a domain's front: the site's declaration of this GMLC
# (G._m2dmrt.H, signed by the site's TLS key) and this GMLC's of the site (H._m2dmrt.G,
# signed by the GMLC's TLS key), one row per (domain, site key, GMLC key) so that a new
# key on either side is declared beside the old one during a rollover.
DECLARATIONS = sa.Table(
    "declarations",
    METADATA,
    sa.Column(
        "domain",
        sa.String(253),
        sa.ForeignKey("client_domains.domain", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("site_spki_sha256", sa.String(64), primary_key=True),
    sa.Column("gmlc_spki_sha256", sa.String(64), primary_key=True),
    sa.Column("site_spki", sa.Text(), nullable=False),
    sa.Column("site_declaration", sa.Text(), nullable=False),
    sa.Column("gmlc_declaration", sa.Text(), nullable=False),
    sa.Column("declared_at", UtcDateTime(), nullable=False),
)

APPLIANCES = sa.Table(
    "appliances",
    METADATA,
    sa.Column("appliance_id", sa.String(64), primary_key=True),
    sa.Column("public_key", sa.String(64), nullable=False),
    sa.Column("imsi", sa.String(15), nullable=False),
    sa.Column("iccid", sa.String(22), nullable=False),
    sa.Column("msisdn", sa.String(15), nullable=True),
    sa.Column("site", sa.String(200), nullable=False),
    sa.Column("enabled", sa.Boolean(), nullable=False),
    sa.Column("last_seq", sa.BigInteger(), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    # One SIM serves one enabled appliance: partial unique indexes let the database settle
    # races between concurrent enrolments, on every node behind the load balancer.
    sa.Index(
        "uq_appliances_enabled_imsi",
        "imsi",
        unique=True,
        sqlite_where=sa.text("enabled"),
        postgresql_where=sa.text("enabled"),
    ),
    sa.Index(
        "uq_appliances_enabled_iccid",
        "iccid",
        unique=True,
        sqlite_where=sa.text("enabled"),
        postgresql_where=sa.text("enabled"),
    ),
    sa.Index(
        "uq_appliances_enabled_msisdn",
        "msisdn",
        unique=True,
        sqlite_where=sa.text("enabled"),
        postgresql_where=sa.text("enabled"),
    ),
)

OBSERVATIONS = sa.Table(
    "observations",
    METADATA,
    sa.Column(
        "appliance_id",
        sa.String(64),
        sa.ForeignKey("appliances.appliance_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("seq", sa.BigInteger(), primary_key=True),
    sa.Column("observed_at", UtcDateTime(), nullable=False),
    sa.Column("received_at", UtcDateTime(), nullable=False),
    sa.Column("report", JsonDocument(), nullable=False),
    sa.Index("ix_observations_received_at", "received_at"),
)

CELLS = sa.Table(
    "cells",
    METADATA,
    sa.Column("radio", sa.String(8), primary_key=True),
    sa.Column("mcc", sa.Integer(), primary_key=True),
    sa.Column("mnc", sa.Integer(), primary_key=True),
    sa.Column("area", sa.BigInteger(), primary_key=True),
    # NR cell identities are 36 bits wide.
    sa.Column("cell", sa.BigInteger(), primary_key=True),
    sa.Column("lat", sa.Float(), nullable=False),
    sa.Column("lon", sa.Float(), nullable=False),
    sa.Column("range_m", sa.Integer(), nullable=False),
    sa.Column("samples", sa.Integer(), nullable=False),
    # Clustered on the key: one B-tree instead of a rowid table plus a key index halves
    # the pages a bulk import writes.
    sqlite_with_rowid=False,
)

AUDIT = sa.Table(
    "audit",
    METADATA,
    sa.Column("id", _big_id(), primary_key=True, autoincrement=True),
    sa.Column("at", UtcDateTime(), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("client_id", sa.String(255), nullable=True),
    sa.Column("appliance_id", sa.String(255), nullable=True),
    sa.Column("source", sa.String(255), nullable=True),
    sa.Column("targets", JsonDocument(), nullable=False),
    sa.Column("result", sa.Integer(), nullable=True),
    sa.Column("detail", JsonDocument(), nullable=False),
    sa.Index("ix_audit_at", "at"),
    sa.Index("ix_audit_kind_id", "kind", "id"),
)

# What changed, for the read model of every worker and node (gmlc.readmodel): database
# triggers add one row per changed client, appliance or observation, and nodes add the
# failed logins they count (kind "failure", the throttle key as JSON, ``origin`` the node
# that counted it). SQLite workers poll it by id; on PostgreSQL a trigger also sends each
# row as a NOTIFY on the ``salve_changes`` channel. Old rows are pruned; nothing else
# reads them.
CHANGES = sa.Table(
    "changes",
    METADATA,
    sa.Column("id", _big_id(), primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("key", sa.String(255), nullable=False),
    sa.Column("origin", sa.String(64), nullable=True),
)
