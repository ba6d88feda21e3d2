"""u-blox ``AT+UCGED?`` in short form (``AT+UCGED=2``), whose layout differs per module family
(u-blox SARA-R5, SARA-R422 and LARA-R6 "AT commands manual", as implemented by ubxlib).

The answer is ``+UCGED: 2`` followed by a RAT line and one data line:

* SARA-R5 (``<rat>,<svc>,<MCC>,<MNC>`` with rat 6, LTE-M): EARFCN, band, ul_bw, dl_bw,
  TAC, cell id, PCI, mTMSI, MME group, MME code, RSRP index, RSRQ index, SINR (dB), …
* SARA-R422 (``<rat>,<MCC>,<MNC>``, rat not 2): EARFCN, band, ul_bw, dl_bw, TAC, PCI,
  RSRP dBm, RSRQ dB, … (no cell id)
* LARA-R6 2G (``2,<MCC>,<MNC>``): ARFCN, band, cell id, BSIC, LAC, RAC, RxLev, …
* LARA-R6 3G (``3,<svc>,<MCC>,<MNC>``): UARFCN, band, cell id, LAC, RAC, PSC, RRC state, …
* LARA-R6 LTE (``4,<svc>,<MCC>,<MNC>``): EARFCN, band, ul_bw, dl_bw, TAC, cell id, PCI, …
  (its signal fields are not documented consistently and are left out).

TAC and cell id are lowercase hex; ``fff`` MCC/MNC, ``ffff`` TAC and ``0000000`` cell id
mean unknown. SARA-R5 RSRP/RSRQ are 36.133 indexes (RSRP -141 + i dBm, RSRQ -20 + i/2 dB).
"""

from __future__ import annotations

from modem.at.cells.report import CellReport
from modem.at.common import dbm, dec, digits, field_at, hex_id, payload, split_fields, split_lines
from modem.errors import ParseError
from modem.models import Rat, ServingCell

__all__ = ["parse_ucged"]

_FINALS = frozenset({"OK", "ERROR"})


def _index(field: str, *, base: float, step: float, top: int, what: str) -> float | None:
    value = dec(field, what)
    if value is None or value == 255:
        return None
    if not 0 <= value <= top:
        raise ParseError(f"u-blox {what} index {value} out of range", field)
    return base + step * value


def _cell(rat_fields: list[str], data: list[str], line: str) -> ServingCell | None:
    rat_code = dec(rat_fields[0], "RAT")
    if len(rat_fields) == 3 and rat_code == 2:
        if len(data) < 7:
            raise ParseError("u-blox 2G row is too short", line)
        return ServingCell(
            rat=Rat.GSM,
            mcc=digits(rat_fields[1]),
            mnc=digits(rat_fields[2]),
            arfcn=dec(data[0], "ARFCN"),
            ci=hex_id(data[2], "cell id", zero_is_unknown=True),
            lac=hex_id(data[4], "LAC", zero_is_unknown=True),
            rssi=dbm(data[6], "RxLev"),
        )
    if len(rat_fields) == 3:
        if len(data) < 8:
            raise ParseError("u-blox SARA-R422 row is too short", line)
        return ServingCell(
            rat=Rat.NB_IOT if rat_code in (8, 9) else Rat.LTE_M if rat_code == 7 else Rat.LTE,
            mcc=digits(rat_fields[1]),
            mnc=digits(rat_fields[2]),
            earfcn=dec(data[0], "EARFCN"),
            band=dec(data[1], "band"),
            tac=hex_id(data[4], "TAC", zero_is_unknown=True),
            pci=dec(data[5], "PCI"),
            rsrp=dbm(data[6], "RSRP"),
            rsrq=dbm(data[7], "RSRQ"),
        )
    if len(rat_fields) < 4:
        raise ParseError("u-blox RAT line is too short", line)
    mcc, mnc = digits(rat_fields[2]), digits(rat_fields[3])
    if rat_code == 6:
        if len(data) < 13:
            raise ParseError("u-blox SARA-R5 row is too short", line)
        return ServingCell(
            rat=Rat.LTE_M,
            mcc=mcc,
            mnc=mnc,
            earfcn=dec(data[0], "EARFCN"),
            band=dec(data[1], "band"),
            tac=hex_id(data[4], "TAC", zero_is_unknown=True),
            ci=hex_id(data[5], "cell id", zero_is_unknown=True),
            pci=dec(data[6], "PCI"),
            rsrp=_index(data[10], base=-141.0, step=1.0, top=97, what="RSRP"),
            rsrq=_index(data[11], base=-20.0, step=0.5, top=34, what="RSRQ"),
            sinr=dbm(data[12], "SINR"),
        )
    if rat_code == 4:
        if len(data) < 7:
            raise ParseError("u-blox LARA-R6 LTE row is too short", line)
        return ServingCell(
            rat=Rat.LTE,
            mcc=mcc,
            mnc=mnc,
            earfcn=dec(data[0], "EARFCN"),
            band=dec(data[1], "band"),
            tac=hex_id(data[4], "TAC", zero_is_unknown=True),
            ci=hex_id(data[5], "cell id", zero_is_unknown=True),
            pci=dec(data[6], "PCI"),
        )
    if rat_code == 3:
        if len(data) < 6:
            raise ParseError("u-blox LARA-R6 3G row is too short", line)
        return ServingCell(
            rat=Rat.UMTS,
            mcc=mcc,
            mnc=mnc,
            uarfcn=dec(data[0], "UARFCN"),
            ci=hex_id(data[2], "cell id", zero_is_unknown=True),
            lac=hex_id(data[3], "LAC", zero_is_unknown=True),
            psc=dec(data[5], "PSC"),
        )
    raise ParseError(f"unknown u-blox +UCGED RAT {rat_code}", line)


def parse_ucged(text: str) -> CellReport:
    """Parse the answer to ``AT+UCGED?`` after ``AT+UCGED=2``.

    Returns:
        The serving cell; None when the module printed only the mode line (no service).

    Raises:
        ParseError: no ``+UCGED:`` line, a mode other than 2, an unknown RAT code, or
            unreadable fields.
    """
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
            return CellReport()
        rat_fields = split_fields(rest[0])
        data = split_fields(field_at(rest, 1))
        return CellReport(serving=_cell(rat_fields, data, "\n".join(rest[:2])))
    raise ParseError("no +UCGED line in the answer", text)
