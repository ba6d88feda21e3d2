"""Errors raised by the ``appliance`` package.

::

    ApplianceError
    ├── ConfigError            a configuration value is missing or wrong; names the key
    ├── StateError             the state directory, key or counter file is unusable
    ├── QueueError             the on-disk queue directory is unusable
    ├── ReportError            an observation cannot be turned into a report (SIM not ready…)
    └── DaemonNotRunningError  ``status`` found no daemon behind the status socket

Modem failures stay ``modem.errors.ModemError`` and observation-format failures stay
``mlp.observation.ObservationError``; the daemon and the CLI translate both into states,
alerts and plain-words messages.
"""

from __future__ import annotations

__all__ = [
    "ApplianceError",
    "ConfigError",
    "DaemonNotRunningError",
    "QueueError",
    "ReportError",
    "StateError",
]


class ApplianceError(Exception):
    """Root of every error this package raises."""


class ConfigError(ApplianceError):
    """A configuration value is missing, of the wrong type or out of range.

    Attributes:
        key: the dotted key at fault (``modem.port``), or ``None`` for the file itself.
    """

    def __init__(self, message: str, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key


class StateError(ApplianceError):
    """The state directory, the signing key or the sequence counter cannot be used."""


class QueueError(ApplianceError):
    """The on-disk observation queue cannot be opened or written."""


class ReportError(ApplianceError):
    """An observation cannot become a report (no SIM identity, impossible values)."""


class DaemonNotRunningError(ApplianceError):
    """Nothing answers on the daemon's status socket."""
