"""+COPS, +CSQ, +CESQ and +CFUN (27.007 §7.3, §8.5, §8.69, §8.2)."""

from __future__ import annotations

import pytest

from modem.at import (
    parse_cesq,
    parse_cfun,
    parse_cops,
    parse_cops_list,
    parse_csq,
    split_operator_id,
)
from modem.errors import ParseError


@pytest.mark.parametrize(
    ("text", "mode", "fmt", "oper", "mcc", "mnc", "act"),
    [
        ('+COPS: 0,2,"22801",7', 0, 2, "22801", "228", "01", 7),
        ('+COPS: 0,2,"310260",7', 0, 2, "310260", "310", "260", 7),
        ('+COPS: 1,2,"724000",2', 1, 2, "724000", "724", "000", 2),
        ('+COPS: 0,0,"Swisscom",7', 0, 0, "Swisscom", None, None, 7),
        ('+COPS: 0,0,"AT&T, Inc.",7', 0, 0, "AT&T, Inc.", None, None, 7),  # comma in a name
        ("+COPS: 0", 0, None, None, None, None, None),  # not registered
        ('+COPS: 0,2,"00320031003400300037",7', 0, 2, "21407", "214", "07", 7),  # UCS2
        ("+COPS:0,2,26201", 0, 2, "26201", "262", "01", None),  # unquoted, no space
        ('+COPS: 0,0,"005300770069007300730063006F006D",7', 0, 0, "Swisscom", None, None, 7),
        ('+COPS: 0,1,"BEEF",7', 0, 1, "BEEF", None, None, 7),
    ],
)
def test_cops_read(
    text: str,
    mode: int,
    fmt: int | None,
    oper: str | None,
    mcc: str | None,
    mnc: str | None,
    act: int | None,
) -> None:
    operator = parse_cops(f"AT+COPS?\r\r\n{text}\r\n\r\nOK\r\n")
    assert (operator.mode, operator.format, operator.oper) == (mode, fmt, oper)
    assert (operator.mcc, operator.mnc, operator.act) == (mcc, mnc, act)


def test_cops_numeric_with_bad_length_has_no_mcc() -> None:
    operator = parse_cops('+COPS: 0,2,"3104100",7')
    assert operator.oper == "3104100"
    assert operator.mcc is None


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("41201", ("412", "01")),
        ("342600", ("342", "600")),
        ("72400", ("724", "00")),
        ("724000", ("724", "000")),
        ("00001", None),
        ("00101", ("001", "01")),
        ("2280", None),
        ("2280a", None),
    ],
)
def test_split_operator_id(code: str, expected: tuple[str, str] | None) -> None:
    assert split_operator_id(code) == expected


def test_cops_list() -> None:
    text = (
        '+COPS: (2,"Swisscom","Swisscom","22801",7),(1,"Salt","Salt","22803",7),'
        '(3,"Sunrise, Ltd","Sunrise","22802",2),,(0,1,2,3,4),(0,1,2)'
    )
    operators = parse_cops_list(text)
    assert [(o.status, o.oper, o.mcc, o.mnc, o.act) for o in operators] == [
        (2, "Swisscom", "228", "01", 7),
        (1, "Salt", "228", "03", 7),
        (3, "Sunrise, Ltd", "228", "02", 2),
    ]


def test_cops_list_quirks() -> None:
    # Misplaced parenthesis before the AcT (TM-506) and no comma before the mode list.
    operators = parse_cops_list('+COPS: (2,"AT&T","AT&T","310410"),7),(0-4),(0-2)')
    assert [(o.mcc, o.mnc, o.act) for o in operators] == [("310", "410", 7)]
    assert parse_cops_list("+COPS: ,,(0-4),(0-2)") == []
    three = parse_cops_list('+COPS: (1,"T-Mobile","TMO","310260",7)(0,1,2,3,4),(0,1,2)')
    assert three[0].mnc == "260"


def test_cops_list_rejects_broken_groups() -> None:
    with pytest.raises(ParseError):
        parse_cops_list('+COPS: (2,"Swisscom","SCOM","22801",7')
    with pytest.raises(ParseError):
        parse_cops_list('+COPS: (2,"Swisscom")')


@pytest.mark.parametrize(
    ("text", "rssi", "ber"),
    [
        ("+CSQ: 20,99", -73.0, None),
        ("+CSQ: 0,0", -113.0, 0.2),
        ("+CSQ: 31,7", -51.0, 100.0),
        ("+CSQ: 99,99", None, None),
        ("+CSQ:15,3", -83.0, 1.6),
        ("+CSQ: 115,99", -101.0, None),  # SIMCom TD-SCDMA range
    ],
)
def test_csq(text: str, rssi: float | None, ber: float | None) -> None:
    signal = parse_csq(f"AT+CSQ\r\r\n{text}\r\n\r\nOK\r\n")
    assert (signal.rssi, signal.ber) == (rssi, ber)


@pytest.mark.parametrize("text", ["+CSQ: 32,99", "+CSQ: 20,8", "+CSQ: a,b", "OK", "+CSQ: -1,0"])
def test_csq_rejects(text: str) -> None:
    with pytest.raises(ParseError):
        parse_csq(text)


def test_cesq_lte() -> None:
    signal = parse_cesq("+CESQ: 99,99,255,255,20,50")
    assert signal.rssi is None
    assert signal.rscp is None
    assert signal.rsrq == -10.0
    assert signal.rsrp == -91.0


def test_cesq_umts() -> None:
    signal = parse_cesq("+CESQ: 99,99,40,30,255,255")
    assert (signal.rscp, signal.ecno, signal.rsrp) == (-81.0, -9.5, None)


def test_cesq_gsm() -> None:
    signal = parse_cesq("+CESQ: 40,0,255,255,255,255")
    assert (signal.rssi, signal.ber) == (-71.0, 0.2)


def test_cesq_nr_extension() -> None:
    # Fibocom FM350: LTE and NR values together; the E-UTRA values win, SINR is NR's.
    signal = parse_cesq("+CESQ: 17,99,255,255,4,29,75,52,57")
    assert (signal.rsrp, signal.rsrq, signal.sinr) == (-112.0, -18.0, 5.0)
    standalone = parse_cesq("+CESQ: 99,99,255,255,255,255,75,52,57")
    assert (standalone.rsrp, standalone.rsrq) == (-105.0, -6.0)


@pytest.mark.parametrize("text", ["+CESQ: 99,99,255", "+CESQ: 99,99,255,255,20,98", "+CESQ:"])
def test_cesq_rejects(text: str) -> None:
    with pytest.raises(ParseError):
        parse_cesq(text)


@pytest.mark.parametrize(("text", "fun"), [("+CFUN: 1", 1), ("+CFUN: 4,0", 4), ("+CFUN: 19,0", 19)])
def test_cfun(text: str, fun: int) -> None:
    assert parse_cfun(f"{text}\r\nOK") == fun


@pytest.mark.parametrize("text", ["+CFUN: ", "+CFUN: on", "OK"])
def test_cfun_rejects(text: str) -> None:
    with pytest.raises(ParseError):
        parse_cfun(text)
