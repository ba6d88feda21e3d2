"""``salve-gmlc audit``: read the audit log."""

from __future__ import annotations

import json
import sys
from typing import Any

from gmlc.cli.common import (
    EXIT_OK,
    CommandTree,
    Context,
    emit_listing,
    parse_time,
    positive_int,
)

__all__ = ["register"]


def _cmd_audit_list(ctx: Context) -> int:
    args = ctx.args
    with ctx.store() as store:
        if args.since is None:
            # Without a start time people want the most recent entries, shown in order.
            entries = list(store.list_audit(kind=args.kind, limit=args.limit, newest_first=True))
            entries.reverse()
        else:
            entries = list(store.list_audit(since=args.since, kind=args.kind, limit=args.limit))
    return emit_listing(
        entries,
        as_json=args.json,
        to_json=lambda e: e.to_json(),
        headers=[
            "ID",
            "AT",
            "KIND",
            "CLIENT",
            "APPLIANCE",
            "SOURCE",
            "TARGETS",
            "RESULT",
            "DETAIL",
        ],
        row=lambda e: (
            e.id,
            e.at,
            e.kind,
            e.client_id,
            e.appliance_id,
            e.source,
            ",".join(e.targets) or None,
            e.result,
            json.dumps(e.detail, separators=(",", ":"), sort_keys=True) if e.detail else None,
        ),
        none="No audit entries match.",
    )


def _cmd_audit_export(ctx: Context) -> int:
    args = ctx.args
    with ctx.store() as store:
        for entry in store.list_audit(since=args.since, kind=args.kind):
            sys.stdout.write(
                json.dumps(entry.to_json(), ensure_ascii=False, separators=(",", ":")) + "\n"
            )
    sys.stdout.flush()
    return EXIT_OK


def register(commands: Any, tree: CommandTree) -> None:
    """Adds ``audit list`` and ``audit export``."""
    audit = tree.group(commands, "audit", "the audit log")
    listing = tree.add(
        audit, "list", "show audit entries (the latest ones unless --since)", _cmd_audit_list
    )
    listing.add_argument("--since", type=parse_time, metavar="ISO", help="from this time on")
    listing.add_argument("--kind", help="only this kind (slir, statement, auth_failure, ...)")
    listing.add_argument("--limit", type=positive_int, default=100, help="at most N entries")
    export = tree.add(
        audit,
        "export",
        "write audit entries as JSON Lines to stdout",
        _cmd_audit_export,
        json=False,
    )
    export.add_argument("--since", type=parse_time, metavar="ISO", help="from this time on")
    export.add_argument("--kind", help="only this kind")
