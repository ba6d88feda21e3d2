"""Splitting an AT command line into commands (V.250 §5.2).

Basic commands (``E0``, ``&F``, ``V1``) chain without separators; extended ones (``+CREG=2``,
``#SERVINFO``, ``^MONSC``) end at ``;`` outside quotes.
"""

from __future__ import annotations

from typing import Final

from modem.sim.dialect import AtCommand, SyntaxFailure

__all__ = ["split_command_line"]

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
