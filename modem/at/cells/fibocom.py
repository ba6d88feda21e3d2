"""Fibocom ``AT+GTCCINFO?`` (L8x0, FM150, FM350 "AT Commands User Manual"), as layout
tables.

The answer is a ``+GTCCINFO:`` header followed by unprefixed rows, optionally grouped
under captions (``LTE service cell:``) and blank lines::

    <IsServiceCell>,<rat>,<mcc>,<mnc>,<tac>,<cellid>,<earfcn>,<pci>,<band>,<bandwidth>,
        <rssnr>,<rxlev>,<rsrp>,<rsrq>                                  (serving, 14 fields)
    2,<rat>,<mcc>,<mnc>,<tac>,<cellid>,<earfcn>,<pci>,<band>,<rxlev>,<rsrp>,<rsrq>
                                                                       (neighbour, 12 fields)

``rat`` 4 is LTE and 9 NR; TAC and cell id are hex (``FFFF``/``00FFFFFFF`` unknown); the
MNC is printed without padding (``262,1`` is MNC 01: the driver fixes the width); band
``1xx`` is LTE band xx and ``50xx`` NR band nxx. RSRP/RSRQ/RxLev are indexes: LTE RSRP
-140 + i dBm, RSRQ -19.5 + i/2 dB (36.133), NR SS-RSRP -156 + i dBm, SS-RSRQ -43 + i/2 dB
(38.133), RxLev -111 + i dBm (27.007). The RSSNR scale is not documented and is left out.
An NR row flagged as serving but without a cell identity is the EN-DC leg.
"""

from __future__ import annotations

from modem.at.cells.layout import (
    Band,
    CommandLayouts,
    Dec,
    Digits,
    Hex,
    Index,
    Layout,
    Role,
    fields,
    read_cells,
)
from modem.at.cells.report import CellReport
from modem.models import Rat

__all__ = ["GTCCINFO_LAYOUTS", "parse_gtccinfo"]

_CODECS = {
    "dec": Dec(missing=""),
    "mcc": Digits(missing=""),
    "mnc": Digits(missing="", unpadded=True),
    "tac4": Hex(width=4, missing="FFFF"),
    "tac6": Hex(width=6, missing="FFFF"),
    "ci": Hex(width=9, missing="00FFFFFFF"),
    "lte_band": Band(offset=100, missing=""),
    "nr_band": Band(offset=5000, missing=""),
    "rxlev": Index(-111.0, 1.0, 63, missing=""),
    "lte_rsrp": Index(-140.0, 1.0, 97, missing=""),
    "lte_rsrq": Index(-19.5, 0.5, 34, missing=""),
    "nr_rsrp": Index(-156.0, 1.0, 127, missing=""),
    "nr_rsrq": Index(-43.0, 0.5, 127, missing=""),
    "no_id": r"0*F{7,}|",  # the unknown-cell-id marker, or an empty field
}


def _row(flag: str, rat_code: str, nr: bool, serving: bool, ci_match: str = "") -> str:
    """A serving row (14 fields: bandwidth and RSSNR before the signal) or neighbour (12)."""
    rat = "nr" if nr else "lte"
    middle = f"={400 if nr else 100},sinr:dec*," if serving else ""
    return (
        f"@{flag},@{rat_code},mcc:mcc,mnc:mnc,tac:tac{6 if nr else 4},ci:ci{ci_match},"
        f"{'arfcn' if nr else 'earfcn'}:dec,pci:dec,band:{rat}_band,{middle}"
        f"rssi:rxlev,rsrp:{rat}_rsrp,rsrq:{rat}_rsrq"
    )


_S = range(14, 40)
_N = range(12, 40)

#: ``+GTCCINFO`` rows.
GTCCINFO_LAYOUTS: dict[str, Layout] = {
    "LTE": Layout("Fibocom LTE serving cell", Role.SERVING,
                  fields(_row("1", "4", False, True), _CODECS), rat=Rat.LTE, sizes=_S),
    "NR-NSA": Layout("Fibocom NR EN-DC leg", Role.NR_LEG,
                     fields(_row("1", "9", True, True, "~no_id"), _CODECS), rat=Rat.NR, sizes=_S),
    "NR": Layout("Fibocom NR serving cell", Role.SERVING,
                 fields(_row("1", "9", True, True), _CODECS), rat=Rat.NR, sizes=_S),
    "LTE-NEIGHBOUR": Layout("Fibocom LTE neighbour", Role.NEIGHBOUR,
                            fields(_row("2", "4", False, False), _CODECS), rat=Rat.LTE, sizes=_N),
    "NR-NEIGHBOUR": Layout("Fibocom NR neighbour", Role.NEIGHBOUR,
                           fields(_row("2", "9", True, False), _CODECS), rat=Rat.NR, sizes=_N),
}  # fmt: skip

_GTCCINFO = CommandLayouts("+GTCCINFO", tuple(GTCCINFO_LAYOUTS.values()), bare_rows=True)


def parse_gtccinfo(text: str) -> CellReport:
    """Parse the answer to ``AT+GTCCINFO?`` (serving cell and neighbours in one answer).

    Raises:
        ParseError: no ``+GTCCINFO:`` line, an unknown RAT code, or unreadable rows.
    """
    return read_cells(_GTCCINFO, text)
