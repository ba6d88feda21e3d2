"""``salve-gmlc appliance``: enrolled appliances and their SIMs.

``appliance show ID`` says where the GMLC places an appliance's SIM now, and how fresh
that is: the last observation (its age, registration, serving cell), the position the
GMLC would state from it (or why there is none), and the statements issued for the SIM
recently, from the audit log.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from gmlc.cli.common import (
    EXIT_OK,
    PROG,
    CommandTree,
    Context,
    emit_json,
    emit_listing,
    format_table,
    iso,
    parse_time,
    positive_int,
)
from gmlc.errors import NotFoundError
from gmlc.positioning import Fix, NoFix, PositioningLimits, locate
from gmlc.store import ApplianceRecord, AuditRecord, ObservationRecord

#: Statements looked at, newest first, when searching those of one appliance: the audit
#: log is not indexed by target, and a busy node issues many per second.
STATEMENT_SCAN_LIMIT = 20000
DEFAULT_STATEMENTS_SINCE = timedelta(days=7)

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
    return emit_listing(
        appliances,
        as_json=ctx.args.json,
        to_json=_appliance_json,
        headers=["APPLIANCE", "ENABLED", "SITE", "IMSI", "MSISDN", "LAST SEQ", "CREATED"],
        row=lambda a: (
            a.appliance_id,
            a.enabled,
            a.site,
            a.imsi,
            a.msisdn,
            a.last_seq,
            a.created_at,
        ),
        none=f"No appliances. Enrol one with: {PROG} appliance add ID --public-key ...",
    )


@dataclass(frozen=True, slots=True)
class RecentStatements:
    """The statements found for one appliance's SIM, and how far the search went."""

    entries: list[AuditRecord]
    since: datetime
    scanned: int
    complete: bool


def sim_targets(appliance: ApplianceRecord) -> frozenset[str]:
    """The target names statements carry for the appliance's SIM (``imsi:…``, ``msisdn:…``)."""
    names = {f"imsi:{appliance.imsi}"}
    if appliance.msisdn:
        names.add(f"msisdn:{appliance.msisdn}")
    return frozenset(names)


def recent_statements(
    entries: Iterable[AuditRecord],
    targets: frozenset[str],
    *,
    since: datetime,
    limit: int,
    scan_limit: int = STATEMENT_SCAN_LIMIT,
) -> RecentStatements:
    """The newest ``limit`` statements that name one of ``targets`` (mode ``all``
    statements name every SIM of the site), from audit entries given newest first."""
    found: list[AuditRecord] = []
    scanned = 0
    for entry in entries:
        if scanned == scan_limit:
            return RecentStatements(found, since, scanned, complete=False)
        scanned += 1
        if targets.intersection(entry.targets):
            found.append(entry)
            if len(found) == limit:
                break
    return RecentStatements(found, since, scanned, complete=True)


def appliance_view(
    appliance: ApplianceRecord,
    observation: ObservationRecord | None,
    position: Fix | NoFix | None,
    statements: RecentStatements,
    now: datetime,
) -> dict[str, Any]:
    """What ``appliance show`` says, as the JSON document (the text is made from it)."""
    view: dict[str, Any] = {
        "appliance": _appliance_json(appliance),
        "observation": None,
        "position": None,
        "no_position": None,
    }
    if observation is not None:
        report = observation.report
        registration = _mapping(report.get("registration"))
        neighbours = report.get("neighbours")
        view["observation"] = {
            "seq": observation.seq,
            "observed_at": iso(observation.observed_at),
            "received_at": iso(observation.received_at),
            "age_s": _age_s(observation.observed_at, now),
            "registration": registration.get("state"),
            "rat": registration.get("rat"),
            "serving": report.get("serving"),
            "neighbours": len(neighbours) if isinstance(neighbours, list) else 0,
            "signal": report.get("signal"),
        }
    if isinstance(position, Fix):
        view["position"] = {
            "lat": position.lat,
            "lon": position.lon,
            "radius_m": position.radius_m,
            "method": position.method,
            "cells_used": position.cells_used,
            "measured_at": iso(position.measured_at),
            "age_s": _age_s(position.measured_at, now),
        }
    elif isinstance(position, NoFix):
        view["no_position"] = {"result": int(position.result), "reason": position.add_info}
    else:
        view["no_position"] = {"result": None, "reason": "no observation received yet"}
    view["statements"] = [_statement_json(entry) for entry in statements.entries]
    view["statements_search"] = {
        "since": iso(statements.since),
        "scanned": statements.scanned,
        "complete": statements.complete,
    }
    return view


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _age_s(moment: datetime, now: datetime) -> int:
    return max(0, round((now - moment).total_seconds()))


def _statement_json(entry: AuditRecord) -> dict[str, Any]:
    detail = entry.detail
    return {
        "at": iso(entry.at),
        "client_id": entry.client_id,
        "source": entry.source,
        "domain": detail.get("domain"),
        "target": detail.get("target"),
        "mode": detail.get("mode"),
        "stated": detail.get("stated"),
        "kid": detail.get("kid"),
        "jti": detail.get("jti"),
    }


def _age_text(seconds: int) -> str:
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    if seconds < 172800:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} days"


def view_text(view: Mapping[str, Any]) -> str:
    """The view for people."""
    a = view["appliance"]
    lines = [
        f"Appliance {a['appliance_id']} at site {a['site']!r}, "
        f"{'enabled' if a['enabled'] else 'DISABLED'}; SIM IMSI {a['imsi']}, "
        f"MSISDN {a['msisdn'] or '-'}, ICCID {a['iccid']}."
    ]
    observation = view["observation"]
    if observation is None:
        lines.append("Last observation: none received yet.")
    else:
        lines.append(
            f"Last observation: seq {observation['seq']}, observed {observation['observed_at']} "
            f"({_age_text(observation['age_s'])} ago), received {observation['received_at']}."
        )
        lines.append(f"  {_radio_text(observation)}")
    position, problem = view["position"], view["no_position"]
    if position is not None:
        cells = f"{position['cells_used']} cell{'s' if position['cells_used'] != 1 else ''}"
        lines.append(
            f"Position: {position['lat']:.7f}, {position['lon']:.7f} within "
            f"{position['radius_m']} m ({position['method']}, {cells}), "
            f"{_age_text(position['age_s'])} old."
        )
    else:
        code = f" (MLP result {problem['result']})" if problem["result"] is not None else ""
        lines.append(f"Position: none: {problem['reason']}{code}.")
    search = view["statements_search"]
    window = f"since {search['since']}"
    if not search["complete"]:
        window += f", among the latest {search['scanned']} statements of the node"
    if not view["statements"]:
        lines.append(f"Statements: none for this SIM {window}.")
        return "\n".join(lines)
    lines.append(f"Statements (newest first, {window}):")
    rows = [
        (
            s["at"],
            s["client_id"],
            s["domain"],
            " ".join(_circle_text(c) for c in s["stated"] or ()) or None,
            s["kid"],
            s["jti"],
        )
        for s in view["statements"]
    ]
    lines.append(format_table(["AT", "CLIENT", "DOMAIN", "STATED", "KID", "JTI"], rows))
    return "\n".join(lines)


def _radio_text(observation: Mapping[str, Any]) -> str:
    serving = _mapping(observation["serving"])
    parts = [f"registration {observation['registration'] or 'unknown'}"]
    if observation["rat"]:
        parts.append(str(observation["rat"]))
    if serving:
        area = serving.get("tac") if serving.get("tac") is not None else serving.get("lac")
        parts.append(
            f"serving cell {serving.get('mcc', '?')}-{serving.get('mnc', '?')} "
            f"area {area if area is not None else '?'} cell {serving.get('ci', '?')}"
        )
    else:
        parts.append("no serving cell")
    parts.append(f"{observation['neighbours']} neighbours")
    return "; ".join(parts)


def _circle_text(claim: object) -> str:
    circle = _mapping(claim)
    return f"{circle.get('lat')},{circle.get('lon')}±{circle.get('r')}m"


def _cmd_appliance_show(ctx: Context) -> int:
    args = ctx.args
    settings = ctx.settings()
    with ctx.store(settings) as store:
        appliance = store.get_appliance(args.id)
        if appliance is None:
            raise NotFoundError(f"appliance {args.id!r} does not exist")
        observation = store.latest_observation(args.id)
        now = datetime.now(UTC)
        position: Fix | NoFix | None = None
        if observation is not None:
            position = locate(
                observation.report,
                observed_at=observation.observed_at,
                find_cells=store.find_cells,
                find_area=store.area_estimate,
                limits=PositioningLimits.from_settings(settings),
                now=now,
            )
        since = args.since or now - DEFAULT_STATEMENTS_SINCE
        statements = recent_statements(
            store.list_audit(since=since, kind="statement", newest_first=True),
            sim_targets(appliance),
            since=since,
            limit=args.statements,
        )
    view = appliance_view(appliance, observation, position, statements, now)
    if args.json:
        emit_json(view)
    else:
        print(view_text(view))
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
    show = tree.add(
        appliance,
        "show",
        "where the GMLC places the appliance's SIM: last observation, position, radius and "
        "age, and the statements issued for it recently",
        _cmd_appliance_show,
    )
    show.add_argument("id")
    show.add_argument(
        "--statements",
        type=positive_int,
        default=10,
        metavar="N",
        help="show the N newest statements (default 10)",
    )
    show.add_argument(
        "--since",
        type=parse_time,
        metavar="ISO",
        help="statements from this time on (default: the last 7 days)",
    )
    for name, enabled in (("disable", False), ("enable", True)):
        action = tree.add(
            appliance,
            name,
            f"{name} an appliance",
            functools.partial(_cmd_appliance_enable, enabled=enabled),
            json=False,
        )
        action.add_argument("id")
