"""``Modem`` behaviour beyond the shared API checks: startup, closing, reconnects, state."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from pathlib import Path

import pytest

from modem import Modem, open_modem
from modem.engine import AtEngine
from modem.errors import ModemStateError, ModemTimeoutError
from modem.models import Registration


def _control(path: Path, command: dict[str, object]) -> dict[str, object]:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as control:
        control.connect(str(path))
        control.sendall(json.dumps(command).encode() + b"\n")
        answer: dict[str, object] = json.loads(control.makefile().readline())
        return answer


def test_closed_modem_refuses_work() -> None:
    modem = open_modem("sim://quectel-ec25?name=closed-test")
    modem.close()
    assert not modem.connected
    with pytest.raises(ModemStateError):
        modem.observe()


def test_bad_timeouts_are_refused_and_the_port_is_released() -> None:
    engine = AtEngine("sim://quectel-ec25?name=timeouts-test")
    with pytest.raises(ValueError):
        Modem(engine, command_timeout=0)
    assert not engine.connected


def test_a_module_that_never_answers_times_out_at_start(tmp_path: Path) -> None:
    scenario = tmp_path / "hung.toml"
    scenario.write_text(
        'persona = "quectel-ec25"\n\n[[steps]]\nname = "s"\nregistration = "home"\n\n'
        '[steps.serving]\nrat = "LTE"\nmcc = "228"\nmnc = "01"\ntac = 1\nci = 1\n\n'
        '[faults]\nno_answer = ["AT"]\n'
    )
    with pytest.raises(ModemTimeoutError) as info:
        open_modem(f"sim://quectel-ec25?scenario={scenario}", ready_timeout=1.5)
    assert info.value.command == "AT"


def test_no_modem_state_is_changed_by_observing() -> None:
    url = "sim://quectel-ec25?scenario=demo&name=untouched-test"
    with open_modem(url) as modem:
        before = {c: modem.engine.command(c) for c in ("AT+CFUN?", "AT+COPS?", "AT+CEREG?")}
        modem.identity()
        modem.sim()
        modem.observe()
        after = {c: modem.engine.command(c) for c in before}
    assert after == before


def test_registration_urcs_come_back_after_a_reconnect(
    tmp_path: Path, wait_until: Callable[..., None]
) -> None:
    control_path = tmp_path / "control.sock"
    url = f"sim://quectel-ec25?scenario=demo&control={control_path}&name=urc-reconnect"
    seen: list[Registration] = []
    with open_modem(url) as modem:
        modem.on_change(seen.append)
        modem.enable_registration_urcs()
        wait_until(control_path.exists, what="the control socket")
        assert _control(control_path, {"cmd": "unplug", "seconds": 0.5}) == {"ok": True}
        wait_until(lambda: modem.engine.generation >= 2, what="the reconnect")

        def observed() -> bool:
            try:
                modem.observe()
            except Exception:
                return False
            return True

        # The first successful call after the reconnect enables the URCs again.
        wait_until(observed, timeout=20, what="the module to answer after replug")
        assert _control(control_path, {"cmd": "goto", "step": "moved"}) == {"ok": True}
        wait_until(lambda: any(r.ci == 0x2BD1E01 for r in seen), what="a URC after replug")


@pytest.mark.parametrize(
    "persona",
    ["quectel-ec25", "quectel-rm500q", "sierra-em7565", "huawei-me909s", "fibocom-l850"],
)
def test_neighbours_where_the_vendor_gives_them(persona: str) -> None:
    with open_modem(f"sim://{persona}") as modem:
        observation = modem.observe()
    assert observation.neighbours, f"{persona} reports neighbour cells"
    assert any(n.pci == 102 for n in observation.neighbours)
    serving = observation.serving
    assert serving is not None
    assert serving.pci == 101


def test_profile_setup_commands_are_accepted_by_the_persona() -> None:
    # The Telit profile selects the all-cells #MONI mode before reading cells; if the
    # module refused it, the driver would record the command as unsupported.
    with open_modem("sim://telit-le910?name=telit-setup-test") as modem:
        observation = modem.observe()
        assert modem.profile.name == "telit"
        assert not any("MONI" in command for command in modem.unsupported_commands)
        assert observation.serving is not None and observation.serving.is_identified
