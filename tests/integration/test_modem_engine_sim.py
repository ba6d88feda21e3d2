"""The AT engine and the Modem API against the simulator, fault by fault.

The simulator runs as a real subprocess (``salve-modem simulate``) on a pty or a
loopback TCP port, or in-process through ``sim://``; faults come from scenario files.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from modem import open_modem
from modem.engine import AtEngine
from modem.errors import CmeError, ModemTimeoutError, ModemUnavailableError
from modem.models import Registration, SimState

BASE_SCENARIO = """
persona = "quectel-ec25"

[sim]
imsi = "228011234567890"

[[steps]]
name = "site"
registration = "home"

[steps.serving]
rat = "LTE"
mcc = "228"
mnc = "01"
tac = 0x04D2
ci = 0x1A2B3C4
pci = 101
earfcn = 1300
band = 3
rsrp = -95.0
"""


class Simulator:
    """``salve-modem simulate`` as a subprocess with its control channel on stdin."""

    def __init__(self, process: subprocess.Popen[str], port: str) -> None:
        self.process = process
        self.port = port

    def control(self, **command: Any) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()
        while True:
            line = self.process.stdout.readline()
            if not line:
                pytest.fail(
                    f"simulator exited: {self.process.stderr and self.process.stderr.read()}"
                )
            try:
                answer = json.loads(line)
            except ValueError:
                continue
            if isinstance(answer, dict) and "ok" in answer:
                return answer


@pytest.fixture
def simulate(
    tmp_path: Path, salve_modem: Callable[..., list[str]], wait_until: Callable[..., None]
) -> Iterator[Callable[..., Simulator]]:
    processes: list[subprocess.Popen[str]] = []

    def start(
        faults: str = "", *, extra: str = "", tcp: bool = False, profile: str = "quectel-ec25"
    ) -> Simulator:
        scenario = tmp_path / f"scenario{len(processes)}.toml"
        scenario.write_text(BASE_SCENARIO + extra + ("\n[faults]\n" + faults if faults else ""))
        if tcp:
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                number = probe.getsockname()[1]
            mode = ["--tcp", f"127.0.0.1:{number}"]
            port = f"socket://127.0.0.1:{number}"
        else:
            link = tmp_path / f"ttySIM{len(processes)}"
            mode = ["--pty", "--link", str(link)]
            port = str(link)
        process = subprocess.Popen(
            salve_modem(
                "simulate", *mode, "--profile", profile, "--scenario", str(scenario), "--seed", "1"
            ),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        processes.append(process)
        assert process.stdout is not None
        announced = process.stdout.readline()
        if not announced:
            pytest.fail(f"simulator did not start: {process.stderr and process.stderr.read()}")
        if not tcp:
            wait_until(lambda: Path(port).exists(), what="the pty link")
        else:
            assert re.search(str(number), announced), announced
        return Simulator(process, port)

    yield start
    for process in processes:
        if process.stdin is not None:
            process.stdin.close()
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


@contextmanager
def engine_on(port: str, **kwargs: Any) -> Iterator[AtEngine]:
    engine = AtEngine(port, reconnect_interval=0.05, **kwargs)
    try:
        yield engine
    finally:
        engine.close()


def test_plain_pty(simulate: Callable[..., Simulator]) -> None:
    sim = simulate()
    with engine_on(sim.port) as engine:
        assert engine.command("AT") == []
        (line,) = engine.command("AT+CEREG?")
        assert line.startswith("+CEREG:")


def test_boot_delay(simulate: Callable[..., Simulator]) -> None:
    sim = simulate("boot_delay = 1.0\n")
    with open_modem(sim.port, ready_timeout=15) as modem:
        assert modem.identity().imei is not None


def test_echo_stuck_on(simulate: Callable[..., Simulator]) -> None:
    sim = simulate("echo_stuck = true\n")
    with engine_on(sim.port) as engine:
        assert engine.command("ATE0") == []
        assert engine.command("AT+CSQ") == [engine.command("AT+CSQ")[0]]
        assert engine.command("AT+CIMI") == ["228011234567890"]


def test_verbose_errors(simulate: Callable[..., Simulator]) -> None:
    sim = simulate("verbose_errors = true\n")
    assert sim.control(cmd="remove_sim") == {"ok": True}
    with engine_on(sim.port) as engine:
        with pytest.raises(CmeError) as info:
            engine.command("AT+CIMI")
        # The verbose text is kept as the name and resolved to its 27.007 code.
        assert info.value.name is not None
        assert "sim" in info.value.name.lower()
        assert info.value.code == 10


def test_verbose_sim_not_inserted(simulate: Callable[..., Simulator]) -> None:
    sim = simulate("verbose_errors = true\n")
    assert sim.control(cmd="remove_sim") == {"ok": True}
    with open_modem(sim.port) as modem:
        assert modem.sim().state is SimState.NOT_INSERTED


def test_nul_bytes_and_garbage(simulate: Callable[..., Simulator]) -> None:
    sim = simulate("nul_bytes = true\n")
    with engine_on(sim.port) as engine:
        assert engine.command("AT+CIMI") == ["228011234567890"]
        assert sim.control(cmd="garbage", data_hex="00ff fe c328 0d0a 1b5b 0d".replace(" ", ""))[
            "ok"
        ]
        assert engine.command("AT+CIMI") == ["228011234567890"]
        assert engine.command("AT") == []


def test_slow_answers_and_late_answers(simulate: Callable[..., Simulator]) -> None:
    sim = simulate("answer_delay = 0.4\n")
    with engine_on(sim.port) as engine:
        assert engine.command("AT+CIMI", timeout=3) == ["228011234567890"]
        with pytest.raises(ModemTimeoutError):
            engine.command("AT+CIMI", timeout=0.1)
        # The late IMSI answer must not become the answer to this command.
        lines = engine.command("AT+CEREG?", timeout=3)
        assert len(lines) == 1
        assert lines[0].startswith("+CEREG:")


@pytest.mark.parametrize("echo", ["ATE0", "ATE1"])
def test_late_answers_with_and_without_echo(simulate: Callable[..., Simulator], echo: str) -> None:
    sim = simulate("answer_delay = 0.3\n")
    with engine_on(sim.port) as engine:
        engine.command(echo, timeout=3)
        for _ in range(2):
            with pytest.raises(ModemTimeoutError):
                engine.command("AT+CGSN", timeout=0.05)
            assert engine.command("AT+CIMI", timeout=3) == ["228011234567890"]


def test_byte_by_byte_answers(simulate: Callable[..., Simulator]) -> None:
    sim = simulate("byte_interval = 0.002\n")
    with engine_on(sim.port) as engine:
        assert engine.command("AT+CIMI", timeout=5) == ["228011234567890"]


def test_no_answer(simulate: Callable[..., Simulator]) -> None:
    sim = simulate('no_answer = ["AT+COPS=?"]\n')
    with engine_on(sim.port) as engine:
        with pytest.raises(ModemTimeoutError) as info:
            engine.command("AT+COPS=?", timeout=0.3)
        assert info.value.command == "AT+COPS=?"
        assert engine.command("AT+CIMI", timeout=3) == ["228011234567890"]


def test_unplug_and_reappear_on_pty(
    simulate: Callable[..., Simulator], wait_until: Callable[..., None]
) -> None:
    sim = simulate()
    with engine_on(sim.port) as engine:
        assert engine.command("AT") == []
        assert sim.control(cmd="unplug", seconds=1.0)["ok"]
        wait_until(lambda: not engine.connected, what="the unplug to be noticed")
        with pytest.raises(ModemUnavailableError):
            engine.command("AT")
        wait_until(lambda: engine.connected, timeout=15, what="the port to come back")
        assert engine.generation >= 2
        wait_until(lambda: _answers(engine), timeout=15, what="the module to answer again")


def _answers(engine: AtEngine) -> bool:
    try:
        engine.command("AT", timeout=1)
    except (ModemTimeoutError, ModemUnavailableError, CmeError):
        return False
    return True


def test_socket_url_to_simulate_tcp(simulate: Callable[..., Simulator]) -> None:
    sim = simulate(tcp=True)
    with open_modem(sim.port) as modem:
        observation = modem.observe()
        assert observation.is_registered
        assert observation.serving is not None
        assert observation.serving.ci == 0x1A2B3C4


def test_in_process_sim_url() -> None:
    with open_modem("sim://quectel-ec25?scenario=demo") as modem:
        assert modem.profile.name.startswith("quectel")
        sim = modem.sim()
        assert sim.imsi == "228011234567890"
        assert sim.msisdn == "+41791234567"
        observation = modem.observe()
        serving = observation.serving
        assert serving is not None
        assert (serving.mcc, serving.mnc, serving.tac, serving.ci) == ("228", "01", 1234, 0x1A2B3C4)
        assert serving.pci == 101
        assert {n.pci for n in observation.neighbours} >= {102, 210}


def test_registration_urcs_report_the_move(
    simulate: Callable[..., Simulator], wait_until: Callable[..., None]
) -> None:
    extra = """
[[steps]]
name = "moved"
registration = "roaming"

[steps.serving]
rat = "LTE"
mcc = "262"
mnc = "01"
tac = 0x6A1B
ci = 0x2BD1E01
pci = 33
earfcn = 6300
band = 20
"""
    sim = simulate(extra=extra)
    seen: list[Registration] = []
    with open_modem(sim.port) as modem:
        modem.on_change(seen.append)
        modem.enable_registration_urcs()
        assert sim.control(cmd="goto", step="moved")["ok"]
        wait_until(lambda: any(r.ci == 0x2BD1E01 for r in seen), what="a URC for the new cell")
        observation = modem.observe()
        assert observation.serving is not None
        assert observation.serving.ci == 0x2BD1E01
        assert observation.serving.mcc == "262"


def test_in_process_unplug_and_reappear(tmp_path: Path, wait_until: Callable[..., None]) -> None:
    control_path = tmp_path / "control.sock"
    url = f"sim://quectel-ec25?scenario=demo&control={control_path}&name=unplug-test"
    with open_modem(url) as modem:
        assert modem.sim().imsi == "228011234567890"
        wait_until(control_path.exists, what="the control socket")
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as control:
            control.connect(str(control_path))
            control.sendall(b'{"cmd": "unplug", "seconds": 1.5}\n')
            assert json.loads(control.makefile().readline()) == {"ok": True}
        wait_until(lambda: not modem.connected, what="the unplug to be noticed")
        with pytest.raises(ModemUnavailableError):
            modem.observe()
        wait_until(lambda: modem.connected, what="the port to come back")
        assert modem.observe().is_registered


def test_silence_window_then_recovery(
    simulate: Callable[..., Simulator], wait_until: Callable[..., None]
) -> None:
    sim = simulate("[[faults.silence]]\nat = 0.0\nseconds = 1.5\n")
    with engine_on(sim.port) as engine:
        with pytest.raises(ModemTimeoutError):
            engine.command("AT+CIMI", timeout=0.3)
        wait_until(lambda: _answers(engine), timeout=15, what="the module to wake up")
        assert engine.command("AT+CIMI", timeout=3) == ["228011234567890"]


def test_scheduled_disconnect_and_reappear(
    simulate: Callable[..., Simulator], wait_until: Callable[..., None]
) -> None:
    sim = simulate("[[faults.disconnect]]\nat = 1.0\nseconds = 1.0\n")
    with engine_on(sim.port) as engine:
        assert engine.command("AT") == []
        wait_until(lambda: engine.generation >= 2, timeout=15, what="the port to come back")
        wait_until(lambda: _answers(engine), timeout=15, what="the module to answer again")
        assert engine.command("AT+CIMI", timeout=3) == ["228011234567890"]
