"""+CREG/+CGREG/+CEREG/+C5GREG in every shape met on real modules (27.007 §7.2, §10.1.20-23).

Most cases come from ModemManager's device corpus as restated in the research notes.
"""

from __future__ import annotations

import pytest

from modem.at import parse_creg, parse_urc
from modem.errors import ParseError
from modem.models import Rat, RegistrationDomain, RegistrationStatus

CREG, CGREG, CEREG, C5GREG = (
    RegistrationDomain.CREG,
    RegistrationDomain.CGREG,
    RegistrationDomain.CEREG,
    RegistrationDomain.C5GREG,
)

# (text, domain, n, stat, lac, tac, ci, act)
READ_CASES = [
    ("+CREG: 0,1", CREG, 0, 1, None, None, None, None),
    ('+CREG: 2,1,"CE00","01CEAD8F"', CREG, 2, 1, 0xCE00, None, 0x01CEAD8F, None),
    ('+CREG: 2,5,"0502","0404736D",2', CREG, 2, 5, 0x0502, None, 0x0404736D, 2),
    ("+CREG: 1,1,84CD,00D30173", CREG, 1, 1, 0x84CD, None, 0xD30173, None),  # n=1 with location
    ('+CREG:002,001,"18d8","ffff"', CREG, 2, 1, 0x18D8, None, None, None),  # Iridium
    ('+CREG: 2,1,"04D2","01A2B3C4",7', CREG, 2, 1, None, 0x04D2, 0x01A2B3C4, 7),  # LAC is a TAC
    ('+CGREG: 2, 1, "0426", "F00F"', CGREG, 2, 1, 0x0426, None, 0xF00F, None),
    ('+CGREG: 2,1,"31C5","0026FA3D",6,"00"', CGREG, 2, 1, 0x31C5, None, 0x26FA3D, 6),  # RAC
    ("+CEREG: 2,1, 1F00, 79D903 ,7", CEREG, 2, 1, None, 0x1F00, 0x79D903, 7),
    ('+CEREG: 2,1,"8d83","a3fb477",7', CEREG, 2, 1, None, 0x8D83, 0xA3FB477, 7),
    ("+CEREG: 2,10, 2CA8, 20 ,B5583D ,7", CEREG, 2, 10, None, 0x2CA8, 0xB5583D, 7),  # v8.6 RAC
    (
        '+CEREG: 4,5,"6A1B","02BD1E01",7,,,"00100100","01000111"',
        CEREG,
        4,
        5,
        None,
        0x6A1B,
        0x2BD1E01,
        7,
    ),
    ("+CEREG: 3,3,,,,0,15", CEREG, 3, 3, None, None, None, None),  # denied, cause fields
    ('+C5GREG: 2,1,"870100","1C649D138",11,1,"01"', C5GREG, 2, 1, None, 0x870100, 0x1C649D138, 11),
    ("+CREG: 2,0,00,0", CREG, 2, 0, 0, None, 0, None),  # Huawei zeroed location: 0 as printed
    ('+CREG: 2,4,"04D2","01A2B3C4",7', CREG, 2, 4, None, None, None, 7),  # unknown: no cell
    ('+CEREG: 2,1,"FFFE","FFFFFFF",7', CEREG, 2, 1, None, None, None, 7),  # reserved values
]


@pytest.mark.parametrize(("text", "domain", "n", "stat", "lac", "tac", "ci", "act"), READ_CASES)
def test_read_answers(
    text: str,
    domain: RegistrationDomain,
    n: int,
    stat: int,
    lac: int | None,
    tac: int | None,
    ci: int | None,
    act: int | None,
) -> None:
    (record,) = parse_creg(f"AT+X?\r\r\n{text}\r\n\r\nOK\r\n")
    assert (record.domain, record.n, record.stat) == (domain, n, RegistrationStatus(stat))
    assert (record.lac, record.tac, record.ci, record.act) == (lac, tac, ci, act)


# (line, domain, stat, area, ci, act, n)
URC_CASES = [
    ("+CREG: 1", CREG, 1, None, None, None, None),
    ("+CEREG: 5", CEREG, 5, None, None, None, None),
    ('+CEREG: 1,"1F00","01A2B3C4",7', CEREG, 1, 0x1F00, 0x01A2B3C4, 7, None),
    ("+CEREG:1,1F00,01A2B3C4,7", CEREG, 1, 0x1F00, 0x01A2B3C4, 7, None),
    ('+CGREG: 5,"00C3","A1B2",0,"14"', CGREG, 5, 0x00C3, 0xA1B2, 0, None),
    ('+CREG: 2,5,"0502","0404736D"', CREG, 5, 0x0502, 0x0404736D, None, 2),  # read-shaped
    ("+CEREG: 1, 2, 0001, 00000100, 7", CEREG, 2, 0x0001, 0x100, 7, 1),  # Altair read-shaped
    ("+CREG: 2,,", CREG, 2, None, None, None, None),  # Novatel: searching, empty location
    ('+C5GREG: 1,"2d6600","1C649D138",11', C5GREG, 1, 0x2D6600, 0x1C649D138, 11, None),
]


@pytest.mark.parametrize(("line", "domain", "stat", "area", "ci", "act", "n"), URC_CASES)
def test_unsolicited_forms(
    line: str,
    domain: RegistrationDomain,
    stat: int,
    area: int | None,
    ci: int | None,
    act: int | None,
    n: int | None,
) -> None:
    record = parse_urc(f"\r\n{line}\r\n")
    assert record is not None
    assert record.unsolicited
    assert (record.domain, record.stat, record.n) == (domain, RegistrationStatus(stat), n)
    found_area = record.tac if record.tac is not None else record.lac
    assert (found_area, record.ci, record.act) == (area, ci, act)


def test_two_records_in_one_read() -> None:
    records = parse_creg("\r\n+CREG: 5\r\n\r\n+CGREG: 0\r\n")
    assert [(r.domain, r.stat) for r in records] == [
        (CREG, RegistrationStatus.ROAMING),
        (CGREG, RegistrationStatus.NOT_REGISTERED),
    ]


def test_rat_from_act() -> None:
    (lte,) = parse_creg('+CEREG: 2,1,"1F00","01A2B3C4",9')
    assert lte.rat is Rat.NB_IOT
    (nr,) = parse_creg('+C5GREG: 2,1,"870100","1C649D138",11')
    assert nr.rat is Rat.NR


def test_unknown_stat_is_kept_as_none() -> None:
    (record,) = parse_creg("+CREG: 2,12")
    assert record.stat is None
    assert record.n == 2


def test_urc_returns_none_for_other_lines() -> None:
    assert parse_urc('+CMTI: "SM",3') is None
    assert parse_urc("RING") is None
    assert parse_urc("") is None


@pytest.mark.parametrize(
    "text",
    [
        "OK",
        "",
        "+CREG: ",
        "+CREG: x,1",
        '+CEREG: 2,1,"zz","01",7',
        "+CEREG: 9,x,9,9,9",
        '+CREG: 2,"04D2"',
    ],
)
def test_bad_input_is_a_parse_error(text: str) -> None:
    with pytest.raises(ParseError):
        parse_creg(text)


def test_malformed_urc_is_a_parse_error() -> None:
    with pytest.raises(ParseError):
        parse_urc("+CEREG: banana")
