"""The shared modem API checks, plus a polling soak and reset recovery, on a real module."""

from __future__ import annotations

import importlib.util
import os
import select
import time
from pathlib import Path
from types import ModuleType

import pytest

from modem import open_modem
from modem.engine import AtEngine
from modem.errors import ModemError


def _load_shared_checks() -> ModuleType:
    path = Path(__file__).resolve().parents[1] / "tests" / "integration" / "test_modem_api.py"
    spec = importlib.util.spec_from_file_location("shared_modem_api_checks", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_shared = _load_shared_checks()

# The very same functions the simulator suite runs, here with the real port.
test_identity_with_luhn_imei = _shared.test_identity_with_luhn_imei
test_sim_identity = _shared.test_sim_identity
test_registration = _shared.test_registration
test_serving_cell_present_when_registered = _shared.test_serving_cell_present_when_registered
test_unsupported_commands_cost_nothing_in_later_cycles = (
    _shared.test_unsupported_commands_cost_nothing_in_later_cycles
)

#: Ten minutes by default; SALVE_HW_SOAK_SECONDS shortens it (a quick bench check).
SOAK_SECONDS = float(os.environ.get("SALVE_HW_SOAK_SECONDS", "600"))
SOAK_INTERVAL = 5.0
RECOVERY_SECONDS = 180.0
#: The AT+CFUN=1,1 answer may take this long before the port goes away.
RESET_COMMAND_S = 15.0


def _pause(seconds: float) -> None:
    # Pacing a polling loop against real hardware, not waiting out a race.
    select.select([], [], [], seconds)


@pytest.mark.slow
# The soak itself, plus one slow cycle and the module's start-up.
@pytest.mark.timeout(SOAK_SECONDS + 120)
def test_polling_soak(port_url: str) -> None:
    """Ten minutes of observation cycles: no errors, the serving cell always identified."""
    cycles = 0
    costs: list[int] = []
    with open_modem(port_url) as modem:
        deadline = time.monotonic() + SOAK_SECONDS
        while time.monotonic() < deadline:
            before = modem.commands_sent
            observation = modem.observe()
            costs.append(modem.commands_sent - before)
            if observation.is_registered:
                assert observation.serving is not None
                assert observation.serving.is_identified, observation.serving
            cycles += 1
            _pause(min(SOAK_INTERVAL, max(0.0, deadline - time.monotonic())))
    assert cycles >= max(1, int(SOAK_SECONDS / (SOAK_INTERVAL + 10)))
    # Unsupported commands are skipped after the first cycle, so the cost never grows.
    assert max(costs[1:], default=costs[0]) <= costs[0]


# The reset, the wait for the module, and one open with its own ready wait.
@pytest.mark.timeout(RESET_COMMAND_S + RECOVERY_SECONDS + 60)
def test_recovery_after_module_reset(port_url: str) -> None:
    """``AT+CFUN=1,1`` restarts the module (USB re-enumerates); the API comes back."""
    with AtEngine(port_url) as engine:
        try:
            engine.command("AT+CFUN=1,1", timeout=RESET_COMMAND_S)
        except ModemError:
            pass  # the port may vanish before the OK arrives
    deadline = time.monotonic() + RECOVERY_SECONDS
    last_error: ModemError | None = None
    while time.monotonic() < deadline:
        try:
            with open_modem(port_url, ready_timeout=30) as modem:
                observation = modem.observe()
                if observation.is_registered and observation.serving is not None:
                    return
        except ModemError as exc:
            last_error = exc
        _pause(2.0)
    pytest.fail(
        f"the module did not come back registered within {RECOVERY_SECONDS:g} s: {last_error}"
    )
