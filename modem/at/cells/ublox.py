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
    Const,
    Dec,
    Digits,
    Field,
    Hex,
    Index,
    Layout,
    Level,
    Role,
    Row,
    Word,
    constants,
    read_row,
    read_rows,
)
from modem.at.cells.report import CellReport, NoCell
from modem.at.common import clean, dec, payload, split_fields, split_lines
from modem.errors import ParseError
from modem.models import NeighbourCell, Rat, ServingCell

__all__ = ["MEASUREMENT_LAYOUT", "UCGED_LAYOUTS", "parse_ucged", "parse_ucged_measurements"]

_FINALS = frozenset({"OK", "ERROR"})
_DEC = Dec()
_MCC_MNC = (Field("mcc", 3, Digits()), Field("mnc", 4, Digits()))
_TAC = Hex(lower=True, zero_unknown=True)
_CI = Hex(width=7, lower=True, zero_unknown=True)


def _lte_data(offset: int, *rest: Field) -> tuple[Field, ...]:
    return (
        Field("earfcn", offset, _DEC),
        Field("band", offset + 1, _DEC),
        Field(None, offset + 2, Const("50")),  # UL bandwidth, 100 kHz units
        Field(None, offset + 3, Const("50")),  # DL bandwidth
        Field("tac", offset + 4, _TAC),
        *rest,
    )


#: ``+UCGED=2`` rows: ``[RAT line size, *RAT line, *data line]``.
UCGED_LAYOUTS: dict[str, Layout] = {
    "SARA-R5": Layout(
        "u-blox SARA-R5 serving cell",
        Role.SERVING,
        (
            Field(None, 0, Word(("4",))),
            Field(None, 1, Word(("6",))),
            Field(None, 2, Const("4")),  # service state: camped, registered
            *_MCC_MNC,
            *_lte_data(
                5,
                Field("ci", 10, _CI),
                Field("pci", 11, _DEC),
                # mTMSI, MME group, MME code
                *constants(12, "d60814d1", "8001", "01"),
                Field("rsrp", 15, Index(-141.0, 1.0, 97)),
                Field("rsrq", 16, Index(-20.0, 0.5, 34)),
                Field("sinr", 17, Level(decimals=2, missing="255")),
                *(
                    Field(None, 18 + i, Const(t))
                    for i, t in enumerate("0 1 15 0 0 128 0 0".split())
                ),
            ),
        ),
        rat=Rat.LTE_M,
        sizes=range(18, 60),
    ),
    "LARA-R6-LTE": Layout(
        "u-blox LARA-R6 LTE serving cell",
        Role.SERVING,
        (
            Field(None, 0, Word(("4",))),
            Field(None, 1, Word(("4",))),
            Field(None, 2, Const("4")),
            *_MCC_MNC,
            *_lte_data(5, Field("ci", 10, _CI), Field("pci", 11, _DEC)),
        ),
        rat=Rat.LTE,
        sizes=range(12, 60),
    ),
    "LARA-R6-3G": Layout(
        "u-blox LARA-R6 3G serving cell",
        Role.SERVING,
        (
            Field(None, 0, Word(("4",))),
            Field(None, 1, Word(("3",))),
            Field(None, 2, Const("4")),
            *_MCC_MNC,
            Field("uarfcn", 5, _DEC),
            Field(None, 6, Const("1")),  # band
            Field("ci", 7, _CI),
            Field("lac", 8, _TAC),
            Field(None, 9, Const("1")),  # RAC
            Field("psc", 10, _DEC),
            Field(None, 11, Const("7")),  # RRC state: idle
        ),
        rat=Rat.UMTS,
        sizes=range(11, 60),
    ),
    "LARA-R6-2G": Layout(
        "u-blox LARA-R6 2G serving cell",
        Role.SERVING,
        (
            Field(None, 0, Word(("3",))),
            Field(None, 1, Word(("2",))),
            Field("mcc", 2, Digits()),
            Field("mnc", 3, Digits()),
            Field("arfcn", 4, _DEC),
            Field(None, 5, Const("0")),  # band 1900 flag
            Field("ci", 6, Hex(width=4, lower=True, zero_unknown=True)),
            Field("bsic", 7, _DEC, read=False),
            Field("lac", 8, Hex(width=4, lower=True, zero_unknown=True)),
            Field(None, 9, Const("1")),  # RAC
            Field("rssi", 10, Level()),
        ),
        rat=Rat.GSM,
        sizes=range(11, 60),
    ),
    "SARA-R422": Layout(
        "u-blox SARA-R422 serving cell",
        Role.SERVING,
        (
            Field(None, 0, Word(("3",))),
            Field(
                "rat",
                1,
                Choice({"7": Rat.LTE_M, "8": Rat.NB_IOT, "9": Rat.NB_IOT, "4": Rat.LTE}),
            ),
            Field("mcc", 2, Digits()),
            Field("mnc", 3, Digits()),
            *_lte_data(
                4, Field("pci", 9, _DEC), Field("rsrp", 10, Level()), Field("rsrq", 11, Level())
            ),
        ),
        sizes=range(12, 60),
    ),
}

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
    (
        Field("pci", 0, _DEC),
        Field("earfcn", 1, _DEC),
        Field("value", 2, Level(decimals=2, width=7, quoted=True)),
    ),
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
