"""Network timeline, goto, registration URCs honouring n, faults and seeds (virtual clock)."""

from __future__ import annotations

import pytest

from modem.sim.engine import SimulatedModem, create_modem
from modem.sim.errors import ControlError
from modem.sim.scenario import parse_scenario

TIMELINE = """
[[steps]]
name = "a"
at = 0
registration = "home"
[steps.serving]
rat = "LTE"
mcc = "228"
mnc = "01"
tac = 0x0001
ci = 0x0000101
pci = 1
earfcn = 1300
rsrp = -90

[[steps]]
name = "b"
at = 10
registration = "home"
[steps.serving]
rat = "LTE"
mcc = "228"
mnc = "01"
tac = 0x0002
ci = 0x0000202
pci = 2
earfcn = 1300

[[steps]]
name = "lost"
at = 20
registration = "searching"

[[steps]]
name = "hidden"
registration = "roaming"
[steps.serving]
rat = "GSM"
mcc = "262"
mnc = "01"
lac = 0x00AA
ci = 0x00BB
arfcn = 62
"""


def modem_for(text: str, *, seed: int = 0, now: float = 0.0) -> SimulatedModem:
    return create_modem("quectel-ec25", parse_scenario(text, "t.toml"), seed=seed, now=now)


def send(modem: SimulatedModem, line: str, now: float = 0.0) -> str:
    modem.receive(line.encode() + b"\r", now)
    return modem.output(now).decode("latin-1")


def test_timed_steps_fire_on_the_scenario_clock() -> None:
    modem = modem_for(TIMELINE)
    send(modem, "ATE0")
    assert modem.step.name == "a"
    assert send(modem, "AT+CEREG=2") == "\r\nOK\r\n"
    assert modem.output(9.99) == b""
    assert modem.output(10.0) == b'\r\n+CEREG: 1,"0002","0000202",7\r\n'
    assert modem.output(20.0) == b"\r\n+CEREG: 2\r\n"
    assert send(modem, "AT+CEREG?", 20.0) == "\r\n+CEREG: 2,2\r\n\r\nOK\r\n"
    assert send(modem, 'AT+QENG="servingcell"', 20.0) == (
        '\r\n+QENG: "servingcell","SEARCH"\r\n\r\nOK\r\n'
    )


def test_next_event_time_points_at_the_next_step() -> None:
    modem = modem_for(TIMELINE, now=100.0)
    assert modem.next_event_time() == pytest.approx(110.0)
    modem.output(110.0)
    assert modem.next_event_time() == pytest.approx(120.0)
    modem.output(120.0)
    assert modem.next_event_time() is None


def test_n1_reports_stat_changes_only() -> None:
    modem = modem_for(TIMELINE)
    send(modem, "ATE0")
    send(modem, "AT+CEREG=1")
    assert modem.output(10.0) == b""  # cell changed, stat did not
    assert modem.output(20.0) == b"\r\n+CEREG: 2\r\n"


def test_n0_reports_nothing() -> None:
    modem = modem_for(TIMELINE)
    send(modem, "ATE0")
    assert modem.output(10.0) == b""
    assert modem.output(20.0) == b""


def test_each_domain_honours_its_own_n() -> None:
    modem = modem_for(TIMELINE)
    send(modem, "ATE0")
    send(modem, "AT+CREG=2;+CGREG=1")
    assert modem.output(10.0) == b'\r\n+CREG: 1,"0002","0000202",7\r\n'
    assert modem.output(20.0) == b"\r\n+CREG: 2\r\n\r\n+CGREG: 2\r\n"


def test_goto_jumps_without_moving_the_clock() -> None:
    modem = modem_for(TIMELINE)
    send(modem, "ATE0")
    send(modem, "AT+CREG=2")
    send(modem, "AT+CEREG=2")
    modem.goto("hidden", 1.0)
    assert modem.output(1.0) == b'\r\n+CREG: 5,"00AA","00BB",0\r\n\r\n+CEREG: 0\r\n'
    assert send(modem, "AT+COPS=3,2;+COPS?", 1.0) == '\r\n+COPS: 0,2,"26201",0\r\n\r\nOK\r\n'
    # The timeline goes on: step b still comes at 10 s.
    assert modem.output(10.0).startswith(b'\r\n+CREG: 1,"0002","0000202",7\r\n')


def test_goto_unknown_step_is_refused_and_changes_nothing() -> None:
    modem = modem_for(TIMELINE)
    with pytest.raises(ControlError, match="no step named 'nowhere' \\(steps: a, b, lost, hidden"):
        modem.goto("nowhere", 0.0)
    assert modem.step.name == "a"


def test_advance_moves_the_scenario_clock() -> None:
    modem = modem_for(TIMELINE)
    send(modem, "ATE0")
    send(modem, "AT+CEREG=2")
    modem.advance(15.0, 0.0)
    assert modem.step.name == "b"
    assert modem.scenario_time(0.0) == 15.0
    assert modem.output(0.0) == b'\r\n+CEREG: 1,"0002","0000202",7\r\n'
    with pytest.raises(ControlError):
        modem.advance(-1.0, 0.0)


def test_denied_with_cause_in_n3() -> None:
    modem = create_modem("quectel-ec25", "denied")
    send(modem, "ATE0")
    send(modem, "AT+CEREG=3")
    assert send(modem, "AT+CEREG?") == "\r\n+CEREG: 3,3,,,,0,15\r\n\r\nOK\r\n"
    send(modem, "AT+CEREG=2")
    assert send(modem, "AT+CEREG?") == "\r\n+CEREG: 2,3\r\n\r\nOK\r\n"


def test_roaming_step() -> None:
    modem = create_modem("quectel-ec25", "demo")
    send(modem, "ATE0")
    modem.goto("moved", 0.0)
    assert send(modem, "AT+CEREG=2;+CEREG?") == ('\r\n+CEREG: 2,5,"6A1B","2BD1E01",7\r\n\r\nOK\r\n')


def test_nr_sa_uses_c5greg_with_wide_identities() -> None:
    modem = create_modem("quectel-rm500q", "nr-sa")
    send(modem, "ATE0")
    send(modem, "AT+C5GREG=2")
    assert send(modem, "AT+C5GREG?") == ('\r\n+C5GREG: 2,1,"00A1B2","1C649D138",11\r\n\r\nOK\r\n')
    assert send(modem, "AT+CEREG?") == "\r\n+CEREG: 0,0\r\n\r\nOK\r\n"
    send(modem, "AT+CEREG=2")
    # RAT change at 60 s: 5GS registration lost, EPS registration appears.
    assert modem.output(60.0) == (b'\r\n+CEREG: 1,"04D2","1A2B3C4",7\r\n\r\n+C5GREG: 0\r\n')


def test_sim_swap_remove_insert() -> None:
    modem = create_modem("quectel-ec25", "demo")
    send(modem, "ATE0")
    send(modem, "AT+CEREG=1")
    modem.remove_sim(0.0)
    assert modem.output(0.0) == b"\r\n+CPIN: NOT READY\r\n\r\n+QUSIM: 0\r\n\r\n+CEREG: 0\r\n"
    assert send(modem, "AT+CIMI") == "\r\n+CME ERROR: 10\r\n"
    with pytest.raises(ControlError, match="no SIM"):
        modem.remove_sim(0.0)
    modem.insert_sim(0.0)
    assert modem.output(0.0) == b"\r\n+CPIN: READY\r\n\r\n+CEREG: 1\r\n"
    with pytest.raises(ControlError, match="already inserted"):
        modem.insert_sim(0.0)
    modem.swap_sim(0.0, imsi="262011234567890", iccid="8949011234567890126", msisdn=None)
    assert modem.output(0.0) == b"\r\n+CPIN: NOT READY\r\n\r\n+QUSIM: 0\r\n\r\n+CPIN: READY\r\n"
    assert send(modem, "AT+CIMI") == "\r\n262011234567890\r\n\r\nOK\r\n"
    assert send(modem, "AT+QCCID") == "\r\n+QCCID: 8949011234567890126F\r\n\r\nOK\r\n"
    assert send(modem, "AT+CNUM") == "\r\nOK\r\n"


@pytest.mark.parametrize(
    ("imsi", "iccid", "msisdn", "message"),
    [
        ("12", "8949011234567890126", None, "imsi"),
        ("262011234567890", "8949011234567890127", None, "Luhn"),
        ("262011234567890", "89490112", None, "iccid"),
        ("262011234567890", "8949011234567890126", "+41x", "msisdn"),
    ],
)
def test_swap_sim_refuses_bad_identities(
    imsi: str, iccid: str, msisdn: str | None, message: str
) -> None:
    modem = create_modem("quectel-ec25", "demo")
    with pytest.raises(ControlError, match=message):
        modem.swap_sim(0.0, imsi=imsi, iccid=iccid, msisdn=msisdn)
    send(modem, "ATE0")
    assert send(modem, "AT+CIMI") == "\r\n228011234567890\r\n\r\nOK\r\n"


def transcript(seed: int) -> bytes:
    modem = create_modem("quectel-ec25", "faults", seed=seed)
    out = bytearray()
    for t, line in [(2.5, "AT+CGSN"), (3.0, "AT+CMGF=0"), (9.0, "AT+CSQ")]:
        modem.receive(line.encode() + b"\r", t)
        out += modem.output(t + 1)
    return bytes(out)


def test_same_seed_same_transcript_other_seed_other_imei() -> None:
    assert transcript(7) == transcript(7)
    assert transcript(7) != transcript(8)


def test_signal_jitter_is_seeded() -> None:
    text = "signal_jitter = 3.0\n" + TIMELINE

    def rsrp_readings(seed: int) -> list[str]:
        modem = modem_for(text, seed=seed)
        return [send(modem, 'AT+QENG="servingcell"') for _ in range(3)]

    assert rsrp_readings(1) == rsrp_readings(1)
    assert rsrp_readings(1) != rsrp_readings(2)
