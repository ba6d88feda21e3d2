"""Huawei ``AT^MONSC`` (serving cell) and ``AT^MONNC`` (neighbours), field order and radix
from Huawei's module AT command interface specification, as layout tables.

::

    ^MONSC: GSM,<MCC>,<MNC>,<BAND>,<ARFCN>,<BSIC>,<CellID>,<LAC>,<RSSI>,<RxQuality>,<TA>
    ^MONSC: WCDMA,<MCC>,<MNC>,<ARFCN>,<PSC>,<CellID>,<LAC>,<RSCP>,<RSSI>,<EC/N0>,<DRX>,<URA>
    ^MONSC: TD_SCDMA,<MCC>,<MNC>,<ARFCN>,<SYNC_ID>,<SC>,<CellID>,<LAC>,<RSCP>,<DRX>,<RAC>
    ^MONSC: LTE,<MCC>,<MNC>,<ARFCN>,<CellID>,<PCI>,<TAC>,<RSRP>,<RSRQ>,<RSSI>
    ^MONSC: NR,<MCC>,<MNC>,<ARFCN>,<SCS>,<CellID>,<PCI>,<TAC>,<RSRP>,<RSRQ>,<SINR>
    ^MONSC: NONE
    ^MONNC: GSM,<BAND>,<ARFCN>,<BSIC>,<CellID>,<LAC>,<RSSI>
    ^MONNC: WCDMA,<ARFCN>,<PSC>,<RSCP>,<EC/N0>
    ^MONNC: LTE,<ARFCN>,<PCI>,<RSRP>,<RSRQ>,<RSSI>
    ^MONNC: NR,<ARFCN>,<PCI>,<RSRP>,<RSRQ>,<SINR>
    ^MONNC: NONE

Cell ids, LAC/TAC **and PCI** are hex; invalid measurements are empty fields. The firmware
prints the MNC with its real width.
"""

from __future__ import annotations

from modem.at.cells.layout import (
    CommandLayouts,
    Const,
    Dec,
    Digits,
    Field,
    Hex,
    Layout,
    Level,
    Role,
    Word,
    constants,
    read_cells,
)
from modem.at.cells.report import CellReport
from modem.models import Rat

__all__ = ["MONNC_LAYOUTS", "MONSC_LAYOUTS", "parse_monnc", "parse_monsc"]

_DEC = Dec(missing="")
_DBM = Level(missing="")
_MCC = Field("mcc", 1, Digits())
_MNC = Field("mnc", 2, Digits())


def _word(word: str) -> Field:
    return Field(None, 0, Word((word,)))


#: ``^MONSC:`` rows, by RAT.
MONSC_LAYOUTS: dict[str, Layout] = {
    "GSM": Layout(
        "Huawei GSM serving cell",
        Role.SERVING,
        (
            _word("GSM"),
            _MCC,
            _MNC,
            Field(None, 3, Const("1")),  # band code
            Field("arfcn", 4, _DEC),
            Field("bsic", 5, _DEC, read=False),
            Field("ci", 6, Hex(width=4, missing="")),
            Field("lac", 7, Hex(width=4, missing="")),
            Field("rssi", 8, _DBM),
            # RxQuality: invalid in idle, TA
            *constants(9, "", ""),
        ),
        rat=Rat.GSM,
        sizes=range(9, 40),
    ),
    "UMTS": Layout(
        "Huawei WCDMA serving cell",
        Role.SERVING,
        (
            _word("WCDMA"),
            _MCC,
            _MNC,
            Field("uarfcn", 3, _DEC),
            Field("psc", 4, _DEC),
            Field("ci", 5, Hex(width=7, missing="")),
            Field("lac", 6, Hex(width=4, missing="")),
            Field("rscp", 7, _DBM),
            Field("rssi", 8, _DBM),
            Field("ecio", 9, _DBM),
            # DRX, URA
            *constants(10, "6", ""),
        ),
        rat=Rat.UMTS,
        sizes=range(10, 40),
    ),
    "TD-SCDMA": Layout(
        "Huawei TD-SCDMA serving cell",
        Role.SERVING,
        (
            _word("TD_SCDMA"),
            _MCC,
            _MNC,
            Field("uarfcn", 3, _DEC),
            Field("ci", 6, Hex(width=7, missing="")),
            Field("lac", 7, Hex(width=4, missing="")),
            Field("rscp", 8, _DBM),
        ),
        rat=Rat.UMTS,
        sizes=range(9, 40),
    ),
    "LTE": Layout(
        "Huawei LTE serving cell",
        Role.SERVING,
        (
            _word("LTE"),
            _MCC,
            _MNC,
            Field("earfcn", 3, _DEC),
            Field("ci", 4, Hex(width=7, missing="")),
            Field("pci", 5, Hex(missing="")),
            Field("tac", 6, Hex(width=4, missing="")),
            Field("rsrp", 7, _DBM),
            Field("rsrq", 8, _DBM),
            Field("rssi", 9, _DBM),
        ),
        rat=Rat.LTE,
        sizes=range(10, 40),
    ),
    "NR": Layout(
        "Huawei NR serving cell",
        Role.SERVING,
        (
            _word("NR"),
            _MCC,
            _MNC,
            Field("arfcn", 3, _DEC),
            Field(None, 4, Const("1")),  # SCS code 1 = 30 kHz
            Field("ci", 5, Hex(width=9, missing="")),
            Field("pci", 6, Hex(missing="")),
            Field("tac", 7, Hex(width=6, missing="")),
            Field("rsrp", 8, _DBM),
            Field("rsrq", 9, _DBM),
            Field("sinr", 10, _DBM),
        ),
        rat=Rat.NR,
        sizes=range(11, 40),
    ),
    "NONE": Layout("Huawei no serving cell", Role.NO_CELL, (Field("state", 0, Word(("NONE",))),)),
}

#: ``^MONNC:`` rows, by RAT (one line per neighbour).
MONNC_LAYOUTS: dict[str, Layout] = {
    "GSM": Layout(
        "Huawei GSM neighbour",
        Role.NEIGHBOUR,
        (
            _word("GSM"),
            Field(None, 1, Const("1")),  # band code
            Field("arfcn", 2, _DEC),
            Field("bsic", 3, _DEC, read=False),
            Field("ci", 4, Hex(width=4, missing="")),
            Field("lac", 5, Hex(width=4, missing="")),
            Field("rssi", 6, _DBM),
        ),
        rat=Rat.GSM,
        sizes=range(7, 40),
    ),
    "UMTS": Layout(
        "Huawei WCDMA neighbour",
        Role.NEIGHBOUR,
        (
            _word("WCDMA"),
            Field("uarfcn", 1, _DEC),
            Field("psc", 2, _DEC),
            Field("rscp", 3, _DBM),
            Field("ecio", 4, _DBM),
        ),
        rat=Rat.UMTS,
        sizes=range(5, 40),
    ),
    "LTE": Layout(
        "Huawei LTE neighbour",
        Role.NEIGHBOUR,
        (
            _word("LTE"),
            Field("earfcn", 1, _DEC),
            Field("pci", 2, Hex(missing="")),
            Field("rsrp", 3, _DBM),
            Field("rsrq", 4, _DBM),
            Field("rssi", 5, _DBM),
        ),
        rat=Rat.LTE,
        sizes=range(6, 40),
    ),
    "NR": Layout(
        "Huawei NR neighbour",
        Role.NEIGHBOUR,
        (
            _word("NR"),
            Field("arfcn", 1, _DEC),
            Field("pci", 2, Hex(missing="")),
            Field("rsrp", 3, _DBM),
            Field("rsrq", 4, _DBM),
            Field("sinr", 5, _DBM),
        ),
        rat=Rat.NR,
        sizes=range(6, 40),
    ),
    "NONE": Layout("Huawei no neighbours", Role.IGNORE, (_word("NONE"),)),
}

_MONSC = CommandLayouts("^MONSC", tuple(MONSC_LAYOUTS.values()))
_MONNC = CommandLayouts("^MONNC", tuple(MONNC_LAYOUTS.values()))


def parse_monsc(text: str) -> CellReport:
    """Parse the answer to ``AT^MONSC``.

    Returns:
        The serving cell; ``no_cell`` for ``^MONSC: NONE``.

    Raises:
        ParseError: no ``^MONSC:`` line, an unknown RAT, or unreadable fields.
    """
    return read_cells(_MONSC, text)


def parse_monnc(text: str) -> CellReport:
    """Parse the answer to ``AT^MONNC`` (one line per neighbour, or ``^MONNC: NONE``).

    Raises:
        ParseError: no ``^MONNC:`` line, an unknown RAT, or unreadable fields.
    """
    return read_cells(_MONNC, text)
