"""``salve-gmlc keys``: the statement signing keys."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gmlc.cli.common import (
    ALGORITHMS,
    EXIT_OK,
    CommandTree,
    Context,
    UsageError,
    emit_json,
    emit_listing,
    iso,
    key_ring,
)
from gmlc.keys import KeyInfo, KeyRing

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


def _ring_for(ctx: Context) -> KeyRing:
    """The key ring, with the token the command line names (needs ``--pkcs11``)."""
    args = ctx.args
    token_options = {
        "pkcs11_module": args.pkcs11_module,
        "pkcs11_token": args.pkcs11_token,
        "pkcs11_pin_file": args.pkcs11_pin_file,
    }
    if not args.pkcs11 and any(value is not None for value in token_options.values()):
        raise UsageError("--pkcs11-module, --pkcs11-token and --pkcs11-pin-file need --pkcs11")
    ring = key_ring(ctx, **token_options)
    if args.pkcs11 and ring.token is None:
        raise UsageError(
            "--pkcs11 needs a token: give --pkcs11-module, --pkcs11-token and "
            "--pkcs11-pin-file, or set pkcs11_module, pkcs11_token and pkcs11_pin_file"
        )
    return ring


def _where(ring: KeyRing, in_token: bool) -> str:
    if not in_token or ring.token is None:
        return ""
    return f" in PKCS#11 token {ring.token.token_label!r} (not extractable)"


def _cmd_keys_generate(ctx: Context) -> int:
    ring = _ring_for(ctx)
    key = ring.generate(ctx.args.alg or "ES256", in_token=ctx.args.pkcs11)
    if ctx.args.json:
        emit_json({**_key_json(key), "pkcs11": ctx.args.pkcs11})
    else:
        print(
            f"Signing key {key.kid} ({key.alg}) created{_where(ring, ctx.args.pkcs11)}; "
            "it is the active key."
        )
    return EXIT_OK


def _cmd_keys_rotate(ctx: Context) -> int:
    ring = _ring_for(ctx)
    key = ring.rotate(ctx.args.alg, in_token=True if ctx.args.pkcs11 else None)
    if ctx.args.json:
        emit_json(_key_json(key))
    else:
        in_token = ctx.args.pkcs11 or ring.token is not None
        print(
            f"Signing key {key.kid} ({key.alg}) is now active{_where(ring, in_token)}. The "
            f"previous key stays published for {ring.grace_period_s} s so recent statements "
            "still verify."
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
    return emit_listing(
        keys,
        as_json=ctx.args.json,
        to_json=_key_json,
        headers=["KID", "ALG", "STATUS", "CREATED", "RETIRED", "REVOKED", "PIN UNTIL"],
        row=lambda k: (k.kid, k.alg, k.status, k.created_at, k.retired_at, k.revoked_at, k.until),
    )


def _token_arguments(parser: Any) -> None:
    parser.add_argument(
        "--pkcs11",
        action="store_true",
        help="make the key inside the PKCS#11 token (HSM), where it stays non-extractable",
    )
    parser.add_argument("--pkcs11-module", type=Path, metavar="PATH", help="PKCS#11 library")
    parser.add_argument("--pkcs11-token", metavar="LABEL", help="token label")
    parser.add_argument(
        "--pkcs11-pin-file", type=Path, metavar="PATH", help="file holding the user PIN"
    )


def register(commands: Any, tree: CommandTree) -> None:
    """Adds ``keys`` and its actions."""
    keys = tree.group(commands, "keys", "statement signing keys")
    generate = tree.add(keys, "generate", "create the first signing key", _cmd_keys_generate)
    generate.add_argument("--alg", choices=ALGORITHMS, default=None)
    _token_arguments(generate)
    rotate = tree.add(
        keys, "rotate", "make a new active key, retiring the current one", _cmd_keys_rotate
    )
    rotate.add_argument("--alg", choices=ALGORITHMS, default=None)
    _token_arguments(rotate)
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
