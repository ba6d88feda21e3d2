"""The shared command-line conventions, on a small program of the test's own."""

from __future__ import annotations

import argparse
import logging
import subprocess
import sys
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

import pytest

from runtime.cli import (
    EXIT_INTERRUPTED,
    CommandFailedError,
    Program,
    add_command,
    add_commands,
    config_option,
    program_parser,
    run,
)

PROGRAM = Program(
    name="salve-example",
    description="An example.",
    exit_codes={3: "thing not found", 4: "two lines:\nthe second line"},
)


def parser() -> argparse.ArgumentParser:
    top = program_parser(PROGRAM)
    commands = add_commands(top)
    show = add_command(commands, PROGRAM, "show", help="show a thing")
    show.add_argument("name")
    return top


def main(argv: list[str], action: Callable[[argparse.Namespace], int] | None = None) -> int:
    def body() -> int:
        args = parser().parse_args(argv)
        return action(args) if action is not None else 0

    return run(PROGRAM, body)


def test_help_ends_with_every_exit_code(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert out.rstrip().endswith("130  interrupted (Ctrl-C)")
    for line in (
        "    0  ok",
        "    1  error",
        "    2  usage",
        "    3  thing not found",
        "    4  two lines:",
        "       the second line",
    ):
        assert line in out
    assert main(["show", "--help"]) == 0
    assert "3  thing not found" in capsys.readouterr().out


def test_version_is_the_distribution_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"salve-example {metadata.version('salve')}"


def test_usage_errors_say_the_program_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: salve-example show")
    assert err.splitlines()[-1] == "salve-example: the following arguments are required: name"
    assert "error:" not in err
    assert main(["--log-level", "loud", "show", "x"]) == 2
    assert "salve-example: argument --log-level" in capsys.readouterr().err


def test_a_group_of_actions_with_the_shared_config_option(
    capsys: pytest.CaptureFixture[str],
) -> None:
    top = program_parser(PROGRAM)
    common = config_option("the TOML file (default: /etc/salve/example.toml)")
    group = add_command(add_commands(top), PROGRAM, "dns", help="records")
    add_command(
        add_commands(group, dest="dns_command", metavar="ACTION"),
        PROGRAM,
        "update",
        parents=[common],
        help="publish",
    )

    args = top.parse_args(["dns", "update", "--config", "x.toml"])
    assert (args.command, args.dns_command, args.config) == ("dns", "update", Path("x.toml"))

    def without_action() -> int:
        top.parse_args(["dns"])
        return 0

    assert run(PROGRAM, without_action) == 2
    err = capsys.readouterr().err
    assert "usage: salve-example dns [-h] [--log-level LEVEL] ACTION" in err
    assert err.splitlines()[-1] == "salve-example: the following arguments are required: ACTION"


def test_log_level_before_or_after_the_command() -> None:
    seen: list[int] = []

    def action(args: argparse.Namespace) -> int:
        seen.append(PROGRAM.log_level(args))
        return 0

    main(["show", "x"], action)
    main(["--log-level", "debug", "show", "x"], action)
    main(["show", "x", "--log-level", "error"], action)
    assert seen == [logging.WARNING, logging.DEBUG, logging.ERROR]


def test_failures_become_words_and_codes(capsys: pytest.CaptureFixture[str]) -> None:
    def fail(args: argparse.Namespace) -> int:
        raise CommandFailedError("no thing called x", 3)

    assert main(["show", "x"], fail) == 3
    assert capsys.readouterr().err == "salve-example: no thing called x\n"

    def crash(args: argparse.Namespace) -> int:
        raise RuntimeError("boom")

    assert main(["show", "x"], crash) == 1
    err = capsys.readouterr().err
    assert err == "salve-example: unexpected failure: RuntimeError: boom\n"


def test_describe_maps_a_program_error() -> None:
    class LookupFailedError(Exception):
        pass

    def body() -> int:
        raise LookupFailedError("gone")

    def describe(error: BaseException) -> tuple[str, int] | None:
        return (f"lookup: {error}", 3) if isinstance(error, LookupFailedError) else None

    assert run(PROGRAM, body, describe=describe) == 3


def test_ctrl_c_anywhere_in_the_body_is_exit_130_without_traceback(
    capsys: pytest.CaptureFixture[str],
) -> None:
    def body() -> int:
        # As when Ctrl-C lands while the program still imports its modules.
        raise KeyboardInterrupt

    assert run(PROGRAM, body) == EXIT_INTERRUPTED
    assert capsys.readouterr().err == "salve-example: interrupted\n"


def test_programs_own_codes_start_at_3() -> None:
    for fixed in (2, 130, -1):
        with pytest.raises(ValueError, match="start at 3"):
            Program(name="x", description="x", exit_codes={fixed: "no"})
    # What success and failure mean may be said in the program's own words.
    worded = Program(name="x", description="x", exit_codes={1: "REFUSED: a check failed"})
    assert "  1  REFUSED: a check failed" in worded.epilog
    assert "(the message says which)" not in worded.epilog
    with pytest.raises(ValueError, match="log level"):
        Program(name="x", description="x", default_log_level="loud")


def test_completion_script(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--print-completion", "bash"]) == 0
    script = capsys.readouterr().out
    assert "salve-example" in script
    assert "show" in script


@pytest.mark.parametrize("module", ["modem", "appliance"])
def test_programs_import_their_heavy_parts_inside_the_guard(module: str) -> None:
    # What a Ctrl-C can interrupt before main() runs is only what the CLI module imports.
    code = (
        f"import sys, {module}.cli; "
        "heavy = [m for m in ('serial', 'modem.driver', 'modem.engine', 'httpx', "
        "'cryptography', 'shtab') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == ""
