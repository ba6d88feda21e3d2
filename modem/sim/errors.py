"""Errors raised by the simulated modem.

::

    ModemError                    (modem.errors)
    └── SimulatorError            anything the simulator refuses
        ├── ScenarioError         a scenario file or value that does not validate
        ├── UnknownPersonaError   a profile name that names no persona
        └── ControlError          a test control command that cannot be carried out

Errors of the simulated port itself (unplugged, closed) are raised as pyserial's
``SerialException`` by the URL handler, because that is what a real port raises.
"""

from __future__ import annotations

from modem.errors import ModemError

__all__ = ["ControlError", "ScenarioError", "SimulatorError", "UnknownPersonaError"]


class SimulatorError(ModemError):
    """Root of the simulator's errors."""


class ScenarioError(SimulatorError, ValueError):
    """A scenario (file, TOML text or parsed value) is invalid.

    The message names the source and the exact key path, e.g.
    ``demo.toml: steps[1].serving.tac: expected an integer, got 'x'``.
    """


class UnknownPersonaError(SimulatorError, ValueError):
    """The profile name is not one of the simulator's personas."""


class ControlError(SimulatorError, ValueError):
    """A control command is malformed or names something that does not exist."""
