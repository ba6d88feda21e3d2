"""Errors raised by the ``modem`` package.

::

    ModemError
    ├── ParseError                 a parser met text it cannot understand (pure layer)
    ├── ModemUnavailableError      port missing, busy, permission denied, vanished (EIO, EOF)
    ├── ModemTimeoutError          no final result in time; carries command and partial lines
    ├── ModemProtocolError         the module sent something the engine cannot frame
    ├── ModemStateError            API misuse: closed engine, SIM not ready for the request
    └── CommandError               final result ERROR (or COMMAND NOT SUPPORT, NO CARRIER…)
        ├── CmeError               +CME ERROR: code or text (27.007 §9.2)
        └── CmsError               +CMS ERROR: code or text (27.005 §3.2.5)

Wrong argument values from callers stay ``ValueError``/``TypeError``.
"""

from __future__ import annotations

__all__ = [
    "CmeError",
    "CmsError",
    "CommandError",
    "ModemError",
    "ModemProtocolError",
    "ModemStateError",
    "ModemTimeoutError",
    "ModemUnavailableError",
    "ParseError",
]


class ModemError(Exception):
    """Root of every error this package raises."""


class ParseError(ModemError):
    """Text from a module that a parser cannot turn into a typed value.

    Attributes:
        text: the offending input (possibly truncated to 200 characters).
    """

    def __init__(self, message: str, text: str = "") -> None:
        super().__init__(message)
        self.text = text[:200]


class ModemUnavailableError(ModemError):
    """The port cannot be opened or has gone away (unplugged, re-enumerated, busy)."""


class ModemTimeoutError(ModemError, TimeoutError):
    """No final result code arrived within the command's timeout.

    Attributes:
        command: the command line that was sent.
        partial: the information lines received before the timeout.
    """

    def __init__(self, command: str, timeout: float, partial: tuple[str, ...] = ()) -> None:
        super().__init__(f"{command!r}: no final result within {timeout:g} s")
        self.command = command
        self.timeout = timeout
        self.partial = partial


class ModemProtocolError(ModemError):
    """The module's output cannot be framed or makes no sense for the command."""


class ModemStateError(ModemError):
    """The request does not fit the current state (engine closed, SIM locked…)."""


class CommandError(ModemError):
    """The module answered a command with a final error result.

    Attributes:
        command: the command line that failed.
        result: the final result line as received (``ERROR``, ``NO CARRIER``…).
        lines: information lines received before the final result.
    """

    def __init__(self, command: str, result: str, lines: tuple[str, ...] = ()) -> None:
        super().__init__(f"{command!r} failed: {result}")
        self.command = command
        self.result = result
        self.lines = lines


class _CodedCommandError(CommandError):
    """A final error result that carries a numeric ``code`` and/or a ``name``."""

    def __init__(
        self,
        command: str,
        result: str,
        code: int | None,
        name: str | None,
        lines: tuple[str, ...] = (),
    ) -> None:
        super().__init__(command, result, lines)
        self.code = code
        self.name = name


class CmeError(_CodedCommandError):
    """``+CME ERROR``: mobile equipment error (27.007 §9.2)."""


class CmsError(_CodedCommandError):
    """``+CMS ERROR``: message service error, SMS (27.005 §3.2.5)."""
