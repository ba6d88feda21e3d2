"""Alembic environment for the GMLC store.

Only programmatic use is supported: ``gmlc.store.Store.migrate`` hands over an open
connection in ``config.attributes["connection"]``, so the URL, credentials and engine
options live in one place (the store) and no ``alembic.ini`` is needed.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from gmlc.schema import METADATA


def _run_with(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=METADATA,
        # SQLite cannot ALTER most things in place; batch mode rebuilds tables instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _main() -> None:
    connection = context.config.attributes.get("connection")
    if not isinstance(connection, Connection):
        raise RuntimeError(
            "the GMLC migrations run through `salve-gmlc db upgrade` (Store.migrate), "
            "which supplies the database connection"
        )
    _run_with(connection)


_main()
