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
    read_cells,
    read_rows,
)
from modem.at.cells.report import CellReport
from modem.at.common import UNKNOWN_MARKERS, clean, payload, split_fields, split_lines
from modem.models import Rat

__all__ = ["SMONI_LAYOUTS", "SMONP_LAYOUTS", "parse_smoni", "parse_smonp"]

_RATS = {"2G": Rat.GSM, "3G": Rat.UMTS, "4G": Rat.LTE}
_DEC = Dec()
_DBM = Level()
_STATE_WORD = r"NOCONN|LIMSRV|CONN|SEARCH"


@dataclass(frozen=True, slots=True)
class _ColourCode:
    """NCC or BCC, the two octal digits of the BSIC (printed from it; not read)."""

    shift: int

    def read(self, text: str, what: str) -> None:
        return None

    def render(self, value: Any) -> str:
        return "-" if value is None else str((int(value) >> self.shift) & 7)


def _word(word: str) -> Field:
    return Field(None, 0, Word((word,)))


#: ``^SMONI:`` rows (idle layouts; dedicated-mode rows are read by the same positions).
SMONI_LAYOUTS: dict[str, Layout] = {
    "SEARCH": Layout(
        "Cinterion serving cell search",
        Role.NO_CELL,
        (Field("rat", 0, Choice(_RATS)), Field("state", 1, Word(("SEARCH",)))),
    ),
    "GSM": Layout(
        "Cinterion 2G serving cell",
        Role.SERVING,
        (
            _word("2G"),
            Field("arfcn", 1, _DEC),
            Field("rssi", 2, _DBM),
            Field("mcc", 3, Digits()),
            Field("mnc", 4, Digits()),
            Field("lac", 5, Hex(width=4)),
            Field("ci", 6, Hex(width=4)),
            # C1, C2
            *constants(7, "33", "33"),
            Field("bsic", 9, _ColourCode(3), read=False),
            Field("bsic", 10, _ColourCode(0), read=False),
            Field(None, 11, Const("G")),  # GPRS
            Field("state", 12, Text(), read=False),
            Field("state", -1, Text(), match=_STATE_WORD),
        ),
        rat=Rat.GSM,
        sizes=range(7, 40),
    ),
    "UMTS": Layout(
        "Cinterion 3G serving cell",
        Role.SERVING,
        (
            _word("3G"),
            Field("uarfcn", 1, _DEC),
            Field("psc", 2, _DEC),
            Field("ecio", 3, Level(decimals=1)),
            Field("rscp", 4, _DBM),
            Field("mcc", 5, Digits()),
            Field("mnc", 6, Digits()),
            Field("lac", 7, Hex(width=4)),
            Field("ci", 8, Hex(width=7)),
            # SQual, SRxLev
            *constants(9, "-92", "-78"),
            Field("state", 11, Text(), read=False),
            Field("state", -1, Text(), match=_STATE_WORD),
        ),
        rat=Rat.UMTS,
        sizes=range(9, 40),
    ),
    "LTE": Layout(
        "Cinterion 4G serving cell",
        Role.SERVING,
        (
            _word("4G"),
            Field("earfcn", 1, _DEC),
            Field("band", 2, _DEC),
            # DL bandwidth, MHz, UL bandwidth, MHz
            *constants(3, "20", "20", "FDD"),
            Field("mcc", 6, Digits()),
            Field("mnc", 7, Digits()),
            Field("tac", 8, Hex(width=4)),
            Field("ci", 9, Hex(width=7)),
            Field("pci", 10, _DEC),
            Field(None, 11, Const("33")),  # Srxlev
            Field("rsrp", 12, _DBM),
            Field("rsrq", 13, _DBM),
            Field("state", 14, Text()),
        ),
        rat=Rat.LTE,
        sizes=range(14, 40),
    ),
}


def _plain(layout: Layout) -> Layout:
    """The same layout without the state taken from the last field (a dedicated row)."""
    fields = tuple(f for f in layout.fields if not (isinstance(f.at, int) and f.at < 0))
    return Layout(layout.name, layout.role, fields, layout.rat, layout.sizes, layout.finish)


_SMONI = CommandLayouts(
    "^SMONI",
    (*SMONI_LAYOUTS.values(), _plain(SMONI_LAYOUTS["GSM"]), _plain(SMONI_LAYOUTS["UMTS"])),
)

#: ``^SMONP`` rows, with their section caption (``2G``…) put in front as field 0.
SMONP_LAYOUTS: dict[str, Layout] = {
    "GSM": Layout(
        "Cinterion 2G neighbour",
        Role.NEIGHBOUR,
        (
            _word("2G"),
            Field("arfcn", 1, _DEC),
            Field(None, 2, Const("30")),  # rs, the RSSI index
            Field("rssi", 3, _DBM),
            Field("mcc", 4, Digits()),
            Field("mnc", 5, Digits()),
            Field("bsic", 6, _ColourCode(3), read=False),
            Field("bsic", 7, _ColourCode(0), read=False),
            # C1, C2
            *constants(8, "20", "20"),
            Field("lac", 10, Hex(width=4)),
            Field("ci", 11, Hex(width=4)),
            *constants(12, "0", "0"),
        ),
        rat=Rat.GSM,
        sizes=range(12, 40),
    ),
    "UMTS": Layout(
        "Cinterion 3G neighbour",
        Role.NEIGHBOUR,
        (
            _word("3G"),
            Field("uarfcn", 1, _DEC),
            Field("psc", 2, _DEC),
            Field("ecio", 3, Level(decimals=1)),
            Field("rscp", 4, _DBM),
        ),
        rat=Rat.UMTS,
        sizes=range(5, 40),
    ),
    "LTE": Layout(
        "Cinterion 4G neighbour",
        Role.NEIGHBOUR,
        (
            _word("4G"),
            Field("earfcn", 1, _DEC),
            Field("rsrq", 2, Level(decimals=1)),
            Field("rsrp", 3, _DBM),
            Field(None, 4, Const("30")),  # Srxlev
            Field("pci", 5, _DEC),
        ),
        rat=Rat.LTE,
        sizes=range(6, 40),
    ),
}

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
