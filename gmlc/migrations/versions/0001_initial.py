"""Initial GMLC schema: clients, appliances, observations, cells, audit.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from gmlc.schema import JsonDocument, UtcDateTime

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_APPEND_ONLY_MESSAGE = "audit log is append-only"


def upgrade() -> None:
    op.create_table(
        "clients",
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("client_id", name="pk_clients"),
    )
    op.create_table(
        "client_targets",
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("msid_type", sa.String(8), nullable=False),
        sa.Column("value", sa.String(16), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["clients.client_id"],
            name="fk_client_targets_client_id_clients",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("client_id", "msid_type", "value", name="pk_client_targets"),
    )
    op.create_table(
        "appliances",
        sa.Column("appliance_id", sa.String(64), nullable=False),
        sa.Column("public_key", sa.String(64), nullable=False),
        sa.Column("imsi", sa.String(15), nullable=False),
        sa.Column("iccid", sa.String(22), nullable=False),
        sa.Column("msisdn", sa.String(15), nullable=True),
        sa.Column("site", sa.String(200), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("appliance_id", name="pk_appliances"),
    )
    for column in ("imsi", "iccid", "msisdn"):
        op.create_index(
            f"uq_appliances_enabled_{column}",
            "appliances",
            [column],
            unique=True,
            sqlite_where=sa.text("enabled"),
            postgresql_where=sa.text("enabled"),
        )
    op.create_table(
        "observations",
        sa.Column("appliance_id", sa.String(64), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("observed_at", UtcDateTime(), nullable=False),
        sa.Column("received_at", UtcDateTime(), nullable=False),
        sa.Column("report", JsonDocument(), nullable=False),
        sa.ForeignKeyConstraint(
            ["appliance_id"],
            ["appliances.appliance_id"],
            name="fk_observations_appliance_id_appliances",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("appliance_id", "seq", name="pk_observations"),
    )
    op.create_index("ix_observations_received_at", "observations", ["received_at"])
    op.create_table(
        "cells",
        sa.Column("radio", sa.String(8), nullable=False),
        sa.Column("mcc", sa.Integer(), nullable=False),
        sa.Column("mnc", sa.Integer(), nullable=False),
        sa.Column("area", sa.BigInteger(), nullable=False),
        sa.Column("cell", sa.BigInteger(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("range_m", sa.Integer(), nullable=False),
        sa.Column("samples", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("radio", "mcc", "mnc", "area", "cell", name="pk_cells"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "audit",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("client_id", sa.String(255), nullable=True),
        sa.Column("appliance_id", sa.String(255), nullable=True),
        sa.Column("source", sa.String(255), nullable=True),
        sa.Column("targets", JsonDocument(), nullable=False),
        sa.Column("result", sa.Integer(), nullable=True),
        sa.Column("detail", JsonDocument(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit"),
    )
    op.create_index("ix_audit_at", "audit", ["at"])
    op.create_index("ix_audit_kind_id", "audit", ["kind", "id"])
    _forbid_audit_changes()


def _forbid_audit_changes() -> None:
    """Make the database itself refuse UPDATE and DELETE on the audit table."""
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_no_{action.lower()} BEFORE {action} ON audit "
                f"BEGIN SELECT RAISE(ABORT, '{_APPEND_ONLY_MESSAGE}'); END"
            )
    elif dialect == "postgresql":
        op.execute(
            "CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN RAISE EXCEPTION '{_APPEND_ONLY_MESSAGE}'; END $$"
        )
        op.execute(
            "CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit "
            "FOR EACH ROW EXECUTE FUNCTION audit_append_only()"
        )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_append_only ON audit")
        op.execute("DROP FUNCTION IF EXISTS audit_append_only()")
    for table in ("audit", "cells", "observations", "appliances", "client_targets", "clients"):
        op.drop_table(table)
