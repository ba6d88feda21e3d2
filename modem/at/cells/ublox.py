"""u-blox ``AT+UCGED?`` in short form (``AT+UCGED=2``), whose layout differs per module
family (u-blox SARA-R5, SARA-R422 and LARA-R6 "AT commands manual", as implemented by
ubxlib), and the SARA-R4 measurement form ``AT+UCGED=5``, as layout tables.

The short form is ``+UCGED: 2`` followed by a RAT line and one data line. The two are
read as one row whose field 0 is the number of fields in the RAT line (families differ
there) and field 1 the RAT code:

* SARA-R5 (``6,<svc>,<MCC>,<MNC>``, LTE-M): EARFCN, band, ul_bw, dl_bw, TAC, cell id,
  PCI, mTMSI, MME group, MME code, RSRP index, RSRQ index, SINR (dB), …
* SARA-R422 (``<rat>,<MCC>,<MNC>``, rat not 2): EARFCN, band, ul_bw, dl_bw, TAC, PCI,
  RSRP dBm, RSRQ dB, … (no cell id)
* LARA-R6 2G (``2,<MCC>,<MNC>``): ARFCN, band, cell id, BSIC, LAC, RAC, RxLev, …
* LARA-R6 3G (``3,<svc>,<MCC>,<MNC>``): UARFCN, band, cell id, LAC, RAC, PSC, RRC state, …
* LARA-R6 LTE (``4,<svc>,<MCC>,<MNC>``): EARFCN, band, ul_bw, dl_bw, TAC, cell id, PCI, …

TAC and cell id are lowercase hex; ``fff`` MCC/MNC, ``ffff`` TAC and ``0000000`` cell id
mean unknown. SARA-R5 RSRP/RSRQ are 36.133 indexes (RSRP -141 + i dBm, RSRQ -20 + i/2 dB).

``+UCGED=5`` answers ``+RSRP: <PCI>,<EARFCN>,"<dBm>"[,…]`` and ``+RSRQ:`` alike, one
triple per measured cell, the serving cell first.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from modem.at.cells.layout import (
    Choice,
    CommandLayouts,
    Hex,
    Index,
    Layout,
    Level,
    Role,
    Row,
    fields,
    read_row,
    read_rows,
)
from modem.at.cells.report import CellReport, NoCell
from modem.at.common import clean, dec, payload, split_fields, split_lines
from modem.errors import ParseError
from modem.models import NeighbourCell, Rat, ServingCell

__all__ = ["MEASUREMENT_LAYOUT", "UCGED_LAYOUTS", "parse_ucged", "parse_ucged_measurements"]

_FINALS = frozenset({"OK", "ERROR"})
_CODECS = {
    "hex": Hex(lower=True, zero_unknown=True),
    "hex4": Hex(width=4, lower=True, zero_unknown=True),
    "hex7": Hex(width=7, lower=True, zero_unknown=True),
    "rsrp_index": Index(-141.0, 1.0, 97),
    "rsrq_index": Index(-20.0, 0.5, 34),
    "sinr": Level(decimals=2, missing="255"),
    "r422": Choice({"7": Rat.LTE_M, "8": Rat.NB_IOT, "9": Rat.NB_IOT, "4": Rat.LTE}),
}
# A RAT line of four fields ends with the service state (4: camped, registered), MCC, MNC;
# LTE data starts with EARFCN, band, UL and DL bandwidth (100 kHz units) and TAC.
_LTE_DATA = "earfcn,band,=50,=50,tac:hex"
_S = Role.SERVING

#: ``+UCGED=2`` rows: ``[RAT line size, *RAT line, *data line]``.
UCGED_LAYOUTS: dict[str, Layout] = {
    # SARA-R5: … mTMSI, MME group, MME code, RSRP/RSRQ indexes, SINR, then counters.
    "SARA-R5": Layout("u-blox SARA-R5 serving cell", _S, fields(
        f"@4,@6,=4,mcc,mnc,{_LTE_DATA},ci:hex7,pci,=d60814d1,=8001,=01,rsrp:rsrp_index,"
        "rsrq:rsrq_index,sinr:sinr,=0,=1,=15,=0,=0,=128,=0,=0", _CODECS),
        rat=Rat.LTE_M, sizes=range(18, 60)),
    "LARA-R6-LTE": Layout("u-blox LARA-R6 LTE serving cell", _S, fields(
        f"@4,@4,=4,mcc,mnc,{_LTE_DATA},ci:hex7,pci", _CODECS), rat=Rat.LTE, sizes=range(12, 60)),
    # LARA-R6 3G: UARFCN, band, cell id, LAC, RAC, PSC, RRC state (7: idle).
    "LARA-R6-3G": Layout("u-blox LARA-R6 3G serving cell", _S, fields(
        "@4,@3,=4,mcc,mnc,uarfcn,=1,ci:hex7,lac:hex,=1,psc,=7", _CODECS),
        rat=Rat.UMTS, sizes=range(11, 60)),
    # LARA-R6 2G: ARFCN, band-1900 flag, cell id, BSIC, LAC, RAC, RxLev.
    "LARA-R6-2G": Layout("u-blox LARA-R6 2G serving cell", _S, fields(
        "@3,@2,mcc,mnc,arfcn,=0,ci:hex4,bsic*,lac:hex4,=1,rssi", _CODECS),
        rat=Rat.GSM, sizes=range(11, 60)),
    # SARA-R422: no cell id; RSRP and RSRQ in dBm/dB.
    "SARA-R422": Layout("u-blox SARA-R422 serving cell", _S, fields(
        f"@3,rat:r422,mcc,mnc,{_LTE_DATA},pci,rsrp,rsrq", _CODECS), sizes=range(12, 60)),
}  # fmt: skip

_UCGED = CommandLayouts("+UCGED", tuple(UCGED_LAYOUTS.values()))


def _ucged_rows(text: str) -> Iterator[tuple[str, Row]]:
    lines = split_lines(text)
    for index, line in enumerate(lines):
        mode = payload(line, ("+UCGED",))
        if mode is None:
            continue
        if dec(split_fields(mode)[0], "+UCGED mode") != 2:
            raise ParseError("only the +UCGED=2 short form is understood", line)
        rest = [
            item
            for item in lines[index + 1 :]
            if item.upper() not in _FINALS and not item.upper().startswith("AT")
        ]
        if not rest:
            return  # the mode line alone: no cell to report
        rat_line = split_fields(rest[0])
        data = split_fields(rest[1]) if len(rest) > 1 else []
        yield "\n".join(rest[:2]), [str(len(rat_line)), *rat_line, *data]
        return
    raise ParseError("no +UCGED line in the answer", text)


def parse_ucged(text: str) -> CellReport:
    """Parse the answer to ``AT+UCGED?`` after ``AT+UCGED=2``.

    Returns:
        The serving cell; ``no_cell`` when the module printed only the mode line.

    Raises:
        ParseError: no ``+UCGED:`` line, a mode other than 2, an unknown RAT code, or
            unreadable fields.
    """
    report = read_rows(_UCGED, _ucged_rows(text), seen=True)
    return report if report.serving is not None else CellReport(no_cell=NoCell())


#: One ``+UCGED=5`` measurement: ``<PCI>,<EARFCN>,"<value>"`` (``+RSRP:`` or ``+RSRQ:``).
MEASUREMENT_LAYOUT = Layout(
    "u-blox +UCGED=5 measurement",
    Role.NEIGHBOUR,
    fields("pci,earfcn,value:level", {"level": Level(decimals=2, width=7, quoted=True)}),
    rat=Rat.LTE,
)


def _measurements(body: str) -> list[dict[str, Any]]:
    fields = split_fields(body)
    if fields and not clean(fields[-1]):
        fields = fields[:-1]  # a trailing comma
    if len(fields) % 3:
        raise ParseError("+UCGED=5 measurements come in PCI,EARFCN,value triples", body)
    return [read_row(MEASUREMENT_LAYOUT, fields[i : i + 3], body) for i in range(0, len(fields), 3)]


def parse_ucged_measurements(text: str) -> CellReport:
    """Parse the answer to ``AT+UCGED?`` after ``AT+UCGED=5`` (SARA-R4): RSRP and RSRQ per
    measured cell. The first cell is the serving cell (PCI and EARFCN only); an empty
    ``+RSRP:`` line means no cell is heard.

    Raises:
        ParseError: no ``+RSRP:`` line, or a measurement that cannot be read.
    """
    rsrp: list[dict[str, Any]] = []
    rsrq: dict[tuple[Any, Any], Any] = {}
    seen = False
    for line in split_lines(text):
        body = payload(line, ("+RSRP",))
        if body is not None:
            seen = True
            rsrp += _measurements(body) if body else []
        body = payload(line, ("+RSRQ",))
        if body:
            rsrq.update({(m["pci"], m["earfcn"]): m["value"] for m in _measurements(body)})
    if not seen:
        raise ParseError("no +RSRP line in the answer", text)
    if not rsrp:
        return CellReport(no_cell=NoCell())  # an empty measurement: no cell heard
    cells = [
        {
            "rat": m["rat"],
            "pci": m["pci"],
            "earfcn": m["earfcn"],
            "rsrp": m["value"],
            "rsrq": rsrq.get((m["pci"], m["earfcn"])),
        }
        for m in rsrp
    ]
    return CellReport(
        serving=ServingCell(**cells[0]),
        neighbours=tuple(NeighbourCell(**cell) for cell in cells[1:]),
    )
