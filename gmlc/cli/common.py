"""What every ``salve-gmlc`` command shares: settings and store access, output, exit codes.

The command modules of this package import from here and from nowhere else in it, so the
command groups stay independent of each other and of the parser that gathers them.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from gmlc.errors import (
    DuplicateError,
    EnrolmentError,
    GmlcError,
    ListenError,
    NotFoundError,
)
from runtime.cli import (
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    Program,
    ProgramParser,
    add_command,
    add_commands,
)

if TYPE_CHECKING:
    # Settings, the store and the key ring are imported when a command uses them, so that
    # importing the CLI stays quick (see gmlc.cli: a Ctrl-C at start-up lands in the guard).
    from gmlc.keys import KeyRing
    from gmlc.settings import Settings
    from gmlc.store import Store

__all__ = [
    "ALGORITHMS",
    "CONFIG_ENV",
    "EXIT_CANNOT_LISTEN",
    "EXIT_CONFLICT",
    "EXIT_DNS_UPDATE",
    "EXIT_ERROR",
    "EXIT_INTERRUPTED",
    "EXIT_NOT_ENROLLED",
    "EXIT_NOT_FOUND",
    "EXIT_OK",
    "EXIT_USAGE",
    "PROG",
    "PROGRAM",
    "SYSTEM_CONFIG",
    "CommandTree",
    "Context",
    "Handler",
    "UsageError",
    "cell_text",
    "describe_error",
    "emit_json",
    "emit_listing",
    "format_table",
    "init_config_path",
    "iso",
    "key_ring",
    "number_argument",
    "parse_time",
    "positive_int",
    "resolve_config_path",
]

_Number = TypeVar("_Number", int, float)
_Item = TypeVar("_Item")

EXIT_NOT_FOUND = 3
EXIT_CONFLICT = 4
EXIT_NOT_ENROLLED = 5
EXIT_CANNOT_LISTEN = 6
EXIT_DNS_UPDATE = 7

PROGRAM = Program(
    name="salve-gmlc",
    description="Set up, run and administer a SALVE GMLC node.",
    exit_codes={
        EXIT_NOT_FOUND: "not found: the client, appliance, key, file ... does not exist",
        EXIT_CONFLICT: "conflict: it already exists (or is bound to another)",
        EXIT_NOT_ENROLLED: "domain not enrolled: its DNS does not show that it names this GMLC",
        EXIT_CANNOT_LISTEN: "serve: cannot listen (the port is in use, or the address is\n"
        "not this machine's, or needs privileges)",
        EXIT_DNS_UPDATE: "dns update: the DNS server refused the update or could not be\n"
        "reached (REFUSED, NOTAUTH, TSIG refused, timeout)",
    },
    default_log_level="warning",
)
PROG = PROGRAM.name
CONFIG_ENV = "SALVE_GMLC_CONFIG"
SYSTEM_CONFIG = Path("/etc/salve/gmlc.toml")
ALGORITHMS = ("ES256", "EdDSA", "PS256")


class UsageError(Exception):
    """The arguments are well-formed for argparse but make no sense together."""


# --------------------------------------------------------------------------------------
# Output helpers (pure)


def format_table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """Left-aligned columns separated by two spaces, headers first."""
    text_rows = [[cell_text(value) for value in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in text_rows:
        widths = [max(w, len(v)) for w, v in zip(widths, row, strict=True)]
    lines = [
        "  ".join(value.ljust(width) for value, width in zip(row, widths, strict=True)).rstrip()
        for row in [list(headers), *text_rows]
    ]
    return "\n".join(lines)


def cell_text(value: object) -> str:
    """One table cell: ``-`` for nothing, yes/no, ISO times, sets joined by commas."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, frozenset | set | list | tuple):
        return ",".join(sorted(str(v) for v in value)) or "-"
    return str(value)


def iso(moment: datetime) -> str:
    """A time in UTC to the second, ``2026-01-31T12:00:00Z``."""
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


def number_argument(
    parse: Callable[[str], _Number], noun: str, accepts: Callable[[_Number], bool], refusal: str
) -> Callable[[str], _Number]:
    """An argparse ``type`` for a number in a range.

    Args:
        parse: ``int`` or ``float``.
        noun: What the number is, after "is not": ``a whole number of metres``.
        accepts: Whether a parsed value is in range.
        refusal: The words for a value out of range; ``{value}`` stands for it.

    Returns:
        The parser, which raises :class:`argparse.ArgumentTypeError` with these words.
    """

    def read(text: str) -> _Number:
        try:
            value = parse(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {noun}") from None
        if not accepts(value):
            raise argparse.ArgumentTypeError(refusal.format(value=value))
        return value

    return read


#: An argument that is a whole number of at least 1.
positive_int = number_argument(
    int, "a whole number", lambda n: n >= 1, "{value} must be at least 1"
)


def emit_json(document: object) -> None:
    """Prints a JSON document for machines (``--json``)."""
    print(json.dumps(document, indent=2, ensure_ascii=False, sort_keys=False))


def emit_listing(
    items: Sequence[_Item],
    *,
    as_json: bool,
    to_json: Callable[[_Item], object],
    headers: Sequence[str],
    row: Callable[[_Item], Sequence[object]],
    none: str | None = None,
) -> int:
    """A ``list`` command's output: the JSON array, the words for no items, or a table.

    Args:
        items: What the command lists.
        as_json: ``--json`` was given.
        to_json: One item as JSON.
        headers: The table's column names.
        row: One item as a table row.
        none: What to say when there is nothing (None: the table's headers alone).

    Returns:
        ``EXIT_OK``.
    """
    if as_json:
        emit_json([to_json(item) for item in items])
    elif not items and none is not None:
        print(none)
    else:
        print(format_table(headers, [row(item) for item in items]))
    return EXIT_OK


def describe_error(error: BaseException) -> tuple[str, int] | None:
    """The words and exit code for an error a command raised on purpose, else ``None``."""
    if isinstance(error, UsageError):
        return str(error), EXIT_USAGE
    for kind, code in _EXIT_CODES:
        if isinstance(error, kind):
            return str(error), code
    if isinstance(error, EnrolmentError):
        return f"not enrolled: {error}", EXIT_NOT_ENROLLED
    # Only `dns update` loads the DNS publishing code, and only it raises its errors: a
    # command that did not load it cannot have failed with one (and need not import it).
    dnsupdate = sys.modules.get("verifier.dnsupdate")
    if dnsupdate is not None and isinstance(error, dnsupdate.DnsUpdateError):
        return f"dns update: {error}", EXIT_DNS_UPDATE
    if isinstance(error, GmlcError):
        return str(error), EXIT_ERROR
    if isinstance(error, ValueError):
        # Raised by the store's argument checks: a malformed id, IMSI, key...
        return str(error), EXIT_USAGE
    if isinstance(error, OSError):
        where = f" ({error.filename})" if error.filename else ""
        return f"{error.strerror or error}{where}", EXIT_ERROR
    return None


#: The errors with their own exit code (checked before their base class GmlcError).
_EXIT_CODES: tuple[tuple[type[GmlcError], int], ...] = (
    (NotFoundError, EXIT_NOT_FOUND),
    (DuplicateError, EXIT_CONFLICT),
    (ListenError, EXIT_CANNOT_LISTEN),
)


# --------------------------------------------------------------------------------------
# Context shared by the commands


@dataclass
class Context:
    """One command's arguments and the configuration file it reads."""

    args: argparse.Namespace
    config_path: Path | None

    def settings(self, **overrides: Any) -> Settings:
        """The node's settings (file, environment, then ``overrides``)."""
        from gmlc.settings import load_settings

        return load_settings(self.config_path, **overrides)

    def store(self, settings: Settings | None = None) -> Store:
        """The node's database, checked to be at the current schema.

        Raises:
            GmlcError: the database is not initialised or not current.
        """
        from gmlc.store import Store

        settings = settings or self.settings()
        store = Store.open(settings.effective_database_url)
        if not store.schema_is_current():
            store.close()
            raise GmlcError(
                f"the database {store.display_url} is not initialised or not current; "
                f"run: {PROG} db upgrade (or {PROG} init for a new node)"
            )
        return store


def key_ring(ctx: Context, **overrides: Any) -> KeyRing:
    """The node's statement signing keys (with its PKCS#11 token, when one is configured)."""
    from gmlc.keys import open_key_ring

    return open_key_ring(ctx.settings(**overrides))


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


def init_config_path(given: str | None, environ: dict[str, str] | None = None) -> Path:
    """Where ``init`` writes (or finds) the configuration: where the others will read it."""
    return resolve_config_path(given, environ) or SYSTEM_CONFIG


# --------------------------------------------------------------------------------------
# Parser building

#: A command: runs with its context, returns the exit code.
Handler = Callable[[Context], int]


@dataclass(frozen=True)
class CommandTree:
    """Adds command groups and commands that share ``--config``, ``--json`` and the
    program's conventions (``--log-level``, ``PROGRAM: message`` errors, the exit codes)."""

    common: argparse.ArgumentParser
    json_flag: argparse.ArgumentParser

    @classmethod
    def create(cls) -> CommandTree:
        """The shared options every command takes."""
        common = argparse.ArgumentParser(add_help=False)
        common.add_argument(
            "--config",
            metavar="FILE",
            default=argparse.SUPPRESS,
            help=f"settings file (default: ${CONFIG_ENV}, else {SYSTEM_CONFIG} if present)",
        )
        json_flag = argparse.ArgumentParser(add_help=False)
        json_flag.add_argument("--json", action="store_true", help="machine-readable output")
        return cls(common, json_flag)

    def group(self, commands: Any, name: str, help_text: str) -> Any:
        """A command group (``client``, ``keys`` …) whose actions are added with :meth:`add`."""
        parser = add_command(commands, PROGRAM, name, help=help_text, description=help_text)
        return add_commands(parser, dest=f"{name}_command", metavar="ACTION")

    def add(
        self, group: Any, name: str, help_text: str, handler: Handler, *, json: bool = True
    ) -> ProgramParser:
        """One command of ``group`` that runs ``handler``; ``--json`` unless ``json`` is off."""
        parents = [self.common, self.json_flag] if json else [self.common]
        command = add_command(
            group, PROGRAM, name, help=help_text, description=help_text, parents=parents
        )
        command.set_defaults(handler=handler)
        return command
