"""``parse_dump``: the logic behind ``salve-modem parse COMMAND``."""

from __future__ import annotations

import json

import pytest

from modem.at.dump import normalise_command, parse_dump

CEREG_ANSWER = 'AT+CEREG?\r\r\n+CEREG: 2,1,"04D2","01A2B3C4",7\r\n\r\nOK\r\n'


@pytest.mark.parametrize("command", ["AT+CEREG?", "at+cereg?", "+CEREG?", "CEREG?", " AT+CEREG "])
def test_command_spellings(command: str) -> None:
    assert parse_dump(command, CEREG_ANSWER) == [
        {
            "type": "registration",
            "domain": "CEREG",
            "n": 2,
            "stat": 1,
            "lac": None,
            "tac": 0x04D2,
            "ci": 0x01A2B3C4,
            "act": 7,
            "unsolicited": False,
        }
    ]


def test_records_are_json_ready() -> None:
    text = (
        '+QENG: "servingcell","NOCONN","LTE","FDD",228,01,1A2B3C4,101,1300,3,5,5,4D2,'
        "-95,-10,-65,15,40"
    )
    (record,) = parse_dump('AT+QENG="servingcell"', text)
    assert json.loads(json.dumps(record)) == record
    assert list(record) == [
        "type",
        "rat",
        "state",
        "mcc",
        "mnc",
        "lac",
        "tac",
        "ci",
        "pci",
        "arfcn",
        "earfcn",
        "uarfcn",
        "psc",
        "band",
        "rsrp",
        "rsrq",
        "rssi",
        "sinr",
        "rscp",
        "ecio",
        "nsa_leg",
    ]


def test_operator_records() -> None:
    assert parse_dump("AT+COPS?", '+COPS: 0,2,"310260",7\r\nOK') == [
        {"type": "operator", "mode": 0, "format": 2, "oper": "310260", "mcc": "310", "mnc": "260"}
    ]
    scan = parse_dump("AT+COPS=?", '+COPS: (2,"Swisscom","SCOM","22801",7),,(0-4),(0-2)')
    assert [(r["oper"], r["mcc"], r["mnc"]) for r in scan] == [("Swisscom", "228", "01")]


def test_identity_records() -> None:
    assert parse_dump("AT+CIMI", "228011234567890\r\nOK") == [
        {"type": "imsi", "imsi": "228011234567890"}
    ]
    assert parse_dump("AT+QCCID", "+QCCID: 8941011234567890123F\r\nOK") == [
        {"type": "iccid", "iccid": "8941011234567890123", "luhn_ok": True}
    ]
    assert parse_dump("AT+CRSM=176,12258,0,0,10", '+CRSM: 144,0,"981410214365870921F3"') == [
        {"type": "iccid", "iccid": "8941011234567890123", "luhn_ok": True}
    ]
    assert parse_dump("AT+CGSN", "356938035643809") == [{"type": "imei", "imei": "356938035643809"}]


def test_signal_and_sim_state_records() -> None:
    assert parse_dump("AT+CSQ", "+CSQ: 20,99") == [
        {
            "type": "signal",
            "rssi": -73.0,
            "ber": None,
            "rscp": None,
            "ecno": None,
            "rsrp": None,
            "rsrq": None,
            "sinr": None,
        }
    ]
    assert parse_dump("AT+CPIN?", "+CPIN: SIM PIN") == [{"type": "sim_state", "state": "SIM PIN"}]


def test_error_lines_become_records() -> None:
    assert parse_dump("AT+CPIN?", "AT+CPIN?\r\r\n+CME ERROR: 10\r\n") == [
        {"type": "error", "code": 10, "name": "SIM not inserted"}
    ]
    assert parse_dump("AT+CMGS=20", "+CMS ERROR: Invalid memory index") == [
        {"type": "error", "code": 321, "name": "Invalid memory index"}
    ]
    assert parse_dump("AT+FOO", "+CME ERROR: 9999") == [
        {"type": "error", "code": 9999, "name": None}
    ]


def test_one_bad_line_does_not_hide_the_good_ones() -> None:
    text = '+CREG: 2,1,"CE00","01CEAD8F"\r\n+CGREG: banana\r\n+CEREG: 2,1,"1F00","79D903",7'
    records = parse_dump("AT+CREG?;+CGREG?;+CEREG?", text)
    assert [r["domain"] for r in records] == ["CREG", "CEREG"]


@pytest.mark.parametrize(
    ("command", "text"),
    [
        ("AT+CEREG?", "OK"),
        ("AT+CEREG?", ""),
        ("AT+CEREG?", "\x00\x00\xff garbage"),
        ("AT+UNKNOWN", "+UNKNOWN: 1,2,3"),
        ("", "+CSQ: 20,99"),
    ],
)
def test_nothing_understood_gives_an_empty_list(command: str, text: str) -> None:
    assert parse_dump(command, text) == []


def test_normalise_command() -> None:
    assert normalise_command('AT+QENG="servingcell"') == ("+QENG", '="servingcell"')
    assert normalise_command("at^monsc") == ("^MONSC", "")
    assert normalise_command("cpsi?") == ("CPSI", "?")
    with pytest.raises(ValueError):
        normalise_command("???")


def test_no_serving_cell_is_a_record() -> None:
    assert parse_dump("AT^MONSC", "^MONSC: NONE\r\nOK") == [
        {"type": "no_serving_cell", "rat": None, "state": "NONE"}
    ]
    assert parse_dump("AT^SMONI", "^SMONI: 4G,SEARCH") == [
        {"type": "no_serving_cell", "rat": "LTE", "state": "SEARCH"}
    ]
    assert parse_dump("AT+CPSI?", "+CPSI: NO SERVICE,Online") == [
        {"type": "no_serving_cell", "rat": None, "state": "NO SERVICE"}
    ]


def test_nsa_leg_is_a_serving_record_marked_as_the_leg() -> None:
    text = (
        '+QENG: "servingcell","NOCONN"\r\n'
        '+QENG: "LTE","FDD",310,260,3089F02,236,66786,66,5,5,2D18,-101,-12,-68,10,11,-,-\r\n'
        '+QENG: "NR5G-NSA",310,260,393,-95,20,-11,521310,41,12,1\r\nOK'
    )
    anchor, leg = parse_dump('AT+QENG="servingcell"', text)
    assert (anchor["type"], anchor["rat"], anchor["nsa_leg"]) == ("serving_cell", "LTE", False)
    assert (leg["type"], leg["rat"], leg["nsa_leg"], leg["pci"]) == (
        "serving_cell",
        "NR",
        True,
        393,
    )


@pytest.mark.parametrize(
    ("command", "text", "record"),
    [
        ("AT^SPIC", "^SPIC: 2", {"pin_retries": None, "puk_retries": None, "retries": 2}),
        ('AT^SPIC="SC"', "^SPIC: 2", {"pin_retries": 2, "puk_retries": None, "retries": None}),
        ('AT^SPIC="SC",1', "^SPIC: 9", {"pin_retries": None, "puk_retries": 9, "retries": None}),
        (
            "AT+CPINR",
            "+CPINR: SIM PIN,1,3\r\n+CPINR: SIM PUK,10,10",
            {"pin_retries": 1, "puk_retries": 10},
        ),
    ],
)
def test_pin_counter_records(command: str, text: str, record: dict[str, object]) -> None:
    (found,) = parse_dump(command, text)
    assert found["type"] == "pin_counters"
    for key, value in record.items():
        assert found[key] == value


def test_urc_log_reads_each_line_by_its_prefix() -> None:
    log = "\r\n".join(
        [
            "RDY",
            "+CFUN: 1",
            "+CPIN: SIM PIN",
            '+CREG: 5,"00C3","A1B2",2',
            "+CEREG: 1,0001,0010,7",
            '+CMTI: "SM",3',
            "garbage \x01 line",
            "SMS DONE",
        ]
    )
    records = parse_dump("URC", log)
    assert [r["type"] for r in records] == [
        "event", "function", "sim_state", "registration", "registration", "event",
    ]  # fmt: skip
    creg, cereg = records[3], records[4]
    assert (creg["stat"], creg["lac"], creg["ci"], creg["act"]) == (5, 0xC3, 0xA1B2, 2)
    assert (cereg["stat"], cereg["tac"], cereg["ci"], cereg["unsolicited"]) == (1, 1, 0x10, True)


def test_vendor_commands_typed_without_their_prefix_character() -> None:
    assert parse_dump("smoni", "^SMONI: 4G,SEARCH")[0]["type"] == "no_serving_cell"
    assert parse_dump("hcsq?", '^HCSQ: "GSM",36,255')[0]["rssi"] == -85.0
