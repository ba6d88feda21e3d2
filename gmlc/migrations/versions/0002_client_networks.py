"""Client source networks and TLS client certificates: where and with what each MLP
client may connect.

Clients that exist before this revision may connect from anywhere (0.0.0.0/0 and ::/0),
as before, and without a certificate, so an upgrade changes no client's access;
``salve-gmlc client networks`` and ``client certificates`` pin them afterwards. New
clients are created with explicit networks.

Revision ID: 0002_client_networks
Revises: 0001
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_client_networks"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ANYWHERE = ("0.0.0.0/0", "::/0")


def upgrade() -> None:
    op.create_table(
        "client_networks",
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("network", sa.String(43), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["clients.client_id"],
            name="fk_client_networks_client_id_clients",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("client_id", "network", name="pk_client_networks"),
    )
    op.create_table(
        "client_certificates",
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("spki_sha256", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["clients.client_id"],
            name="fk_client_certificates_client_id_clients",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("client_id", "spki_sha256", name="pk_client_certificates"),
    )
    for network in _ANYWHERE:
        op.execute(
            sa.text(
                "INSERT INTO client_networks (client_id, network) "
                "SELECT client_id, :network FROM clients"
            ).bindparams(network=network)
        )


def downgrade() -> None:
    op.drop_table("client_certificates")
    op.drop_table("client_networks")
