"""SIMCom ``AT+CPSI?`` (SIM7000/SIM7100/SIM7500/SIM7600/SIM82xx "AT Command Manual").

Layouts by system mode (field 0):

* ``GSM``: op mode, MCC-MNC, LAC, cell id, "ARFCN band", RxLev, …
* ``WCDMA``: op mode, MCC-MNC, LAC, cell id, band, PSC, UARFCN, SSC, Ec/Io, RSCP, …
* ``LTE``/``LTE CAT-M1``/``LTE NB-IOT``: op mode, MCC-MNC, TAC, SCellID, PCellID, band,
  EARFCN, dl_bw, ul_bw, RSRQ, RSRP, RSSI, RSSNR
* ``NR5G_SA``: op mode, MCC-MNC, TAC, SCellID, PCellID, band, NR-ARFCN, RSRP, RSRQ, SINR
* ``NR5G_NSA`` (second line in EN-DC): PCellID, band, NR-ARFCN, RSRP, RSRQ, SINR, reported
  as a neighbour (it has no cell identity)
* ``NO SERVICE``: no serving cell.

Encodings: LAC/TAC are ``0x`` hex, **cell ids are decimal**, PCI decimal, the PLMN is
``MCC-MNC`` with the MNC as printed. SIM7600-class firmware prints RSRQ/RSRP/RSSI (and
NR SINR) in tenths of a dB (``-1089`` = -108.9 dBm), SIM7000-class in whole dB; the unit
is decided per row from RSRP, whose whole-dB range (-44..-140) cannot overlap tenths.
"""

from __future__ import annotations

import re

from modem.at.cells.report import CellReport, require_report
from modem.at.common import clean, dbm, dec, digits, field_at, hex_id, iter_payloads, split_fields
from modem.errors import ParseError
from modem.models import NeighbourCell, Rat, ServingCell

__all__ = ["parse_cpsi"]

_LTE_MODES: dict[str, Rat] = {
    "LTE": Rat.LTE,
    "LTE CAT-M1": Rat.LTE_M,
    "LTE CAT-M": Rat.LTE_M,
    "CAT-M": Rat.LTE_M,
    "LTE NB-IOT": Rat.NB_IOT,
    "NB-IOT": Rat.NB_IOT,
}
_NR_SA_MODES = frozenset({"NR5G_SA", "NR5G"})
_BAND_RE = re.compile(r"(\d+)\s*$")
# RSRP below this many "units" can only be tenths of a dB.
_TENTHS_THRESHOLD = 200.0


def _plmn(field: str, line: str) -> tuple[str | None, str | None]:
    value = clean(field)
    if value.upper() in ("", "-", "NONE"):
        return None, None
    mcc, sep, mnc = value.partition("-")
    if not sep:
        raise ParseError("SIMCom PLMN is not MCC-MNC", line)
    return digits(mcc), digits(mnc)


def _band(field: str) -> int | None:
    value = clean(field)
    match = _BAND_RE.search(value)
    return int(match.group(1)) if match else None


def _cell_id(field: str, what: str) -> int | None:
    """Cell ids are decimal on SIMCom; a ``0x`` prefix (seen on some firmware) means hex."""
    if clean(field).lower().startswith("0x"):
        return hex_id(field, what)
    return dec(field, what)


def _scale(values: list[float | None], rsrp: float | None) -> list[float | None]:
    if rsrp is not None and abs(rsrp) > _TENTHS_THRESHOLD:
        return [None if v is None else v / 10 for v in values]
    return values


def _serving(fields: list[str], line: str) -> ServingCell | None:
    mode = " ".join(clean(fields[0]).upper().split())
    state = clean(field_at(fields, 1)) or None
    if mode in ("NO SERVICE", "NONE", ""):
        return None
    if mode in _LTE_MODES:
        if len(fields) < 12:
            raise ParseError("SIMCom LTE row is too short", line)
        mcc, mnc = _plmn(fields[2], line)
        rsrp = dbm(fields[11], "RSRP")
        rsrq, rsrp, rssi = _scale(
            [dbm(fields[10], "RSRQ"), rsrp, dbm(field_at(fields, 12), "RSSI")], rsrp
        )
        return ServingCell(
            rat=_LTE_MODES[mode],
            state=state,
            mcc=mcc,
            mnc=mnc,
            tac=hex_id(fields[3], "TAC"),
            ci=_cell_id(fields[4], "cell id"),
            pci=dec(fields[5], "PCI"),
            band=_band(fields[6]),
            earfcn=dec(fields[7], "EARFCN"),
            rsrq=rsrq,
            rsrp=rsrp,
            rssi=rssi,
            sinr=dbm(field_at(fields, 13), "RSSNR"),
        )
    if mode in _NR_SA_MODES:
        if len(fields) < 11:
            raise ParseError("SIMCom NR5G_SA row is too short", line)
        mcc, mnc = _plmn(fields[2], line)
        rsrp = dbm(fields[8], "RSRP")
        rsrp, rsrq, sinr = _scale([rsrp, dbm(fields[9], "RSRQ"), dbm(fields[10], "SINR")], rsrp)
        return ServingCell(
            rat=Rat.NR,
            state=state,
            mcc=mcc,
            mnc=mnc,
            tac=hex_id(fields[3], "TAC"),
            ci=_cell_id(fields[4], "NR cell id"),
            pci=dec(fields[5], "PCI"),
            band=_band(fields[6]),
            arfcn=dec(fields[7], "NR-ARFCN"),
            rsrp=rsrp,
            rsrq=rsrq,
            sinr=sinr,
        )
    if mode == "GSM":
        if len(fields) < 7:
            raise ParseError("SIMCom GSM row is too short", line)
        mcc, mnc = _plmn(fields[2], line)
        arfcn_band = clean(fields[5]).split()
        return ServingCell(
            rat=Rat.GSM,
            state=state,
            mcc=mcc,
            mnc=mnc,
            lac=hex_id(fields[3], "LAC"),
            ci=_cell_id(fields[4], "cell id"),
            arfcn=dec(arfcn_band[0], "ARFCN") if arfcn_band else None,
            rssi=dbm(fields[6], "RxLev"),
        )
    if mode == "WCDMA":
        if len(fields) < 11:
            raise ParseError("SIMCom WCDMA row is too short", line)
        mcc, mnc = _plmn(fields[2], line)
        return ServingCell(
            rat=Rat.UMTS,
            state=state,
            mcc=mcc,
            mnc=mnc,
            lac=hex_id(fields[3], "LAC"),
            ci=_cell_id(fields[4], "cell id"),
            psc=dec(fields[6], "PSC"),
            uarfcn=dec(fields[7], "UARFCN"),
            ecio=dbm(fields[9], "Ec/Io"),
            rscp=dbm(fields[10], "RSCP"),
        )
    raise ParseError(f"unknown SIMCom system mode {mode!r}", line)


def _nsa_leg(fields: list[str], line: str) -> NeighbourCell:
    if len(fields) < 7:
        raise ParseError("SIMCom NR5G_NSA row is too short", line)
    rsrp = dbm(fields[4], "RSRP")
    rsrp, rsrq, sinr = _scale([rsrp, dbm(fields[5], "RSRQ"), dbm(fields[6], "SINR")], rsrp)
    return NeighbourCell(
        rat=Rat.NR,
        pci=dec(fields[1], "PCI"),
        band=_band(fields[2]),
        arfcn=dec(fields[3], "NR-ARFCN"),
        rsrp=rsrp,
        rsrq=rsrq,
        sinr=sinr,
    )


def parse_cpsi(text: str) -> CellReport:
    """Parse the answer to ``AT+CPSI?``.

    Returns:
        The serving cell (None for ``NO SERVICE``); in EN-DC the NR leg is the only
        neighbour.

    Raises:
        ParseError: no ``+CPSI:`` line, an unknown system mode, or unreadable fields.
    """
    serving: ServingCell | None = None
    neighbours: list[NeighbourCell] = []
    seen = False
    for line, body in iter_payloads(text, ("+CPSI",)):
        seen = True
        fields = split_fields(body)
        if clean(fields[0]).upper() == "NR5G_NSA":
            neighbours.append(_nsa_leg(fields, line))
        else:
            serving = _serving(fields, line)
    return require_report(
        CellReport(serving=serving, neighbours=tuple(neighbours)), seen, "+CPSI", text
    )
