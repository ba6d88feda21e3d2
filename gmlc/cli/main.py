"""The ``salve-gmlc`` parser and the guard that turns errors into words and exit codes."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from gmlc.cli import appliances, audit, cells, clients, db, dns, keys, node
from gmlc.cli.common import (
    EXIT_CONFLICT,
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_NOT_ENROLLED,
    EXIT_NOT_FOUND,
    EXIT_OK,
    EXIT_USAGE,
    PROG,
    CommandTree,
    Context,
    Handler,
    UsageError,
    resolve_config_path,
)
from gmlc.errors import DuplicateError, EnrolmentError, GmlcError, NotFoundError

__all__ = ["build_parser", "main"]

#: The command groups, in the order ``--help`` lists them.
COMMAND_GROUPS = (node, db, clients, appliances, cells, keys, audit, dns)


class _Parser(argparse.ArgumentParser):
    """argparse that names the program in errors and exits with the usage code."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    """The complete command-line grammar."""
    parser = _Parser(
        prog=PROG,
        description="Set up, run and administer a SALVE GMLC node.",
        epilog="Exit codes: 0 ok, 1 error, 2 usage, 3 not found, 4 conflict, "
        "5 domain not enrolled (its DNS does not name this GMLC).",
    )
    parser.add_argument("--config", metavar="FILE", default=None, help="settings file")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    tree = CommandTree.create()
    for group in COMMAND_GROUPS:
        group.register(commands, tree)
    return parser


def _fail(message: str, code: int) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit code (also used as the process exit status)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    ctx = Context(args, resolve_config_path(args.config))
    handler: Handler = args.handler
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
