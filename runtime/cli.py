"""The command-line conventions every SALVE program follows.

* ``--version`` prints the installed distribution's version; ``--log-level`` takes the
  same words everywhere (``debug``, ``info``, ``warning``, ``error``; a program may add
  its own, as ``salve-modem`` adds ``trace``), before or after the command name.
* Errors are one line, ``PROGRAM: message``; usage errors add the usage line first.
* Exit codes: 0 ok, 1 error, 2 usage, the same in every program; codes from 3 up are
  each program's own and listed at the end of its ``--help``, as is 130 (interrupted).
* :func:`run` is the guard around a program's whole life: whatever happens (Ctrl-C
  during start-up included, or a closed pipe), the user sees words and an exit code,
  never a traceback. Programs import their heavy modules inside it, so even a Ctrl-C in
  the first tenth of a second lands in the guard.
* ``--print-completion bash|zsh|tcsh`` prints a completion script (shtab).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NoReturn

from runtime.logs import LOG_LEVELS

__all__ = [
    "EXIT_ERROR",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "CommandFailedError",
    "Program",
    "ProgramParser",
    "add_command",
    "add_commands",
    "config_option",
    "program_parser",
    "run",
]

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
#: 128 + SIGINT, what shells report for a command ended by Ctrl-C.
EXIT_INTERRUPTED = 130

_COMMON_CODES = {EXIT_OK: "ok", EXIT_ERROR: "error (the message says which)", EXIT_USAGE: "usage"}

_log = logging.getLogger(__name__)


class CommandFailedError(Exception):
    """A command ends with these plain words and this exit code."""

    def __init__(self, message: str, code: int = EXIT_ERROR) -> None:
        """Creates the failure.

        Args:
            message: what went wrong, for a person (without the program's name).
            code: the exit code.
        """
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class Program:
    """What a program says about itself: name, purpose, its own exit codes.

    Attributes:
        name: the command's name, ``salve-modem``.
        description: one sentence for ``--help``.
        exit_codes: the program's own codes (3 and up) and what each means; 0 and 1 may be
            given as well, to say what success and failure mean for the program
            (``salve-verify``: VERIFIED, REFUSED). 2 and 130 mean the same everywhere.
        log_levels: the ``--log-level`` words (the shared ones, plus any of its own).
        default_log_level: the word used when ``--log-level`` is not given.
        distribution: the installed distribution ``--version`` reports.
    """

    name: str
    description: str
    exit_codes: Mapping[int, str] = field(default_factory=dict)
    log_levels: Mapping[str, int] = field(default_factory=lambda: dict(LOG_LEVELS))
    default_log_level: str = "warning"
    distribution: str = "salve"

    def __post_init__(self) -> None:
        if any(
            code < EXIT_OK or code in (EXIT_USAGE, EXIT_INTERRUPTED) for code in self.exit_codes
        ):
            raise ValueError(
                "a program's own exit codes start at 3 (0 and 1 may be reworded; 2 is usage "
                "and 130 is Ctrl-C everywhere)"
            )
        if self.default_log_level not in self.log_levels:
            raise ValueError(f"unknown default log level {self.default_log_level!r}")

    @property
    def epilog(self) -> str:
        """The exit-code table that ends every ``--help`` of the program."""
        codes = {**_COMMON_CODES, **self.exit_codes, EXIT_INTERRUPTED: "interrupted (Ctrl-C)"}
        width = len(str(max(codes)))
        lines = ["exit codes:"]
        for code in sorted(codes):
            meaning = codes[code].splitlines()
            lines.append(f"  {code:>{width}}  {meaning[0]}")
            lines.extend(f"  {'':>{width}}  {more.strip()}" for more in meaning[1:])
        return "\n".join(lines)

    def version(self) -> str:
        """``NAME VERSION`` of the installed distribution."""
        # Imported here: importlib.metadata costs a noticeable part of start-up.
        from importlib import metadata

        try:
            number = metadata.version(self.distribution)
        except metadata.PackageNotFoundError:
            number = "(not installed as a distribution)"
        return f"{self.name} {number}"

    def log_level(self, args: argparse.Namespace) -> int:
        """The logging level ``--log-level`` chose (or the program's default)."""
        return self.log_levels[getattr(args, "log_level", None) or self.default_log_level]


class ProgramParser(argparse.ArgumentParser):
    """An argument parser whose errors read ``PROGRAM: message`` and exit with 2."""

    #: The program's name (a sub-command's ``prog`` is "salve-modem probe").
    program_name: str | None = None

    def error(self, message: str) -> NoReturn:
        """Prints the usage and ``PROGRAM: message`` on stderr; exits with 2."""
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.program_name or self.prog}: {message}\n")


def _log_level_option(
    parser: argparse.ArgumentParser, program: Program, *, default: Any, words: str
) -> None:
    parser.add_argument(
        "--log-level",
        choices=list(program.log_levels),
        default=default,
        metavar="LEVEL",
        help=f"log detail on stderr: {', '.join(program.log_levels)} ({words})",
    )


def program_parser(program: Program, **kwargs: Any) -> ProgramParser:
    """The top-level parser with ``--version``, ``--log-level`` and the exit-code epilog.

    Args:
        program: the program.
        kwargs: further :class:`argparse.ArgumentParser` arguments.
    """
    parser = ProgramParser(
        prog=program.name,
        description=program.description,
        epilog=program.epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        **kwargs,
    )
    parser.program_name = program.name
    parser.add_argument("--version", action="version", version=program.version())
    _log_level_option(parser, program, default=None, words=f"default {program.default_log_level}")
    _add_completion(parser)
    return parser


def config_option(default_words: str) -> ProgramParser:
    """The ``--config FILE`` option (a :class:`~pathlib.Path`) every command of a program
    takes, as a parent parser for :func:`add_command`'s ``parents``.

    Args:
        default_words: where the file is looked for without the option, for ``--help``.
    """
    from pathlib import Path

    parent = ProgramParser(add_help=False)
    parent.add_argument("--config", metavar="FILE", type=Path, help=default_words)
    return parent


def _add_completion(parser: argparse.ArgumentParser) -> None:
    try:
        import shtab
    except ImportError:  # completion is a convenience; the program works without it
        return
    shtab.add_argument_to(parser, ["--print-completion"], help="print a shell completion script")


def add_commands(
    parser: ProgramParser, *, dest: str = "command", metavar: str = "COMMAND"
) -> argparse._SubParsersAction[ProgramParser]:
    """Adds the sub-command slot (``args.command`` names the chosen one).

    Args:
        parser: the program's parser, or a command's for a group of actions
            (``salve-front dns update``).
        dest: the attribute that names the chosen command.
        metavar: how usage lines name it.
    """
    return parser.add_subparsers(
        dest=dest, required=True, metavar=metavar, parser_class=ProgramParser
    )


def add_command(
    commands: argparse._SubParsersAction[ProgramParser],
    program: Program,
    name: str,
    *,
    help: str,
    **kwargs: Any,
) -> ProgramParser:
    """Adds one sub-command that also takes ``--log-level`` and ends with the exit codes.

    Args:
        commands: from :func:`add_commands`.
        program: the program.
        name: the command's name.
        help: one line for the command list.
        kwargs: further arguments of ``add_parser`` (``description``, ``parents`` …).
    """
    kwargs.setdefault("epilog", program.epilog)
    kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
    command: ProgramParser = commands.add_parser(name, help=help, **kwargs)
    command.program_name = program.name
    # SUPPRESS: a value given before the command name must survive the sub-parser.
    _log_level_option(command, program, default=argparse.SUPPRESS, words="as before the command")
    return command


#: Turns an exception into ``(words, exit code)``, or ``None`` when it is not the program's.
Describer = Callable[[BaseException], tuple[str, int] | None]


def run(program: Program, body: Callable[[], int], *, describe: Describer | None = None) -> int:
    """Runs a program's body inside the guard; returns its exit code.

    Args:
        program: the program (its name prefixes every message).
        body: parses arguments, imports what it needs and does the work; returns the
            exit code. :class:`CommandFailedError` ends it with words and a code.
        describe: turns a program-specific exception into ``(words, code)``, or ``None``
            for "not mine".

    Returns:
        The exit code: the body's, 2 for usage errors, 130 for Ctrl-C, 1 for anything
        unexpected (with its type and message, never a traceback).
    """
    try:
        return body()
    except SystemExit as exit_:
        return _exit_code(exit_.code)
    except KeyboardInterrupt:
        _say(program, "interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (``| head``): nothing more can be shown, and Python's own
        # flush at exit must not complain either.
        with contextlib.suppress(OSError, ValueError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except CommandFailedError as failure:
        _say(program, str(failure))
        return failure.code
    except Exception as error:  # the last line of defence: words, never a stack trace
        described = describe(error) if describe is not None else None
        if described is not None:
            words, code = described
            _say(program, words)
            return code
        _log.debug("unexpected failure", exc_info=True)
        _say(program, f"unexpected failure: {type(error).__name__}: {error}")
        return EXIT_ERROR


def _exit_code(code: object) -> int:
    if code is None:
        return EXIT_OK
    if isinstance(code, int):
        return code
    # SystemExit("words") prints the words and exits 1, as Python itself does.
    print(code, file=sys.stderr)
    return EXIT_ERROR


def _say(program: Program, words: str) -> None:
    with contextlib.suppress(OSError, ValueError):
        print(f"{program.name}: {words}", file=sys.stderr, flush=True)
