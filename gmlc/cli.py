"""``salve-gmlc``: set up, run and administer a GMLC node.

Every command takes ``--config FILE``; without it the file named by ``$SALVE_GMLC_CONFIG``
is used, else ``/etc/salve/gmlc.toml`` if present, else the environment alone
(``SALVE_GMLC_*`` variables). Output is for people unless ``--json`` is given; errors are
one line in plain words on stderr.

Exit codes: 0 done, 1 failed, 2 usage error (bad arguments), 3 not found, 4 conflict
(already exists), 5 a domain not enrolled (its DNS does not show that it names this GMLC),
130 interrupted.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

from gmlc.auth import generate_password, hash_password
from gmlc.cellimport import import_cells
from gmlc.errors import ConfigError, DuplicateError, EnrolmentError, GmlcError, NotFoundError
from gmlc.keys import KeyInfo, KeyRing
from gmlc.peers import spki_sha256_of_pem
from gmlc.settings import Settings, load_settings
from gmlc.store import ANYWHERE, ApplianceRecord, ClientRecord, Store

__all__ = [
    "EXIT_CONFLICT",
    "EXIT_ERROR",
    "EXIT_NOT_ENROLLED",
    "EXIT_NOT_FOUND",
    "EXIT_OK",
    "EXIT_USAGE",
    "main",
]

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_NOT_FOUND = 3
EXIT_CONFLICT = 4
EXIT_NOT_ENROLLED = 5
EXIT_INTERRUPTED = 130

PROG = "salve-gmlc"
CONFIG_ENV = "SALVE_GMLC_CONFIG"
SYSTEM_CONFIG = Path("/etc/salve/gmlc.toml")
CONFIG_NAME = "gmlc.toml"
ALGORITHMS = ("ES256", "EdDSA", "PS256")


class UsageError(Exception):
    """The arguments are well-formed for argparse but make no sense together."""


# --------------------------------------------------------------------------------------
# Output helpers (pure)


def format_table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """Left-aligned columns separated by two spaces, headers first."""
    text_rows = [[_cell_text(value) for value in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in text_rows:
        widths = [max(w, len(v)) for w, v in zip(widths, row, strict=True)]
    lines = [
        "  ".join(value.ljust(width) for value, width in zip(row, widths, strict=True)).rstrip()
        for row in [list(headers), *text_rows]
    ]
    return "\n".join(lines)


def _cell_text(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return _iso(value)
    if isinstance(value, frozenset | set | list | tuple):
        return ",".join(sorted(str(v) for v in value)) or "-"
    return str(value)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def parse_time(text: str) -> datetime:
    """An ISO 8601 date or date-time; without a zone it is taken as UTC.

    Raises:
        argparse.ArgumentTypeError: not ISO 8601.
    """
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO 8601 time such as 2026-01-31 or 2026-01-31T12:00:00Z"
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be at least 1")
    return value


def _emit_json(document: object) -> None:
    print(json.dumps(document, indent=2, ensure_ascii=False, sort_keys=False))


# --------------------------------------------------------------------------------------
# Context shared by the commands


@dataclass
class _Context:
    args: argparse.Namespace
    config_path: Path | None

    def settings(self, **overrides: Any) -> Settings:
        return load_settings(self.config_path, **overrides)

    def store(self, settings: Settings | None = None) -> Store:
        settings = settings or self.settings()
        store = Store.open(settings.effective_database_url)
        if not store.schema_is_current():
            store.close()
            raise GmlcError(
                f"the database {store.display_url} is not initialised or not current; "
                f"run: {PROG} db upgrade (or {PROG} init for a new node)"
            )
        return store


def resolve_config_path(given: str | None, environ: dict[str, str] | None = None) -> Path | None:
    """The configuration file to read: the flag, then $SALVE_GMLC_CONFIG, then the system file."""
    environ = dict(os.environ) if environ is None else environ
    if given:
        return Path(given)
    if environ.get(CONFIG_ENV):
        return Path(environ[CONFIG_ENV])
    if SYSTEM_CONFIG.is_file():
        return SYSTEM_CONFIG
    return None


# --------------------------------------------------------------------------------------
# init, serve, db


def _cmd_init(ctx: _Context) -> int:
    args = ctx.args
    try:
        settings = ctx.settings(
            state_dir=args.state_dir, issuer=args.issuer, dev=True if args.dev else None
        )
    except ConfigError as error:
        if "issuer is required" in str(error):
            raise UsageError(
                "an issuer name is required for a production node: pass --issuer NAME "
                "(the identity clients will see in statements), or --dev for a test node"
            ) from None
        raise
    state_dir = settings.state_dir
    try:
        state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        # An existing directory may have been created with a looser umask.
        state_dir.chmod(0o700)
    except OSError as error:
        raise GmlcError(
            f"cannot create the state directory {state_dir}: {error.strerror}"
        ) from None

    store = Store.open(settings.effective_database_url)
    try:
        before = store.current_revision()
        store.migrate()
        revision = store.current_revision()
    finally:
        store.close()

    ring = KeyRing(settings.keys_dir, grace_period_s=settings.key_grace_period_s)
    key_created = not ring.exists()
    if key_created:
        key = ring.generate(args.alg)
    else:
        active = [k for k in ring.list() if k.status == "active"]
        if not active:
            raise GmlcError(f"the key ring in {settings.keys_dir} has no active key")
        key = active[0]

    config_file = state_dir / CONFIG_NAME
    config_written = not config_file.exists()
    if config_written:
        _write_config(config_file, settings)

    result = {
        "state_dir": str(state_dir),
        "database": _hide_password(settings.effective_database_url),
        "schema_revision": revision,
        "schema_created": before is None,
        "signing_key": {"kid": key.kid, "alg": key.alg, "created": key_created},
        "config_file": str(config_file),
        "config_written": config_written,
        "issuer": settings.issuer,
        "dev": settings.dev,
    }
    if args.json:
        _emit_json(result)
        return EXIT_OK
    print(f"State directory {state_dir} (mode 0700).")
    print(f"Database {result['database']} at schema revision {revision}.")
    if key_created:
        print(f"Signing key {key.kid} ({key.alg}) created; it is the active key.")
    else:
        print(f"Signing key ring already present; active key {key.kid} ({key.alg}).")
    if config_written:
        print(f"Configuration written to {config_file}.")
    else:
        print(f"Configuration {config_file} already exists; left unchanged.")
    if settings.dev:
        print(f"Development mode: issuer {settings.issuer!r}. Do not expose this node.")
    print(
        f"Next: {PROG} --config {config_file} client add CLIENT-ID --msisdn NUMBER "
        "--from SITE-NETWORK/PREFIX"
    )
    return EXIT_OK


def _write_config(path: Path, settings: Settings) -> None:
    # json.dumps produces valid TOML basic strings (same escapes) for these values.
    lines = [
        f"# GMLC node settings written by `{PROG} init`.",
        "# Every setting is described in systemd/gmlc.example.toml; environment variables",
        "# SALVE_GMLC_<NAME> override the values here.",
        "",
        "[gmlc]",
        f"issuer = {json.dumps(settings.issuer)}",
        f"state_dir = {json.dumps(str(settings.state_dir))}",
    ]
    if settings.dev:
        lines.append("dev = true")
    if settings.database_url:
        lines.append(f"database_url = {json.dumps(settings.database_url)}")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as error:
        raise GmlcError(f"cannot write {path}: {error.strerror}") from None
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")


def _hide_password(url: str) -> str:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(unparseable database URL)"


def _cmd_serve(ctx: _Context) -> int:
    from gmlc.server import serve

    serve(ctx.settings())
    return EXIT_OK


def _cmd_db_upgrade(ctx: _Context) -> int:
    settings = ctx.settings()
    with Store.open(settings.effective_database_url) as store:
        before = store.current_revision()
        store.migrate()
        after = store.current_revision()
        shown = store.display_url
    if ctx.args.json:
        _emit_json({"database": shown, "from": before, "to": after})
    elif before == after:
        print(f"Database {shown} is already at the newest schema revision {after}.")
    else:
        print(f"Database {shown} upgraded from revision {before or 'empty'} to {after}.")
    return EXIT_OK


def _cmd_db_status(ctx: _Context) -> int:
    settings = ctx.settings()
    with Store.open(settings.effective_database_url) as store:
        current, head = store.current_revision(), store.head_revision()
        shown = store.display_url
    if ctx.args.json:
        _emit_json({"database": shown, "current": current, "head": head, "ok": current == head})
    elif current == head:
        print(f"Database {shown} is at the newest schema revision {current}.")
    else:
        print(f"Database {shown} is at revision {current or 'empty'}; newest is {head}.")
        print(f"Run: {PROG} db upgrade")
    return EXIT_OK if current == head else EXIT_ERROR


# --------------------------------------------------------------------------------------
# clients


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
        "created_at": _iso(client.created_at),
    }


def _network_texts(client: ClientRecord) -> list[str]:
    return sorted(str(network) for network in client.networks)


def _networks_said(client: ClientRecord) -> str:
    if client.from_anywhere:
        return "from anywhere (0.0.0.0/0, ::/0)"
    return "only from " + ", ".join(_network_texts(client))


def _announce_password(ctx: _Context, client_id: str, password: str, verb: str) -> None:
    if ctx.args.json:
        _emit_json({"client_id": client_id, "password": password})
        return
    print(f"Client {client_id} {verb}.")
    print(f"Password (shown only now; give it to the client's operator): {password}")


def _cmd_client_add(ctx: _Context) -> int:
    args = ctx.args
    networks = ANYWHERE if args.from_anywhere else args.networks
    if not networks:
        raise UsageError(
            "say where the client connects from: --from CIDR (repeat for several networks), "
            "or --from-anywhere"
        )
    pins = [_certificate_pin(path) for path in args.certificate or ()]
    from gmlc.sitecli import announce_enrolled, audit_enrolled, enrol_domains, options_said

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
        audit_enrolled(store, args.id, validated)
    _announce_password(ctx, args.id, password, f"added; it may connect {_networks_said(client)}")
    if not args.json:
        print(f"It gets statements in {options_said(client)}.")
        announce_enrolled(args.id, client.statement_mode, validated)
    return EXIT_OK


def _certificate_pin(path: str) -> str:
    try:
        return spki_sha256_of_pem(Path(path).read_bytes())
    except FileNotFoundError:
        raise NotFoundError(f"certificate file {path} does not exist") from None
    except ValueError as error:
        raise UsageError(f"{path}: {error}") from None


def _cmd_client_certificates(ctx: _Context) -> int:
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
            found = store.get_client(args.id)
            if found is None:
                raise NotFoundError(f"client {args.id!r} does not exist")
            client = found
    if args.json:
        _emit_json(_client_json(client))
    elif client.certificates:
        print(
            f"Client {client.client_id} must present a TLS certificate with one of these "
            f"public keys (SPKI SHA-256): {', '.join(sorted(client.certificates))}."
        )
    else:
        print(f"Client {client.client_id} needs no TLS client certificate.")
    return EXIT_OK


def _cmd_client_list(ctx: _Context) -> int:
    with ctx.store() as store:
        clients = store.list_clients()
    if ctx.args.json:
        _emit_json([_client_json(c) for c in clients])
    elif not clients:
        print(f"No clients. Add one with: {PROG} client add ID --msisdn NUMBER --from CIDR")
    else:
        print(
            format_table(
                ["CLIENT", "ENABLED", "MSISDNS", "IMSIS", "NETWORKS", "DOMAINS", "MODE", "CREATED"],
                [
                    (
                        c.client_id,
                        c.enabled,
                        c.msisdns,
                        c.imsis,
                        _network_texts(c),
                        c.domains,
                        c.statement_mode
                        + (f" ~{c.precision_m} m" if c.precision_m is not None else ""),
                        c.created_at,
                    )
                    for c in clients
                ],
            )
        )
    return EXIT_OK


def _cmd_client_enable(ctx: _Context, enabled: bool) -> int:
    with ctx.store() as store:
        store.set_client_enabled(ctx.args.id, enabled)
    print(f"Client {ctx.args.id} {'enabled' if enabled else 'disabled'}.")
    return EXIT_OK


def _cmd_client_rotate_password(ctx: _Context) -> int:
    password = generate_password()
    with ctx.store() as store:
        store.set_client_password(ctx.args.id, hash_password(password))
    _announce_password(
        ctx, ctx.args.id, password, "has a new password; the old one no longer works"
    )
    return EXIT_OK


def _cmd_client_networks(ctx: _Context) -> int:
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
            found = store.get_client(args.id)
            if found is None:
                raise NotFoundError(f"client {args.id!r} does not exist")
            client, verb = found, "may connect"
    if args.json:
        _emit_json(_client_json(client))
    else:
        print(f"Client {client.client_id} {verb} {_networks_said(client)}.")
    return EXIT_OK


def _cmd_client_authorize(ctx: _Context) -> int:
    args = ctx.args
    if not args.msisdn and not args.imsi:
        raise UsageError("give at least one --msisdn or --imsi to authorize")
    with ctx.store() as store:
        client = store.authorize_client(args.id, msisdns=args.msisdn or (), imsis=args.imsi or ())
    if args.json:
        _emit_json(_client_json(client))
    else:
        print(
            f"Client {client.client_id} may now locate MSISDNs "
            f"{_cell_text(client.msisdns)} and IMSIs {_cell_text(client.imsis)}."
        )
    return EXIT_OK


# --------------------------------------------------------------------------------------
# appliances


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
        "created_at": _iso(appliance.created_at),
    }


def _cmd_appliance_add(ctx: _Context) -> int:
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
        _emit_json(_appliance_json(appliance))
    else:
        print(
            f"Appliance {appliance.appliance_id} enrolled at site {appliance.site!r} "
            f"with IMSI {appliance.imsi}."
        )
    return EXIT_OK


def _cmd_appliance_list(ctx: _Context) -> int:
    with ctx.store() as store:
        appliances = store.list_appliances()
    if ctx.args.json:
        _emit_json([_appliance_json(a) for a in appliances])
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


def _cmd_appliance_enable(ctx: _Context, enabled: bool) -> int:
    with ctx.store() as store:
        store.set_appliance_enabled(ctx.args.id, enabled)
    print(f"Appliance {ctx.args.id} {'enabled' if enabled else 'disabled'}.")
    return EXIT_OK


# --------------------------------------------------------------------------------------
# cells


def _cmd_cells_import(ctx: _Context) -> int:
    from tqdm import tqdm

    path = Path(ctx.args.file)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise NotFoundError(f"{path} does not exist") from None
    except OSError as error:
        raise GmlcError(f"cannot read {path}: {error.strerror}") from None
    with ctx.store() as store:
        # The bar goes to stderr and switches itself off when stderr is not a terminal.
        with tqdm(
            total=size,
            unit="B",
            unit_scale=True,
            unit_divisor=1024,
            desc=f"importing {path.name}",
            file=sys.stderr,
            disable=None,
            leave=False,
        ) as bar:

            def progress(done: int, rows: int) -> None:
                bar.update(done - bar.n)
                bar.set_postfix(rows=rows, refresh=False)

            report = import_cells(store, path, batch_size=ctx.args.batch, on_progress=progress)
    if ctx.args.json:
        _emit_json({"file": str(path), **report.to_json()})
        return EXIT_OK
    print(
        f"Imported {report.rows_imported} cells from {path} in {report.seconds:.1f} s "
        f"({report.rows_per_second:,.0f} rows/s)."
    )
    if report.bad_total:
        reasons = ", ".join(f"{reason}: {n}" for reason, n in report.bad_rows.most_common())
        print(f"Skipped {report.bad_total} bad rows ({reasons}).")
        examples = "; ".join(f"line {e.line}: {e.reason}" for e in report.examples)
        print(f"First bad rows: {examples}.")
    else:
        print("No bad rows.")
    return EXIT_OK


def _cmd_cells_stats(ctx: _Context) -> int:
    with ctx.store() as store:
        stats = store.cell_stats()
    if ctx.args.json:
        _emit_json(
            {
                "total": stats["total"],
                "by_radio": stats["by_radio"],
                "by_mcc": {str(mcc): n for mcc, n in stats["by_mcc"].items()},
            }
        )
        return EXIT_OK
    if not stats["total"]:
        print(f"The cell database is empty. Load one with: {PROG} cells import FILE.csv.gz")
        return EXIT_OK
    print(f"{stats['total']} cells.")
    print(format_table(["RADIO", "CELLS"], stats["by_radio"].items()))
    busiest = sorted(stats["by_mcc"].items(), key=lambda item: (-item[1], item[0]))
    shown = busiest[:20]
    print(format_table(["MCC", "CELLS"], shown))
    if len(busiest) > len(shown):
        print(f"... and {len(busiest) - len(shown)} more country codes (use --json for all).")
    return EXIT_OK


# --------------------------------------------------------------------------------------
# keys


def _key_ring(ctx: _Context) -> KeyRing:
    settings = ctx.settings()
    return KeyRing(settings.keys_dir, grace_period_s=settings.key_grace_period_s)


def _key_json(key: KeyInfo) -> dict[str, Any]:
    return {
        "kid": key.kid,
        "alg": key.alg,
        "status": key.status,
        "created_at": _iso(key.created_at),
        "retired_at": None if key.retired_at is None else _iso(key.retired_at),
        "revoked_at": None if key.revoked_at is None else _iso(key.revoked_at),
        # What the key's DNS pin must carry as until= (Unix seconds); null while active.
        "until": key.until,
    }


def _until_text(key: KeyInfo) -> str | None:
    if key.until is None:
        return None
    return f"{key.until} ({_iso(datetime.fromtimestamp(key.until, UTC))})"


def _cmd_keys_generate(ctx: _Context) -> int:
    key = _key_ring(ctx).generate(ctx.args.alg or "ES256")
    if ctx.args.json:
        _emit_json(_key_json(key))
    else:
        print(f"Signing key {key.kid} ({key.alg}) created; it is the active key.")
    return EXIT_OK


def _cmd_keys_rotate(ctx: _Context) -> int:
    ring = _key_ring(ctx)
    key = ring.rotate(ctx.args.alg)
    if ctx.args.json:
        _emit_json(_key_json(key))
    else:
        print(
            f"Signing key {key.kid} ({key.alg}) is now active. The previous key stays "
            f"published for {ring.grace_period_s} s so recent statements still verify."
        )
        print("Running GMLC nodes pick up the new key on their next statement.")
    return EXIT_OK


def _cmd_keys_revoke(ctx: _Context) -> int:
    ring = _key_ring(ctx)
    before = {k.kid: k.status for k in ring.list()}
    key = ring.revoke(ctx.args.kid)
    if ctx.args.json:
        _emit_json(_key_json(key))
        return EXIT_OK
    if before.get(key.kid) == "revoked":
        revoked_at = _iso(key.revoked_at or key.created_at)
        print(f"Signing key {key.kid} was already revoked at {revoked_at}.")
    else:
        print(f"Signing key {key.kid} is revoked and no longer published in the JWKS.")
    if before.get(key.kid) == "active":
        active = next(k for k in ring.list() if k.status == "active")
        print(f"It was the active key: {active.kid} ({active.alg}) now signs in its place.")
    print(
        f"Publish its DNS pin with until={key.until} now; statements it signed from "
        f"{_until_text(key)} on no longer verify."
    )
    return EXIT_OK


def _cmd_keys_list(ctx: _Context) -> int:
    keys = _key_ring(ctx).list()
    if ctx.args.json:
        _emit_json([_key_json(k) for k in keys])
    else:
        print(
            format_table(
                ["KID", "ALG", "STATUS", "CREATED", "RETIRED", "REVOKED", "PIN UNTIL"],
                [
                    (k.kid, k.alg, k.status, k.created_at, k.retired_at, k.revoked_at, k.until)
                    for k in keys
                ],
            )
        )
    return EXIT_OK


# --------------------------------------------------------------------------------------
# audit


def _cmd_audit_list(ctx: _Context) -> int:
    args = ctx.args
    with ctx.store() as store:
        if args.since is None:
            # Without a start time people want the most recent entries, shown in order.
            entries = list(store.list_audit(kind=args.kind, limit=args.limit, newest_first=True))
            entries.reverse()
        else:
            entries = list(store.list_audit(since=args.since, kind=args.kind, limit=args.limit))
    if args.json:
        _emit_json([e.to_json() for e in entries])
        return EXIT_OK
    if not entries:
        print("No audit entries match.")
        return EXIT_OK
    print(
        format_table(
            ["ID", "AT", "KIND", "CLIENT", "APPLIANCE", "SOURCE", "TARGETS", "RESULT", "DETAIL"],
            [
                (
                    e.id,
                    e.at,
                    e.kind,
                    e.client_id,
                    e.appliance_id,
                    e.source,
                    ",".join(e.targets) or None,
                    e.result,
                    json.dumps(e.detail, separators=(",", ":"), sort_keys=True)
                    if e.detail
                    else None,
                )
                for e in entries
            ],
        )
    )
    return EXIT_OK


def _cmd_audit_export(ctx: _Context) -> int:
    args = ctx.args
    with ctx.store() as store:
        for entry in store.list_audit(since=args.since, kind=args.kind):
            sys.stdout.write(
                json.dumps(entry.to_json(), ensure_ascii=False, separators=(",", ":")) + "\n"
            )
    sys.stdout.flush()
    return EXIT_OK


# --------------------------------------------------------------------------------------
# Argument parsing


class _Parser(argparse.ArgumentParser):
    """argparse that names the program in errors and exits with the usage code."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    """The complete command-line grammar."""
    # The site commands use this module's context and helpers, so they are imported here.
    from gmlc.sitecli import add_client_options, add_site_commands

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config",
        metavar="FILE",
        default=argparse.SUPPRESS,
        help=f"settings file (default: ${CONFIG_ENV}, else {SYSTEM_CONFIG} if present)",
    )
    json_flag = argparse.ArgumentParser(add_help=False)
    json_flag.add_argument("--json", action="store_true", help="machine-readable output")

    parser = _Parser(
        prog=PROG,
        description="Set up, run and administer a SALVE GMLC node.",
        epilog="Exit codes: 0 ok, 1 error, 2 usage, 3 not found, 4 conflict, "
        "5 domain not enrolled (its DNS does not name this GMLC).",
    )
    parser.add_argument("--config", metavar="FILE", default=None, help="settings file")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def sub(
        group: Any, name: str, help_text: str, handler: Callable[[_Context], int], **kw: Any
    ) -> argparse.ArgumentParser:
        parents = [common, json_flag] if kw.pop("json", True) else [common]
        command: argparse.ArgumentParser = group.add_parser(
            name, help=help_text, description=help_text, parents=parents
        )
        command.set_defaults(handler=handler)
        return command

    init = sub(commands, "init", "create the state directory, database and first key", _cmd_init)
    init.add_argument("--state-dir", type=Path, help="state directory (default from settings)")
    init.add_argument("--issuer", help="identity written into statements (required unless --dev)")
    init.add_argument("--dev", action="store_true", help="development node: placeholder issuer")
    init.add_argument("--alg", choices=ALGORITHMS, default="ES256", help="first key's algorithm")

    sub(commands, "serve", "run the MLP service", _cmd_serve, json=False)

    db = commands.add_parser("db", help="database schema").add_subparsers(
        dest="db_command", metavar="ACTION", required=True
    )
    sub(db, "upgrade", "migrate the database schema to the newest revision", _cmd_db_upgrade)
    sub(db, "status", "show the schema revision (exit 1 if not current)", _cmd_db_status)

    client = commands.add_parser("client", help="MLP clients (web servers)").add_subparsers(
        dest="client_command", metavar="ACTION", required=True
    )
    add = sub(client, "add", "add a client and print its generated password once", _cmd_client_add)
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
    add_client_options(add)
    certificates = sub(
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
    networks = sub(
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
    sub(client, "list", "list clients", _cmd_client_list)
    for name, enabled in (("disable", False), ("enable", True)):
        action = sub(
            client,
            name,
            f"{name} a client",
            functools.partial(_cmd_client_enable, enabled=enabled),
            json=False,
        )
        action.add_argument("id")
    rotate = sub(
        client,
        "rotate-password",
        "give a client a new generated password (printed once)",
        _cmd_client_rotate_password,
    )
    rotate.add_argument("id")
    authorize = sub(
        client, "authorize", "allow a client to locate more targets", _cmd_client_authorize
    )
    authorize.add_argument("id")
    _target_options(authorize)

    add_site_commands(commands, client, sub)

    appliance = commands.add_parser("appliance", help="enrolled appliances").add_subparsers(
        dest="appliance_command", metavar="ACTION", required=True
    )
    enrol = sub(appliance, "add", "enrol an appliance and its SIM", _cmd_appliance_add)
    enrol.add_argument("id", help="appliance id, as in its observation reports")
    enrol.add_argument("--public-key", required=True, metavar="B64URL", help="raw Ed25519 key")
    enrol.add_argument("--imsi", required=True)
    enrol.add_argument("--iccid", required=True)
    enrol.add_argument("--msisdn", default=None)
    enrol.add_argument("--site", required=True, help="where the appliance is installed")
    sub(appliance, "list", "list appliances", _cmd_appliance_list)
    for name, enabled in (("disable", False), ("enable", True)):
        action = sub(
            appliance,
            name,
            f"{name} an appliance",
            functools.partial(_cmd_appliance_enable, enabled=enabled),
            json=False,
        )
        action.add_argument("id")

    cells = commands.add_parser("cells", help="the cell database").add_subparsers(
        dest="cells_command", metavar="ACTION", required=True
    )
    load = sub(
        cells, "import", "load an OpenCelliD CSV export (.csv or .csv.gz)", _cmd_cells_import
    )
    load.add_argument("file", metavar="FILE")
    load.add_argument("--batch", type=_positive_int, default=20000, help="rows per transaction")
    sub(cells, "stats", "count cells per radio and country code", _cmd_cells_stats)

    keys = commands.add_parser("keys", help="statement signing keys").add_subparsers(
        dest="keys_command", metavar="ACTION", required=True
    )
    generate = sub(keys, "generate", "create the first signing key", _cmd_keys_generate)
    generate.add_argument("--alg", choices=ALGORITHMS, default=None)
    rotate_key = sub(
        keys, "rotate", "make a new active key, retiring the current one", _cmd_keys_rotate
    )
    rotate_key.add_argument("--alg", choices=ALGORITHMS, default=None)
    revoke_key = sub(
        keys,
        "revoke",
        "withdraw a key at once (the active key is replaced first); prints its DNS pin's until",
        _cmd_keys_revoke,
    )
    revoke_key.add_argument("kid", metavar="KID")
    sub(
        keys,
        "list",
        "list signing keys and the until each key's DNS pin must carry",
        _cmd_keys_list,
    )

    audit = commands.add_parser("audit", help="the audit log").add_subparsers(
        dest="audit_command", metavar="ACTION", required=True
    )
    listing = sub(
        audit, "list", "show audit entries (the latest ones unless --since)", _cmd_audit_list
    )
    listing.add_argument("--since", type=parse_time, metavar="ISO", help="from this time on")
    listing.add_argument("--kind", help="only this kind (slir, statement, auth_failure, ...)")
    listing.add_argument("--limit", type=_positive_int, default=100, help="at most N entries")
    export = sub(
        audit,
        "export",
        "write audit entries as JSON Lines to stdout",
        _cmd_audit_export,
        json=False,
    )
    export.add_argument("--since", type=parse_time, metavar="ISO", help="from this time on")
    export.add_argument("--kind", help="only this kind")
    return parser


def _target_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--msisdn", action="append", metavar="N", help="MSISDN the client may locate (repeat)"
    )
    parser.add_argument(
        "--imsi", action="append", metavar="N", help="IMSI the client may locate (repeat)"
    )


def _fail(message: str, code: int) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit code (also used as the process exit status)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    ctx = _Context(args, resolve_config_path(args.config))
    handler: Callable[[_Context], int] = args.handler
    try:
        return handler(ctx)
    except UsageError as error:
        return _fail(str(error), EXIT_USAGE)
    except NotFoundError as error:
        return _fail(str(error), EXIT_NOT_FOUND)
    except DuplicateError as error:
        return _fail(str(error), EXIT_CONFLICT)
    except EnrolmentError as error:
        return _fail(f"not enrolled: {error}", EXIT_NOT_ENROLLED)
    except GmlcError as error:
        return _fail(str(error), EXIT_ERROR)
    except ValueError as error:
        # Raised by the store's argument checks: a malformed id, IMSI, key...
        return _fail(str(error), EXIT_USAGE)
    except BrokenPipeError:
        # `salve-gmlc audit export | head`: the reader left; nothing more to say.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except KeyboardInterrupt:
        return _fail("interrupted", EXIT_INTERRUPTED)
    except OSError as error:
        where = f" ({error.filename})" if error.filename else ""
        return _fail(f"{error.strerror or error}{where}", EXIT_ERROR)
    except Exception as error:
        # Last resort: one line instead of a traceback; the class name helps a bug report.
        return _fail(f"unexpected {type(error).__name__}: {error}", EXIT_ERROR)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
