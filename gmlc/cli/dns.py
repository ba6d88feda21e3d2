"""``salve-gmlc dns records|update``: the GMLC's zone records, printed or published.

``H._m2dmrt.G`` per declared site key and ``_salve-keys.G`` per statement key. ``update``
sends them to the zone's primary server as one RFC 2136 update signed with TSIG
(:func:`verifier.dnsupdate.publish`, as ``salve-front dns update`` does for the site):
each RRset is replaced by exactly these records, and a second run changes nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from gmlc.cli.common import (
    EXIT_OK,
    PROG,
    CommandTree,
    Context,
    emit_json,
    key_ring,
    number_argument,
)

if TYPE_CHECKING:
    from verifier.dnsupdate import ZoneRecord

__all__ = ["DEFAULT_RECORD_TTL_S", "register"]

DEFAULT_RECORD_TTL_S = 300


_ttl = number_argument(
    int, "a whole number of seconds", lambda ttl: 1 <= ttl <= 86400, "the TTL is 1 to 86400 seconds"
)


def _zone_records(ctx: Context) -> tuple[str, list[ZoneRecord]]:
    """The GMLC's issuer name and its records."""
    # Imported here: the DNS library is loaded by the dns commands only.
    from gmlc.dnszone import gmlc_zone_records

    settings = ctx.settings()
    pins = key_ring(ctx).dns_pins()
    with ctx.store(settings) as store:
        declarations = store.list_declarations()
    return settings.issuer, gmlc_zone_records(settings.issuer, declarations, pins, ttl=ctx.args.ttl)


def _cmd_dns_records(ctx: Context) -> int:
    from verifier.dnsupdate import zone_lines

    _, records = _zone_records(ctx)
    if ctx.args.json:
        emit_json(
            [{"owner": r.owner, "type": r.rdtype, "ttl": r.ttl, "value": r.value} for r in records]
        )
        return EXIT_OK
    for line in zone_lines(records):
        print(line)
    return EXIT_OK


def _cmd_dns_update(ctx: Context) -> int:
    from verifier.dnsupdate import find_zone, load_tsig_key, publish

    args = ctx.args
    key = load_tsig_key(args.tsig_key)
    issuer, records = _zone_records(ctx)
    # Every record lies under the issuer's name: its zone is the one to update.
    zone = args.zone or find_zone(args.server, issuer, timeout=args.timeout)
    result = publish(args.server, key, zone, records, timeout=args.timeout)
    if args.json:
        emit_json(
            {
                "zone": result.zone,
                "changed": result.changed,
                "replaced": [{"owner": o, "type": t} for o, t in result.replaced],
                "unchanged": [{"owner": o, "type": t} for o, t in result.unchanged],
            }
        )
    elif result.changed:
        replaced = ", ".join(f"{owner} {rdtype}" for owner, rdtype in result.replaced)
        print(f"{PROG}: {result.zone}: published ({replaced})")
    else:
        print(f"{PROG}: {result.zone}: already published, nothing changed")
    return EXIT_OK


_seconds = number_argument(
    float,
    "a number of seconds",
    lambda seconds: 0 < seconds <= 60,
    "the timeout is more than 0 and at most 60 seconds",
)


def register(commands: Any, tree: CommandTree) -> None:
    """Adds ``dns records`` and ``dns update``."""
    dns = tree.group(commands, "dns", "the GMLC's DNS records")
    records = tree.add(
        dns,
        "records",
        "print the GMLC zone's records: H._m2dmrt.G per declared site key, "
        "_salve-keys.G per statement key",
        _cmd_dns_records,
    )
    records.add_argument(
        "--ttl", type=_ttl, default=DEFAULT_RECORD_TTL_S, help="record TTL in seconds"
    )
    update = tree.add(
        dns,
        "update",
        "publish those records with one RFC 2136 update signed with TSIG (idempotent)",
        _cmd_dns_update,
    )
    update.add_argument(
        "--server", required=True, metavar="HOST:PORT", help="the zone's primary server"
    )
    update.add_argument(
        "--tsig-key",
        required=True,
        type=Path,
        metavar="FILE",
        help="the TSIG key allowed to update the zone (BIND key clause or Knot key: block)",
    )
    update.add_argument("--zone", help="the zone (default: found from the server's SOA)")
    update.add_argument(
        "--ttl", type=_ttl, default=DEFAULT_RECORD_TTL_S, help="record TTL in seconds"
    )
    update.add_argument(
        "--timeout", type=_seconds, default=5.0, metavar="SECONDS", help="per DNS exchange"
    )
