"""``salve-gmlc init`` and ``serve``: create a node, run it.

``init`` writes the configuration where every later command, ``serve`` and the systemd
unit read it: ``--config FILE``, else ``$SALVE_GMLC_CONFIG``, else ``/etc/salve/gmlc.toml``.
An existing file is used as it is (init's options may repeat its values, not change
them), so init can be re-run, and can run as the service's user after root installed the
file (``--print-config`` prints it for that).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from gmlc.cli.common import (
    ALGORITHMS,
    CONFIG_ENV,
    EXIT_OK,
    PROG,
    PROGRAM,
    SYSTEM_CONFIG,
    CommandTree,
    Context,
    UsageError,
    emit_json,
    init_config_path,
)
from gmlc.errors import ConfigError, GmlcError
from gmlc.keys import KeyRing
from gmlc.settings import Settings
from gmlc.store import Store

__all__ = ["register"]


#: init's flags that go into the configuration file, by setting name.
_INIT_SETTINGS = ("issuer", "state_dir", "dev", "host", "tls_cert", "tls_key")


def _init_flags(args: argparse.Namespace) -> dict[str, Any]:
    """The settings init was given on its command line."""
    given = {name: getattr(args, name) for name in _INIT_SETTINGS}
    given["dev"] = True if args.dev else None
    return {name: value for name, value in given.items() if value is not None}


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _init_settings(flags: dict[str, Any]) -> Settings:
    from gmlc.settings import load_settings

    try:
        return load_settings(None, **flags)
    except ConfigError as error:
        if "issuer is required" in str(error):
            raise UsageError(
                "an issuer name is required for a production node: pass --issuer NAME "
                "(the identity clients will see in statements), or --dev for a test node"
            ) from None
        raise


def _existing_settings(target: Path, flags: dict[str, Any]) -> Settings:
    """The settings of an existing file, which init's flags may repeat but not change."""
    from gmlc.settings import load_settings

    settings = load_settings(target)
    for name, value in flags.items():
        if getattr(settings, name) != value:
            raise UsageError(
                f"{target} already sets {name} = {getattr(settings, name)!s}; edit the file, "
                f"or run init without {_flag(name)} (or with --config for another node)"
            )
    return settings


def _cmd_init(ctx: Context) -> int:
    args = ctx.args
    flags = _init_flags(args)
    if args.print_config:
        # Only print: the operator installs it (as root, readable by the service's group).
        sys.stdout.write(config_text(_init_settings(flags)))
        return EXIT_OK
    target = init_config_path(args.config)
    config_written = not target.exists()
    if config_written:
        settings = _init_settings(flags)
        # Written first, so that a directory it cannot write to changes nothing else.
        _write_config(target, settings)
    else:
        settings = _existing_settings(target, flags)
    state_dir = settings.state_dir
    try:
        state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        # An existing directory may have been created with a looser umask.
        state_dir.chmod(0o700)
    except OSError as error:
        raise GmlcError(
            f"cannot create the state directory {state_dir}: {error.strerror} (run init as "
            "the user the service runs as, after creating the directory for it)"
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

    result = {
        "state_dir": str(state_dir),
        "database": _hide_password(settings.effective_database_url),
        "schema_revision": revision,
        "schema_created": before is None,
        "signing_key": {"kid": key.kid, "alg": key.alg, "created": key_created},
        "config_file": str(target),
        "config_written": config_written,
        "issuer": settings.issuer,
        "dev": settings.dev,
        "tls": settings.tls_enabled,
    }
    if args.json:
        emit_json(result)
        return EXIT_OK
    if config_written:
        print(f"Configuration written to {target} (mode 0600).")
    else:
        print(f"Configuration {target} already exists; left unchanged.")
    print(f"State directory {state_dir} (mode 0700).")
    print(f"Database {result['database']} at schema revision {revision}.")
    if key_created:
        print(f"Signing key {key.kid} ({key.alg}) created; it is the active key.")
    else:
        print(f"Signing key ring already present; active key {key.kid} ({key.alg}).")
    if settings.dev:
        print(f"Development mode: issuer {settings.issuer!r}. Do not expose this node.")
    if not settings.tls_enabled:
        print(
            f"No TLS: {PROG} serve listens with plain HTTP on {settings.host} only while that "
            "is loopback; set tls_cert and tls_key (init --tls-cert/--tls-key) for clients "
            "elsewhere."
        )
    # Later commands find the file by themselves unless --config named it.
    config = f" --config {target}" if args.config else ""
    print(
        f"Next: {PROG}{config} cells import CELLS.csv.gz, then {PROG}{config} client add "
        "CLIENT-ID --msisdn NUMBER --from SITE-NETWORK/PREFIX"
    )
    return EXIT_OK


def config_text(settings: Settings) -> str:
    """The configuration file init writes: the node's identity, state and listener."""
    # json.dumps produces valid TOML basic strings (same escapes) for these values.
    lines = [
        f"# GMLC node settings written by `{PROG} init`.",
        "# Every setting is described in gmlc.example.toml (python -m runtime.units);",
        "# environment variables SALVE_GMLC_<NAME> override the values here.",
        "",
        "[gmlc]",
        f"issuer = {json.dumps(settings.issuer)}",
        f"state_dir = {json.dumps(str(settings.state_dir))}",
    ]
    if settings.dev:
        lines.append("dev = true")
    if settings.database_url:
        lines.append(f"database_url = {json.dumps(settings.database_url)}")
    lines.append(f"host = {json.dumps(settings.host)}")
    if settings.tls_cert is not None and settings.tls_key is not None:
        lines.append(f"tls_cert = {json.dumps(str(settings.tls_cert))}")
        lines.append(f"tls_key = {json.dumps(str(settings.tls_key))}")
    return "\n".join(lines) + "\n"


def _write_config(path: Path, settings: Settings) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileNotFoundError:
        raise GmlcError(
            f"cannot write {path}: the directory {path.parent} does not exist (as root: "
            f"install -d -m 0755 {path.parent}), or give --config FILE"
        ) from None
    except PermissionError:
        raise GmlcError(
            f"cannot write {path}: permission denied. As root, install it with: {PROG} init "
            f"... --print-config | install -m 0640 -g salve-gmlc /dev/stdin {path}; "
            "or give --config FILE"
        ) from None
    except OSError as error:
        raise GmlcError(f"cannot write {path}: {error.strerror}") from None
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(config_text(settings))


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


def _absolute_path(text: str) -> Path:
    # Written into the configuration, which the service reads from another directory.
    return Path(text).absolute()


def register(commands: Any, tree: CommandTree) -> None:
    """Adds ``init`` and ``serve``."""
    init = tree.add(
        commands,
        "init",
        "write the configuration where serve and the unit read it (--config, else "
        f"${CONFIG_ENV}, else {SYSTEM_CONFIG}) unless it exists, and create the state "
        "directory, database and first signing key",
        _cmd_init,
    )
    init.add_argument(
        "--state-dir", type=_absolute_path, help="state directory (default /var/lib/salve-gmlc)"
    )
    init.add_argument("--issuer", help="identity written into statements (required unless --dev)")
    init.add_argument(
        "--dev", action="store_true", help="development node: a stand-in issuer (gmlc.dev.invalid)"
    )
    init.add_argument(
        "--host", help="address serve listens on (default 127.0.0.1; 0.0.0.0 or :: for all)"
    )
    init.add_argument(
        "--tls-cert", type=_absolute_path, metavar="PEM", help="TLS certificate chain (PEM)"
    )
    init.add_argument("--tls-key", type=_absolute_path, metavar="PEM", help="its private key")
    init.add_argument("--alg", choices=ALGORITHMS, default="ES256", help="first key's algorithm")
    init.add_argument(
        "--print-config",
        action="store_true",
        help="only print the configuration these options make, for installing it by hand",
    )

    tree.add(commands, "serve", "run the MLP service", _cmd_serve, json=False)
