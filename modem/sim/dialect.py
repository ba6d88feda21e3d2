"""What the engine hands a persona, and what a persona hands back.

The engine (``engine.py``) owns the state machine: framing, echo, SIM, clocks,
registration and faults. A persona (``personas.py``) owns the words: identity
strings, the ICCID command, the vendor cell commands, error style and boot
URCs. This module is the narrow interface between the two, so personas never
reach into engine state.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from modem.sim.scenario import NrLeg, SimCell

__all__ = [
    "AtCommand",
    "CmeFailure",
    "CmsFailure",
    "CommandFailure",
    "Handler",
    "PersonaContext",
    "RadioView",
    "SyntaxFailure",
    "split_params",
]


def split_params(text: str) -> list[str]:
    """Split an argument list on commas outside double quotes; strip spaces and quotes."""
    params: list[str] = []
    current: list[str] = []
    quoted = False
    for char in text:
        if char == '"':
            quoted = not quoted
            continue
        if char == "," and not quoted:
            params.append("".join(current).strip())
            current = []
            continue
        current.append(char)
    params.append("".join(current).strip())
    return params


@dataclass(frozen=True, slots=True)
class AtCommand:
    """One command of a command line, split the V.250 way.

    Attributes:
        text: the command as typed, without the leading ``AT`` (``+CREG=2``, ``E0``).
        name: upper-cased name: ``+CREG``, ``#SERVINFO``, ``E``, ``&F``, ``I``.
        kind: ``"exec"`` (``AT+CSQ``), ``"read"`` (``?``), ``"test"`` (``=?``) or
            ``"set"`` (``=…``).
        args: the raw argument text after ``=`` (set) or the digits after a basic command.
    """

    text: str
    name: str
    kind: str
    args: str = ""

    @property
    def params(self) -> list[str]:
        """The arguments split on commas, quotes removed (empty list when there are none)."""
        return split_params(self.args) if self.args else []


class CommandFailure(Exception):  # noqa: N818 (a signal to the engine, not a user-facing error)
    """Raised by a handler to end the command with an error result instead of OK."""


class SyntaxFailure(CommandFailure):
    """V.250-level failure: plain ``ERROR`` (unknown command, unparsable arguments)."""


class CmeFailure(CommandFailure):
    """``+CME ERROR``: the engine prints it per ``+CMEE`` (plain, numeric or verbose)."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


class CmsFailure(CommandFailure):
    """``+CMS ERROR`` of an SMS command (27.005 §3.2.5)."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True, slots=True)
class RadioView:
    """The radio environment as the module sees it right now.

    The engine derives it from the scenario step, the radio state (``+CFUN``) and the SIM:
    with the radio off there is no serving cell; without a usable SIM the module is camped
    in limited service (``limited``) and not registered.
    """

    serving: SimCell | None
    nr_leg: NrLeg | None = None
    neighbours: tuple[SimCell, ...] = ()
    stat: int = 0
    cs_stat: int = 0
    registered: bool = False
    limited: bool = False
    reject_cause: int | None = None
    operator_long: str | None = None
    operator_short: str | None = None

    @property
    def plmn(self) -> str | None:
        """MCC and MNC of the serving cell as one string (``"22801"``)."""
        if self.serving is None or self.serving.mcc is None or self.serving.mnc is None:
            return None
        return self.serving.mcc + self.serving.mnc


@dataclass(slots=True)
class PersonaContext:
    """Everything a persona handler may read, plus a scratch area for vendor settings.

    Attributes:
        view: the radio environment.
        sim_present: a SIM is inserted.
        sim_state: the ``+CPIN`` word (``READY``, ``SIM PIN``…), or ``NOT INSERTED``.
        iccid: the SIM's ICCID (readable even while PIN-locked), ``None`` without a SIM.
        imsi: the SIM's IMSI, ``None`` unless the SIM is ready.
        pin_retries: PIN attempts left.
        puk_retries: PUK attempts left.
        settings: per-modem vendor settings (``+UCGED`` mode, ``#MONI`` cell…), kept
            by the engine across commands and reset at power-on.
    """

    view: RadioView
    sim_present: bool
    sim_state: str
    iccid: str | None
    imsi: str | None
    pin_retries: int
    puk_retries: int
    settings: dict[str, int] = field(default_factory=dict)


#: A persona command handler: answers information lines, or raises a CommandFailure.
Handler = Callable[[AtCommand, PersonaContext], list[str]]
