"""Every persona answers in its own dialect, and the project's parsers read it back."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from modem import at
from modem.models import Rat, RegistrationStatus, SimState
from modem.sim.engine import SimulatedModem, create_modem
from modem.sim.personas import PERSONA_NAMES

ICCID_COMMAND = {
    "quectel-ec25": "AT+QCCID",
    "quectel-rm500q": "AT+QCCID",
    "simcom-sim7600": "AT+CICCID",
    "ublox-sara-r5": "AT+CCID",
    "telit-le910": "AT+ICCID",
    "sierra-em7565": "AT!ICCID?",
    "huawei-me909s": "AT^ICCID?",
    "fibocom-l850": "AT+ICCID",
    "generic": "AT+CCID",
}

Parser = Callable[[str], Any]
CELL_COMMANDS: dict[str, list[tuple[str, Parser]]] = {
    "quectel-ec25": [('AT+QENG="servingcell"', at.parse_qeng_servingcell)],
    "quectel-rm500q": [('AT+QENG="servingcell"', at.parse_qeng_servingcell)],
    "simcom-sim7600": [("AT+CPSI?", at.parse_cpsi)],
    "ublox-sara-r5": [("AT+UCGED?", at.parse_ucged)],
    "telit-le910": [
        ("AT#SERVINFO", at.parse_servinfo),
        ("AT#RFSTS", at.parse_rfsts),
        ("AT#MONI", at.parse_moni),
    ],
    "sierra-em7565": [("AT!GSTATUS?", at.parse_gstatus), ("AT!LTEINFO?", at.parse_lteinfo)],
    "huawei-me909s": [("AT^MONSC", at.parse_monsc)],
    "fibocom-l850": [("AT+GTCCINFO?", at.parse_gtccinfo)],
    "generic": [],
}
NEIGHBOUR_COMMANDS: dict[str, tuple[str, Parser]] = {
    "quectel-ec25": ('AT+QENG="neighbourcell"', at.parse_qeng_neighbourcell),
    "sierra-em7565": ("AT!LTEINFO?", at.parse_lteinfo),
    "huawei-me909s": ("AT^MONNC", at.parse_monnc),
    "fibocom-l850": ("AT+GTCCINFO?", at.parse_gtccinfo),
}


def ready(profile: str, scenario: str = "demo") -> SimulatedModem:
    modem = create_modem(profile, scenario, seed=11)
    modem.receive(b"ATE0\r", 0.0)
    modem.output(0.0)
    return modem


def ask(modem: SimulatedModem, line: str) -> str:
    modem.receive(line.encode() + b"\r", 0.0)
    answer = modem.output(0.0).decode("latin-1")
    assert answer.endswith("\r\nOK\r\n"), (line, answer)
    return answer


@pytest.mark.parametrize("profile", PERSONA_NAMES)
def test_identity_and_sim_parse(profile: str) -> None:
    modem = ready(profile)
    assert at.parse_cgmi(ask(modem, "AT+CGMI")) == modem.persona.manufacturer
    assert at.parse_cgmm(ask(modem, "AT+CGMM")) == modem.persona.model
    assert at.parse_cgmr(ask(modem, "AT+CGMR")) == modem.persona.revision
    assert at.parse_cgsn(ask(modem, "AT+CGSN")) == modem.imei
    assert at.luhn_valid(modem.imei)
    assert at.parse_cpin(ask(modem, "AT+CPIN?")) is SimState.READY
    assert at.parse_cimi(ask(modem, "AT+CIMI")) == "228011234567890"
    assert at.parse_iccid(ask(modem, ICCID_COMMAND[profile])) == "8941011234567890123"
    crsm = ask(modem, "AT+CRSM=176,12258,0,0,10")
    assert at.parse_crsm_iccid(crsm) == "8941011234567890123"
    assert at.parse_cnum(ask(modem, "AT+CNUM")) == "+41791234567"
    assert at.parse_cfun(ask(modem, "AT+CFUN?")) == 1
    assert at.parse_cgmi(ask(modem, "ATI")) or True  # ATI answers without error


@pytest.mark.parametrize("profile", PERSONA_NAMES)
def test_registration_operator_and_signal_parse(profile: str) -> None:
    modem = ready(profile)
    ask(modem, "AT+CEREG=2")
    (eps,) = at.parse_creg(ask(modem, "AT+CEREG?"))
    assert (eps.n, eps.stat, eps.tac, eps.ci, eps.rat) == (
        2, RegistrationStatus.HOME, 0x04D2, 0x1A2B3C4, Rat.LTE)  # fmt: skip
    ask(modem, "AT+COPS=3,2")
    operator = at.parse_cops(ask(modem, "AT+COPS?"))
    assert (operator.mcc, operator.mnc, operator.act) == ("228", "01", 7)
    ask(modem, "AT+COPS=3,0")
    assert at.parse_cops(ask(modem, "AT+COPS?")).oper == "Swisscom"
    assert at.parse_csq(ask(modem, "AT+CSQ")).rssi == -65
    signal = at.parse_cesq(ask(modem, "AT+CESQ"))
    assert (signal.rsrp, signal.rsrq) == (-95, -10)


@pytest.mark.parametrize("profile", [p for p in PERSONA_NAMES if CELL_COMMANDS[p]])
def test_vendor_serving_cell_parses_to_the_scenario_values(profile: str) -> None:
    modem = ready(profile)
    for command, parse in CELL_COMMANDS[profile]:
        serving = parse(ask(modem, command)).serving
        assert serving is not None, command
        assert serving.ci == 0x1A2B3C4, command
        assert serving.tac == 0x04D2, command
        assert serving.earfcn == 1300, command
        if serving.pci is not None:
            assert serving.pci == 101, command
        if serving.rsrp is not None:
            assert serving.rsrp == -95, command
        if serving.mnc is not None:
            # Fibocom prints the MNC unpadded; the width must come from +COPS, never here.
            assert serving.mnc in ("01", "1"), command


@pytest.mark.parametrize("profile", sorted(NEIGHBOUR_COMMANDS))
def test_vendor_neighbours_parse(profile: str) -> None:
    modem = ready(profile)
    command, parse = NEIGHBOUR_COMMANDS[profile]
    neighbours = parse(ask(modem, command)).neighbours
    assert sorted((n.pci, n.earfcn) for n in neighbours) == [(102, 1300), (210, 6300)]


@pytest.mark.parametrize("profile", [p for p in PERSONA_NAMES if CELL_COMMANDS[p]])
def test_vendor_cell_commands_without_service(profile: str) -> None:
    modem = ready(profile)
    ask(modem, "AT+CFUN=4")
    ask(modem, "AT+CMEE=1")
    for command, parse in CELL_COMMANDS[profile]:
        modem.receive(command.encode() + b"\r", 0.0)
        answer = modem.output(0.0).decode("latin-1")
        if profile == "telit-le910" and command != "AT#MONI":
            assert answer == "\r\n+CME ERROR: 30\r\n"  # Telit: no network service
            continue
        assert parse(answer).serving is None, command


def test_quectel_exact_dialect() -> None:
    modem = ready("quectel-ec25")
    assert ask(modem, 'AT+QENG="servingcell"') == (
        '\r\n+QENG: "servingcell","NOCONN","LTE","FDD",228,01,1A2B3C4,101,1300,3,5,5,4D2,'
        "-95,-10,-65,12,45\r\n\r\nOK\r\n"
    )
    assert ask(modem, 'AT+QENG="neighbourcell"') == (
        '\r\n+QENG: "neighbourcell intra","LTE",1300,102,-13,-103,-72,4,37,5,8,6,30\r\n'
        '+QENG: "neighbourcell inter","LTE",6300,210,-14,-108,-77,2,32,4,6,8\r\n\r\nOK\r\n'
    )
    assert ask(modem, "AT+QCCID") == "\r\n+QCCID: 8941011234567890123F\r\n\r\nOK\r\n"


def test_simcom_prints_decimal_cell_id_and_tenths() -> None:
    modem = ready("simcom-sim7600")
    assert ask(modem, "AT+CPSI?") == (
        "\r\n+CPSI: LTE,Online,228-01,0x04D2,27440068,101,EUTRAN-BAND3,1300,5,5,-100,-950,"
        "-650,12\r\n\r\nOK\r\n"
    )


def test_huawei_pci_is_hex() -> None:
    modem = ready("huawei-me909s")
    assert ask(modem, "AT^MONSC") == (
        "\r\n^MONSC: LTE,228,01,1300,1A2B3C4,65,04D2,-95,-10,-65\r\n\r\nOK\r\n"
    )


def test_fibocom_mnc_unpadded() -> None:
    modem = ready("fibocom-l850")
    answer = ask(modem, "AT+GTCCINFO?")
    assert "\r\n1,4,228,1,04D2,001A2B3C4,1300,101,103," in answer


def test_rm500q_nsa_and_sa_dialect() -> None:
    nsa = ready("quectel-rm500q", "nr-nsa")
    report = at.parse_qeng_servingcell(ask(nsa, 'AT+QENG="servingcell"'))
    assert report.serving is not None and report.serving.ci == 0x1A2B3C4
    assert [(n.rat, n.pci, n.arfcn) for n in report.neighbours] == [(Rat.NR, 500, 642016)]
    sa = ready("quectel-rm500q", "nr-sa")
    report = at.parse_qeng_servingcell(ask(sa, 'AT+QENG="servingcell"'))
    assert report.serving is not None
    assert (report.serving.rat, report.serving.ci, report.serving.tac) == (
        Rat.NR, 0x1C649D138, 0x00A1B2)  # fmt: skip
    ask(sa, "AT+C5GREG=2")
    (fivegs,) = at.parse_creg(ask(sa, "AT+C5GREG?"))
    assert (fivegs.stat, fivegs.tac, fivegs.ci) == (RegistrationStatus.HOME, 0xA1B2, 0x1C649D138)


def test_registration_urcs_parse_as_urcs() -> None:
    modem = ready("quectel-ec25")
    ask(modem, "AT+CEREG=2")
    modem.goto("moved", 0.0)
    line = modem.output(0.0).decode().strip()
    urc = at.parse_urc(line)
    assert urc is not None
    assert (urc.stat, urc.tac, urc.ci, urc.unsolicited) == (
        RegistrationStatus.ROAMING, 0x6A1B, 0x2BD1E01, True)  # fmt: skip


@pytest.mark.parametrize("profile", ["simcom-sim7600", "huawei-me909s"])
def test_gsm_and_umts_dialects_parse(profile: str) -> None:
    modem = ready(profile, "faults")
    modem.output(3.0)
    modem.goto("umts", 3.0)
    modem.output(3.0)
    command, parse = CELL_COMMANDS[profile][0]
    modem.receive(command.encode() + b"\r", 3.0)
    serving = parse(modem.output(10.0).decode("latin-1").replace("\x00", "")).serving
    assert serving is not None
    assert (serving.rat, serving.lac, serving.ci, serving.psc, serving.uarfcn) == (
        Rat.UMTS, 0x1A2B, 0xB55EEFF, 300, 10737)  # fmt: skip
