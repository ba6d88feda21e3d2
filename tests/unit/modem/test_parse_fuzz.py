"""Every parser, fed anything at all, returns a value or raises ParseError, nothing else.

Inputs mix random text with mutations of real answers (fields dropped, duplicated,
replaced by markers, bytes flipped), which reach much deeper into the parsers than
random text alone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modem import at
from modem.at.dump import parse_dump
from modem.at.pin import (
    CURRENT_COUNTER_QUERIES,
    PIN_COUNTER_QUERIES,
    PinCounterQuery,
    read_pin_counters,
)
from modem.errors import ParseError

PARSERS: dict[str, Callable[[str], Any]] = {
    name: getattr(at, name) for name in at.__all__ if name.startswith("parse_")
}

SEEDS = [
    '+CREG: 2,1,"04D2","01A2B3C4",7',
    "+CEREG: 1, 2, 0001, 00000100, 7",
    '+COPS: 0,2,"22801",7',
    '+COPS: (2,"Swisscom","SCOM","22801",7),,(0-4),(0-2)',
    "+CSQ: 20,99",
    "+CESQ: 17,99,255,255,4,29,75,52,57",
    "+CPIN: SIM PIN",
    "+CFUN: 1,0",
    "+CCID: 89410112345678901231",
    '+CRSM: 144,0,"98231420326409614087"',
    "356938035643809",
    '+CNUM: "Own","+41791234567",145',
    '+QENG: "servingcell","NOCONN","LTE","FDD",228,01,1A2B3C4,101,1300,3,5,5,4D2,-95,-10,-65,15,40',
    '+QENG: "neighbourcell intra","LTE",1300,102,-12,-99,-70,5,30,4,10,6,62',
    '+QENG: "NR5G-NSA",310,260,393,-95,20,-11,521310,41,12,1',
    "+CPSI: LTE,Online,228-02,0x9CA4,20964868,46,EUTRAN-BAND20,6200,3,3,-178,-1089,-742,8",
    "+UCGED: 2\n6,4,001,01\n2525,5,50,50,e8fe,1a2d001,1,d60814d1,8001,01,28,31,13.75",
    '#SERVINFO: 66786,-68,"T-Mobile","310260",3089F02,2D18,640,3,-101',
    '#RFSTS: "310 260",66786,-101,-68,-12,2D18,FF,,128,19,0,3089F02,"3102601",,3,66',
    "#MONI: T-Mobile RSRP:-101 RSRQ:-12 TAC:2D18 Id:3089F02 EARFCN:66786 PWR:-68dbm pci:236",
    "!GSTATUS: \nSystem mode:   LTE\tPS state: Attached\nTAC:   550d (21773)\tCell ID: 00a51b02",
    "!LTEINFO: \nServing: EARFCN MCC MNC TAC CID\n 1300 262 01 21773 00A51B02",
    "^MONSC: LTE,460,00,1850,2B4E80F,DF,5A1E,-91,-9,-62",
    "^MONNC: GSM,1,12,49,2D55,57B2,-80",
    "+GTCCINFO:\n1,4,262,1,05D5,0019BF801,1300,358,103,100,13,60,60,22",
    "^SMONI: 4G,6300,20,10,10,FDD,262,02,BF75,0345103,350,33,-94,-7,NOCONN",
    "^SMONP:\n2G:\n658,51,-60,262,07,7,4,46,46,4EED,08B8,0,0\n3G:\n-----,---,-----,----",
    "+CCINFO:[SCELL],UARFCN:4436,MCC:505,MNC:001,LAC:338,ID:14302219,PSC:214,RSCP:88,ECIO:8.0",
    "#CSURVC: 66786,-68,310,260,50896642,11544,236,0,-103,-15,20",
    '^HCSQ: "LTE",30,19,66,0',
    '+RSRP: 162,6400,"-076.50",163,6400,"-081.00"\n+RSRQ: 162,6400,"-011.00"',
    "+CPSI: NR5G_NSA,298,NR5G_BAND41,520110,-760,-110,18,0,12",
    "+CPSI: NR5G,58,643296,-12,-86,8.5",
    '+QPINC: "SC",3,10',
    "^CPIN: SIM PIN,3,10,3,10,3",
]

MARKERS = ["", "-", "--", "FFFF", "fff", "NONE", "0x", '"', "(", ")", "99", "255", "-1", "1e9"]


@st.composite
def mutated(draw: st.DrawFn) -> str:
    seed = draw(st.sampled_from(SEEDS))
    head, sep, body = seed.partition(":")
    fields = body.split(",")
    for _ in range(draw(st.integers(0, 4))):
        if not fields:
            break
        index = draw(st.integers(0, len(fields) - 1))
        action = draw(st.sampled_from(["drop", "dup", "marker", "text"]))
        if action == "drop":
            del fields[index]
        elif action == "dup":
            fields.insert(index, fields[index])
        elif action == "marker":
            fields[index] = draw(st.sampled_from(MARKERS))
        else:
            fields[index] = draw(st.text(max_size=6))
    return head + sep + ",".join(fields)


ANY_TEXT = st.one_of(st.text(max_size=80), mutated())


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(sorted(PARSERS)), text=ANY_TEXT)
def test_parsers_raise_only_parse_error(name: str, text: str) -> None:
    try:
        PARSERS[name](text)
    except ParseError:
        pass


@settings(max_examples=200, deadline=None)
@given(name=st.sampled_from(sorted(PARSERS)), seed=st.sampled_from(SEEDS))
def test_parsers_on_every_real_seed(name: str, seed: str) -> None:
    # Each parser meets every other command's answer; only ParseError may escape.
    try:
        PARSERS[name](seed)
    except ParseError:
        pass


COMMANDS = [
    "URC",
    "AT^HCSQ?",
    "AT^SMONP",
    "AT#CSURVC",
    "AT+CCINFO",
    "AT+QPINC?",
    'AT^SPIC="SC",1',
    "AT+CEREG?",
    "AT+COPS?",
    "AT+COPS=?",
    "AT+CSQ",
    'AT+QENG="servingcell"',
    "AT+CPSI?",
    "AT+UCGED?",
    "AT#MONI",
    "AT!GSTATUS?",
    "AT^MONSC",
    "AT+GTCCINFO?",
    "AT+CCID",
    "",
    "???",
]


@settings(max_examples=200, deadline=None)
@given(command=st.one_of(st.sampled_from(COMMANDS), st.text(max_size=12)), text=ANY_TEXT)
def test_parse_dump_never_raises(command: str, text: str) -> None:
    records = parse_dump(command, text)
    assert isinstance(records, list)
    for record in records:
        assert isinstance(record["type"], str)


FIELD = st.text(alphabet=st.characters(blacklist_characters=',"\r\n\x00'), max_size=8)


@settings(max_examples=100, deadline=None)
@given(fields=st.lists(FIELD, min_size=1, max_size=8), quoted=st.booleans())
def test_split_fields_round_trip(fields: list[str], quoted: bool) -> None:
    from modem.at.common import clean, split_fields

    wrap = (lambda f: f'"{f}"') if quoted else (lambda f: f)
    parts = split_fields(",".join(wrap(f) for f in fields))
    assert [clean(p) for p in parts] == [f.strip() for f in fields]


@settings(max_examples=100, deadline=None)
@given(
    lines=st.lists(FIELD.filter(lambda s: s.strip()), max_size=6),
    ending=st.sampled_from(["\r\n", "\n", "\r", "\r\r\n", "\r\n\r\n"]),
)
def test_split_lines_any_framing(lines: list[str], ending: str) -> None:
    from modem.at.common import split_lines

    text = "\x00" + ending.join(lines) + ending
    assert split_lines(text) == [line.strip() for line in lines]


def test_public_parsers_are_exported() -> None:
    import modem.at.cells
    import modem.at.identity
    import modem.at.network
    import modem.at.registration

    for module in (modem.at.cells, modem.at.identity, modem.at.network, modem.at.registration):
        for name in module.__all__:
            if not name.startswith("parse_"):
                continue
            assert name in at.__all__, name
            assert getattr(at, name) is getattr(module, name)


@settings(max_examples=150, deadline=None)
@given(
    query=st.sampled_from(
        [q for queries in PIN_COUNTER_QUERIES.values() for q in queries]
        + list(CURRENT_COUNTER_QUERIES.values())
    ),
    text=ANY_TEXT,
)
def test_pin_counter_readers_raise_only_parse_error(query: PinCounterQuery, text: str) -> None:
    try:
        read_pin_counters(query, text)
    except ParseError:
        pass
