"""``salve-modem`` as a subprocess: probe, parse, simulate, and the words of its failures."""

from __future__ import annotations

import contextlib
import json
import os
import pty
import signal
import socket
import subprocess
import tty
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from modem.transport import open_port

Command = Callable[..., list[str]]


def run(
    argv: list[str], *, stdin: str = "", timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv, input=stdin, capture_output=True, text=True, timeout=timeout, check=False
    )


def assert_no_traceback(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stderr
    assert "Traceback" not in result.stdout


def test_help_documents_exit_codes(salve_modem: Command) -> None:
    result = run(salve_modem("--help"))
    assert result.returncode == 0
    for words in ("0  ok", "2  usage", "3  port unavailable", "4  SIM problem", "5  no service"):
        assert words in result.stdout
    probe_help = run(salve_modem("probe", "--help"))
    assert "--baudrate" in probe_help.stdout
    assert "--timeout" in probe_help.stdout
    assert "3  port unavailable" in probe_help.stdout


def test_usage_errors_exit_2(salve_modem: Command) -> None:
    assert run(salve_modem()).returncode == 2
    assert run(salve_modem("probe")).returncode == 2
    assert run(salve_modem("probe", "sim://x", "--timeout", "soon")).returncode == 2
    assert run(salve_modem("probe", "sim://x", "--timeout", "-1")).returncode == 2
    assert run(salve_modem("probe", "sim://x", "--baudrate", "fast")).returncode == 2
    assert run(salve_modem("simulate")).returncode == 2
    assert run(salve_modem("simulate", "--tcp", "nohostport")).returncode == 2
    assert run(salve_modem("simulate", "--tcp", "127.0.0.1:1", "--link", "x")).returncode == 2


def test_missing_port_is_plain_words_and_exit_3(salve_modem: Command, tmp_path: Path) -> None:
    result = run(salve_modem("probe", str(tmp_path / "ttyUSB7")))
    assert result.returncode == 3
    assert "no such port" in result.stderr
    assert_no_traceback(result)


def test_busy_port_names_the_holder_and_exits_3(salve_modem: Command) -> None:
    controller, device = pty.openpty()
    tty.setraw(device)
    path = os.ttyname(device)
    holder = open_port(path)
    try:
        result = run(salve_modem("probe", path, "--timeout", "1"))
    finally:
        holder.close()
        os.close(controller)
        os.close(device)
    assert result.returncode == 3
    assert "busy" in result.stderr
    assert "pid" in result.stderr or "ModemManager" in result.stderr
    assert_no_traceback(result)


def test_unknown_scheme_is_a_usage_error(salve_modem: Command) -> None:
    result = run(salve_modem("probe", "nosuch://port"))
    assert result.returncode == 2
    assert "unknown port scheme" in result.stderr
    assert_no_traceback(result)


def test_probe_table_against_sim(salve_modem: Command) -> None:
    result = run(salve_modem("probe", "sim://quectel-ec25?scenario=demo"))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for words in ("Quectel", "IMSI", "228011234567890", "Serving cell", "Global id", "Signal"):
        assert words in out, out
    assert "CI 27440068 (0x1A2B3C4)" in out
    assert "PCI 101" in out
    assert_no_traceback(result)


def test_probe_json_against_sim(salve_modem: Command) -> None:
    result = run(salve_modem("probe", "--json", "sim://quectel-ec25?scenario=demo"))
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["sim"]["state"] == "READY"
    assert report["sim"]["imsi"] == "228011234567890"
    serving = report["observation"]["serving"]
    assert (serving["mcc"], serving["mnc"], serving["tac"], serving["ci"]) == (
        "228",
        "01",
        1234,
        0x1A2B3C4,
    )
    assert serving["global_id"]
    assert report["observation"]["registered"] is True
    assert report["commands_sent"] > 0
    pcis = {n["pci"] for n in report["observation"]["neighbours"]}
    assert {102, 210} <= pcis


def test_parse_understood_input_exits_0(salve_modem: Command) -> None:
    answer = 'AT+CEREG?\r\r\n+CEREG: 2,1,"04D2","01A2B3C4",7\r\n\r\nOK\r\n'
    result = run(salve_modem("parse", "AT+CEREG?"), stdin=answer)
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert records[0]["type"] == "registration"
    assert records[0]["tac"] == 0x04D2
    assert records[0]["ci"] == 0x01A2B3C4


def test_parse_urc_reads_a_log_of_unsolicited_lines(salve_modem: Command) -> None:
    log = 'RDY\r\n+CREG: 1,0001,0010,0\r\n^HCSQ: "LTE",56,46,161,20\r\n+CPIN: READY\r\n'
    result = run(salve_modem("parse", "URC"), stdin=log)
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["type"] for r in records] == ["event", "registration", "signal", "sim_state"]
    # Four fields in a URC are <stat>,<lac>,<ci>,<AcT>, not a read answer's <n>,<stat>,…
    assert (records[1]["n"], records[1]["stat"], records[1]["lac"], records[1]["ci"]) == (
        None, 1, 1, 0x10)  # fmt: skip
    assert records[1]["unsolicited"] is True
    assert_no_traceback(result)


def test_parse_nothing_understood_exits_1(salve_modem: Command) -> None:
    result = run(salve_modem("parse", "AT+CEREG?"), stdin="hello\r\nOK\r\n")
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.splitlines()[-1].startswith("salve-modem: parse: nothing in the input")
    assert_no_traceback(result)


def test_parse_without_command_exits_2(salve_modem: Command) -> None:
    assert run(salve_modem("parse"), stdin="OK").returncode == 2


@pytest.mark.parametrize("level", ["trace", "debug", "info", "warning", "error"])
def test_log_levels_are_accepted(salve_modem: Command, level: str, tmp_path: Path) -> None:
    result = run(salve_modem("--log-level", level, "probe", str(tmp_path / "none")))
    assert result.returncode == 3
    assert_no_traceback(result)


@dataclass
class Watch:
    """A running ``salve-modem watch --json`` of the simulator and its control socket."""

    process: subprocess.Popen[str]
    control_path: Path

    def line(self) -> dict[str, Any]:
        """The next JSON line it printed."""
        assert self.process.stdout is not None
        line: dict[str, Any] = json.loads(self.process.stdout.readline())
        return line

    def control(self, command: bytes) -> None:
        """Sends one command to the simulator's control socket; it must accept it."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as control:
            control.connect(str(self.control_path))
            control.sendall(command + b"\n")
            assert json.loads(control.makefile().readline()) == {"ok": True}


@contextlib.contextmanager
def watching(
    salve_modem: Command, tmp_path: Path, wait_until: Callable[..., None]
) -> Iterator[tuple[Watch, dict[str, Any]]]:
    """``salve-modem watch`` of the demo scenario, and its first line (once the control
    socket is there). At the end, Ctrl-C ends it with exit code 0 and no traceback."""
    control_path = tmp_path / "control.sock"
    url = f"sim://quectel-ec25?scenario=demo&control={control_path}"
    process = subprocess.Popen(
        salve_modem("watch", "--json", "--interval", "0.5", url),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        watch = Watch(process, control_path)
        first = watch.line()
        wait_until(control_path.exists, what="the control socket")
        yield watch, first
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
        assert process.stderr is not None
        assert "Traceback" not in process.stderr.read()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def test_watch_prints_one_line_per_change_until_interrupted(
    salve_modem: Command, tmp_path: Path, wait_until: Callable[..., None]
) -> None:
    with watching(salve_modem, tmp_path, wait_until) as (watch, first):
        assert (first["type"], first["trigger"]) == ("change", "start")
        assert first["serving"]["ci"] == 0x1A2B3C4
        watch.control(b'{"cmd": "goto", "step": "moved"}')
        # Exactly one line for the move, whether the URC or a poll noticed it first.
        moved = watch.line()
        assert moved["type"] == "change"
        assert moved["trigger"] in ("urc", "poll")
        assert moved["serving"]["ci"] == 0x2BD1E01
        assert moved["serving"]["mcc"] == "262"


@pytest.mark.parametrize(
    ("scenario", "code", "words"),
    [
        ("no-sim", 4, "no SIM card"),
        ("pin-locked", 4, "PIN"),
        ("denied", 5, "no service"),
    ],
)
def test_probe_exit_codes_say_what_is_wrong(
    salve_modem: Command, scenario: str, code: int, words: str
) -> None:
    result = run(salve_modem("probe", f"sim://quectel-ec25?scenario={scenario}"))
    assert result.returncode == code, result.stderr
    assert words in result.stderr
    assert_no_traceback(result)


def test_bad_sim_url_options_are_refused_in_words(salve_modem: Command) -> None:
    result = run(salve_modem("probe", "sim://quectel-ec25?colour=blue"))
    assert result.returncode == 2
    assert "colour" in result.stderr
    assert_no_traceback(result)


@pytest.mark.parametrize(
    "argv",
    [
        ["probe", "sim://no-such-profile"],
        ["simulate", "--tcp", "127.0.0.1:0", "--profile", "no-such-profile"],
        ["simulate", "--pty", "--scenario", "no-such-scenario"],
    ],
)
def test_unknown_simulator_names_are_usage_errors(salve_modem: Command, argv: list[str]) -> None:
    result = run(salve_modem(*argv))
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1].startswith("salve-modem: ")
    assert "no-such-" in result.stderr
    assert "error:" not in result.stderr
    assert_no_traceback(result)


def test_watch_waits_out_a_brief_unplug(
    salve_modem: Command, tmp_path: Path, wait_until: Callable[..., None]
) -> None:
    with watching(salve_modem, tmp_path, wait_until) as (watch, first):
        assert first["trigger"] == "start"
        watch.control(b'{"cmd": "unplug", "seconds": 3}')
        lost = watch.line()
        assert lost["type"] == "modem_lost"
        assert lost["reason"]
        back = watch.line()
        assert back["type"] == "modem_back"
        assert back["gone_s"] > 0
        # It said it would wait, and it did: a fresh observation follows, and it still runs.
        again = watch.line()
        assert (again["type"], again["trigger"]) == ("change", "back")
        assert again["serving"]["ci"] == 0x1A2B3C4
        assert watch.process.poll() is None


def test_list_runs_on_this_machine(salve_modem: Command) -> None:
    result = run(salve_modem("list", "--json"))
    assert result.returncode == 0, result.stderr
    assert isinstance(json.loads(result.stdout), list)
    assert_no_traceback(result)
