"""Quectel ``AT+QENG="servingcell"`` and ``AT+QENG="neighbourcell"`` (EC2x/EG2x/BG9x and
RG/RM5xx "AT Commands Manual", engineering mode), as layout tables.

Serving rows are ``"servingcell",<state>,<RAT>,…``; in 5G non-standalone (EN-DC) the
module prints the ``"servingcell",<state>`` header alone and then an ``"LTE"`` row (the
anchor) and an ``"NR5G-NSA"`` row (the NR leg: PCI and channel, no identity, and the
order **RSRP, SINR, RSRQ**). The header is carried into both rows before they are read,
so the anchor is an ordinary LTE serving row and the NR leg is the report's ``nr_leg``.
``"servingcell","SEARCH"`` says there is no serving cell.

Cell ids, TACs and LACs are hex; PCI, channels and MCC/MNC decimal; ``-`` is unknown.
LTE SINR: old EC2x firmware prints 0..250 for -20..+30 dB; values above 40 (impossible
as dB) are converted, smaller ones are taken as dB, which captured firmware prints.
Neighbour LTE rows carry no cell identity and print RSRQ before RSRP.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from modem.at.cells.layout import (
    Choice,
    CommandLayouts,
    Const,
    Dec,
    Digits,
    Field,
    Hex,
    Layout,
    Level,
    Role,
    Row,
    Text,
    Word,
    constants,
    iter_rows,
    read_rows,
)
from modem.at.cells.report import CellReport
from modem.at.common import clean, dbm, payload, split_fields, split_lines
from modem.models import Rat

__all__ = [
    "NEIGHBOUR_LAYOUTS",
    "SERVING_LAYOUTS",
    "parse_qeng_neighbourcell",
    "parse_qeng_servingcell",
]

_PREFIX = "+QENG"

LTE_WORDS = {
    "LTE": Rat.LTE,
    "CAT-M": Rat.LTE_M,
    "CAT-M1": Rat.LTE_M,
    "eMTC": Rat.LTE_M,
    "CAT-NB": Rat.NB_IOT,
    "CAT-NB1": Rat.NB_IOT,
    "NBIoT": Rat.NB_IOT,
    "NB-IoT": Rat.NB_IOT,
}


@dataclass(frozen=True, slots=True)
class _Sinr:
    """LTE SINR: dB, or the 0..250 scale (-20..+30 dB) of old EC2x firmware above 40."""

    def read(self, text: str, what: str) -> float | None:
        value = dbm(text, what)
        if value is not None and value > 40:
            return value / 5 - 20
        return value

    def render(self, value: Any) -> str:
        return "-" if value is None else str(round(float(value)))


@dataclass(frozen=True, slots=True)
class _Srxlev:
    """Srxlev = measured level - Qrxlevmin; printed from RSRP with the usual -140 dBm."""

    def read(self, text: str, what: str) -> None:
        return None

    def render(self, value: Any) -> str:
        return "-" if value is None else str(round(float(value) + 140))


_HEX = Hex()
_DEC = Dec()
_DIGITS = Digits()
_DBM = Level()
_SRXLEV = _Srxlev()
_SERVING = Word(("servingcell",), quoted=True)
_STATE = Field("state", 1, Text(quoted=True))


def _lte_fields(*tail: Field) -> tuple[Field, ...]:
    return (
        Field(None, 0, _SERVING),
        _STATE,
        Field("rat", 2, Choice(LTE_WORDS, quoted=True)),
        Field(None, 3, Const('"FDD"')),
        Field("mcc", 4, _DIGITS),
        Field("mnc", 5, _DIGITS),
        Field("ci", 6, _HEX),
        Field("pci", 7, _DEC),
        Field("earfcn", 8, _DEC),
        Field("band", 9, _DEC),
        # UL bandwidth code 5 = 20 MHz, DL bandwidth code
        *constants(10, "5", "5"),
        Field("tac", 12, _HEX),
        Field("rsrp", 13, _DBM),
        Field("rsrq", 14, _DBM),
        Field("rssi", 15, _DBM),
        Field("sinr", 16, _Sinr()),
        *tail,
    )


#: ``AT+QENG="servingcell"`` rows; EC2x prints LTE with 18 fields, RM5xx with 20.
SERVING_LAYOUTS: dict[str, Layout] = {
    "LTE": Layout(
        "Quectel LTE serving cell",
        Role.SERVING,
        _lte_fields(Field("rsrp", 17, _SRXLEV, read=False)),
        sizes=range(17, 40),
    ),
    "LTE-RM5": Layout(
        "Quectel LTE serving cell",
        Role.SERVING,
        _lte_fields(
            # CQI, TX power
            *constants(17, "15", "-"),
            Field("rsrp", 19, _SRXLEV, read=False),
        ),
        sizes=range(17, 40),
    ),
    "NR": Layout(
        "Quectel NR5G-SA serving cell",
        Role.SERVING,
        (
            Field(None, 0, _SERVING),
            _STATE,
            Field(None, 2, Word(("NR5G-SA",), quoted=True)),
            Field(None, 3, Const('"TDD"')),
            Field("mcc", 4, _DIGITS),
            Field("mnc", 5, _DIGITS),
            Field("ci", 6, _HEX),
            Field("pci", 7, _DEC),
            Field("tac", 8, _HEX),
            Field("arfcn", 9, _DEC),
            Field("band", 10, _DEC),
            Field(None, 11, Const("12")),  # NR DL bandwidth code
            Field("rsrp", 12, _DBM),
            Field("rsrq", 13, _DBM),
            Field("sinr", 14, _DBM),
            Field(None, 15, Const("1")),  # SCS code 1 = 30 kHz
            Field("rsrp", 16, _SRXLEV, read=False),
        ),
        rat=Rat.NR,
        sizes=range(15, 40),
    ),
    "NR-NSA": Layout(
        "Quectel NR5G-NSA leg",
        Role.NR_LEG,
        (
            Field(None, 0, _SERVING),
            _STATE,
            Field(None, 2, Word(("NR5G-NSA",), quoted=True)),
            Field("mcc", 3, _DIGITS),
            Field("mnc", 4, _DIGITS),
            Field("pci", 5, _DEC),
            Field("rsrp", 6, _DBM),
            Field("sinr", 7, _DBM),
            Field("rsrq", 8, _DBM),
            Field("arfcn", 9, _DEC),
            Field("band", 10, _DEC),
            *constants(11, "12", "1"),
        ),
        rat=Rat.NR,
        sizes=range(10, 40),
    ),
    "UMTS": Layout(
        "Quectel WCDMA serving cell",
        Role.SERVING,
        (
            Field(None, 0, _SERVING),
            _STATE,
            Field(None, 2, Word(("WCDMA",), quoted=True)),
            Field("mcc", 3, _DIGITS),
            Field("mnc", 4, _DIGITS),
            Field("lac", 5, _HEX),
            Field("ci", 6, _HEX),
            Field("uarfcn", 7, _DEC),
            Field("psc", 8, _DEC),
            Field(None, 9, Const("1")),  # RAC
            Field("rscp", 10, _DBM),
            Field("ecio", 11, _DBM),
            *(Field(None, i, Const("-")) for i in range(12, 17)),
        ),
        rat=Rat.UMTS,
        sizes=range(12, 40),
    ),
    "GSM": Layout(
        "Quectel GSM serving cell",
        Role.SERVING,
        (
            Field(None, 0, _SERVING),
            _STATE,
            Field(None, 2, Word(("GSM",), quoted=True)),
            Field("mcc", 3, _DIGITS),
            Field("mnc", 4, _DIGITS),
            Field("lac", 5, _HEX),
            Field("ci", 6, _HEX),
            Field("bsic", 7, _DEC, read=False),
            Field("arfcn", 8, _DEC),
            Field(None, 9, Const("0")),  # band code
            Field("rssi", 10, _DBM),
            *(Field(None, i, Const("-")) for i in (11, 12)),
            *constants(13, "0", "30", "30", "1"),
            *(Field(None, i, Const("-")) for i in range(17, 27)),
        ),
        rat=Rat.GSM,
        sizes=range(11, 40),
    ),
    "SEARCH": Layout(
        "Quectel serving cell state",
        Role.NO_CELL,
        (Field(None, 0, _SERVING), _STATE),
        sizes=range(2, 3),
    ),
}

_NEIGHBOUR_INTRA = Word(("neighbourcell intra",), quoted=True)
_NEIGHBOUR_INTER = Word(("neighbourcell inter",), quoted=True)
_NEIGHBOUR = Word(("neighbourcell",), quoted=True)


def _lte_neighbour(word: Word, tail: tuple[str, ...]) -> tuple[Field, ...]:
    return (
        Field(None, 0, word),
        Field("rat", 1, Choice(LTE_WORDS, quoted=True)),
        Field("earfcn", 2, _DEC),
        Field("pci", 3, _DEC),
        Field("rsrq", 4, _DBM),
        Field("rsrp", 5, _DBM),
        Field("rssi", 6, _DBM),
        Field("sinr", 7, _Sinr()),
        Field("rsrp", 8, _SRXLEV, read=False),
        *(Field(None, 9 + i, Const(text)) for i, text in enumerate(tail)),
    )


#: ``AT+QENG="neighbourcell"`` rows.
NEIGHBOUR_LAYOUTS: dict[str, Layout] = {
    "LTE-INTRA": Layout(
        "Quectel LTE intra-frequency neighbour",
        Role.NEIGHBOUR,
        _lte_neighbour(_NEIGHBOUR_INTRA, ("5", "8", "6", "30")),
        sizes=range(6, 40),
    ),
    "LTE-INTER": Layout(
        "Quectel LTE inter-frequency neighbour",
        Role.NEIGHBOUR,
        _lte_neighbour(_NEIGHBOUR_INTER, ("4", "6", "8")),
        sizes=range(6, 40),
    ),
    "UMTS": Layout(
        "Quectel WCDMA neighbour",
        Role.NEIGHBOUR,
        (
            Field(None, 0, _NEIGHBOUR),
            Field(None, 1, Word(("WCDMA",), quoted=True)),
            Field("uarfcn", 2, _DEC),
            # cell reselection priority
            *constants(3, "3", "6", "6"),
            Field("psc", 6, _DEC),
            Field("rscp", 7, _DBM),
            Field("ecio", 8, _DBM),
            Field("rscp", 9, _SRXLEV, read=False),
        ),
        rat=Rat.UMTS,
        sizes=range(9, 40),
    ),
    "GSM": Layout(
        "Quectel GSM neighbour",
        Role.NEIGHBOUR,
        (
            Field(None, 0, _NEIGHBOUR),
            Field(None, 1, Word(("GSM",), quoted=True)),
            Field("mcc", 2, _DIGITS),
            Field("mnc", 3, _DIGITS),
            Field("lac", 4, _HEX),
            Field("ci", 5, _HEX),
            Field("bsic", 6, _DEC, read=False),
            Field("arfcn", 7, _DEC),
            Field("rssi", 8, _DBM),
            *constants(9, "30", "30", "-", "-"),
        ),
        rat=Rat.GSM,
        sizes=range(9, 40),
    ),
    "LTE-IN-UMTS": Layout(
        "Quectel LTE neighbour (in WCDMA service)",
        Role.NEIGHBOUR,
        (
            Field(None, 0, _NEIGHBOUR),
            Field("rat", 1, Choice(LTE_WORDS, quoted=True)),
            Field("earfcn", 2, _DEC),
            Field("pci", 3, _DEC),
            Field("rsrp", 4, _DBM),
            Field("rsrq", 5, _DBM),
            Field("rsrp", 6, _SRXLEV, read=False),
        ),
        sizes=range(6, 40),
    ),
}

_SERVING_SPEC = CommandLayouts(_PREFIX, tuple(SERVING_LAYOUTS.values()))
_NEIGHBOUR_SPEC = CommandLayouts(_PREFIX, tuple(NEIGHBOUR_LAYOUTS.values()))


def parse_qeng_servingcell(text: str) -> CellReport:
    """Parse the answer to ``AT+QENG="servingcell"``.

    Returns:
        The serving cell (``no_cell`` while searching: ``"servingcell","SEARCH"``); in
        EN-DC the LTE anchor is the serving cell and the NR leg the report's ``nr_leg``.

    Raises:
        ParseError: no ``+QENG:`` line, an unknown RAT, or unreadable fields.
    """
    seen = any(payload(line, (_PREFIX,)) is not None for line in split_lines(text))
    return read_rows(_SERVING_SPEC, _nsa_rows(text), seen=seen)


def _nsa_rows(text: str) -> Iterator[tuple[str, Row]]:
    """Serving rows; a headerless EN-DC row gets the state of the header before it, and a
    header is a row of its own only when no such row follows it (``"SEARCH"``)."""
    header: tuple[str, list[str]] | None = None
    state = '""'
    for line in split_lines(text):
        body = payload(line, (_PREFIX,))
        if not body:
            continue
        fields = split_fields(body)
        if clean(fields[0]).lower() == "servingcell":
            if header is not None:
                yield header
            header = (line, fields) if len(fields) == 2 else None
            state = fields[1] if len(fields) > 1 else '""'
            if header is None:
                yield line, fields
            continue
        header = None  # the header carried the state of the rows after it
        yield line, ['"servingcell"', state, *fields]
    if header is not None:
        yield header


def parse_qeng_neighbourcell(text: str) -> CellReport:
    """Parse the answer to ``AT+QENG="neighbourcell"`` (intra/inter LTE, WCDMA, GSM rows).

    Returns:
        A report with no serving cell and one neighbour per row (none for an answer of
        just ``OK``).

    Raises:
        ParseError: a ``+QENG:`` row of an unknown kind or with unreadable fields.
    """
    return read_rows(_NEIGHBOUR_SPEC, iter_rows(_NEIGHBOUR_SPEC, text), seen=True)
