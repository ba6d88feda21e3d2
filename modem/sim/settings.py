"""The module's volatile settings and the commands that only change them.

Framing (``E``, ``V``, ``Q``), error reporting (``+CMEE``), registration URC levels
(``+CxREG=<n>``), the ``+COPS`` format, the radio (``+CFUN``), SMS mode (``+CMGF``) and
vendor settings all return to their power-on values when the module boots; ``ATZ`` and
``AT&F`` restore the profile part of them. The commands that read or change nothing but
these settings are listed in :data:`SETTINGS_COMMANDS`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from modem.sim.dialect import AtCommand, SyntaxFailure

__all__ = ["SETTINGS_COMMANDS", "ModuleSettings", "basic_value"]


@dataclass(slots=True)
class ModuleSettings:
    """The settings of a powered-on module.

    Attributes:
        default_cmee: ``+CMEE`` after power-on and ``ATZ``.
        echo: ``E1``, command lines are echoed.
        verbose: ``V1``, verbose result codes and framing.
        quiet: ``Q1``, no final result codes.
        cmee: ``+CMEE`` (0 plain, 1 numeric, 2 verbose).
        reg_n: the URC level ``<n>`` of each registration domain.
        cops_format: the ``+COPS`` operator format (0 long, 1 short, 2 numeric).
        cfun: ``+CFUN`` (1: radio on).
        deregistered: ``+COPS=2`` is in force.
        cmgf: ``+CMGF`` (0 PDU, 1 text).
        vendor: per-persona settings (``+UCGED`` mode, ``#MONI`` cell...).
    """

    default_cmee: int
    echo: bool = True
    verbose: bool = True
    quiet: bool = False
    cmee: int = 0
    reg_n: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(("CREG", "CGREG", "CEREG", "C5GREG"), 0)
    )
    cops_format: int = 0
    cfun: int = 1
    deregistered: bool = False
    cmgf: int = 0
    vendor: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.cmee = self.default_cmee

    def restore_profile(self) -> None:
        """Framing, error reporting, URC levels and the ``+COPS`` format to their defaults."""
        self.echo = True
        self.verbose = True
        self.quiet = False
        self.cmee = self.default_cmee
        self.reg_n = dict.fromkeys(self.reg_n, 0)
        self.cops_format = 0

    def at(self, command: AtCommand) -> list[str]:
        """``AT`` alone: nothing to do."""
        return []

    def ate(self, command: AtCommand) -> list[str]:
        """``ATE<n>``: echo off or on."""
        self.echo = basic_value(command, (0, 1)) == 1
        return []

    def atv(self, command: AtCommand) -> list[str]:
        """``ATV<n>``: numeric or verbose result codes."""
        self.verbose = basic_value(command, (0, 1)) == 1
        return []

    def atq(self, command: AtCommand) -> list[str]:
        """``ATQ<n>``: result codes on or off."""
        self.quiet = basic_value(command, (0, 1)) == 1
        return []

    def atz(self, command: AtCommand) -> list[str]:
        """``ATZ`` and ``AT&F``: restore the profile."""
        basic_value(command, (0,))
        self.restore_profile()
        return []

    def accept_basic(self, command: AtCommand) -> list[str]:
        """``ATX``, ``AT&C``, ``AT&D``: accepted and without effect on the simulation."""
        basic_value(command, (0, 1, 2, 3, 4))
        return []

    def cmee_command(self, command: AtCommand) -> list[str]:
        """``AT+CMEE``: how ``+CME ERROR`` is reported (27.007 §9.1)."""
        if command.kind == "read":
            return [f"+CMEE: {self.cmee}"]
        if command.kind == "test":
            return ["+CMEE: (0-2)"]
        if command.kind == "set" and command.params in (["0"], ["1"], ["2"]):
            self.cmee = int(command.params[0])
            return []
        raise SyntaxFailure(command.text)

    def cmgf_command(self, command: AtCommand) -> list[str]:
        """``AT+CMGF``: SMS in PDU or text mode (27.005 §3.2.3)."""
        if command.kind == "read":
            return [f"+CMGF: {self.cmgf}"]
        if command.kind == "test":
            return ["+CMGF: (0-1)"]
        if command.kind == "set" and command.params in (["0"], ["1"]):
            self.cmgf = int(command.params[0])
            return []
        raise SyntaxFailure(command.text)


def basic_value(command: AtCommand, allowed: tuple[int, ...]) -> int:
    """The number after a basic command (none: 0).

    Raises:
        SyntaxFailure: a number not in ``allowed``.
    """
    value = int(command.args) if command.args else 0
    if value not in allowed:
        raise SyntaxFailure(command.text)
    return value


#: The commands that read or change only the settings, by name.
SETTINGS_COMMANDS: Final[dict[str, Callable[[ModuleSettings, AtCommand], list[str]]]] = {
    "": ModuleSettings.at,
    "E": ModuleSettings.ate,
    "V": ModuleSettings.atv,
    "Q": ModuleSettings.atq,
    "Z": ModuleSettings.atz,
    "&F": ModuleSettings.atz,
    "X": ModuleSettings.accept_basic,
    "&C": ModuleSettings.accept_basic,
    "&D": ModuleSettings.accept_basic,
    "+CMEE": ModuleSettings.cmee_command,
    "+CMGF": ModuleSettings.cmgf_command,
}
