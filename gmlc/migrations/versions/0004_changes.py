"""The change log that keeps every worker's and node's read model current.

Triggers add a row to ``changes`` for every changed client (its row, targets, networks,
certificate pins or domains), appliance (any column but ``last_seq``, which every
observation advances) and stored observation. On PostgreSQL a second trigger sends each
new row as a NOTIFY on the ``salve_changes`` channel, so nodes hear of it at once; SQLite
workers poll the table by id.

Revision ID: 0004_changes
Revises: 0003_client_domains
Create Date: 2026-12-20
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_changes"
down_revision: str | None = "0003_client_domains"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, kind of change, key column, columns whose update counts (None: all), deletes count)
_WATCHED: tuple[tuple[str, str, str, tuple[str, ...] | None, bool], ...] = (
    ("clients", "client", "client_id", None, True),
    ("client_targets", "client", "client_id", None, True),
    ("client_networks", "client", "client_id", None, True),
    ("client_certificates", "client", "client_id", None, True),
    ("client_domains", "client", "client_id", None, True),
    (
        "appliances",
        "appliance",
        "appliance_id",
        ("public_key", "imsi", "iccid", "msisdn", "site", "enabled"),
        True,
    ),
    ("observations", "observation", "appliance_id", (), False),
)


def _sqlite_triggers() -> None:
    for table, kind, column, updated, deletes in _WATCHED:
        events: list[tuple[str, str, tuple[str, ...]]] = [("ins", "INSERT", ("NEW",))]
        if updated != ():
            of = f" OF {', '.join(updated)}" if updated else ""
            events.append(("upd", f"UPDATE{of}", ("OLD", "NEW")))
        if deletes:
            events.append(("del", "DELETE", ("OLD",)))
        for suffix, event, rows in events:
            inserts = " ".join(
                f"INSERT INTO changes (kind, key) VALUES ('{kind}', {row}.{column});"  # noqa: S608
                for row in rows
            )
            op.execute(
                f"CREATE TRIGGER changes_{table}_{suffix} AFTER {event} ON {table} "
                f"BEGIN {inserts} END"
            )


def _postgresql_triggers() -> None:
    op.execute(
        "CREATE FUNCTION salve_record_change() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN "
        "IF TG_OP <> 'INSERT' THEN "
        "INSERT INTO changes (kind, key) VALUES (TG_ARGV[0], to_jsonb(OLD) ->> TG_ARGV[1]); "
        "END IF; "
        "IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND "
        "(to_jsonb(NEW) ->> TG_ARGV[1]) IS DISTINCT FROM (to_jsonb(OLD) ->> TG_ARGV[1])) THEN "
        "INSERT INTO changes (kind, key) VALUES (TG_ARGV[0], to_jsonb(NEW) ->> TG_ARGV[1]); "
        "END IF; "
        "RETURN NULL; END $$"
    )
    op.execute(
        "CREATE FUNCTION salve_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN PERFORM pg_notify('salve_changes', json_build_object("
        "'id', NEW.id, 'kind', NEW.kind, 'key', NEW.key, 'origin', NEW.origin)::text); "
        "RETURN NULL; END $$"
    )
    for table, kind, column, updated, deletes in _WATCHED:
        events = ["INSERT"]
        if updated != ():
            events.append(f"UPDATE OF {', '.join(updated)}" if updated else "UPDATE")
        if deletes:
            events.append("DELETE")
        op.execute(
            f"CREATE TRIGGER changes_{table} AFTER {' OR '.join(events)} ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION salve_record_change('{kind}', '{column}')"
        )
    op.execute(
        "CREATE TRIGGER changes_notify AFTER INSERT ON changes "
        "FOR EACH ROW EXECUTE FUNCTION salve_notify_change()"
    )


def upgrade() -> None:
    big_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    op.create_table(
        "changes",
        sa.Column("id", big_id, nullable=False, autoincrement=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("origin", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_changes"),
    )
    if op.get_bind().dialect.name == "postgresql":
        _postgresql_triggers()
    else:
        _sqlite_triggers()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table, *_ in _WATCHED:
            op.execute(f"DROP TRIGGER IF EXISTS changes_{table} ON {table}")
        op.execute("DROP TRIGGER IF EXISTS changes_notify ON changes")
        op.execute("DROP FUNCTION IF EXISTS salve_notify_change()")
        op.execute("DROP FUNCTION IF EXISTS salve_record_change()")
    else:
        for table, *_ in _WATCHED:
            for suffix in ("ins", "upd", "del"):
                op.execute(f"DROP TRIGGER IF EXISTS changes_{table}_{suffix}")
    op.drop_table("changes")
