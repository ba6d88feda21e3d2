"""The simulated modem's engine: framing, echo, errors, SIM, radio, SMS (virtual clock)."""

from __future__ import annotations

import pytest
from gsmmodem.pdu import encodeSmsSubmitPdu
from hypothesis import given, settings
from hypothesis import strategies as st

from modem.sim.engine import SimulatedModem, create_modem
from modem.sim.scenario import parse_scenario

LTE_STEP = """
[[steps]]
name = "home"
at = 0
registration = "home"
operator = "Swisscom"
[steps.serving]
rat = "LTE"
mcc = "228"
mnc = "01"
tac = 0x04D2
ci = 0x1A2B3C4
pci = 101
earfcn = 1300
band = 3
rsrp = -95
rsrq = -10
rssi = -65
sinr = 12
"""


def modem_with(extra: str = "", profile: str = "quectel-ec25", seed: int = 0) -> SimulatedModem:
    return create_modem(profile, parse_scenario(extra + LTE_STEP, "test.toml"), seed=seed)


def send(modem: SimulatedModem, line: str, now: float = 0.0) -> str:
    modem.receive(line.encode("latin-1") + b"\r", now)
    return modem.output(now).decode("latin-1")


def quiet(modem: SimulatedModem) -> SimulatedModem:
    assert send(modem, "ATE0") == "ATE0\r\r\nOK\r\n"
    return modem


def test_echo_is_on_at_power_on_and_ate0_turns_it_off() -> None:
    modem = modem_with()
    assert send(modem, "AT") == "AT\r\r\nOK\r\n"
    assert send(modem, "ATE0") == "ATE0\r\r\nOK\r\n"
    assert send(modem, "AT") == "\r\nOK\r\n"
    assert send(modem, "ATE1") == "\r\nOK\r\n"
    assert send(modem, "AT+CSQ") == "AT+CSQ\r\r\n+CSQ: 24,99\r\n\r\nOK\r\n"


def test_information_lines_share_one_header_and_end_with_ok() -> None:
    modem = quiet(modem_with())
    assert send(modem, "ATI") == "\r\nQuectel\r\nEC25\r\nRevision: EC25EFAR06A06M4G\r\n\r\nOK\r\n"


def test_lower_case_and_chained_commands() -> None:
    modem = quiet(modem_with())
    assert send(modem, "at+creg?;+cgreg?") == "\r\n+CREG: 0,1\r\n+CGREG: 0,1\r\n\r\nOK\r\n"
    assert send(modem, "ATE0V1") == "\r\nOK\r\n"


def test_verbose_off_gives_numeric_results() -> None:
    modem = quiet(modem_with())
    assert send(modem, "ATV0") == "0\r"
    assert send(modem, "AT+CSQ") == "+CSQ: 24,99\r\n0\r"
    assert send(modem, "AT+NOPE") == "4\r"


def test_unknown_command_answers_in_the_persona_style() -> None:
    assert send(quiet(modem_with()), "AT+NOPE") == "\r\nERROR\r\n"
    huawei = quiet(modem_with(profile="huawei-me909s"))
    assert send(huawei, "AT+NOPE") == "\r\nCOMMAND NOT SUPPORT\r\n"


def test_cmee_switches_error_form() -> None:
    modem = quiet(create_modem("quectel-ec25", "no-sim"))
    assert send(modem, "AT+CMEE?") == "\r\n+CMEE: 1\r\n\r\nOK\r\n"  # Quectel's power-on value
    assert send(modem, "AT+CIMI") == "\r\n+CME ERROR: 10\r\n"
    send(modem, "AT+CMEE=2")
    assert send(modem, "AT+CIMI") == "\r\n+CME ERROR: SIM not inserted\r\n"
    send(modem, "AT+CMEE=0")
    assert send(modem, "AT+CIMI") == "\r\nERROR\r\n"
    assert send(modem, "AT+CMEE=7") == "\r\nERROR\r\n"
    assert send(modem, "AT+CMEE?") == "\r\n+CMEE: 0\r\n\r\nOK\r\n"


def test_no_sim_answers() -> None:
    modem = quiet(create_modem("quectel-ec25", "no-sim"))
    assert send(modem, "AT+CPIN?") == "\r\n+CME ERROR: 10\r\n"
    assert send(modem, "AT+QCCID") == "\r\n+CME ERROR: 10\r\n"
    assert send(modem, "AT+CEREG?") == "\r\n+CEREG: 0,0\r\n\r\nOK\r\n"
    assert send(modem, "AT+COPS?") == "\r\n+COPS: 0\r\n\r\nOK\r\n"
    # Camped in limited service: the cell is still visible.
    assert '"LIMSRV","LTE"' in send(modem, 'AT+QENG="servingcell"')


def test_pin_entry_with_retry_counter_then_puk() -> None:
    modem = quiet(create_modem("quectel-ec25", "pin-locked"))
    assert send(modem, "AT+CPIN?") == "\r\n+CPIN: SIM PIN\r\n\r\nOK\r\n"
    assert send(modem, 'AT+QPINC="SC"') == '\r\n+QPINC: "SC",2,10\r\n\r\nOK\r\n'
    assert send(modem, "AT+CIMI") == "\r\n+CME ERROR: 11\r\n"
    # Malformed PINs are refused without costing an attempt.
    assert send(modem, "AT+CPIN=12") == "\r\n+CME ERROR: 50\r\n"
    assert send(modem, 'AT+CPIN="12ab"') == "\r\n+CME ERROR: 50\r\n"
    assert send(modem, 'AT+QPINC="SC"') == '\r\n+QPINC: "SC",2,10\r\n\r\nOK\r\n'
    assert send(modem, 'AT+CPIN="0000"') == "\r\n+CME ERROR: 16\r\n"
    assert send(modem, 'AT+CPIN="0000"') == "\r\n+CME ERROR: 16\r\n"
    assert send(modem, "AT+CPIN?") == "\r\n+CPIN: SIM PUK\r\n\r\nOK\r\n"
    assert send(modem, 'AT+CPIN="4321"') == "\r\n+CME ERROR: 50\r\n"  # PUK state wants two args
    assert send(modem, 'AT+CPIN="11111111","1111"') == "\r\n+CME ERROR: 16\r\n"
    assert send(modem, 'AT+QPINC="SC"') == '\r\n+QPINC: "SC",0,9\r\n\r\nOK\r\n'
    assert send(modem, 'AT+CPIN="87654321","9999"') == "\r\nOK\r\n"
    assert send(modem, "AT+CPIN?") == "\r\n+CPIN: READY\r\n\r\nOK\r\n"
    assert send(modem, "AT+CIMI") == "\r\n228011234567890\r\n\r\nOK\r\n"
    assert send(modem, 'AT+CPIN="9999"') == "\r\n+CME ERROR: 3\r\n"


def test_correct_pin_unlocks_and_power_cycle_locks_again() -> None:
    modem = quiet(create_modem("quectel-ec25", "pin-locked"))
    assert send(modem, "AT+CPIN=4321") == "\r\nOK\r\n"
    assert send(modem, "AT+CEREG?") == "\r\n+CEREG: 0,1\r\n\r\nOK\r\n"
    assert send(modem, "AT+CFUN=1,1") == "\r\nOK\r\n"
    assert send(modem, "AT", 0.5) == ""  # rebooting: deaf
    assert modem.output(1.0) == (b"\r\nRDY\r\n\r\n+CFUN: 1\r\n\r\n+CPIN: SIM PIN\r\n")
    assert send(modem, "AT+CPIN?", 1.0) == "AT+CPIN?\r\r\n+CPIN: SIM PIN\r\n\r\nOK\r\n"


def test_blocked_sim_after_last_puk() -> None:
    scenario = '[sim]\nlock = "puk"\npuk_retries = 1\n'
    modem = quiet(modem_with(scenario))
    assert send(modem, "AT+CPIN?") == "\r\n+CPIN: SIM PUK\r\n\r\nOK\r\n"
    assert send(modem, "AT+CPIN=00000000,1234") == "\r\n+CME ERROR: 16\r\n"
    assert send(modem, "AT+CPIN?") == "\r\n+CME ERROR: 13\r\n"
    assert send(modem, "AT+CPIN=12345678,1234") == "\r\n+CME ERROR: 13\r\n"


def test_identity_answers_and_valid_imei() -> None:
    modem = quiet(modem_with(seed=42))
    imei = send(modem, "AT+CGSN").split("\r\n")[1]
    assert len(imei) == 15 and imei.startswith("86781904")
    total = 0
    for index, char in enumerate(reversed(imei)):
        value = int(char) * (2 if index % 2 else 1)
        total += value - 9 if value > 9 else value
    assert total % 10 == 0
    assert send(modem, "AT+CGSN=1") == f'\r\n+CGSN: "{imei}"\r\n\r\nOK\r\n'
    assert send(modem, "AT+CGMI") == "\r\nQuectel\r\n\r\nOK\r\n"
    assert send(modem, "AT+GMM") == "\r\nEC25\r\n\r\nOK\r\n"
    assert send(modem, "AT+CGMR") == "\r\nEC25EFAR06A06M4G\r\n\r\nOK\r\n"


def test_cops_formats_and_deregistration() -> None:
    modem = quiet(modem_with())
    assert send(modem, "AT+COPS?") == '\r\n+COPS: 0,0,"Swisscom",7\r\n\r\nOK\r\n'
    assert send(modem, "AT+COPS=3,2") == "\r\nOK\r\n"
    assert send(modem, "AT+COPS?") == '\r\n+COPS: 0,2,"22801",7\r\n\r\nOK\r\n'
    assert send(modem, "AT+COPS=3,9") == "\r\nERROR\r\n"
    assert send(modem, "AT+COPS=2") == "\r\nOK\r\n"
    assert send(modem, "AT+COPS?") == "\r\n+COPS: 2\r\n\r\nOK\r\n"
    assert send(modem, "AT+CEREG?") == "\r\n+CEREG: 0,0\r\n\r\nOK\r\n"
    assert send(modem, 'AT+COPS=1,2,"26201"') == "\r\n+CME ERROR: 30\r\n"
    assert send(modem, 'AT+COPS=1,2,"22801"') == "\r\nOK\r\n"
    assert send(modem, "AT+COPS?") == '\r\n+COPS: 0,2,"22801",7\r\n\r\nOK\r\n'


def test_signal_commands() -> None:
    modem = quiet(modem_with())
    assert send(modem, "AT+CSQ") == "\r\n+CSQ: 24,99\r\n\r\nOK\r\n"
    assert send(modem, "AT+CESQ") == "\r\n+CESQ: 99,99,255,255,20,46\r\n\r\nOK\r\n"


def test_flight_mode_drops_service() -> None:
    modem = quiet(modem_with())
    send(modem, "AT+CEREG=2")
    assert send(modem, "AT+CFUN=4") == "\r\nOK\r\n\r\n+CEREG: 0\r\n"
    assert send(modem, "AT+CFUN?") == "\r\n+CFUN: 4\r\n\r\nOK\r\n"
    assert send(modem, "AT+CSQ") == "\r\n+CSQ: 99,99\r\n\r\nOK\r\n"
    assert send(modem, 'AT+QENG="servingcell"') == (
        '\r\n+QENG: "servingcell","SEARCH"\r\n\r\nOK\r\n'
    )
    assert send(modem, "AT+CFUN=9") == "\r\n+CME ERROR: 50\r\n"
    assert send(modem, "AT+CFUN=1") == '\r\nOK\r\n\r\n+CEREG: 1,"04D2","1A2B3C4",7\r\n'


def test_reset_restores_power_on_settings() -> None:
    modem = quiet(modem_with())
    send(modem, "AT+CEREG=2")
    send(modem, "AT+CMEE=2")
    assert send(modem, "AT+CFUN=1,1") == "\r\nOK\r\n"
    modem.output(5.0)
    assert send(modem, "AT+CEREG?", 5.0) == "AT+CEREG?\r\r\n+CEREG: 0,1\r\n\r\nOK\r\n"
    assert send(modem, "AT+CMEE?", 5.0).endswith("+CMEE: 1\r\n\r\nOK\r\n")


def test_crsm_reads_swapped_iccid_and_mnc_length() -> None:
    modem = quiet(modem_with('[sim]\niccid = "8941011234567890123"\nmnc_length = 3\n'))
    assert send(modem, "AT+CRSM=176,12258,0,0,10") == (
        '\r\n+CRSM: 144,0,"981410214365870921F3"\r\n\r\nOK\r\n'
    )
    assert send(modem, "AT+CRSM=176,28589,0,0,4") == '\r\n+CRSM: 144,0,"00000003"\r\n\r\nOK\r\n'
    assert send(modem, "AT+CRSM=176,1,0,0,4") == "\r\n+CRSM: 106,130\r\n\r\nOK\r\n"


def test_cnum_without_number_is_empty() -> None:
    assert send(quiet(create_modem("quectel-ec25", "denied")), "AT+CNUM") == "\r\nOK\r\n"
    assert send(quiet(modem_with('[sim]\nmsisdn = "0791234567"\n')), "AT+CNUM") == (
        '\r\n+CNUM: "","0791234567",129\r\n\r\nOK\r\n'
    )


def test_sms_pdu_mode_prompt_and_message_reference() -> None:
    modem = quiet(modem_with(seed=3))
    pdu = encodeSmsSubmitPdu("+41791234567", "cell changed", reference=0)[0]
    hex_pdu = pdu.data.hex().upper()
    assert send(modem, "AT+CMGF=0") == "\r\nOK\r\n"
    assert send(modem, f"AT+CMGS={pdu.tpduLength}") == "\r\n> "
    modem.receive(hex_pdu.encode() + b"\x1a", 0.0)
    answer = modem.output(0.0).decode()
    reference = modem.sent_messages[0].reference
    assert answer == f"\r\n+CMGS: {reference}\r\n\r\nOK\r\n"
    assert modem.sent_messages[0].pdu == hex_pdu
    assert modem.sent_messages[0].length == pdu.tpduLength
    send(modem, f"AT+CMGS={pdu.tpduLength}")
    modem.receive(hex_pdu.encode() + b"\x1a", 0.0)
    assert modem.output(0.0).decode() == f"\r\n+CMGS: {(reference + 1) % 256}\r\n\r\nOK\r\n"


def test_sms_bad_pdu_length_is_refused_and_nothing_is_kept() -> None:
    modem = quiet(modem_with())
    pdu = encodeSmsSubmitPdu("+41791234567", "x", reference=0)[0]
    send(modem, f"AT+CMGS={pdu.tpduLength + 1}")
    modem.receive(pdu.data.hex().encode() + b"\x1a", 0.0)
    assert modem.output(0.0) == b"\r\n+CMS ERROR: 304\r\n"
    send(modem, "AT+CMGS=20")
    modem.receive(b"zz\x1a", 0.0)
    assert modem.output(0.0) == b"\r\n+CMS ERROR: 304\r\n"
    assert modem.sent_messages == ()


def test_sms_escape_cancels_and_text_mode_works() -> None:
    modem = quiet(modem_with())
    send(modem, "AT+CMGS=20")
    modem.receive(b"0011\x1b", 0.0)
    assert modem.output(0.0) == b"\r\nOK\r\n"
    send(modem, "AT+CMGF=1")
    assert send(modem, 'AT+CMGS="+41791234567"') == "\r\n> "
    modem.receive(b"hello\x1a", 0.0)
    assert modem.output(0.0).startswith(b"\r\n+CMGS: ")
    assert modem.sent_messages[-1].text == "hello"
    assert modem.sent_messages[-1].number == "+41791234567"


def test_sms_needs_sim_and_service() -> None:
    assert send(quiet(create_modem("quectel-ec25", "no-sim")), "AT+CMGS=20") == (
        "\r\n+CMS ERROR: 310\r\n"
    )
    assert send(quiet(create_modem("quectel-ec25", "denied")), "AT+CMGS=20") == (
        "\r\n+CMS ERROR: 331\r\n"
    )


def test_line_editing_and_non_at_lines() -> None:
    modem = quiet(modem_with())
    modem.receive(b"AT+CSX\x08Q\r", 0.0)
    assert modem.output(0.0) == b"\r\n+CSQ: 24,99\r\n\r\nOK\r\n"
    assert send(modem, "hello") == ""
    modem.receive(b"\r\n\r\n", 0.0)
    assert modem.output(0.0) == b""
    modem.receive(b"A" * 5000 + b"\r", 0.0)
    assert modem.output(0.0) == b""  # overlong line dropped whole
    assert send(modem, "AT") == "\r\nOK\r\n"


def test_command_split_across_writes() -> None:
    modem = quiet(modem_with())
    for byte in b"AT+CGMI\r":
        modem.receive(bytes([byte]), 0.0)
    assert modem.output(0.0) == b"\r\nQuectel\r\n\r\nOK\r\n"


@pytest.mark.parametrize("line", ["AT+", "AT=", "AT+CREG=9", "AT+CREG=a", "AT+CSQ?", "AT+CGMI=1"])
def test_malformed_commands_give_error_and_change_nothing(line: str) -> None:
    modem = quiet(modem_with())
    assert send(modem, line) == "\r\nERROR\r\n"
    assert send(modem, "AT+CREG?") == "\r\n+CREG: 0,1\r\n\r\nOK\r\n"


def test_fibocom_reports_unknown_commands_as_not_supported() -> None:
    fibocom = quiet(modem_with(profile="fibocom-l850"))
    assert send(fibocom, "AT+NOPE") == "\r\nERROR\r\n"  # +CMEE=0 at power-on
    send(fibocom, "AT+CMEE=1")
    assert send(fibocom, "AT+NOPE") == "\r\n+CME ERROR: 4\r\n"
    send(fibocom, "AT+CMEE=2")
    assert send(fibocom, "AT+NOPE") == "\r\n+CME ERROR: operation not supported\r\n"


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_never_break_the_modem(data: bytes) -> None:
    modem = quiet(modem_with())
    modem.receive(data, 0.0)
    modem.output(10.0)
    # ESC leaves an SMS prompt the garbage may have opened; CR ends a half-typed line.
    modem.receive(b"\x1b\r", 10.0)
    modem.output(20.0)
    assert send(modem, "ATE0", 20.0).endswith("\r\nOK\r\n")
    assert send(modem, "AT+CGMI", 20.0).endswith("\r\nQuectel\r\n\r\nOK\r\n")
