"""Fibocom ``AT+GTCCINFO?`` (L8x0, FM150, FM350 "AT Commands User Manual").

The answer is a ``+GTCCINFO:`` header followed by rows, optionally grouped under
captions (``LTE service cell:``, ``LTE neighbor cell:``) and blank lines::

    <IsServiceCell>,<rat>,<mcc>,<mnc>,<tac>,<cellid>,<earfcn>,<pci>,<band>,<bandwidth>,
        <rssnr>,<rxlev>,<rsrp>,<rsrq>                                  (serving, 14 fields)
    2,<rat>,<mcc>,<mnc>,<tac>,<cellid>,<earfcn>,<pci>,<band>,<rxlev>,<rsrp>,<rsrq>
                                                                       (neighbour, 12 fields)

``rat`` 4 is LTE and 9 NR; TAC and cell id are hex (``FFFF``/``00FFFFFFF`` unknown); the
MNC is printed without padding (``262,1`` is MNC 01: the driver fixes the width); band
``1xx`` is LTE band xx and ``50xx`` NR band nxx. RSRP/RSRQ/RxLev are indexes: LTE RSRP
-140 + i dBm, RSRQ -19.5 + i/2 dB (36.133), NR SS-RSRP -156 + i dBm, SS-RSRQ -43 + i/2 dB
(38.133), RxLev -111 + i dBm (27.007). The RSSNR scale is not documented and is left out.
A row flagged as serving but without a cell identity (the EN-DC secondary NR leg) is
reported as a neighbour.
"""

from __future__ import annotations

from modem.at.cells.report import CellReport, as_neighbour, as_serving, require_report
from modem.at.common import clean, dec, digits, field_at, hex_id, payload, split_fields, split_lines
from modem.errors import ParseError
from modem.models import Cell, NeighbourCell, Rat, ServingCell

__all__ = ["parse_gtccinfo"]

_RATS = {4: Rat.LTE, 9: Rat.NR}


def _index(field: str, *, base: float, step: float, top: int, what: str) -> float | None:
    value = dec(field, what)
    if value is None or value == 255:
        return None
    if not 0 <= value <= top:
        raise ParseError(f"Fibocom {what} index {value} out of range", field)
    return base + step * value


def _band(field: str) -> int | None:
    code = dec(field, "band")
    if code is None:
        return None
    if 5000 <= code < 6000:
        return code - 5000
    if 100 <= code < 1000:
        return code - 100
    return code


def _row(fields: list[str], line: str) -> tuple[bool, Cell]:
    """Read one row; returns whether it is flagged as the serving cell, and the cell."""
    flag = dec(fields[0], "IsServiceCell")
    rat_code = dec(fields[1], "RAT")
    rat = _RATS.get(rat_code) if rat_code is not None else None
    if rat is None:
        raise ParseError(f"unknown Fibocom RAT code {rat_code}", line)
    serving = flag == 1
    if len(fields) < (14 if serving else 12):
        raise ParseError("Fibocom +GTCCINFO row is too short", line)
    rxlev, rsrp, rsrq = fields[11:14] if serving else fields[9:12]
    nr = rat is Rat.NR
    channel = dec(fields[6], "channel")
    cell = Cell(
        rat=rat,
        mcc=digits(fields[2]),
        mnc=digits(fields[3]),
        tac=hex_id(fields[4], "TAC"),
        ci=hex_id(fields[5], "cell id"),
        pci=dec(fields[7], "PCI"),
        band=_band(fields[8]),
        arfcn=channel if nr else None,
        earfcn=None if nr else channel,
        rssi=_index(rxlev, base=-111.0, step=1.0, top=63, what="RxLev"),
        rsrp=_index(
            rsrp, base=-156.0 if nr else -140.0, step=1.0, top=127 if nr else 97, what="RSRP"
        ),
        rsrq=_index(
            rsrq, base=-43.0 if nr else -19.5, step=0.5, top=127 if nr else 34, what="RSRQ"
        ),
    )
    return serving, cell


def parse_gtccinfo(text: str) -> CellReport:
    """Parse the answer to ``AT+GTCCINFO?`` (serving cell and neighbours in one answer).

    Raises:
        ParseError: no ``+GTCCINFO:`` line, an unknown RAT code, or unreadable rows.
    """
    serving: ServingCell | None = None
    neighbours: list[NeighbourCell] = []
    seen = False
    for line in split_lines(text):
        body = payload(line, ("+GTCCINFO",))
        if body is not None:
            seen = True
            if not body:
                continue
            row_text = body
        elif seen and line[:1].isdigit():
            row_text = line
        else:
            continue  # captions, echo, OK
        fields = split_fields(row_text)
        if len(fields) < 2 or not clean(field_at(fields, 0)).isdigit():
            raise ParseError("Fibocom +GTCCINFO row not understood", line)
        is_serving, cell = _row(fields, line)
        if is_serving and serving is None and cell.ci is not None:
            serving = as_serving(cell)
        else:
            neighbours.append(as_neighbour(cell))
    return require_report(
        CellReport(serving=serving, neighbours=tuple(neighbours)), seen, "+GTCCINFO", text
    )
