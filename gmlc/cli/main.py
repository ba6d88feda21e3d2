"""The ``salve-gmlc`` parser and dispatch (imported by :func:`gmlc.cli.main` when it runs)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from gmlc.cli import appliances, audit, cells, clients, db, dns, keys, node
from gmlc.cli.common import PROGRAM, CommandTree, Context, Handler, resolve_config_path
from runtime.cli import add_commands, program_parser
from runtime.logs import configure_logging

__all__ = ["COMMAND_GROUPS", "build_parser", "run_command"]

#: The command groups, in the order ``--help`` lists them.
COMMAND_GROUPS = (node, db, clients, appliances, cells, keys, audit, dns)


def build_parser() -> argparse.ArgumentParser:
    """The complete command-line grammar."""
    parser = program_parser(PROGRAM)
    parser.add_argument("--config", metavar="FILE", default=None, help="settings file")
    commands = add_commands(parser)
    tree = CommandTree.create()
    for group in COMMAND_GROUPS:
        group.register(commands, tree)
    return parser


def run_command(argv: Sequence[str] | None = None) -> int:
    """Parses the arguments, sets up logging and runs the command; returns the exit code."""
    args = build_parser().parse_args(argv)
    if args.log_level is None and args.command == "serve":
        # A service logs what it does; an administrative command only its problems.
        args.log_level = "info"
    configure_logging(PROGRAM.log_level(args))
    handler: Handler = args.handler
    return handler(Context(args, resolve_config_path(args.config)))
