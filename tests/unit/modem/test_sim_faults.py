"""Every fault of the simulated modem, on the virtual clock."""

from __future__ import annotations

from modem.sim.engine import SimulatedModem, create_modem
from modem.sim.scenario import parse_scenario

STEP = """
[[steps]]
name = "home"
at = 0
[steps.serving]
rat = "LTE"
mcc = "228"
mnc = "01"
tac = 1
ci = 1
rssi = -65
"""


def modem_for(faults: str, *, seed: int = 0) -> SimulatedModem:
    text = "[faults]\n" + faults + "\n" + STEP
    return create_modem("quectel-ec25", parse_scenario(text, "f.toml"), seed=seed)


def test_boot_delay_silence_then_boot_urcs() -> None:
    modem = modem_for("boot_delay = 2.0")
    modem.receive(b"AT\r", 1.0)
    assert modem.output(1.9) == b""
    assert modem.next_event_time() == 2.0
    assert modem.output(2.0) == (
        b"\r\nRDY\r\n\r\n+CFUN: 1\r\n\r\n+CPIN: READY\r\n\r\n+QUSIM: 1\r\n"
        b"\r\n+QIND: SMS DONE\r\n\r\n+QIND: PB DONE\r\n"
    )
    modem.receive(b"AT\r", 2.1)
    assert modem.output(2.1) == b"AT\r\r\nOK\r\n"


def test_echo_stuck_on() -> None:
    modem = modem_for("echo_stuck = true")
    modem.receive(b"ATE0\r", 0.0)
    assert modem.output(0.0) == b"ATE0\r\r\nOK\r\n"
    modem.receive(b"AT\r", 0.0)
    assert modem.output(0.0) == b"AT\r\r\nOK\r\n"


def test_verbose_errors_from_power_on() -> None:
    modem = modem_for("verbose_errors = true")
    modem.receive(b"AT+CPIN=1234\r", 0.0)
    assert modem.output(0.0) == b"AT+CPIN=1234\r\r\n+CME ERROR: operation not allowed\r\n"


def test_answer_delay_holds_answers_not_echo() -> None:
    modem = modem_for("answer_delay = 0.5")
    modem.receive(b"AT\r", 0.0)
    assert modem.output(0.0) == b"AT\r"
    assert modem.output(0.49) == b""
    assert modem.output(0.5) == b"\r\nOK\r\n"


def test_byte_by_byte_answers() -> None:
    modem = modem_for("byte_interval = 0.01")
    modem.receive(b"ATE0\r", 0.0)
    received = bytearray()
    t = 0.0
    releases = 0
    while (wake := modem.next_event_time()) is not None:
        t = wake
        chunk = modem.output(t)
        assert len(chunk) <= 1 or chunk == b""
        received += chunk
        releases += 1
    assert bytes(received) == b"ATE0\r\r\nOK\r\n"
    assert releases == len(received)
    assert t == 0.01 * (len(received) - 1)


def test_nul_bytes_before_answers() -> None:
    modem = modem_for("nul_bytes = true")
    modem.receive(b"ATE0\r", 0.0)
    assert modem.output(0.0) == b"ATE0\r\x00\r\nOK\r\n"


def test_no_answer_to_a_given_command() -> None:
    modem = modem_for('no_answer = ["AT+COPS=?"]')
    modem.receive(b"ATE0\rat+cops=?\rAT\r", 0.0)
    assert modem.output(100.0) == b"ATE0\r\r\nOK\r\n\r\nOK\r\n"


def test_silence_window() -> None:
    modem = modem_for("[[faults.silence]]\nat = 5.0\nseconds = 2.0")
    modem.receive(b"ATE0\r", 0.0)
    modem.output(0.0)
    modem.receive(b"AT\r", 5.5)
    assert modem.output(6.0) == b""
    modem.receive(b"AT\r", 7.0)
    assert modem.output(7.0) == b"\r\nOK\r\n"


def test_garbage_given_and_seeded() -> None:
    faults = (
        '[[faults.garbage]]\nat = 1.0\nhex = "00ff0d0a"\n[[faults.garbage]]\nat = 2.0\nlength = 8'
    )
    first = modem_for(faults, seed=5)
    assert first.output(1.0) == b"\x00\xff\r\n"
    random_bytes = first.output(2.0)
    assert len(random_bytes) == 8
    again = modem_for(faults, seed=5)
    again.output(1.0)
    assert again.output(2.0) == random_bytes
    other = modem_for(faults, seed=6)
    other.output(1.0)
    assert other.output(2.0) != random_bytes


def test_disconnect_and_reappear() -> None:
    modem = modem_for("boot_delay = 0.5\n[[faults.disconnect]]\nat = 10.0\nseconds = 3.0")
    modem.output(0.5)
    modem.receive(b"ATE0\r", 1.0)
    modem.output(1.0)
    assert modem.is_plugged(9.9)
    assert modem.unplug_count == 0
    assert not modem.is_plugged(10.0)
    assert modem.unplug_count == 1
    modem.receive(b"AT\r", 11.0)
    assert modem.output(12.0) == b""
    assert modem.is_plugged(13.0)
    assert modem.output(13.2) == b""  # booting again
    assert modem.output(13.5).startswith(b"\r\nRDY\r\n")
    modem.receive(b"AT\r", 14.0)
    assert modem.output(14.0) == b"AT\r\r\nOK\r\n"  # echo is back on after the reboot


def test_unplug_control_drops_pending_output() -> None:
    modem = modem_for("answer_delay = 1.0")
    modem.receive(b"AT\r", 0.0)
    modem.unplug(2.0, 0.1)
    assert not modem.is_plugged(0.5)
    assert modem.output(1.5) == b""
    assert modem.is_plugged(2.1)


def test_injected_garbage_lands_on_the_line() -> None:
    modem = modem_for("")
    modem.inject(b"\xff\x00junk", 0.0)
    assert modem.output(0.0) == b"\xff\x00junk"


def test_shipped_faults_scenario_runs_through() -> None:
    modem = create_modem(None, "faults", seed=1)
    seen = bytearray()
    t = 0.0
    while t < 50.0:
        modem.receive(b"AT+CSQ\r", t)
        seen += modem.output(t + 0.5)
        t += 0.5
    assert b"RDY" in seen
    assert b"+CSQ: " in seen
    assert b"\x00" in seen
    assert modem.unplug_count == 1
