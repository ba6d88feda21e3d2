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
    Dec,
    Field,
    Hex,
    Layout,
    Level,
    Role,
    Word,
    fields,
    read_cells,
)
from modem.at.cells.report import CellReport
from modem.models import Rat

__all__ = ["MONNC_LAYOUTS", "MONSC_LAYOUTS", "parse_monnc", "parse_monsc"]

_CODECS = {
    "dec": Dec(missing=""),
    "dbm": Level(missing=""),
    "hex": Hex(missing=""),
    "hex4": Hex(width=4, missing=""),
    "hex6": Hex(width=6, missing=""),
    "hex7": Hex(width=7, missing=""),
    "hex9": Hex(width=9, missing=""),
}
_S = Role.SERVING
_N = Role.NEIGHBOUR

#: ``^MONSC:`` rows, by RAT. GSM band code 1, WCDMA DRX 6, NR SCS code 1 (30 kHz).
MONSC_LAYOUTS: dict[str, Layout] = {
    "GSM": Layout("Huawei GSM serving cell", _S, fields(
        "@GSM,mcc,mnc,=1,arfcn:dec,bsic:dec*,ci:hex4,lac:hex4,rssi:dbm,=,=", _CODECS),
        rat=Rat.GSM, sizes=range(9, 40)),
    "UMTS": Layout("Huawei WCDMA serving cell", _S, fields(
        "@WCDMA,mcc,mnc,uarfcn:dec,psc:dec,ci:hex7,lac:hex4,rscp:dbm,rssi:dbm,ecio:dbm,=6,=",
        _CODECS), rat=Rat.UMTS, sizes=range(10, 40)),
    "TD-SCDMA": Layout("Huawei TD-SCDMA serving cell", _S, fields(
        "@TD_SCDMA,mcc,mnc,uarfcn:dec,,,ci:hex7,lac:hex4,rscp:dbm", _CODECS),
        rat=Rat.UMTS, sizes=range(9, 40)),
    "LTE": Layout("Huawei LTE serving cell", _S, fields(
        "@LTE,mcc,mnc,earfcn:dec,ci:hex7,pci:hex,tac:hex4,rsrp:dbm,rsrq:dbm,rssi:dbm", _CODECS),
        rat=Rat.LTE, sizes=range(10, 40)),
    "NR": Layout("Huawei NR serving cell", _S, fields(
        "@NR,mcc,mnc,arfcn:dec,=1,ci:hex9,pci:hex,tac:hex6,rsrp:dbm,rsrq:dbm,sinr:dbm", _CODECS),
        rat=Rat.NR, sizes=range(11, 40)),
    "NONE": Layout("Huawei no serving cell", Role.NO_CELL,
                   (Field("state", 0, Word(("NONE",))),)),
}  # fmt: skip

#: ``^MONNC:`` rows, by RAT (one line per neighbour).
MONNC_LAYOUTS: dict[str, Layout] = {
    "GSM": Layout("Huawei GSM neighbour", _N, fields(
        "@GSM,=1,arfcn:dec,bsic:dec*,ci:hex4,lac:hex4,rssi:dbm", _CODECS),
        rat=Rat.GSM, sizes=range(7, 40)),
    "UMTS": Layout("Huawei WCDMA neighbour", _N, fields(
        "@WCDMA,uarfcn:dec,psc:dec,rscp:dbm,ecio:dbm", _CODECS), rat=Rat.UMTS, sizes=range(5, 40)),
    "LTE": Layout("Huawei LTE neighbour", _N, fields(
        "@LTE,earfcn:dec,pci:hex,rsrp:dbm,rsrq:dbm,rssi:dbm", _CODECS),
        rat=Rat.LTE, sizes=range(6, 40)),
    "NR": Layout("Huawei NR neighbour", _N, fields(
        "@NR,arfcn:dec,pci:hex,rsrp:dbm,rsrq:dbm,sinr:dbm", _CODECS),
        rat=Rat.NR, sizes=range(6, 40)),
    "NONE": Layout("Huawei no neighbours", Role.IGNORE, fields("@NONE")),
}  # fmt: skip

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
