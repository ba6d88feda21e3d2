"""``salve-gmlc keys``: the statement signing keys."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from gmlc.cli.common import (
    ALGORITHMS,
    EXIT_OK,
    CommandTree,
    Context,
    UsageError,
    emit_json,
    format_table,
    iso,
    key_ring,
)
from gmlc.keys import KeyInfo

__all__ = ["register"]


def _key_json(key: KeyInfo) -> dict[str, Any]:
    return {
        "kid": key.kid,
        "alg": key.alg,
        "status": key.status,
        "created_at": iso(key.created_at),
        "retired_at": None if key.retired_at is None else iso(key.retired_at),
        "revoked_at": None if key.revoked_at is None else iso(key.revoked_at),
        # What the key's DNS pin must carry as until= (Unix seconds); null while active.
        "until": key.until,
    }


def _until_text(key: KeyInfo) -> str | None:
    if key.until is None:
        return None
    return f"{key.until} ({iso(datetime.fromtimestamp(key.until, UTC))})"


def _cmd_keys_generate(ctx: Context) -> int:
    key = key_ring(ctx).generate(ctx.args.alg or "ES256")
    if ctx.args.json:
        emit_json(_key_json(key))
    else:
        print(f"Signing key {key.kid} ({key.alg}) created; it is the active key.")
    return EXIT_OK


def _cmd_keys_rotate(ctx: Context) -> int:
    ring = key_ring(ctx)
    key = ring.rotate(ctx.args.alg)
    if ctx.args.json:
        emit_json(_key_json(key))
    else:
        print(
            f"Signing key {key.kid} ({key.alg}) is now active. The previous key stays "
            f"published for {ring.grace_period_s} s so recent statements still verify."
        )
        print("Running GMLC nodes pick up the new key on their next statement.")
    return EXIT_OK


def _cmd_keys_revoke(ctx: Context) -> int:
    args = ctx.args
    if (args.kid is None) == (args.kid_option is None):
        raise UsageError("name the key once: KID, or --kid=KID for a key id that starts with -")
    ring = key_ring(ctx)
    before = {k.kid: k.status for k in ring.list()}
    key = ring.revoke(args.kid if args.kid is not None else args.kid_option)
    if ctx.args.json:
        emit_json(_key_json(key))
        return EXIT_OK
    if before.get(key.kid) == "revoked":
        revoked_at = iso(key.revoked_at or key.created_at)
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


def _cmd_keys_list(ctx: Context) -> int:
    keys = key_ring(ctx).list()
    if ctx.args.json:
        emit_json([_key_json(k) for k in keys])
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


def register(commands: Any, tree: CommandTree) -> None:
    """Adds ``keys`` and its actions."""
    keys = tree.group(commands, "keys", "statement signing keys")
    generate = tree.add(keys, "generate", "create the first signing key", _cmd_keys_generate)
    generate.add_argument("--alg", choices=ALGORITHMS, default=None)
    rotate = tree.add(
        keys, "rotate", "make a new active key, retiring the current one", _cmd_keys_rotate
    )
    rotate.add_argument("--alg", choices=ALGORITHMS, default=None)
    revoke = tree.add(
        keys,
        "revoke",
        "withdraw a key at once (the active key is replaced first); prints its DNS pin's until",
        _cmd_keys_revoke,
    )
    # One key id in 64 starts with "-", which argparse would read as an option: such an id
    # goes as --kid=KID, or after "--".
    revoke.add_argument(
        "kid", metavar="KID", nargs="?", help="the key id (one that starts with - : see --kid)"
    )
    revoke.add_argument(
        "--kid",
        dest="kid_option",
        metavar="KID",
        help="the key id, for ids that start with -: --kid=-AbC123 (or: revoke -- -AbC123)",
    )
    tree.add(
        keys,
        "list",
        "list signing keys and the until each key's DNS pin must carry",
        _cmd_keys_list,
    )
