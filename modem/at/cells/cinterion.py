"""Cinterion/Thales ``AT^SMONI`` (serving cell) and ``AT^SMONP`` (neighbours), "AT Command
Set" of the EHS/PLS/ELS/EXS families, as layout tables.

::

    ^SMONI: 2G,<ARFCN>,<BCCH dBm>,<MCC>,<MNC>,<LAC>,<cell>,<C1>,<C2>,<NCC>,<BCC>,<GPRS>,…
    ^SMONI: 3G,<UARFCN>,<PSC>,<EC/n0>,<RSCP>,<MCC>,<MNC>,<LAC>,<cell>,<SQual>,<SRxLev>,…
    ^SMONI: 4G,<EARFCN>,<Band>,<DL bw>,<UL bw>,<Mode>,<MCC>,<MNC>,<TAC>,<Global Cell ID>,
            <PCI>,<Srxlev|TX_power>,<RSRP>,<RSRQ>,<Conn_state>
    ^SMONI: 2G,SEARCH,SEARCH    (also 3G/4G: no serving cell)

The last field of an idle row is the connection state (``NOCONN``, ``LIMSRV``, ``CONN``);
dedicated-mode rows carry channel details there instead, and ``-``/``--``/``----`` for
values they lack. ``^SMONP`` prints section captions (``2G:``, ``3G:``, ``4G:``) and then
one unprefixed row per neighbour; 2G rows carry MCC, MNC, LAC and cell id::

    2G: <ARFCN>,<rs>,<dBm>,<MCC>,<MNC>,<NCC>,<BCC>,<C1>,<C2>,<LAC>,<cell>,<C31>,<C32>
    3G: <UARFCN>,<PSC>,<EC/n0>,<RSCP>[,<SQual>,<SRxLev>,…]
    4G: <EARFCN>,<RSRQ>,<RSRP>,<Srxlev>,<PCI>,…

Signal values are already dBm/dB; LAC/TAC/cell ids are hex.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from modem.at.cells.layout import (
    Choice,
    CommandLayouts,
    Field,
    Hex,
    Layout,
    Level,
    Role,
    Row,
    Text,
    Word,
    fields,
    read_cells,
    read_rows,
)
from modem.at.cells.report import CellReport
from modem.at.common import UNKNOWN_MARKERS, clean, payload, split_fields, split_lines
from modem.models import Rat

__all__ = ["SMONI_LAYOUTS", "SMONP_LAYOUTS", "parse_smoni", "parse_smonp"]

_RATS = {"2G": Rat.GSM, "3G": Rat.UMTS, "4G": Rat.LTE}
_STATE_WORD = r"NOCONN|LIMSRV|CONN|SEARCH"


@dataclass(frozen=True, slots=True)
class _ColourCode:
    """NCC or BCC, the two octal digits of the BSIC (printed from it; not read)."""

    shift: int

    def read(self, text: str, what: str) -> None:
        return None

    def render(self, value: Any) -> str:
        return "-" if value is None else str((int(value) >> self.shift) & 7)


_CODECS = {
    "rat": Choice(_RATS),
    "search": Word(("SEARCH",)),
    "ncc": _ColourCode(3),
    "bcc": _ColourCode(0),
    "hex4": Hex(width=4),
    "hex7": Hex(width=7),
    "tenth": Level(decimals=1),
    "state": _STATE_WORD,
}
_S = Role.SERVING
_N = Role.NEIGHBOUR

#: ``^SMONI:`` rows (idle layouts; dedicated-mode rows are read by the same positions).
#: The idle state is the last field; the fixed values are C1/C2, GPRS, bandwidth (MHz),
#: duplex mode and SQual/SRxLev/Srxlev, which the simulator prints as a camped module.
SMONI_LAYOUTS: dict[str, Layout] = {
    "SEARCH": Layout("Cinterion serving cell search", Role.NO_CELL,
                     fields("rat:rat,state:search", _CODECS)),
    "GSM": Layout("Cinterion 2G serving cell", _S, (*fields(
        "@2G,arfcn,rssi,mcc,mnc,lac:hex4,ci:hex4,=33,=33,bsic:ncc*,bsic:bcc*,=G,state*",
        _CODECS), Field("state", -1, Text(), match=_STATE_WORD)),
        rat=Rat.GSM, sizes=range(7, 40)),
    "UMTS": Layout("Cinterion 3G serving cell", _S, (*fields(
        "@3G,uarfcn,psc,ecio:tenth,rscp,mcc,mnc,lac:hex4,ci:hex7,=-92,=-78,state*", _CODECS),
        Field("state", -1, Text(), match=_STATE_WORD)), rat=Rat.UMTS, sizes=range(9, 40)),
    "LTE": Layout("Cinterion 4G serving cell", _S, fields(
        "@4G,earfcn,band,=20,=20,=FDD,mcc,mnc,tac:hex4,ci:hex7,pci,=33,rsrp,rsrq,state",
        _CODECS), rat=Rat.LTE, sizes=range(14, 40)),
}  # fmt: skip


def _plain(layout: Layout) -> Layout:
    """The same layout without the state taken from the last field (a dedicated row)."""
    fields = tuple(f for f in layout.fields if not (isinstance(f.at, int) and f.at < 0))
    return Layout(layout.name, layout.role, fields, layout.rat, layout.sizes, layout.finish)


_SMONI = CommandLayouts(
    "^SMONI",
    (*SMONI_LAYOUTS.values(), _plain(SMONI_LAYOUTS["GSM"]), _plain(SMONI_LAYOUTS["UMTS"])),
)

#: ``^SMONP`` rows, with their section caption (``2G``…) put in front as field 0. The
#: fixed values are the RSSI index (rs), C1/C2, C31/C32 and Srxlev.
SMONP_LAYOUTS: dict[str, Layout] = {
    "GSM": Layout("Cinterion 2G neighbour", _N, fields(
        "@2G,arfcn,=30,rssi,mcc,mnc,bsic:ncc*,bsic:bcc*,=20,=20,lac:hex4,ci:hex4,=0,=0", _CODECS),
        rat=Rat.GSM, sizes=range(12, 40)),
    "UMTS": Layout("Cinterion 3G neighbour", _N, fields("@3G,uarfcn,psc,ecio:tenth,rscp", _CODECS),
                   rat=Rat.UMTS, sizes=range(5, 40)),
    "LTE": Layout("Cinterion 4G neighbour", _N, fields(
        "@4G,earfcn,rsrq:tenth,rsrp,=30,pci", _CODECS), rat=Rat.LTE, sizes=range(6, 40)),
}  # fmt: skip

_SMONP = CommandLayouts("^SMONP", tuple(SMONP_LAYOUTS.values()))


def parse_smoni(text: str) -> CellReport:
    """Parse the answer to ``AT^SMONI``.

    Returns:
        The serving cell; ``no_cell`` while the module searches (``^SMONI: 4G,SEARCH``).

    Raises:
        ParseError: no ``^SMONI:`` line, an unknown RAT, or unreadable fields.
    """
    return read_cells(_SMONI, text)


def _smonp_rows(text: str) -> Iterator[tuple[str, Row]]:
    section: str | None = None
    for line in split_lines(text):
        body = payload(line, ("^SMONP",))
        if body is not None:
            line = body
            if not line:
                continue
        caption, colon, rest = line.partition(":")
        if colon and caption.strip().upper() in _RATS:
            section = caption.strip().upper()
            line = rest.strip()
            if not line:
                continue
        if section is None or not (line[:1].isdigit() or line[:1] == "-"):
            continue
        fields = split_fields(line)
        if all(clean(f).upper() in UNKNOWN_MARKERS or set(clean(f)) == {"-"} for f in fields):
            continue  # "-----,---,-----,----": the section has no cell
        yield line, [section, *fields]


def parse_smonp(text: str) -> CellReport:
    """Parse the answer to ``AT^SMONP`` (neighbours under ``2G:``/``3G:``/``4G:`` captions).

    Raises:
        ParseError: a row that cannot be read.
    """
    return read_rows(_SMONP, _smonp_rows(text), seen=True)
