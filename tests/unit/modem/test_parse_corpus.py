"""Module answers from tests/data/at/<group>/*.txt, read through ``parse_dump``.

Each file holds one case: the command, where the answer comes from (module, firmware,
publication), the module's answer and the records expected (only the fields listed are
compared, and the number of records must match). Every case is also fed with CRLF
framing, with the echo and power-up NULs in front, and with garbage before it, because
that is what a pasted terminal capture looks like.

Every command family holds at least five captured real-format answers, except the few
listed in ``SCARCE`` with the reason.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from modem.at.dump import normalise_command, parse_dump

CORPUS = Path(__file__).parents[2] / "data" / "at"
CASES = sorted(CORPUS.glob("*/*.txt"))


def _load(path: Path) -> tuple[str, str, list[dict[str, Any]]]:
    text = path.read_text(encoding="utf-8")
    head, _, rest = text.partition("=== reply\n")
    reply, _, expect = rest.partition("=== expect\n")
    headers = dict(line.split(": ", 1) for line in head.splitlines() if ": " in line)
    return headers["command"], reply.rstrip("\n"), json.loads(expect)


def _check(records: list[dict[str, Any]], expected: list[dict[str, Any]]) -> None:
    assert len(records) == len(expected), records
    for record, wanted in zip(records, expected, strict=True):
        for key, value in wanted.items():
            assert (
                record[key] == pytest.approx(value)
                if isinstance(value, float)
                else (record[key] == value)
            ), (key, record)


FAMILIES = {
    **dict.fromkeys(("+CREG", "+CGREG", "+CEREG", "+C5GREG"), "registration"),
    **dict.fromkeys(
        ("+CCID", "+ICCID", "+QCCID", "+CICCID", "^ICCID", "!ICCID", "#CCID", "+CRSM"), "iccid"
    ),
    **dict.fromkeys(("+CGSN", "+GSN"), "imei"),
    **dict.fromkeys(("+CSQ", "+CESQ"), "signal"),
    **dict.fromkeys(
        ("+QPINC", "+SPIC", "^CPIN", "+CPINC", "+UPINCNT", "#PCT", "+GTPINCNT", "^SPIC", "+CPINR"),
        "pin counters",
    ),
    "CPSI": "+CPSI",
}

#: Families with fewer captures than five in the public sources at hand, and why.
SCARCE = {
    "+CCINFO": "one public SIMCom capture (SIM5320A) holds both a serving and a neighbour row",
    "#CSURVC": "one public LM960A18 capture; the survey takes minutes and is rarely logged",
    "^SMONP": "the EHS6 manual's example is the only public capture found",
}


def _family(path: Path) -> str:
    command, _, _ = _load(path)
    name = normalise_command(command)[0]
    return FAMILIES.get(name, name)


def test_corpus_has_five_cases_per_command_family() -> None:
    counts: dict[str, int] = {}
    for path in CASES:
        counts[_family(path)] = counts.get(_family(path), 0) + 1
    assert counts.keys() >= {
        "registration", "URC", "+COPS", "signal", "^HCSQ", "+CPIN", "+CFUN", "+CNUM",
        "iccid", "imei", "pin counters", "+QENG", "+CPSI", "+CCINFO", "+UCGED", "#SERVINFO",
        "#RFSTS", "#MONI", "#CSURVC", "!GSTATUS", "!LTEINFO", "^MONSC", "^MONNC",
        "+GTCCINFO", "^SMONI", "^SMONP",
    }  # fmt: skip
    for family, count in counts.items():
        assert count >= 5 or family in SCARCE, (family, count)


def test_every_case_names_its_source() -> None:
    for path in CASES:
        head = path.read_text(encoding="utf-8").partition("=== reply")[0]
        assert "source: " in head and head.split("source: ", 1)[1].strip(), path


@pytest.mark.parametrize("path", CASES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_corpus_case(path: Path) -> None:
    command, reply, expected = _load(path)
    _check(parse_dump(command, reply), expected)


@pytest.mark.parametrize("path", CASES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_corpus_case_with_framing_echo_and_garbage(path: Path) -> None:
    command, reply, expected = _load(path)
    framed = "\r\n" + reply.replace("\n", "\r\n") + "\r\n"
    _check(parse_dump(command, framed), expected)
    echoed = "\x00\x00" + command + "\r\r\n" + framed
    _check(parse_dump(command, echoed), expected)
    garbage = "\x00\x7f~~ noise ~~\r\n" + echoed
    _check(parse_dump(command, garbage), expected)
