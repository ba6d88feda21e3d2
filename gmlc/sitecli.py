"""``salve-gmlc`` commands about sites: domains, statement options and the GMLC's DNS records.

* ``client add … --domain H [--mode one|all] [--precision-m N]``: a client's domains and
  statement options from the start;
* ``client domain add|remove|list``: enrol a domain (after validating with DNSSEC that its
  ``_salve`` policy names this GMLC), take one away, list them;
* ``client options ID [--mode one|all] [--precision-m N | --exact]``;
* ``dns records``: the lines of the GMLC's zone (``H._m2dmrt.G`` per declared site key,
  ``_salve-keys.G`` per statement key).

The commands share :mod:`gmlc.cli`'s context, output helpers and exit codes.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from gmlc.cli import (
    EXIT_OK,
    PROG,
    UsageError,
    _Context,
    _emit_json,
    _iso,
    _key_ring,
    format_table,
)
from gmlc.dnszone import gmlc_zone_lines
from gmlc.errors import NotFoundError
from gmlc.store import ClientRecord, DomainRecord, Store
from gmlc.store.domains import MAX_PRECISION_M
from mlp.names import HostNameError, canonical_host_name

if TYPE_CHECKING:
    # DNSSEC validation is imported where it is used: it brings the verifier (about 0.1 s),
    # which only the enrolling commands need.
    from gmlc.enrolment import ValidatedDomain

__all__ = [
    "add_client_options",
    "add_site_commands",
    "audit_enrolled",
    "enrol_domains",
    "options_said",
]

DEFAULT_RECORD_TTL_S = 300
Sub = Callable[..., argparse.ArgumentParser]


def _precision(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of metres") from None
    if not 1 <= value <= MAX_PRECISION_M:
        raise argparse.ArgumentTypeError(f"the precision is 1 to {MAX_PRECISION_M} metres")
    return value


def _ttl(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of seconds") from None
    if not 1 <= value <= 86400:
        raise argparse.ArgumentTypeError("the TTL is 1 to 86400 seconds")
    return value


def canonical_domains(texts: Sequence[str]) -> list[str]:
    """Domains as the operator typed them, in canonical form (each once, in order).

    Raises:
        UsageError: one is not a host name.
    """
    domains: list[str] = []
    for text in texts:
        try:
            domain = canonical_host_name(text)
        except HostNameError as error:
            raise UsageError(f"--domain: {error}") from None
        if domain not in domains:
            domains.append(domain)
    return domains


def enrol_domains(ctx: _Context, texts: Sequence[str]) -> list[ValidatedDomain]:
    """Validate each domain's ``_salve`` policy with DNSSEC, before anything is stored.

    Raises:
        UsageError: a domain is not a host name.
        EnrolmentError: a domain's DNS does not show that it names this GMLC.
    """
    domains = canonical_domains(texts)
    if not domains:
        return []
    from gmlc.enrolment import open_enrolment_resolver, validate_domain

    settings = ctx.settings()
    resolver = open_enrolment_resolver(settings)
    return [validate_domain(resolver, domain, settings.issuer) for domain in domains]


def options_said(client: ClientRecord) -> str:
    """A client's statement options in words."""
    precision = f"coarsened to {client.precision_m} m" if client.precision_m else "exact positions"
    circles = "one circle per SIM" if client.statement_mode == "all" else "the asked SIM's circle"
    return f"mode {client.statement_mode} ({circles}), {precision}"


def _mode_notes(client_id: str, mode: str, validated: Sequence[ValidatedDomain]) -> list[str]:
    return [
        f"Note: the policy of {v.enrolment.domain} says mode={v.policy.mode}, but client "
        f"{client_id} gets mode {mode} statements; clients verifying {v.enrolment.domain} "
        f"will refuse them until you run: {PROG} client options {client_id} "
        f"--mode {v.policy.mode}"
        for v in validated
        if v.policy.mode != mode
    ]


def announce_enrolled(client_id: str, mode: str, validated: Sequence[ValidatedDomain]) -> None:
    """Tell the operator what was enrolled, and where the policy and the client disagree."""
    for v in validated:
        print(
            f"Domain {v.enrolment.domain} enrolled for client {client_id}: its DNSSEC-validated "
            f"policy names this GMLC ({v.enrolment.evidence['gmlc']})."
        )
    for note in _mode_notes(client_id, mode, validated):
        print(note)


def audit_enrolled(store: Store, client_id: str, validated: Sequence[ValidatedDomain]) -> None:
    """One ``domain_enrolled`` audit row per domain, with the evidence it was enrolled on."""
    for v in validated:
        store.append_audit(
            "domain_enrolled",
            client_id=client_id,
            detail={"domain": v.enrolment.domain, **v.enrolment.evidence},
        )


def _domain_json(record: DomainRecord) -> dict[str, Any]:
    return {
        "domain": record.domain,
        "client_id": record.client_id,
        "enrolled_at": _iso(record.enrolled_at),
        "evidence": record.evidence,
    }


def _cmd_domain_add(ctx: _Context) -> int:
    args = ctx.args
    with ctx.store() as store:
        client = _client(store, args.id)
        validated = enrol_domains(ctx, args.domains)
        records = store.enrol_domains(args.id, [v.enrolment for v in validated])
        audit_enrolled(store, args.id, validated)
    if args.json:
        _emit_json([_domain_json(record) for record in records])
    else:
        announce_enrolled(args.id, client.statement_mode, validated)
    return EXIT_OK


def _cmd_domain_remove(ctx: _Context) -> int:
    args = ctx.args
    domains = canonical_domains(args.domains)
    with ctx.store() as store:
        records = store.remove_domains(args.id, domains)
        for domain in domains:
            store.append_audit("domain_removed", client_id=args.id, detail={"domain": domain})
    if args.json:
        _emit_json([_domain_json(record) for record in records])
        return EXIT_OK
    print(
        f"Client {args.id} gets no more statements for {', '.join(domains)}"
        "; their declarations are gone too. Remove the H._m2dmrt records from the GMLC's zone "
        f"({PROG} dns records prints what remains)."
    )
    return EXIT_OK


def _cmd_domain_list(ctx: _Context) -> int:
    with ctx.store() as store:
        records = store.list_domains(ctx.args.id)
    if ctx.args.json:
        _emit_json([_domain_json(record) for record in records])
    elif not records:
        print(f"No domains. Enrol one with: {PROG} client domain add CLIENT-ID DOMAIN")
    else:
        print(
            format_table(
                ["DOMAIN", "CLIENT", "ENROLLED", "GMLC NAMED"],
                [(r.domain, r.client_id, r.enrolled_at, r.evidence.get("gmlc")) for r in records],
            )
        )
    return EXIT_OK


def _client(store: Store, client_id: str) -> ClientRecord:
    client = store.get_client(client_id)
    if client is None:
        raise NotFoundError(f"client {client_id!r} does not exist")
    return client


def _cmd_client_options(ctx: _Context) -> int:
    args = ctx.args
    if args.exact and args.precision_m is not None:
        raise UsageError("--exact removes the precision; do not give --precision-m with it")
    with ctx.store() as store:
        client = _client(store, args.id)
        if args.mode is not None or args.precision_m is not None or args.exact:
            store.set_statement_options(
                args.id,
                mode=args.mode or client.statement_mode,
                precision=None if args.exact else (args.precision_m or client.precision_m),
            )
            client = _client(store, args.id)
            verb = "now gets"
        else:
            verb = "gets"
    if args.json:
        _emit_json(
            {
                "client_id": client.client_id,
                "statement_mode": client.statement_mode,
                "precision_m": client.precision_m,
            }
        )
    else:
        print(f"Client {client.client_id} {verb} statements in {options_said(client)}.")
    return EXIT_OK


def _cmd_dns_records(ctx: _Context) -> int:
    settings = ctx.settings()
    pins = _key_ring(ctx).dns_pins()
    with ctx.store(settings) as store:
        declarations = store.list_declarations()
    lines = gmlc_zone_lines(settings.issuer, declarations, pins, ttl=ctx.args.ttl)
    if ctx.args.json:
        _emit_json(
            [
                {"owner": line.owner, "type": line.rdtype, "ttl": line.ttl, "value": line.value}
                for line in lines
            ]
        )
        return EXIT_OK
    for line in lines:
        print(line.to_text())
    return EXIT_OK


def add_client_options(parser: argparse.ArgumentParser) -> None:
    """``client add``'s domain and statement options."""
    parser.add_argument(
        "--domain",
        action="append",
        metavar="HOST",
        help="a web service the client gets statements for (repeat); enrolled only when its "
        "DNSSEC-signed _salve policy names this GMLC",
    )
    _statement_options(parser)


def _statement_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--mode",
        choices=("one", "all"),
        default=None,
        help="statement mode: 'one' states the asked SIM's circle (default), 'all' one circle "
        "per SIM of the client (the domain's policy says which its clients expect)",
    )
    parser.add_argument(
        "--precision-m",
        type=_precision,
        metavar="N",
        help="coarse positions: snap centres to an N-metre grid and widen radii to match",
    )


def add_site_commands(commands: Any, client: Any, sub: Sub) -> None:
    """Register ``client domain …``, ``client options`` and ``dns records``."""
    domain = client.add_parser(
        "domain", help="the web services (domains) a client gets statements for"
    ).add_subparsers(dest="domain_command", metavar="ACTION", required=True)
    enrol = sub(
        domain,
        "add",
        "enrol domains for a client, each after validating with DNSSEC that its _salve "
        "policy names this GMLC",
        _cmd_domain_add,
    )
    enrol.add_argument("id")
    enrol.add_argument("domains", nargs="+", metavar="DOMAIN")
    remove = sub(domain, "remove", "take domains from a client", _cmd_domain_remove)
    remove.add_argument("id")
    remove.add_argument("domains", nargs="+", metavar="DOMAIN")
    listing = sub(domain, "list", "list enrolled domains (of one client)", _cmd_domain_list)
    listing.add_argument("id", nargs="?", default=None)

    options = sub(
        client, "options", "show or change a client's statement options", _cmd_client_options
    )
    options.add_argument("id")
    _statement_options(options)
    options.add_argument("--exact", action="store_true", help="exact positions again")

    dns = commands.add_parser("dns", help="the GMLC's DNS records").add_subparsers(
        dest="dns_command", metavar="ACTION", required=True
    )
    records = sub(
        dns,
        "records",
        "print the GMLC zone's records: H._m2dmrt.G per declared site key, "
        "_salve-keys.G per statement key",
        _cmd_dns_records,
    )
    records.add_argument(
        "--ttl", type=_ttl, default=DEFAULT_RECORD_TTL_S, help="record TTL in seconds"
    )
