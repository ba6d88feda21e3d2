"""sim:// through pyserial: URL options, registry, control socket, unplug and reappear."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import serial

from modem.sim.live import discard, live_instances, lookup
from modem.sim.urlhandler.protocol_sim import parse_sim_url

HANDLERS = "modem.sim.urlhandler"


@pytest.fixture(autouse=True)
def sim_handlers() -> Iterator[None]:
    added = HANDLERS not in serial.protocol_handler_packages
    if added:
        serial.protocol_handler_packages.append(HANDLERS)
    yield
    for name in live_instances():
        discard(name)
    assert live_instances() == ()
    if added:
        serial.protocol_handler_packages.remove(HANDLERS)


def read_until(port: serial.SerialBase, marker: bytes, timeout: float = 5.0) -> bytes:
    deadline = time.monotonic() + timeout
    data = b""
    while marker not in data:
        assert time.monotonic() < deadline, f"no {marker!r} in {data!r}"
        data += port.read(256)
    return data


def command(port: serial.SerialBase, line: str) -> bytes:
    port.write(line.encode() + b"\r")
    return read_until(port, b"OK\r\n")


def test_talks_at_through_pyserial() -> None:
    port = serial.serial_for_url("sim://quectel-ec25?scenario=demo&name=plain", timeout=0.05)
    try:
        assert command(port, "ATE0") == b"ATE0\r\r\nOK\r\n"
        assert command(port, "AT+CGMM") == b"\r\nEC25\r\n\r\nOK\r\n"
        port.write(b"AT+CSQ\r")
        assert read_until(port, b"OK\r\n") == b"\r\n+CSQ: 24,99\r\n\r\nOK\r\n"
        assert port.in_waiting == 0
        assert (port.cts, port.dsr, port.ri, port.cd) == (True, True, False, False)
    finally:
        port.close()
    assert live_instances() == ()


def test_profile_defaults_to_the_scenario_persona() -> None:
    port = serial.serial_for_url("sim://?scenario=nr-sa", timeout=0.05)
    try:
        assert b"RM500Q-GL" in command(port, "AT+CGMM")
    finally:
        port.close()


def test_registry_reaches_the_engine_and_drives_urcs() -> None:
    port = serial.serial_for_url("sim://quectel-ec25?scenario=demo&name=reg", timeout=0.05)
    try:
        command(port, "ATE0")
        command(port, "AT+CEREG=2")
        assert live_instances() == ("reg",)
        assert lookup("reg").control({"cmd": "goto", "step": "moved"}) == {"ok": True}
        assert read_until(port, b",7\r\n", 2.0) == b'\r\n+CEREG: 5,"6A1B","2BD1E01",7\r\n'
        with lookup("reg").locked() as engine:
            assert engine.step.name == "moved"
    finally:
        port.close()
    with pytest.raises(KeyError, match="no live simulated modem named 'reg'"):
        lookup("reg")


def test_unplug_kills_open_port_and_reopen_finds_the_same_modem() -> None:
    url = "sim://quectel-ec25?scenario=demo&name=unplug"
    port = serial.serial_for_url(url, timeout=0.05)
    command(port, "ATE0")
    lookup("unplug").control({"cmd": "goto", "step": "moved"})
    assert lookup("unplug").control({"cmd": "unplug", "seconds": 0.3}) == {"ok": True}
    with pytest.raises(serial.SerialException, match="unplugged"):
        port.read(1)
    with pytest.raises(serial.SerialException, match="disconnected"):
        port.write(b"AT\r")
    port.close()
    assert live_instances() == ("unplug",)  # kept: the host is expected to come back
    with pytest.raises(serial.SerialException, match="is unplugged"):
        serial.serial_for_url(url)
    deadline = time.monotonic() + 5
    while True:
        try:
            port = serial.serial_for_url(url, timeout=0.05)
            break
        except serial.SerialException:
            assert time.monotonic() < deadline
            time.sleep(0.02)  # poll until the port is back, with a deadline
    try:
        # Same modem: still on the step the test jumped to, rebooted with echo on.
        assert command(port, "AT+COPS=3,2;+COPS?") == (
            b'AT+COPS=3,2;+COPS?\r\r\n+COPS: 0,2,"26201",7\r\n\r\nOK\r\n'
        )
    finally:
        port.close()


def test_control_socket(tmp_path: Path) -> None:
    control = tmp_path / "ctl.sock"
    port = serial.serial_for_url(f"sim://?scenario=demo&name=ctl&control={control}", timeout=0.05)
    try:
        command(port, "ATE0")
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            client.connect(str(control))
            client.settimeout(5)
            stream = client.makefile("rwb")
            stream.write(b'{"cmd": "goto", "step": "moved"}\n{"cmd": "fly"}\n\n')
            stream.flush()
            assert json.loads(stream.readline()) == {"ok": True}
            answer = json.loads(stream.readline())
            assert answer["ok"] is False and "unknown cmd 'fly'" in answer["error"]
            stream.close()
        assert b'"26201"' in command(port, "AT+COPS=3,2;+COPS?")
    finally:
        port.close()
    assert not control.exists()


def test_control_socket_path_in_use(tmp_path: Path) -> None:
    taken = tmp_path / "taken"
    taken.write_text("")
    with pytest.raises(serial.SerialException, match="already exists"):
        serial.serial_for_url(f"sim://?control={taken}")
    with pytest.raises(serial.SerialException, match="does not exist"):
        serial.serial_for_url(f"sim://?control={tmp_path / 'no' / 'ctl'}")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("sim://x?colour=red", "unknown option 'colour'"),
        ("sim://?seed=1&seed=2", "option 'seed' given twice"),
        ("sim://?seed=one", "seed must be an integer"),
        ("sim://?scenario=", "option 'scenario' needs a value"),
        ("sim://quectel-ec25/extra", "unexpected path"),
        ("sim://?scenario=demo#frag", "a #fragment is not allowed"),
        ("sim://?a", "malformed query"),
    ],
)
def test_url_is_parsed_strictly(url: str, message: str) -> None:
    with pytest.raises(serial.SerialException, match="expected sim://\\[PROFILE\\]") as info:
        serial.serial_for_url(url)
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("sim://nokia-3310", "unknown modem profile 'nokia-3310'"),
        ("sim://?scenario=atlantis", "no shipped scenario named 'atlantis'"),
        ("sim://quectel-ec25?scenario=nr-sa", "which quectel-ec25 cannot serve on"),
    ],
)
def test_bad_profile_or_scenario(url: str, message: str) -> None:
    with pytest.raises(serial.SerialException, match=message):
        serial.serial_for_url(url)
    assert live_instances() == ()


def test_parse_sim_url_fields(tmp_path: Path) -> None:
    spec = parse_sim_url(f"sim://simcom-sim7600?scenario=roaming&seed=9&control={tmp_path}/c")
    assert (spec.profile, spec.scenario, spec.seed, spec.control) == (
        "simcom-sim7600", "roaming", 9, tmp_path / "c")  # fmt: skip
    assert spec.name.startswith("sim://simcom-sim7600?")


def test_two_ports_on_one_name_share_the_modem() -> None:
    url = "sim://?scenario=demo&name=shared"
    first = serial.serial_for_url(url, timeout=0.05)
    second = serial.serial_for_url(url, timeout=0.05)
    try:
        command(first, "ATE0")
        assert command(second, "AT") == b"\r\nOK\r\n"
    finally:
        first.close()
        second.close()
    assert live_instances() == ()
