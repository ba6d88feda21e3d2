"""The test control channel: one JSON object per line in, one JSON object per line out.

Commands (identical for ``sim://``, ``--pty`` and ``--tcp``)::

    {"cmd": "goto", "step": "moved"}          jump the network timeline to a named step
    {"cmd": "unplug", "seconds": 2.5}         the port vanishes, then comes back
    {"cmd": "swap_sim", "imsi": "…", "iccid": "…", "msisdn": "…"}   msisdn optional
    {"cmd": "remove_sim"}
    {"cmd": "insert_sim"}
    {"cmd": "garbage", "data_hex": "00ff0d0a"}   raw bytes on the line
    {"cmd": "advance", "seconds": 30}         move the scenario clock forward

Answers are ``{"ok": true}`` or ``{"ok": false, "error": "<what was wrong>"}``; a bad
command changes nothing. This module is pure: it only calls the engine's methods.
"""

from __future__ import annotations

import json
import math
from typing import Any, Final

from modem.sim.engine import SimulatedModem
from modem.sim.errors import ControlError

__all__ = ["COMMANDS", "apply_control", "parse_control"]

#: Each command with its required and optional keys (besides "cmd").
COMMANDS: Final[dict[str, tuple[tuple[str, ...], tuple[str, ...]]]] = {
    "goto": (("step",), ()),
    "unplug": (("seconds",), ()),
    "swap_sim": (("imsi", "iccid"), ("msisdn",)),
    "remove_sim": ((), ()),
    "insert_sim": ((), ()),
    "garbage": (("data_hex",), ()),
    "advance": (("seconds",), ()),
}


def parse_control(line: str | bytes) -> dict[str, Any]:
    """Validate one control line and return it as a dict.

    Raises:
        ControlError: not JSON, not an object, unknown command, missing or unknown keys,
            or a value of the wrong type.
    """
    try:
        message = json.loads(line)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ControlError(f"not a JSON line: {exc}") from None
    if not isinstance(message, dict):
        raise ControlError('expected a JSON object such as {"cmd": "goto", "step": "moved"}')
    cmd = message.get("cmd")
    if cmd not in COMMANDS:
        raise ControlError(f"unknown cmd {cmd!r} (expected one of: {', '.join(COMMANDS)})")
    required, optional = COMMANDS[cmd]
    for key in required:
        if key not in message:
            raise ControlError(f"{cmd}: missing key {key!r}")
    for key in message:
        if key != "cmd" and key not in required and key not in optional:
            allowed = ", ".join(required + optional) or "none"
            raise ControlError(f"{cmd}: unknown key {key!r} (allowed: {allowed})")
    for key in ("step", "imsi", "iccid", "data_hex"):
        if key in message and not isinstance(message[key], str):
            raise ControlError(f"{cmd}: {key} must be a string")
    if "msisdn" in message and not isinstance(message["msisdn"], str | None):
        raise ControlError(f"{cmd}: msisdn must be a string or null")
    if "seconds" in message:
        seconds = message["seconds"]
        if (
            isinstance(seconds, bool)
            or not isinstance(seconds, int | float)
            or not math.isfinite(seconds)
        ):
            raise ControlError(f"{cmd}: seconds must be a number")
    return message


def apply_control(engine: SimulatedModem, line: str | bytes, now: float) -> dict[str, Any]:
    """Carry out one control line on ``engine`` and return the answer object.

    Never raises for bad input: the answer is ``{"ok": false, "error": …}`` instead.
    """
    try:
        message = parse_control(line)
        cmd = message["cmd"]
        if cmd == "goto":
            engine.goto(message["step"], now)
        elif cmd == "unplug":
            engine.unplug(float(message["seconds"]), now)
        elif cmd == "swap_sim":
            engine.swap_sim(
                now, imsi=message["imsi"], iccid=message["iccid"], msisdn=message.get("msisdn")
            )
        elif cmd == "remove_sim":
            engine.remove_sim(now)
        elif cmd == "insert_sim":
            engine.insert_sim(now)
        elif cmd == "garbage":
            try:
                data = bytes.fromhex(message["data_hex"])
            except ValueError:
                raise ControlError("garbage: data_hex is not hexadecimal byte pairs") from None
            if not data:
                raise ControlError("garbage: data_hex holds no bytes")
            engine.inject(data, now)
        else:
            engine.advance(float(message["seconds"]), now)
    except ControlError as exc:
        return {"ok": False, "error": str(exc)}
    return {"ok": True}
