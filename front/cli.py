"""``salve-front``: the site's TLS 1.3 front and its DNS and declaration tools.

::

    salve-front check --config /etc/salve/front.toml        # everything serve would check
    salve-front declare --config /etc/salve/front.toml      # M2DMRT exchange with the GMLC
    salve-front dns records --config /etc/salve/front.toml  # the zone lines to publish
    salve-front dns update --server ns1.example.com:53 \\
        --tsig-key /etc/salve/tsig.key --config /etc/salve/front.toml   # RFC 2136 + TSIG
    salve-front serve --config /etc/salve/front.toml        # run (systemd: Type=notify)
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Final

from front.config import FrontConfig, load_config, read_secret_file
from front.declare import declare_keys
from front.errors import (
    CertificateError,
    ConfigError,
    DeclarationError,
    FrontError,
    GmlcExchangeError,
)
from front.gmlc import gmlc_spki
from front.records import site_records
from front.server import FrontServer, load_checked_set
from front.tls import TlsSet
from mlp.m2dmrt import declaration_record_name
from runtime.cli import (
    EXIT_ERROR,
    EXIT_OK,
    Program,
    ProgramParser,
    add_command,
    add_commands,
    config_option,
    program_parser,
    run,
)
from runtime.logs import configure_logging
from verifier.dnsupdate import (
    DnsUpdateError,
    ZoneRecord,
    find_zone,
    load_tsig_key,
    publish,
    published_values,
    zone_lines,
)

__all__ = ["PROGRAM", "build_parser", "main"]

EXIT_CONFIG: Final = 3
EXIT_UNDECLARED: Final = 4
EXIT_GMLC: Final = 5
EXIT_DNS: Final = 6
PROGRAM: Final = Program(
    name="salve-front",
    description="The site's TLS 1.3 front: binds a GMLC location statement to every "
    "client's TLS session and proxies everything else to the application. Every setting "
    "can also come from the environment as SALVE_FRONT_<TABLE>_<KEY>; secrets come from "
    "files only.",
    exit_codes={
        EXIT_CONFIG: "the configuration, a certificate or a secret file cannot be used",
        EXIT_UNDECLARED: "a served TLS key has no published, verifying M2DMRT declaration",
        EXIT_GMLC: "the GMLC cannot be reached, or refused, or answered wrongly",
        EXIT_DNS: "the DNS update failed (unreachable, REFUSED, NOTAUTH, TSIG refused)",
    },
)
PROG: Final = PROGRAM.name


def build_parser() -> ProgramParser:
    """The argument parser."""
    parser = program_parser(PROGRAM)
    common = config_option(
        "the TOML file (default: $SALVE_FRONT_CONFIG, else /etc/salve/front.toml)"
    )
    commands = add_commands(parser)
    add_command(commands, PROGRAM, "serve", parents=[common], help="run the front")
    add_command(
        commands,
        PROGRAM,
        "check",
        parents=[common],
        help="check the configuration, certificates, secrets, the GMLC and the declarations",
    )
    add_command(
        commands,
        PROGRAM,
        "declare",
        parents=[common],
        help="exchange the M2DMRT declarations of every configured key with the GMLC",
    )
    dns = add_command(commands, PROGRAM, "dns", help="the site's DNS records")
    actions = add_commands(dns, dest="dns_command", metavar="ACTION")
    add_command(
        actions,
        PROGRAM,
        "records",
        parents=[common],
        help="print the zone lines the site must publish",
    )
    update = add_command(
        actions,
        PROGRAM,
        "update",
        parents=[common],
        help="publish them with one RFC 2136 update signed with TSIG",
    )
    update.add_argument("--server", metavar="HOST:PORT", help="the primary server ([dns] server)")
    update.add_argument(
        "--tsig-key", metavar="FILE", type=Path, help="the TSIG key file ([dns] tsig_key_file)"
    )
    update.add_argument("--zone", help="the zone ([dns] zone; default: found from the SOA)")
    return parser


def _password(config: FrontConfig) -> str:
    path = config.gmlc.password_file
    if path is None:
        raise ConfigError(
            "gmlc.password_file is not set: add `password_file = ...` under [gmlc] or set "
            "SALVE_FRONT_GMLC_PASSWORD_FILE",
            "gmlc.password_file",
        )
    return read_secret_file(path, "gmlc.password_file")


def _serve(config: FrontConfig, args: argparse.Namespace) -> int:
    from twisted.internet import reactor  # installs the reactor: only when serving

    server = FrontServer(config, reactor)
    server.prepare()
    server.run()
    return EXIT_OK


def _check(config: FrontConfig, args: argparse.Namespace) -> int:
    config.require_serving()
    _password(config)
    print(f"{PROG}: configuration {config.source or '(environment only)'}: ok")
    _, lines = load_checked_set(config)
    for line in lines:
        print(f"{PROG}: {line}: ok")
    return EXIT_OK


def _declare(config: FrontConfig, args: argparse.Namespace) -> int:
    config.gmlc.require("url")
    password = _password(config)
    tls_set = TlsSet.load(config.tls.certificates)
    for exchange in declare_keys(config, tls_set, password):
        gmlc = config.gmlc.host
        ttl = config.dns.ttl
        ours = ZoneRecord(
            declaration_record_name(exchange.host, gmlc), "TXT", ttl, exchange.site_declaration
        )
        theirs = ZoneRecord(
            declaration_record_name(gmlc, exchange.host), "TXT", ttl, exchange.gmlc_declaration
        )
        print(f"; {exchange.host}, key of {exchange.certificate.chain_path}: declared")
        print("; in the site's zone (salve-front dns update publishes it):")
        print(*zone_lines([ours]))
        print("; in the GMLC's zone (the GMLC operator publishes it):")
        print(*zone_lines([theirs]))
    return EXIT_OK


def _records(config: FrontConfig, server: str | None) -> list[ZoneRecord]:
    config.gmlc.require("url")
    if not config.site.domains:
        raise ConfigError("site.domains is not set: nothing to publish", "site.domains")
    tls_set = TlsSet.load(config.tls.certificates)
    spki, _ = gmlc_spki(config)
    if server is None:
        return site_records(config, tls_set, spki)
    timeout = config.dns.timeout_s
    return site_records(
        config, tls_set, spki, lambda name: published_values(server, name, "TXT", timeout=timeout)
    )


def _dns(config: FrontConfig, args: argparse.Namespace) -> int:
    if args.dns_command == "records":
        for line in zone_lines(_records(config, None)):
            print(line)
        return EXIT_OK
    server = args.server or config.dns.server
    key_file = args.tsig_key or config.dns.tsig_key_file
    if server is None:
        raise ConfigError(
            "no DNS server: give --server HOST:PORT or set [dns] server", "dns.server"
        )
    if key_file is None:
        raise ConfigError(
            "no TSIG key: give --tsig-key FILE or set [dns] tsig_key_file", "dns.tsig_key_file"
        )
    key = load_tsig_key(key_file)
    records = _records(config, server)
    zones: dict[str, list[ZoneRecord]] = {}
    fixed = args.zone or config.dns.zone
    for record in records:
        zone = fixed or find_zone(server, record.owner, timeout=config.dns.timeout_s)
        zones.setdefault(zone, []).append(record)
    for zone, grouped in zones.items():
        result = publish(server, key, zone, grouped, timeout=config.dns.timeout_s)
        if result.changed:
            replaced = ", ".join(f"{owner} {rdtype}" for owner, rdtype in result.replaced)
            print(f"{PROG}: {zone}: published ({replaced})")
        else:
            print(f"{PROG}: {zone}: already published, nothing changed")
    return EXIT_OK


_COMMANDS: Final[dict[str, Callable[[FrontConfig, argparse.Namespace], int]]] = {
    "serve": _serve,
    "check": _check,
    "declare": _declare,
    "dns": _dns,
}


def _describe(error: BaseException) -> tuple[str, int] | None:
    if isinstance(error, ConfigError | CertificateError):
        return str(error), EXIT_CONFIG
    if isinstance(error, DeclarationError):
        return str(error), EXIT_UNDECLARED
    if isinstance(error, GmlcExchangeError):
        return str(error), EXIT_GMLC
    if isinstance(error, DnsUpdateError):
        return str(error), EXIT_DNS
    if isinstance(error, FrontError):
        return str(error), EXIT_ERROR
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``salve-front``; returns the exit code (see ``--help``)."""

    def body() -> int:
        args = build_parser().parse_args(argv)
        if getattr(args, "log_level", None) is None and args.command == "serve":
            args.log_level = "info"
        configure_logging(PROGRAM.log_level(args))
        return _COMMANDS[args.command](load_config(args.config), args)

    return run(PROGRAM, body, describe=_describe)
