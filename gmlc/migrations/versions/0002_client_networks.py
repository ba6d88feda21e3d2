"""Client source networks: where each MLP client may connect from.

Clients that exist before this revision may connect from anywhere (0.0.0.0/0 and ::/0),
as before, so an upgrade changes no client's access; ``salve-gmlc client networks`` pins
them afterwards. New clients are created with explicit networks.

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
    for network in _ANYWHERE:
        op.execute(
            sa.text(
                "INSERT INTO client_networks (client_id, network) "
                "SELECT client_id, :network FROM clients"
            ).bindparams(network=network)
        )


def downgrade() -> None:
    op.drop_table("client_networks")
