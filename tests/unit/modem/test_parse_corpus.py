"""Vendor cell answers from tests/data/at/<vendor>/*.txt, read through ``parse_dump``.

Each file holds one case: the command, the module's answer and the records expected
(only the fields listed are compared, and the number of records must match). Every
case is also fed with CRLF framing, with the echo and power-up NULs in front, and with
garbage before it, because that is what a pasted terminal capture looks like.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from modem.at.dump import parse_dump

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


def test_corpus_has_five_cases_per_vendor() -> None:
    vendors = {path.parent.name for path in CASES}
    assert vendors >= {"quectel", "simcom", "ublox", "telit", "sierra", "huawei", "fibocom"}
    for vendor in vendors:
        assert len(list((CORPUS / vendor).glob("*.txt"))) >= 5, vendor


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
