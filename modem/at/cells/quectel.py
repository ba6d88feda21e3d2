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
    Layout,
    Role,
    Row,
    Text,
    fields,
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


_CODECS = {
    "q": Text(quoted=True),
    "lte": Choice(LTE_WORDS, quoted=True),
    "sinr": _Sinr(),
    "srxlev": _Srxlev(),
}
_S = Role.SERVING
_N = Role.NEIGHBOUR
# The fields of an LTE serving row up to SINR; EC2x ends with Srxlev, RM5xx adds CQI and
# TX power before it. UL/DL bandwidth code 5 is 20 MHz.
_LTE = (
    '"servingcell",state:q,rat:lte,="FDD",mcc,mnc,ci,pci,earfcn,band,=5,=5,tac,'
    "rsrp,rsrq,rssi,sinr:sinr"
)
_NR_TAIL = "=12,rsrp,rsrq,sinr,=1,rsrp:srxlev*"  # NR DL bandwidth code, SCS code 1 = 30 kHz
_GSM_TAIL = "=0,rssi,=-,=-,=0,=30,=30,=1" + ",=-" * 10  # band code, dedicated-mode fields

#: ``AT+QENG="servingcell"`` rows; EC2x prints LTE with 18 fields, RM5xx with 20.
SERVING_LAYOUTS: dict[str, Layout] = {
    "LTE": Layout("Quectel LTE serving cell", _S, fields(f"{_LTE},rsrp:srxlev*", _CODECS),
                  sizes=range(17, 40)),
    "LTE-RM5": Layout("Quectel LTE serving cell", _S,
                      fields(f"{_LTE},=15,=-,rsrp:srxlev*", _CODECS), sizes=range(17, 40)),
    "NR": Layout("Quectel NR5G-SA serving cell", _S, fields(
        f'"servingcell",state:q,"NR5G-SA",="TDD",mcc,mnc,ci,pci,tac,arfcn,band,{_NR_TAIL}',
        _CODECS), rat=Rat.NR, sizes=range(15, 40)),
    "NR-NSA": Layout("Quectel NR5G-NSA leg", Role.NR_LEG, fields(
        '"servingcell",state:q,"NR5G-NSA",mcc,mnc,pci,rsrp,sinr,rsrq,arfcn,band,=12,=1',
        _CODECS), rat=Rat.NR, sizes=range(10, 40)),
    "UMTS": Layout("Quectel WCDMA serving cell", _S, fields(
        '"servingcell",state:q,"WCDMA",mcc,mnc,lac,ci,uarfcn,psc,=1,rscp,ecio,=-,=-,=-,=-,=-',
        _CODECS), rat=Rat.UMTS, sizes=range(12, 40)),
    "GSM": Layout("Quectel GSM serving cell", _S, fields(
        f'"servingcell",state:q,"GSM",mcc,mnc,lac,ci,bsic*,arfcn,{_GSM_TAIL}', _CODECS),
        rat=Rat.GSM, sizes=range(11, 40)),
    "SEARCH": Layout("Quectel serving cell state", Role.NO_CELL,
                     fields('"servingcell",state:q', _CODECS), sizes=range(2, 3)),
}  # fmt: skip

# LTE neighbours print RSRQ before RSRP; the tails are reselection parameters.
_LTE_NEIGHBOUR = "rat:lte,earfcn,pci,rsrq,rsrp,rssi,sinr:sinr,rsrp:srxlev*"

#: ``AT+QENG="neighbourcell"`` rows.
NEIGHBOUR_LAYOUTS: dict[str, Layout] = {
    "LTE-INTRA": Layout("Quectel LTE intra-frequency neighbour", _N, fields(
        f'"neighbourcell intra",{_LTE_NEIGHBOUR},=5,=8,=6,=30', _CODECS), sizes=range(6, 40)),
    "LTE-INTER": Layout("Quectel LTE inter-frequency neighbour", _N, fields(
        f'"neighbourcell inter",{_LTE_NEIGHBOUR},=4,=6,=8', _CODECS), sizes=range(6, 40)),
    "UMTS": Layout("Quectel WCDMA neighbour", _N, fields(
        '"neighbourcell","WCDMA",uarfcn,=3,=6,=6,psc,rscp,ecio,rscp:srxlev*', _CODECS),
        rat=Rat.UMTS, sizes=range(9, 40)),
    "GSM": Layout("Quectel GSM neighbour", _N, fields(
        '"neighbourcell","GSM",mcc,mnc,lac,ci,bsic*,arfcn,rssi,=30,=30,=-,=-', _CODECS),
        rat=Rat.GSM, sizes=range(9, 40)),
    "LTE-IN-UMTS": Layout("Quectel LTE neighbour (in WCDMA service)", _N, fields(
        '"neighbourcell",rat:lte,earfcn,pci,rsrp,rsrq,rsrp:srxlev*', _CODECS),
        sizes=range(6, 40)),
}  # fmt: skip

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
