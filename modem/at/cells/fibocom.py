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
    Const,
    Dec,
    Digits,
    Field,
    Hex,
    Index,
    Layout,
    Role,
    Word,
    read_cells,
)
from modem.at.cells.report import CellReport
from modem.models import Rat

__all__ = ["GTCCINFO_LAYOUTS", "parse_gtccinfo"]

_DEC = Dec(missing="")
_RXLEV = Index(-111.0, 1.0, 63, missing="")
_LTE_RSRP = Index(-140.0, 1.0, 97, missing="")
_LTE_RSRQ = Index(-19.5, 0.5, 34, missing="")
_NR_RSRP = Index(-156.0, 1.0, 127, missing="")
_NR_RSRQ = Index(-43.0, 0.5, 127, missing="")
_NO_ID = r"0*F{7,}|"  # the unknown-cell-id marker, or an empty field


def _row(
    flag: str,
    rat_code: str,
    *,
    nr: bool,
    serving: bool,
    ci_match: str | None = None,
) -> tuple[Field, ...]:
    """The fields of a serving (14) or neighbour (12) row; signal columns shift by two."""
    signal = 11 if serving else 9
    return (
        Field(None, 0, Word((flag,))),
        Field(None, 1, Word((rat_code,))),
        Field("mcc", 2, Digits(missing="")),
        Field("mnc", 3, Digits(missing="", unpadded=True)),
        Field("tac", 4, Hex(width=6 if nr else 4, missing="FFFF")),
        Field("ci", 5, Hex(width=9, missing="00FFFFFFF"), match=ci_match),
        Field("arfcn" if nr else "earfcn", 6, _DEC),
        Field("pci", 7, _DEC),
        Field("band", 8, Band(offset=5000 if nr else 100, missing="")),
        *(
            (Field(None, 9, Const("400" if nr else "100")), Field("sinr", 10, _DEC, read=False))
            if serving
            else ()
        ),
        Field("rssi", signal, _RXLEV),
        Field("rsrp", signal + 1, _NR_RSRP if nr else _LTE_RSRP),
        Field("rsrq", signal + 2, _NR_RSRQ if nr else _LTE_RSRQ),
    )


#: ``+GTCCINFO`` rows.
GTCCINFO_LAYOUTS: dict[str, Layout] = {
    "LTE": Layout(
        "Fibocom LTE serving cell",
        Role.SERVING,
        _row("1", "4", nr=False, serving=True),
        rat=Rat.LTE,
        sizes=range(14, 40),
    ),
    "NR-NSA": Layout(
        "Fibocom NR EN-DC leg",
        Role.NR_LEG,
        _row("1", "9", nr=True, serving=True, ci_match=_NO_ID),
        rat=Rat.NR,
        sizes=range(14, 40),
    ),
    "NR": Layout(
        "Fibocom NR serving cell",
        Role.SERVING,
        _row("1", "9", nr=True, serving=True),
        rat=Rat.NR,
        sizes=range(14, 40),
    ),
    "LTE-NEIGHBOUR": Layout(
        "Fibocom LTE neighbour",
        Role.NEIGHBOUR,
        _row("2", "4", nr=False, serving=False),
        rat=Rat.LTE,
        sizes=range(12, 40),
    ),
    "NR-NEIGHBOUR": Layout(
        "Fibocom NR neighbour",
        Role.NEIGHBOUR,
        _row("2", "9", nr=True, serving=False),
        rat=Rat.NR,
        sizes=range(12, 40),
    ),
}

_GTCCINFO = CommandLayouts("+GTCCINFO", tuple(GTCCINFO_LAYOUTS.values()), bare_rows=True)


def parse_gtccinfo(text: str) -> CellReport:
    """Parse the answer to ``AT+GTCCINFO?`` (serving cell and neighbours in one answer).

    Raises:
        ParseError: no ``+GTCCINFO:`` line, an unknown RAT code, or unreadable rows.
    """
    return read_cells(_GTCCINFO, text)
