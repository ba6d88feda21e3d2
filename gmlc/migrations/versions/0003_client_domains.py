"""Client domains, statement options and M2DMRT declarations.

Each client gets the web services (domains) it may have statements for, and two statement
options: the mode (``one``: the asked target's circle; ``all``: one circle per SIM of the
client) and the precision in metres positions are coarsened to. The declarations table
holds the M2DMRT declarations exchanged with each domain's front.

Clients that exist before this revision keep their access and get mode ``one`` with exact
positions; they have no domain, so they get no statements until the operator enrols their
domains (``salve-gmlc client domain add``), which validates each domain's DNSSEC-signed
``_salve`` policy first.

Revision ID: 0003_client_domains
Revises: 0002_client_networks
Create Date: 2026-12-08
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from gmlc.schema import JsonDocument, UtcDateTime

revision: str = "0003_client_domains"
down_revision: str | None = "0002_client_networks"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "clients",
        sa.Column("statement_mode", sa.String(3), nullable=False, server_default="one"),
    )
    op.add_column("clients", sa.Column("precision_m", sa.Integer(), nullable=True))
    op.create_table(
        "client_domains",
        sa.Column("domain", sa.String(253), nullable=False),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("enrolled_at", UtcDateTime(), nullable=False),
        sa.Column("evidence", JsonDocument(), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["clients.client_id"],
            name="fk_client_domains_client_id_clients",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("domain", name="pk_client_domains"),
    )
    op.create_index("ix_client_domains_client_id", "client_domains", ["client_id"])
    op.create_table(
        "declarations",
        sa.Column("domain", sa.String(253), nullable=False),
        sa.Column("site_spki_sha256", sa.String(64), nullable=False),
        sa.Column("gmlc_spki_sha256", sa.String(64), nullable=False),
        sa.Column("site_spki", sa.Text(), nullable=False),
        sa.Column("site_declaration", sa.Text(), nullable=False),
        sa.Column("gmlc_declaration", sa.Text(), nullable=False),
        sa.Column("declared_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["domain"],
            ["client_domains.domain"],
            name="fk_declarations_domain_client_domains",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "domain", "site_spki_sha256", "gmlc_spki_sha256", name="pk_declarations"
        ),
    )


def downgrade() -> None:
    op.drop_table("declarations")
    op.drop_index("ix_client_domains_client_id", table_name="client_domains")
    op.drop_table("client_domains")
    with op.batch_alter_table("clients") as batch:
        batch.drop_column("precision_m")
        batch.drop_column("statement_mode")
