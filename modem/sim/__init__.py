"""The simulated modem: a pure engine with vendor personas, scenario files and three ways in.

* :mod:`modem.sim.engine` — :class:`SimulatedModem`, the sans-IO state machine
  (command lines in, answers and URCs out, on a caller-supplied clock).
* :mod:`modem.sim.personas` — how each module family words its answers.
* :mod:`modem.sim.vendors` — the vendor command handlers, printed from the parsers'
  layout tables.
* :mod:`modem.sim.scenario` — the TOML scenario format (SIM, network timeline, faults).
* :mod:`modem.sim.control` — the JSON-lines test control channel.
* :mod:`modem.sim.urlhandler.protocol_sim` — ``sim://`` for pyserial, in-process.
* :mod:`modem.sim.serve` — ``salve-modem simulate --pty`` / ``--tcp``.
* :mod:`modem.sim.live` — the real-time, thread-safe wrapper and the in-process registry.

Importing this package loads only the pure parts; the I/O modules load on their own.
"""

from __future__ import annotations

from modem.sim.engine import SentMessage, SimulatedModem, create_modem
from modem.sim.errors import ControlError, ScenarioError, SimulatorError, UnknownPersonaError
from modem.sim.personas import PERSONA_NAMES, Persona, get_persona
from modem.sim.scenario import Scenario, load_scenario, parse_scenario, shipped_scenarios

__all__ = [
    "PERSONA_NAMES",
    "ControlError",
    "Persona",
    "Scenario",
    "ScenarioError",
    "SentMessage",
    "SimulatedModem",
    "SimulatorError",
    "UnknownPersonaError",
    "create_modem",
    "get_persona",
    "load_scenario",
    "parse_scenario",
    "shipped_scenarios",
]
