"""Huawei ``AT^MONSC`` (serving cell) and ``AT^MONNC`` (neighbours), field order and radix
from Huawei's module AT command interface specification.

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

from modem.at.cells.report import CellReport, require_report
from modem.at.common import clean, dbm, dec, digits, hex_id, iter_payloads, split_fields
from modem.errors import ParseError
from modem.models import NeighbourCell, Rat, ServingCell

__all__ = ["parse_monnc", "parse_monsc"]

# Minimum field count per RAT rat_word, including the rat_word itself.
_MONSC_SIZES = {"GSM": 9, "WCDMA": 10, "TD_SCDMA": 9, "LTE": 10, "NR": 11}
_MONNC_SIZES = {"GSM": 7, "WCDMA": 5, "LTE": 6, "NR": 6}


def _monsc_row(fields: list[str], line: str) -> ServingCell | None:
    rat_word = clean(fields[0]).upper()
    if rat_word == "NONE":
        return None
    if rat_word not in _MONSC_SIZES:
        raise ParseError(f"unknown ^MONSC RAT {rat_word!r}", line)
    if len(fields) < _MONSC_SIZES[rat_word]:
        raise ParseError(f"^MONSC {rat_word} row is too short", line)
    mcc, mnc = digits(fields[1]), digits(fields[2])
    if rat_word == "GSM":
        return ServingCell(
            rat=Rat.GSM,
            mcc=mcc,
            mnc=mnc,
            arfcn=dec(fields[4], "ARFCN"),
            ci=hex_id(fields[6], "cell id"),
            lac=hex_id(fields[7], "LAC"),
            rssi=dbm(fields[8], "RSSI"),
        )
    if rat_word == "WCDMA":
        return ServingCell(
            rat=Rat.UMTS,
            mcc=mcc,
            mnc=mnc,
            uarfcn=dec(fields[3], "UARFCN"),
            psc=dec(fields[4], "PSC"),
            ci=hex_id(fields[5], "cell id"),
            lac=hex_id(fields[6], "LAC"),
            rscp=dbm(fields[7], "RSCP"),
            rssi=dbm(fields[8], "RSSI"),
            ecio=dbm(fields[9], "Ec/N0"),
        )
    if rat_word == "TD_SCDMA":
        return ServingCell(
            rat=Rat.UMTS,
            mcc=mcc,
            mnc=mnc,
            uarfcn=dec(fields[3], "UARFCN"),
            ci=hex_id(fields[6], "cell id"),
            lac=hex_id(fields[7], "LAC"),
            rscp=dbm(fields[8], "RSCP"),
        )
    if rat_word == "LTE":
        return ServingCell(
            rat=Rat.LTE,
            mcc=mcc,
            mnc=mnc,
            earfcn=dec(fields[3], "EARFCN"),
            ci=hex_id(fields[4], "cell id"),
            pci=hex_id(fields[5], "PCI"),
            tac=hex_id(fields[6], "TAC"),
            rsrp=dbm(fields[7], "RSRP"),
            rsrq=dbm(fields[8], "RSRQ"),
            rssi=dbm(fields[9], "RSSI"),
        )
    return ServingCell(
        rat=Rat.NR,
        mcc=mcc,
        mnc=mnc,
        arfcn=dec(fields[3], "NR-ARFCN"),
        ci=hex_id(fields[5], "NR cell id"),
        pci=hex_id(fields[6], "PCI"),
        tac=hex_id(fields[7], "TAC"),
        rsrp=dbm(fields[8], "RSRP"),
        rsrq=dbm(fields[9], "RSRQ"),
        sinr=dbm(fields[10], "SINR"),
    )


def parse_monsc(text: str) -> CellReport:
    """Parse the answer to ``AT^MONSC``.

    Returns:
        The serving cell, None for ``^MONSC: NONE``.

    Raises:
        ParseError: no ``^MONSC:`` line, an unknown RAT, or unreadable fields.
    """
    serving: ServingCell | None = None
    seen = False
    for line, body in iter_payloads(text, ("^MONSC",)):
        seen = True
        serving = _monsc_row(split_fields(body), line)
    return require_report(CellReport(serving=serving), seen, "^MONSC", text)


def _monnc_row(fields: list[str], line: str) -> NeighbourCell | None:
    rat_word = clean(fields[0]).upper()
    if rat_word == "NONE":
        return None
    if rat_word not in _MONNC_SIZES:
        raise ParseError(f"unknown ^MONNC RAT {rat_word!r}", line)
    if len(fields) < _MONNC_SIZES[rat_word]:
        raise ParseError(f"^MONNC {rat_word} row is too short", line)
    if rat_word == "GSM":
        return NeighbourCell(
            rat=Rat.GSM,
            arfcn=dec(fields[2], "ARFCN"),
            ci=hex_id(fields[4], "cell id"),
            lac=hex_id(fields[5], "LAC"),
            rssi=dbm(fields[6], "RSSI"),
        )
    if rat_word == "WCDMA":
        return NeighbourCell(
            rat=Rat.UMTS,
            uarfcn=dec(fields[1], "UARFCN"),
            psc=dec(fields[2], "PSC"),
            rscp=dbm(fields[3], "RSCP"),
            ecio=dbm(fields[4], "Ec/N0"),
        )
    if rat_word == "LTE":
        return NeighbourCell(
            rat=Rat.LTE,
            earfcn=dec(fields[1], "EARFCN"),
            pci=hex_id(fields[2], "PCI"),
            rsrp=dbm(fields[3], "RSRP"),
            rsrq=dbm(fields[4], "RSRQ"),
            rssi=dbm(fields[5], "RSSI"),
        )
    return NeighbourCell(
        rat=Rat.NR,
        arfcn=dec(fields[1], "NR-ARFCN"),
        pci=hex_id(fields[2], "PCI"),
        rsrp=dbm(fields[3], "RSRP"),
        rsrq=dbm(fields[4], "RSRQ"),
        sinr=dbm(fields[5], "SINR"),
    )


def parse_monnc(text: str) -> CellReport:
    """Parse the answer to ``AT^MONNC`` (one line per neighbour, or ``^MONNC: NONE``).

    Raises:
        ParseError: no ``^MONNC:`` line, an unknown RAT, or unreadable fields.
    """
    neighbours: list[NeighbourCell] = []
    seen = False
    for line, body in iter_payloads(text, ("^MONNC",)):
        seen = True
        row = _monnc_row(split_fields(body), line)
        if row is not None:
            neighbours.append(row)
    return require_report(CellReport(neighbours=tuple(neighbours)), seen, "^MONNC", text)
