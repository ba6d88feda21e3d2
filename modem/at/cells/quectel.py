"""Quectel ``AT+QENG="servingcell"`` and ``AT+QENG="neighbourcell"`` (EC2x/EG2x/BG9x and
RG/RM5xx "AT Commands Manual", engineering mode).

Layouts by RAT rat_word (field 2 of a ``"servingcell"`` line):

* ``GSM``: mcc, mnc, lac, cellid, bsic, arfcn, band, rxlev, …
* ``WCDMA``: mcc, mnc, lac, cellid, uarfcn, psc, rac, rscp, ecio, …
* ``LTE``/``CAT-M``/``eMTC``/``CAT-NB``/``NBIoT``: is_tdd, mcc, mnc, cellid, pcid, earfcn,
  band, ul_bw, dl_bw, tac, rsrp, rsrq, rssi, sinr, [cqi, tx_power,] srxlev
* ``NR5G-SA``: duplex, mcc, mnc, cellid, pcid, tac, arfcn, band, dl_bw, rsrp, rsrq, sinr, …
* NR5G-NSA (EN-DC) is three lines: the ``"servingcell",<state>`` header, an ``"LTE"`` line
  without the header fields (the anchor, reported as the serving cell) and a
  ``"NR5G-NSA"`` line (mcc, mnc, pcid, rsrp, **sinr, rsrq**, arfcn, band, …) that has no
  cell identity; it is reported as a neighbour so its PCI and channel are kept.

Cell ids, TACs and LACs are hex; PCI, channels and MCC/MNC decimal; ``-`` is unknown.
LTE SINR: old EC2x firmware prints 0..250 for -20..+30 dB; values above 40 (impossible
as dB) are converted, smaller ones are taken as dB, which captured firmware prints.
"""

from __future__ import annotations

from modem.at.cells.report import CellReport, require_report
from modem.at.common import clean, dbm, dec, digits, field_at, hex_id, iter_payloads, split_fields
from modem.errors import ParseError
from modem.models import NeighbourCell, Rat, ServingCell

__all__ = ["parse_qeng_neighbourcell", "parse_qeng_servingcell"]

_PREFIX = ("+QENG",)

_LTE_TOKENS: dict[str, Rat] = {
    "LTE": Rat.LTE,
    "CAT-M": Rat.LTE_M,
    "CAT-M1": Rat.LTE_M,
    "EMTC": Rat.LTE_M,
    "CAT-NB": Rat.NB_IOT,
    "CAT-NB1": Rat.NB_IOT,
    "NBIOT": Rat.NB_IOT,
    "NB-IOT": Rat.NB_IOT,
}


def _lte_sinr(field: str) -> float | None:
    value = dbm(field, "SINR")
    if value is not None and value > 40:
        return value / 5 - 20
    return value


def _lte_cell(fields: list[str], state: str | None, rat: Rat) -> ServingCell:
    """Read an LTE row whose first field is ``is_tdd`` (header fields already removed)."""
    if len(fields) < 15:
        raise ParseError("Quectel LTE serving cell row is too short", ",".join(fields))
    return ServingCell(
        rat=rat,
        state=state,
        mcc=digits(fields[1]),
        mnc=digits(fields[2]),
        ci=hex_id(fields[3], "cell id"),
        pci=dec(fields[4], "PCI"),
        earfcn=dec(fields[5], "EARFCN"),
        band=dec(fields[6], "band"),
        tac=hex_id(fields[9], "TAC"),
        rsrp=dbm(fields[10], "RSRP"),
        rsrq=dbm(fields[11], "RSRQ"),
        rssi=dbm(fields[12], "RSSI"),
        sinr=_lte_sinr(fields[13]),
    )


def _serving_row(fields: list[str], state: str | None, line: str) -> ServingCell:
    rat_word = clean(field_at(fields, 0)).upper()
    rest = fields[1:]
    if rat_word in _LTE_TOKENS:
        return _lte_cell(rest, state, _LTE_TOKENS[rat_word])
    if rat_word == "GSM":
        if len(rest) < 8:
            raise ParseError("Quectel GSM serving cell row is too short", line)
        return ServingCell(
            rat=Rat.GSM,
            state=state,
            mcc=digits(rest[0]),
            mnc=digits(rest[1]),
            lac=hex_id(rest[2], "LAC"),
            ci=hex_id(rest[3], "cell id"),
            arfcn=dec(rest[5], "ARFCN"),
            rssi=dbm(rest[7], "RxLev"),
        )
    if rat_word == "WCDMA":
        if len(rest) < 9:
            raise ParseError("Quectel WCDMA serving cell row is too short", line)
        return ServingCell(
            rat=Rat.UMTS,
            state=state,
            mcc=digits(rest[0]),
            mnc=digits(rest[1]),
            lac=hex_id(rest[2], "LAC"),
            ci=hex_id(rest[3], "cell id"),
            uarfcn=dec(rest[4], "UARFCN"),
            psc=dec(rest[5], "PSC"),
            rscp=dbm(rest[7], "RSCP"),
            ecio=dbm(rest[8], "Ec/Io"),
        )
    if rat_word == "NR5G-SA":
        if len(rest) < 12:
            raise ParseError("Quectel NR5G-SA serving cell row is too short", line)
        return ServingCell(
            rat=Rat.NR,
            state=state,
            mcc=digits(rest[1]),
            mnc=digits(rest[2]),
            ci=hex_id(rest[3], "NR cell id"),
            pci=dec(rest[4], "PCI"),
            tac=hex_id(rest[5], "TAC"),
            arfcn=dec(rest[6], "NR-ARFCN"),
            band=dec(rest[7], "band"),
            rsrp=dbm(rest[9], "RSRP"),
            rsrq=dbm(rest[10], "RSRQ"),
            sinr=dbm(rest[11], "SINR"),
        )
    raise ParseError(f"unknown Quectel serving cell RAT {rat_word!r}", line)


def _nsa_leg(fields: list[str], line: str) -> NeighbourCell:
    if len(fields) < 8:
        raise ParseError("Quectel NR5G-NSA row is too short", line)
    return NeighbourCell(
        rat=Rat.NR,
        mcc=digits(fields[0]),
        mnc=digits(fields[1]),
        pci=dec(fields[2], "PCI"),
        rsrp=dbm(fields[3], "RSRP"),
        sinr=dbm(fields[4], "SINR"),
        rsrq=dbm(fields[5], "RSRQ"),
        arfcn=dec(fields[6], "NR-ARFCN"),
        band=dec(field_at(fields, 7), "band"),
    )


def parse_qeng_servingcell(text: str) -> CellReport:
    """Parse the answer to ``AT+QENG="servingcell"``.

    Returns:
        The serving cell (None while searching: ``"servingcell","SEARCH"``); in EN-DC the
        LTE anchor is the serving cell and the NR leg is the only neighbour.

    Raises:
        ParseError: no ``+QENG:`` line, an unknown RAT, or unreadable fields.
    """
    serving: ServingCell | None = None
    neighbours: list[NeighbourCell] = []
    state: str | None = None
    seen = False
    for line, body in iter_payloads(text, _PREFIX):
        seen = True
        fields = split_fields(body)
        kind = clean(fields[0]).lower()
        if kind == "servingcell":
            state = clean(field_at(fields, 1)) or None
            if len(fields) > 2:
                serving = _serving_row(fields[2:], state, line)
        elif kind.upper() in _LTE_TOKENS:
            serving = _lte_cell(fields[1:], state, _LTE_TOKENS[kind.upper()])
        elif kind.upper() == "NR5G-NSA":
            neighbours.append(_nsa_leg(fields[1:], line))
        else:
            raise ParseError(f"unexpected +QENG row {kind!r}", line)
    return require_report(
        CellReport(serving=serving, neighbours=tuple(neighbours)), seen, "+QENG", text
    )


def _neighbour_row(fields: list[str], line: str) -> NeighbourCell:
    kind = clean(fields[0]).lower()
    rat_word = clean(field_at(fields, 1)).upper()
    rest = fields[2:]
    if rat_word in _LTE_TOKENS and kind in ("neighbourcell intra", "neighbourcell inter"):
        if len(rest) < 4:
            raise ParseError("Quectel LTE neighbour row is too short", line)
        return NeighbourCell(
            rat=_LTE_TOKENS[rat_word],
            earfcn=dec(rest[0], "EARFCN"),
            pci=dec(rest[1], "PCI"),
            rsrq=dbm(rest[2], "RSRQ"),
            rsrp=dbm(rest[3], "RSRP"),
            rssi=dbm(field_at(rest, 4), "RSSI"),
            sinr=_lte_sinr(field_at(rest, 5)),
        )
    if rat_word in _LTE_TOKENS and kind == "neighbourcell":
        # LTE neighbours listed while on WCDMA: earfcn, pcid, rsrp, rsrq, srxlev.
        if len(rest) < 4:
            raise ParseError("Quectel LTE neighbour row is too short", line)
        return NeighbourCell(
            rat=_LTE_TOKENS[rat_word],
            earfcn=dec(rest[0], "EARFCN"),
            pci=dec(rest[1], "PCI"),
            rsrp=dbm(rest[2], "RSRP"),
            rsrq=dbm(rest[3], "RSRQ"),
        )
    if rat_word == "WCDMA":
        if len(rest) < 7:
            raise ParseError("Quectel WCDMA neighbour row is too short", line)
        return NeighbourCell(
            rat=Rat.UMTS,
            uarfcn=dec(rest[0], "UARFCN"),
            psc=dec(rest[4], "PSC"),
            rscp=dbm(rest[5], "RSCP"),
            ecio=dbm(rest[6], "Ec/No"),
        )
    if rat_word == "GSM":
        if len(rest) < 7:
            raise ParseError("Quectel GSM neighbour row is too short", line)
        return NeighbourCell(
            rat=Rat.GSM,
            mcc=digits(rest[0]),
            mnc=digits(rest[1]),
            lac=hex_id(rest[2], "LAC"),
            ci=hex_id(rest[3], "cell id"),
            arfcn=dec(rest[5], "ARFCN"),
            rssi=dbm(rest[6], "RxLev"),
        )
    raise ParseError(f"unknown Quectel neighbour row {kind!r}/{rat_word!r}", line)


def parse_qeng_neighbourcell(text: str) -> CellReport:
    """Parse the answer to ``AT+QENG="neighbourcell"`` (intra/inter LTE, WCDMA, GSM rows).

    LTE rows carry no cell identity; note their order is RSRQ before RSRP.

    Returns:
        A report with no serving cell and one neighbour per row (``[]`` for an answer of
        just ``OK``).

    Raises:
        ParseError: a ``+QENG:`` row of an unknown kind or with unreadable fields.
    """
    neighbours = [
        _neighbour_row(split_fields(body), line) for line, body in iter_payloads(text, _PREFIX)
    ]
    return CellReport(serving=None, neighbours=tuple(neighbours))
