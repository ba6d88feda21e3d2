"""IMSI, ICCID, IMEI, own number, SIM state and module strings (27.007 §5, §7.1, §8.3)."""

from __future__ import annotations

import pytest

from modem.at import (
    luhn_valid,
    parse_cgmi,
    parse_cgmm,
    parse_cgmr,
    parse_cgsn,
    parse_cimi,
    parse_cnum,
    parse_cpin,
    parse_crsm_iccid,
    parse_crsm_mnc_length,
    parse_iccid,
)
from modem.errors import ParseError
from modem.models import SimState

ICCID = "89410112345678901231"  # valid Luhn


def test_reference_iccid_is_valid() -> None:
    assert luhn_valid(ICCID)
    assert not luhn_valid(ICCID[:-1] + "2")


@pytest.mark.parametrize(
    "text",
    [
        "AT+CIMI\r\r\n228011234567890\r\n\r\nOK\r\n",
        "228011234567890",
        "+CIMI: 228011234567890",
        '"228011234567890"',
        "\x00\r\n228011234567890\r\nOK",
    ],
)
def test_cimi(text: str) -> None:
    assert parse_cimi(text) == "228011234567890"


@pytest.mark.parametrize("text", ["OK", "22801123456789012", "2280112345678a0", "12345"])
def test_cimi_rejects(text: str) -> None:
    with pytest.raises(ParseError):
        parse_cimi(text)


@pytest.mark.parametrize(
    "text",
    [
        f"+CCID: {ICCID}",
        f"+ICCID: {ICCID}",
        f"+QCCID: {ICCID}F",
        f"^ICCID: {ICCID}",
        f"!ICCID: {ICCID}",
        f"+CICCID: {ICCID}",
        f'#CCID: "{ICCID}"',
        f"^SCID: {ICCID}",
        f"AT+CCID\r\r\n{ICCID}\r\n\r\nOK\r\n",
        f"+CCID: {ICCID[:10]} {ICCID[10:]}",
    ],
)
def test_iccid_vendor_forms(text: str) -> None:
    assert parse_iccid(text) == ICCID


def test_iccid_nineteen_digits_and_hex_letters() -> None:
    assert parse_iccid("+CCID: 8944110068256270054") == "8944110068256270054"
    # Some operators issue ICCIDs with hex letters after position 6; no Luhn check then.
    assert parse_iccid("+ICCID: 898602F9091830030220") == "898602F9091830030220"


def test_iccid_from_swapped_crsm() -> None:
    swapped = "".join(ICCID[i + 1] + ICCID[i] for i in range(0, 20, 2))
    text = f'+CRSM: 144,0,"{swapped}"\r\nOK'
    assert parse_crsm_iccid(text) == ICCID
    assert parse_iccid(text) == ICCID


def test_crsm_swap_and_padding() -> None:
    # 98231420326409614087 reads back as 89324102234690160478; a 19-digit ICCID is padded
    # with F, which lands in the last byte's high nibble.
    assert parse_crsm_iccid('+CRSM: 144,0,"98231420326409614087"') == "89324102234690160478"
    assert parse_crsm_iccid('+CRSM: 144,0,"981410214365870921F3"') == "8941011234567890123"


@pytest.mark.parametrize(
    "text",
    [
        "+CCID: 19410112345678901231",  # MII
        "+CCID: 8941011234",  # too short
        "+CCID: 89A10112345678901231",  # hex letter too early
        "+CCID: 98410112345678901",  # swapped but not 20 digits
        "OK",
    ],
)
def test_iccid_rejects(text: str) -> None:
    with pytest.raises(ParseError):
        parse_iccid(text)


def test_crsm_rejects_failing_status() -> None:
    with pytest.raises(ParseError):
        parse_crsm_iccid('+CRSM: 106,130,""')
    with pytest.raises(ParseError):
        parse_crsm_iccid("+CRSM: 144,0")


@pytest.mark.parametrize(("data", "length"), [("00000002", 2), ("00000003", 3), ("0100000302", 3)])
def test_mnc_length_from_ef_ad(data: str, length: int) -> None:
    assert parse_crsm_mnc_length(f'+CRSM: 144,0,"{data}"') == length


def test_mnc_length_rejects() -> None:
    with pytest.raises(ParseError):
        parse_crsm_mnc_length('+CRSM: 144,0,"00000005"')
    with pytest.raises(ParseError):
        parse_crsm_mnc_length('+CRSM: 144,0,"0000"')


@pytest.mark.parametrize(
    "text",
    [
        "356938035643809",
        '+CGSN: "356938035643809"',
        "IMEI: 356938035643809",
        "356938035643809,NL2A62Z0N5",
        "AT+CGSN\r\r\n356938035643809\r\n\r\nOK",
        "35693803564380",  # no check digit
    ],
)
def test_cgsn(text: str) -> None:
    assert parse_cgsn(text) == "356938035643809"


@pytest.mark.parametrize("text", ["356938035643808", "3569380356438", "ERROR", "0x80AB1234"])
def test_cgsn_rejects(text: str) -> None:
    with pytest.raises(ParseError):
        parse_cgsn(text)


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ('+CNUM: "Own","+41791234567",145', "+41791234567"),
        ('+CNUM: ,"41791234567",145', "+41791234567"),
        ('+CNUM: "","0791234567",129', "0791234567"),
        ("OK", None),
        ('+CNUM: "Voice","",129\r\n+CNUM: "Data","+41791234567",145', "+41791234567"),
    ],
)
def test_cnum(text: str, number: str | None) -> None:
    assert parse_cnum(text) == number


def test_cnum_rejects_letters() -> None:
    with pytest.raises(ParseError):
        parse_cnum('+CNUM: "Own","+4179abc",145')


@pytest.mark.parametrize(
    ("text", "state"),
    [
        ("+CPIN: READY", SimState.READY),
        ('+CPIN: "SIM PIN"', SimState.SIM_PIN),
        ("+CPIN: SIM PUK2", SimState.SIM_PUK2),
        ("+CPIN: SIM PUK", SimState.SIM_PUK),
        ("+CPIN: PH-SIM PIN", SimState.PH_SIM_PIN),
        ("+CPIN: PH-NET PIN", SimState.PH_NET_PIN),
        ("+CPIN: NOT INSERTED", SimState.NOT_INSERTED),
        ("+CPIN: NOT READY", SimState.UNKNOWN),
        ("+CPIN:READY", SimState.READY),
    ],
)
def test_cpin(text: str, state: SimState) -> None:
    assert parse_cpin(f"AT+CPIN?\r\r\n{text}\r\n\r\nOK") is state


@pytest.mark.parametrize("text", ["+CPIN: BANANA", "OK", ""])
def test_cpin_rejects(text: str) -> None:
    with pytest.raises(ParseError):
        parse_cpin(text)


def test_module_strings() -> None:
    assert parse_cgmi("AT+CGMI\r\r\nQuectel\r\n\r\nOK") == "Quectel"
    assert parse_cgmi('+CGMI: "SIMCOM INCORPORATED"') == "SIMCOM INCORPORATED"
    assert parse_cgmi("Manufacturer: Fibocom Wireless Inc.") == "Fibocom Wireless Inc."
    assert parse_cgmm("+GMM: LM960A18") == "LM960A18"
    assert parse_cgmr("Revision: EC25EFAR06A06M4G") == "EC25EFAR06A06M4G"
    ati = "Manufacturer: SIMCOM INCORPORATED\r\nModel: SIMCOM_SIM7600E-H\r\nRevision: V1.1\r\nOK"
    assert parse_cgmi(ati) == "SIMCOM INCORPORATED"
    assert parse_cgmm(ati) == "SIMCOM_SIM7600E-H"
    assert parse_cgmr(ati) == "V1.1"
    with pytest.raises(ParseError):
        parse_cgmm("OK")
