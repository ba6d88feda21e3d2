"""V.250 command lines and the 27.007 / 27.005 error texts the simulated modem prints.

A command line (what follows ``AT``) holds basic commands chained without separators
and extended ones separated by ``;`` (V.250 §5.2-§5.4); :func:`split_command_line` turns
it into :class:`~modem.sim.dialect.AtCommand` values. ``CME_TEXT`` and ``CMS_TEXT`` are the
verbose texts of ``+CME ERROR`` (27.007 §9.2) and ``+CMS ERROR`` (27.005 §3.2.5) codes.
"""

from __future__ import annotations

from typing import Final

from modem.sim.dialect import AtCommand, SyntaxFailure

__all__ = ["CME_TEXT", "CMS_TEXT", "UnknownCommand", "split_command_line"]

CME_TEXT: Final[dict[int, str]] = {
    0: "phone failure",
    3: "operation not allowed",
    4: "operation not supported",
    10: "SIM not inserted",
    11: "SIM PIN required",
    12: "SIM PUK required",
    13: "SIM failure",
    14: "SIM busy",
    16: "incorrect password",
    30: "no network service",
    50: "incorrect parameters",
    100: "unknown",
}

#: Verbose texts of the +CMS ERROR codes the simulator uses (27.005 §3.2.5).
CMS_TEXT: Final[dict[int, str]] = {
    302: "operation not allowed",
    304: "invalid PDU mode parameter",
    305: "invalid text mode parameter",
    310: "SIM not inserted",
    311: "SIM PIN required",
    316: "SIM PUK required",
    331: "no network service",
    500: "unknown error",
}


class UnknownCommand(SyntaxFailure):
    """A command the persona does not know: answered with the persona's own word."""


_EXTENDED_START: Final = frozenset("+#!^$%*")


def split_command_line(body: str) -> list[AtCommand]:
    """Split what follows ``AT`` into commands (V.250 §5.2: basic ones chained, extended by ;).

    Raises:
        SyntaxFailure: a character that starts no command.
    """
    commands: list[AtCommand] = []
    index = 0
    if not body:
        return [AtCommand(text="", name="", kind="exec")]
    while index < len(body):
        char = body[index]
        if char in " ;":
            index += 1
            continue
        if char in _EXTENDED_START:
            end = index
            quoted = False
            while end < len(body) and (quoted or body[end] != ";"):
                if body[end] == '"':
                    quoted = not quoted
                end += 1
            commands.append(_extended(body[index:end]))
            index = end
            continue
        if char == "&":
            name = "&" + body[index + 1 : index + 2].upper()
            index += 2
        elif char.isalpha():
            name = char.upper()
            index += 1
        else:
            raise SyntaxFailure(body)
        digits_end = index
        while digits_end < len(body) and body[digits_end].isdigit():
            digits_end += 1
        commands.append(
            AtCommand(text=name + body[index:digits_end], name=name, kind="exec",
                      args=body[index:digits_end])
        )  # fmt: skip
        index = digits_end
    return commands


def _extended(text: str) -> AtCommand:
    stripped = text.strip()
    cut = len(stripped)
    for marker in "=?":
        position = stripped.find(marker)
        if position != -1:
            cut = min(cut, position)
    name = stripped[:cut].upper().strip()
    rest = stripped[cut:]
    if rest == "":
        return AtCommand(text=stripped, name=name, kind="exec")
    if rest == "?":
        return AtCommand(text=stripped, name=name, kind="read")
    if rest == "=?":
        return AtCommand(text=stripped, name=name, kind="test")
    if rest.startswith("="):
        return AtCommand(text=stripped, name=name, kind="set", args=rest[1:])
    raise SyntaxFailure(text)
