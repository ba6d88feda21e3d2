"""The simulator served by a real process: on a pty (pyserial) and on loopback TCP."""

from __future__ import annotations

import io
import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import serial

from modem.sim.serve import run_simulator

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="pty and unix sockets: POSIX")


class Simulator:
    """A `run_simulator` process with its stdout lines in a queue and stdin for control."""

    def __init__(self, *, scenario: str, pty: bool, link: Path | None = None) -> None:
        tcp = "None" if pty else "('127.0.0.1', 0)"
        link_arg = "None" if link is None else f"Path({str(link)!r})"
        code = (
            "import sys; from pathlib import Path; from modem.sim.serve import run_simulator; "
            f"sys.exit(run_simulator(None, {scenario!r}, 0, pty={pty}, link={link_arg}, "
            f"tcp={tcp}))"
        )
        self.process = subprocess.Popen(
            [sys.executable, "-c", code],
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))

    def next_line(self, timeout: float = 10.0) -> str:
        try:
            return self.lines.get(timeout=timeout)
        except queue.Empty:
            pytest.fail(f"simulator printed nothing within {timeout} s")

    def control(self, message: dict[str, object]) -> dict[str, object]:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(message) + "\n")
        self.process.stdin.flush()
        answer: dict[str, object] = json.loads(self.next_line())
        return answer

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=10)
        finally:
            for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
                if stream is not None:
                    stream.close()
        return code


@pytest.fixture
def simulators() -> Iterator[list[Simulator]]:
    started: list[Simulator] = []
    yield started
    for simulator in started:
        if simulator.process.poll() is None:
            simulator.process.kill()
            simulator.process.wait(timeout=10)
        for stream in (simulator.process.stdin, simulator.process.stdout, simulator.process.stderr):
            if stream is not None and not stream.closed:
                stream.close()


def wait_for(condition: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.02)  # polling with a deadline


def at_command(port: serial.SerialBase, line: str, marker: bytes = b"OK\r\n") -> bytes:
    port.write(line.encode() + b"\r")
    deadline = time.monotonic() + 5
    data = b""
    while marker not in data:
        assert time.monotonic() < deadline, f"no answer to {line}: {data!r}"
        data += port.read(256)
    return data


def test_pty_with_link_control_and_unplug(tmp_path: Path, simulators: list[Simulator]) -> None:
    link = tmp_path / "ttySIM"
    simulator = Simulator(scenario="demo", pty=True, link=link)
    simulators.append(simulator)
    first_path = simulator.next_line()
    assert first_path.startswith("/dev/")
    assert os.readlink(link) == first_path

    port = serial.Serial(str(link), timeout=0.05)
    try:
        assert at_command(port, "ATE0") == b"ATE0\r\r\nOK\r\n"
        assert at_command(port, "AT+CGMI") == b"\r\nQuectel\r\n\r\nOK\r\n"
        at_command(port, "AT+CEREG=2")
        assert simulator.control({"cmd": "goto", "step": "moved"}) == {"ok": True}
        assert at_command(port, "", b",7\r\n").endswith(b'+CEREG: 5,"6A1B","2BD1E01",7\r\n')
        assert simulator.control({"cmd": "warp"})["ok"] is False

        assert simulator.control({"cmd": "unplug", "seconds": 0.5}) == {"ok": True}
        with pytest.raises(serial.SerialException):
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                port.read(1)
    finally:
        port.close()

    second_path = simulator.next_line()
    assert second_path.startswith("/dev/")
    wait_for(lambda: link.is_symlink() and os.readlink(link) == second_path)
    port = serial.Serial(str(link), timeout=0.05)
    try:
        # Rebooted (boot URCs may still be in the pty buffer): echo is on again, and the
        # network is still where the test moved it.
        assert at_command(port, "AT+COPS=3,2;+COPS?").endswith(
            b'AT+COPS=3,2;+COPS?\r\r\n+COPS: 0,2,"26201",7\r\n\r\nOK\r\n'
        )
    finally:
        port.close()
    assert simulator.stop() == 0
    assert not link.exists()


def test_tcp_one_client_unplug_refuses_then_returns(simulators: list[Simulator]) -> None:
    simulator = Simulator(scenario="default", pty=False)
    simulators.append(simulator)
    host, _, port_text = simulator.next_line().rpartition(":")
    address = (host, int(port_text))
    assert host == "127.0.0.1"

    client = serial.serial_for_url(f"socket://{host}:{port_text}", timeout=0.05)
    try:
        assert at_command(client, "AT+CGMM") == b"AT+CGMM\r\r\nEC25\r\n\r\nOK\r\n"
        with socket.create_connection(address, timeout=5) as intruder:
            assert intruder.recv(16) == b""  # busy: closed at once
        assert simulator.control({"cmd": "unplug", "seconds": 1.0}) == {"ok": True}

        def refused() -> bool:
            try:
                socket.create_connection(address, timeout=1).close()
            except ConnectionRefusedError:
                return True
            return False

        wait_for(refused)
    finally:
        client.close()
    assert simulator.next_line() == f"{host}:{port_text}"  # back on the same address
    client = serial.serial_for_url(f"socket://{host}:{port_text}", timeout=0.05)
    try:
        # Boot URCs of the replugged modem may come first.
        assert at_command(client, "AT").endswith(b"AT\r\r\nOK\r\n")
    finally:
        client.close()
    assert simulator.stop() == 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"pty": True, "link": None, "tcp": ("127.0.0.1", 0)}, "choose exactly one"),
        ({"pty": False, "link": Path("x"), "tcp": ("127.0.0.1", 0)}, "--link only goes with"),
        ({"pty": False, "link": None, "tcp": ("192.0.2.1", 7700)}, "not a loopback address"),
    ],
)
def test_run_simulator_refuses_bad_arguments(
    kwargs: dict[str, object], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_simulator(None, "demo", 0, control_stream=io.StringIO(), **kwargs) == 2  # type: ignore[arg-type]
    err = capsys.readouterr().err
    assert err.startswith("salve-modem: ") and message in err and "error:" not in err


def test_run_simulator_refuses_bad_profile_and_scenario(
    capsys: pytest.CaptureFixture[str],
) -> None:
    kwargs = {"pty": True, "link": None, "tcp": None, "control_stream": io.StringIO()}
    assert run_simulator("nokia", "demo", 0, **kwargs) == 2  # type: ignore[arg-type]
    assert "unknown modem profile 'nokia'" in capsys.readouterr().err
    assert run_simulator(None, "atlantis", 0, **kwargs) == 2  # type: ignore[arg-type]
    assert "no shipped scenario named 'atlantis'" in capsys.readouterr().err
