"""``salve-gmlc init`` and ``serve``: create a node, run it."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from gmlc.cli.common import (
    ALGORITHMS,
    CONFIG_NAME,
    EXIT_OK,
    PROG,
    PROGRAM,
    CommandTree,
    Context,
    UsageError,
    emit_json,
)
from gmlc.errors import ConfigError, GmlcError
from gmlc.keys import KeyRing
from gmlc.settings import Settings
from gmlc.store import Store

__all__ = ["register"]


def _cmd_init(ctx: Context) -> int:
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
        emit_json(result)
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


def _cmd_serve(ctx: Context) -> int:
    from gmlc.server import serve

    serve(ctx.settings(), log_level=PROGRAM.log_level(ctx.args))
    return EXIT_OK


def register(commands: Any, tree: CommandTree) -> None:
    """Adds ``init`` and ``serve``."""
    init = tree.add(
        commands, "init", "create the state directory, database and first key", _cmd_init
    )
    init.add_argument("--state-dir", type=Path, help="state directory (default from settings)")
    init.add_argument("--issuer", help="identity written into statements (required unless --dev)")
    init.add_argument("--dev", action="store_true", help="development node: placeholder issuer")
    init.add_argument("--alg", choices=ALGORITHMS, default="ES256", help="first key's algorithm")

    tree.add(commands, "serve", "run the MLP service", _cmd_serve, json=False)
