"""``salve-gmlc dns records``: the lines of the GMLC's zone.

``H._m2dmrt.G`` per declared site key and ``_salve-keys.G`` per statement key.
"""

from __future__ import annotations

import argparse
from typing import Any

from gmlc.cli.common import EXIT_OK, CommandTree, Context, emit_json, key_ring
from gmlc.dnszone import gmlc_zone_lines

__all__ = ["DEFAULT_RECORD_TTL_S", "register"]

DEFAULT_RECORD_TTL_S = 300


def _ttl(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of seconds") from None
    if not 1 <= value <= 86400:
        raise argparse.ArgumentTypeError("the TTL is 1 to 86400 seconds")
    return value


def _cmd_dns_records(ctx: Context) -> int:
    settings = ctx.settings()
    pins = key_ring(ctx).dns_pins()
    with ctx.store(settings) as store:
        declarations = store.list_declarations()
    lines = gmlc_zone_lines(settings.issuer, declarations, pins, ttl=ctx.args.ttl)
    if ctx.args.json:
        emit_json(
            [
                {"owner": line.owner, "type": line.rdtype, "ttl": line.ttl, "value": line.value}
                for line in lines
            ]
        )
        return EXIT_OK
    for line in lines:
        print(line.to_text())
    return EXIT_OK


def register(commands: Any, tree: CommandTree) -> None:
    """Adds ``dns records``."""
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
