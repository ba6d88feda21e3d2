"""``salve-gmlc client``: MLP clients, their networks, certificates, domains and options.

* ``client add ID --from CIDR | --from-anywhere [--domain H] [--mode one|all]
  [--precision-m N]``: a client, where it may connect from, its domains and statement
  options from the start;
* ``client networks|certificates ID``: show or change where it connects from and the TLS
  client certificates it must present;
* ``client domain add|remove|list``: enrol a domain (after validating with DNSSEC that its
  ``_salve`` policy names this GMLC), take one away, list them;
* ``client options ID [--mode one|all] [--precision-m N | --exact]``;
* ``client list|enable|disable|rotate-password|authorize``.
"""

from __future__ import annotations

import argparse
import functools
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gmlc.auth import generate_password, hash_password
from gmlc.cli.common import (
    EXIT_OK,
    PROG,
    CommandTree,
    Context,
    UsageError,
    cell_text,
    emit_json,
    emit_listing,
    iso,
    number_argument,
)
from gmlc.errors import NotFoundError
from gmlc.peers import spki_sha256_of_pem
from gmlc.store import ANYWHERE, ClientRecord, DomainRecord, Store
from gmlc.store.domains import MAX_PRECISION_M
from mlp.names import HostNameError, canonical_host_name

if TYPE_CHECKING:
    # DNSSEC validation is imported where it is used: it brings the verifier (about 0.1 s),
    # which only the enrolling commands need.
    from gmlc.enrolment import ValidatedDomain

__all__ = ["canonical_domains", "enrol_domains", "options_said", "register"]


# --------------------------------------------------------------------------------------
# Clients


def _client_json(client: ClientRecord) -> dict[str, Any]:
    return {
        "client_id": client.client_id,
        "enabled": client.enabled,
        "msisdns": sorted(client.msisdns),
        "imsis": sorted(client.imsis),
        "networks": _network_texts(client),
        "certificates": sorted(client.certificates),
        "domains": sorted(client.domains),
        "statement_mode": client.statement_mode,
        "precision_m": client.precision_m,
        "created_at": iso(client.created_at),
    }


def _network_texts(client: ClientRecord) -> list[str]:
    return sorted(str(network) for network in client.networks)


def _networks_said(client: ClientRecord) -> str:
    if client.from_anywhere:
        return "from anywhere (0.0.0.0/0, ::/0)"
    return "only from " + ", ".join(_network_texts(client))


def _client(store: Store, client_id: str) -> ClientRecord:
    client = store.get_client(client_id)
    if client is None:
        raise NotFoundError(f"client {client_id!r} does not exist")
    return client


def _announce_password(ctx: Context, client_id: str, password: str, verb: str) -> None:
    if ctx.args.json:
        emit_json({"client_id": client_id, "password": password})
        return
    print(f"Client {client_id} {verb}.")
    print(f"Password (shown only now; give it to the client's operator): {password}")


def _cmd_client_add(ctx: Context) -> int:
    args = ctx.args
    networks = ANYWHERE if args.from_anywhere else args.networks
    if not networks:
        raise UsageError(
            "say where the client connects from: --from CIDR (repeat for several networks), "
            "or --from-anywhere"
        )
    pins = [_certificate_pin(path) for path in args.certificate or ()]
    password = generate_password()
    with ctx.store() as store:
        # Every domain is validated before anything is stored.
        validated = enrol_domains(ctx, args.domain or ())
        client = store.add_client(
            args.id,
            hash_password(password),
            networks=networks,
            msisdns=args.msisdn or (),
            imsis=args.imsi or (),
            domains=[v.enrolment for v in validated],
            mode=args.mode or "one",
            precision=args.precision_m,
        )
        if pins:
            client = store.set_client_certificates(args.id, add=pins)
        _audit_enrolled(store, args.id, validated)
    _announce_password(ctx, args.id, password, f"added; it may connect {_networks_said(client)}")
    if not args.json:
        print(f"It gets statements in {options_said(client)}.")
        _announce_enrolled(args.id, client.statement_mode, validated)
    return EXIT_OK


def _certificate_pin(path: str) -> str:
    try:
        return spki_sha256_of_pem(Path(path).read_bytes())
    except FileNotFoundError:
        raise NotFoundError(f"certificate file {path} does not exist") from None
    except ValueError as error:
        raise UsageError(f"{path}: {error}") from None


def _cmd_client_certificates(ctx: Context) -> int:
    args = ctx.args
    if args.none and (args.add or args.remove):
        raise UsageError("--none removes every certificate; do not mix it with --add")
    with ctx.store() as store:
        if args.none or args.add or args.remove:
            client = store.set_client_certificates(
                args.id,
                add=[_certificate_pin(path) for path in args.add or ()],
                remove=args.remove or (),
                replace=args.none,
            )
        else:
            client = _client(store, args.id)
    if args.json:
        emit_json(_client_json(client))
    elif client.certificates:
        print(
            f"Client {client.client_id} must present a TLS certificate with one of these "
            f"public keys (SPKI SHA-256): {', '.join(sorted(client.certificates))}."
        )
    else:
        print(f"Client {client.client_id} needs no TLS client certificate.")
    return EXIT_OK


def _cmd_client_list(ctx: Context) -> int:
    with ctx.store() as store:
        clients = store.list_clients()
    return emit_listing(
        clients,
        as_json=ctx.args.json,
        to_json=_client_json,
        headers=["CLIENT", "ENABLED", "MSISDNS", "IMSIS", "NETWORKS", "DOMAINS", "MODE", "CREATED"],
        row=lambda c: (
            c.client_id,
            c.enabled,
            c.msisdns,
            c.imsis,
            _network_texts(c),
            c.domains,
            c.statement_mode + (f" ~{c.precision_m} m" if c.precision_m is not None else ""),
            c.created_at,
        ),
        none=f"No clients. Add one with: {PROG} client add ID --msisdn NUMBER --from CIDR",
    )


def _cmd_client_enable(ctx: Context, enabled: bool) -> int:
    with ctx.store() as store:
        store.set_client_enabled(ctx.args.id, enabled)
    print(f"Client {ctx.args.id} {'enabled' if enabled else 'disabled'}.")
    return EXIT_OK


def _cmd_client_rotate_password(ctx: Context) -> int:
    password = generate_password()
    with ctx.store() as store:
        store.set_client_password(ctx.args.id, hash_password(password))
    _announce_password(
        ctx, ctx.args.id, password, "has a new password; the old one no longer works"
    )
    return EXIT_OK


def _cmd_client_networks(ctx: Context) -> int:
    args = ctx.args
    replacing = args.anywhere or bool(args.set)
    if replacing and (args.add or args.remove):
        raise UsageError("--set and --anywhere replace the whole set; do not mix them with --add")
    with ctx.store() as store:
        if replacing or args.add or args.remove:
            client = store.set_client_networks(
                args.id,
                add=ANYWHERE if args.anywhere else (args.set or args.add or ()),
                remove=args.remove or (),
                replace=replacing,
            )
            verb = "may now connect"
        else:
            client, verb = _client(store, args.id), "may connect"
    if args.json:
        emit_json(_client_json(client))
    else:
        print(f"Client {client.client_id} {verb} {_networks_said(client)}.")
    return EXIT_OK


def _cmd_client_authorize(ctx: Context) -> int:
    args = ctx.args
    if not args.msisdn and not args.imsi:
        raise UsageError("give at least one --msisdn or --imsi to authorize")
    with ctx.store() as store:
        client = store.authorize_client(args.id, msisdns=args.msisdn or (), imsis=args.imsi or ())
    if args.json:
        emit_json(_client_json(client))
    else:
        print(
            f"Client {client.client_id} may now locate MSISDNs "
            f"{cell_text(client.msisdns)} and IMSIs {cell_text(client.imsis)}."
        )
    return EXIT_OK


# --------------------------------------------------------------------------------------
# Domains and statement options


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


def enrol_domains(ctx: Context, texts: Sequence[str]) -> list[ValidatedDomain]:
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


def _announce_enrolled(client_id: str, mode: str, validated: Sequence[ValidatedDomain]) -> None:
    """Tell the operator what was enrolled, and where the policy and the client disagree."""
    for v in validated:
        print(
            f"Domain {v.enrolment.domain} enrolled for client {client_id}: its DNSSEC-validated "
            f"policy names this GMLC ({v.enrolment.evidence['gmlc']})."
        )
    for note in _mode_notes(client_id, mode, validated):
        print(note)


def _audit_enrolled(store: Store, client_id: str, validated: Sequence[ValidatedDomain]) -> None:
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
        "enrolled_at": iso(record.enrolled_at),
        "evidence": record.evidence,
    }


def _cmd_domain_add(ctx: Context) -> int:
    args = ctx.args
    with ctx.store() as store:
        client = _client(store, args.id)
        validated = enrol_domains(ctx, args.domains)
        records = store.enrol_domains(args.id, [v.enrolment for v in validated])
        _audit_enrolled(store, args.id, validated)
    if args.json:
        emit_json([_domain_json(record) for record in records])
    else:
        _announce_enrolled(args.id, client.statement_mode, validated)
    return EXIT_OK


def _cmd_domain_remove(ctx: Context) -> int:
    args = ctx.args
    domains = canonical_domains(args.domains)
    with ctx.store() as store:
        records = store.remove_domains(args.id, domains)
        for domain in domains:
            store.append_audit("domain_removed", client_id=args.id, detail={"domain": domain})
    if args.json:
        emit_json([_domain_json(record) for record in records])
        return EXIT_OK
    print(
        f"Client {args.id} gets no more statements for {', '.join(domains)}"
        "; their declarations are gone too. Remove the H._m2dmrt records from the GMLC's zone "
        f"({PROG} dns records prints what remains)."
    )
    return EXIT_OK


def _cmd_domain_list(ctx: Context) -> int:
    with ctx.store() as store:
        records = store.list_domains(ctx.args.id)
    return emit_listing(
        records,
        as_json=ctx.args.json,
        to_json=_domain_json,
        headers=["DOMAIN", "CLIENT", "ENROLLED", "GMLC NAMED"],
        row=lambda r: (r.domain, r.client_id, r.enrolled_at, r.evidence.get("gmlc")),
        none=f"No domains. Enrol one with: {PROG} client domain add CLIENT-ID DOMAIN",
    )


def _cmd_client_options(ctx: Context) -> int:
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
        emit_json(
            {
                "client_id": client.client_id,
                "statement_mode": client.statement_mode,
                "precision_m": client.precision_m,
            }
        )
    else:
        print(f"Client {client.client_id} {verb} statements in {options_said(client)}.")
    return EXIT_OK


# --------------------------------------------------------------------------------------
# Arguments


_precision = number_argument(
    int,
    "a whole number of metres",
    lambda metres: 1 <= metres <= MAX_PRECISION_M,
    f"the precision is 1 to {MAX_PRECISION_M} metres",
)


def _target_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--msisdn", action="append", metavar="N", help="MSISDN the client may locate (repeat)"
    )
    parser.add_argument(
        "--imsi", action="append", metavar="N", help="IMSI the client may locate (repeat)"
    )


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


def _register_add(client: Any, tree: CommandTree) -> None:
    add = tree.add(
        client, "add", "add a client and print its generated password once", _cmd_client_add
    )
    add.add_argument("id", help="client id (1-64 of A-Z a-z 0-9 . _ -)")
    _target_options(add)
    origin = add.add_mutually_exclusive_group()
    origin.add_argument(
        "--from",
        dest="networks",
        action="append",
        metavar="CIDR",
        help="a network (or address) the client connects from; repeat for several. "
        "Requests from anywhere else are refused like a wrong password",
    )
    origin.add_argument(
        "--from-anywhere",
        action="store_true",
        help="allow any source address (not recommended: a stolen password then works "
        "from anywhere)",
    )
    add.add_argument(
        "--certificate",
        action="append",
        metavar="PEM",
        help="a TLS client certificate it must present (mutual TLS; repeat for several)",
    )
    add.add_argument(
        "--domain",
        action="append",
        metavar="HOST",
        help="a web service the client gets statements for (repeat); enrolled only when its "
        "DNSSEC-signed _salve policy names this GMLC",
    )
    _statement_options(add)


def _register_pins(client: Any, tree: CommandTree) -> None:
    certificates = tree.add(
        client,
        "certificates",
        "show or change the TLS client certificates a client must present",
        _cmd_client_certificates,
    )
    certificates.add_argument("id")
    certificates.add_argument(
        "--add", action="append", metavar="PEM", help="accept this certificate's public key"
    )
    certificates.add_argument(
        "--remove", action="append", metavar="SHA256", help="no longer accept this key"
    )
    certificates.add_argument("--none", action="store_true", help="require no certificate any more")
    networks = tree.add(
        client,
        "networks",
        "show or change the networks a client may connect from",
        _cmd_client_networks,
    )
    networks.add_argument("id")
    networks.add_argument("--add", action="append", metavar="CIDR", help="allow this network")
    networks.add_argument(
        "--remove", action="append", metavar="CIDR", help="no longer allow this network"
    )
    networks.add_argument(
        "--set", action="append", metavar="CIDR", help="allow exactly these networks (repeat)"
    )
    networks.add_argument(
        "--anywhere", action="store_true", help="allow any source address (0.0.0.0/0, ::/0)"
    )


def _register_domains(client: Any, tree: CommandTree) -> None:
    domain = tree.group(client, "domain", "the web services (domains) a client gets statements for")
    enrol = tree.add(
        domain,
        "add",
        "enrol domains for a client, each after validating with DNSSEC that its _salve "
        "policy names this GMLC",
        _cmd_domain_add,
    )
    enrol.add_argument("id")
    enrol.add_argument("domains", nargs="+", metavar="DOMAIN")
    remove = tree.add(domain, "remove", "take domains from a client", _cmd_domain_remove)
    remove.add_argument("id")
    remove.add_argument("domains", nargs="+", metavar="DOMAIN")
    listing = tree.add(domain, "list", "list enrolled domains (of one client)", _cmd_domain_list)
    listing.add_argument("id", nargs="?", default=None)

    options = tree.add(
        client, "options", "show or change a client's statement options", _cmd_client_options
    )
    options.add_argument("id")
    _statement_options(options)
    options.add_argument("--exact", action="store_true", help="exact positions again")


def register(commands: Any, tree: CommandTree) -> None:
    """Adds ``client`` and its actions."""
    client = tree.group(commands, "client", "MLP clients (web servers)")
    _register_add(client, tree)
    _register_pins(client, tree)
    tree.add(client, "list", "list clients", _cmd_client_list)
    for name, enabled in (("disable", False), ("enable", True)):
        action = tree.add(
            client,
            name,
            f"{name} a client",
            functools.partial(_cmd_client_enable, enabled=enabled),
            json=False,
        )
        action.add_argument("id")
    rotate = tree.add(
        client,
        "rotate-password",
        "give a client a new generated password (printed once)",
        _cmd_client_rotate_password,
    )
    rotate.add_argument("id")
    authorize = tree.add(
        client, "authorize", "allow a client to locate more targets", _cmd_client_authorize
    )
    authorize.add_argument("id")
    _target_options(authorize)
    _register_domains(client, tree)
