"""``salve-gmlc db``: the database schema."""

from __future__ import annotations

from typing import Any

from gmlc.cli.common import EXIT_ERROR, EXIT_OK, PROG, CommandTree, Context, emit_json
from gmlc.store import Store

__all__ = ["register"]


def _cmd_db_upgrade(ctx: Context) -> int:
    settings = ctx.settings()
    with Store.open(settings.effective_database_url) as store:
        before = store.current_revision()
        store.migrate()
        after = store.current_revision()
        shown = store.display_url
    if ctx.args.json:
        emit_json({"database": shown, "from": before, "to": after})
    elif before == after:
        print(f"Database {shown} is already at the newest schema revision {after}.")
    else:
        print(f"Database {shown} upgraded from revision {before or 'empty'} to {after}.")
    return EXIT_OK


def _cmd_db_status(ctx: Context) -> int:
    settings = ctx.settings()
    with Store.open(settings.effective_database_url) as store:
        current, head = store.current_revision(), store.head_revision()
        shown = store.display_url
    if ctx.args.json:
        emit_json({"database": shown, "current": current, "head": head, "ok": current == head})
    elif current == head:
        print(f"Database {shown} is at the newest schema revision {current}.")
    else:
        print(f"Database {shown} is at revision {current or 'empty'}; newest is {head}.")
        print(f"Run: {PROG} db upgrade")
    return EXIT_OK if current == head else EXIT_ERROR


def register(commands: Any, tree: CommandTree) -> None:
    """Adds ``db upgrade`` and ``db status``."""
    db = tree.group(commands, "db", "database schema")
    tree.add(db, "upgrade", "migrate the database schema to the newest revision", _cmd_db_upgrade)
    tree.add(db, "status", "show the schema revision (exit 1 if not current)", _cmd_db_status)
