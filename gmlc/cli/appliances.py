"""``salve-gmlc appliance``: enrolled appliances and their SIMs."""

from __future__ import annotations

import functools
from typing import Any

from gmlc.cli.common import EXIT_OK, PROG, CommandTree, Context, emit_json, format_table, iso
from gmlc.store import ApplianceRecord

__all__ = ["register"]


def _appliance_json(appliance: ApplianceRecord) -> dict[str, Any]:
    return {
        "appliance_id": appliance.appliance_id,
        "enabled": appliance.enabled,
        "site": appliance.site,
        "imsi": appliance.imsi,
        "iccid": appliance.iccid,
        "msisdn": appliance.msisdn,
        "public_key": appliance.public_key,
        "last_seq": appliance.last_seq,
        "created_at": iso(appliance.created_at),
    }


def _cmd_appliance_add(ctx: Context) -> int:
    args = ctx.args
    with ctx.store() as store:
        appliance = store.add_appliance(
            args.id,
            public_key=args.public_key,
            imsi=args.imsi,
            iccid=args.iccid,
            msisdn=args.msisdn,
            site=args.site,
        )
    if args.json:
        emit_json(_appliance_json(appliance))
    else:
        print(
            f"Appliance {appliance.appliance_id} enrolled at site {appliance.site!r} "
            f"with IMSI {appliance.imsi}."
        )
    return EXIT_OK


def _cmd_appliance_list(ctx: Context) -> int:
    with ctx.store() as store:
        appliances = store.list_appliances()
    if ctx.args.json:
        emit_json([_appliance_json(a) for a in appliances])
    elif not appliances:
        print(f"No appliances. Enrol one with: {PROG} appliance add ID --public-key ...")
    else:
        print(
            format_table(
                ["APPLIANCE", "ENABLED", "SITE", "IMSI", "MSISDN", "LAST SEQ", "CREATED"],
                [
                    (a.appliance_id, a.enabled, a.site, a.imsi, a.msisdn, a.last_seq, a.created_at)
                    for a in appliances
                ],
            )
        )
    return EXIT_OK


def _cmd_appliance_enable(ctx: Context, enabled: bool) -> int:
    with ctx.store() as store:
        store.set_appliance_enabled(ctx.args.id, enabled)
    print(f"Appliance {ctx.args.id} {'enabled' if enabled else 'disabled'}.")
    return EXIT_OK


def register(commands: Any, tree: CommandTree) -> None:
    """Adds ``appliance`` and its actions."""
    appliance = tree.group(commands, "appliance", "enrolled appliances")
    enrol = tree.add(appliance, "add", "enrol an appliance and its SIM", _cmd_appliance_add)
    enrol.add_argument("id", help="appliance id, as in its observation reports")
    enrol.add_argument("--public-key", required=True, metavar="B64URL", help="raw Ed25519 key")
    enrol.add_argument("--imsi", required=True)
    enrol.add_argument("--iccid", required=True)
    enrol.add_argument("--msisdn", default=None)
    enrol.add_argument("--site", required=True, help="where the appliance is installed")
    tree.add(appliance, "list", "list appliances", _cmd_appliance_list)
    for name, enabled in (("disable", False), ("enable", True)):
        action = tree.add(
            appliance,
            name,
            f"{name} an appliance",
            functools.partial(_cmd_appliance_enable, enabled=enabled),
            json=False,
        )
        action.add_argument("id")
