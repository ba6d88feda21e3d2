"""Cinterion/Thales ``AT^SMONI`` (serving cell; "AT Command Set" of the ELS/PLS/EXS families).

::

    ^SMONI: 2G,<ARFCN>,<BCCH dBm>,<MCC>,<MNC>,<LAC>,<cell>,<C1>,<C2>,<NCC>,<BCC>,<GPRS>,…
    ^SMONI: 3G,<UARFCN>,<PSC>,<EC/n0>,<RSCP>,<MCC>,<MNC>,<LAC>,<cell>,<SQual>,<SRxLev>,…
    ^SMONI: 4G,<EARFCN>,<Band>,<DL bw>,<UL bw>,<Mode>,<MCC>,<MNC>,<TAC>,<Global Cell ID>,
            <PCI>,<Srxlev|TX_power>,<RSRP>,<RSRQ>,<Conn_state>
    ^SMONI: 2G,SEARCH,SEARCH    (also 3G/4G: no serving cell)

Signal values are already dBm/dB; LAC/TAC/cell ids are hex; dedicated-mode rows use
``-``/``--``/``----`` for values they lack. The connection-state word (``NOCONN``,
``CONN``…) is the serving cell's state.
"""

from __future__ import annotations

from modem.at.cells.report import CellReport, require_report
from modem.at.common import clean, dbm, dec, digits, field_at, hex_id, iter_payloads, split_fields
from modem.errors import ParseError
from modem.models import Rat, ServingCell

__all__ = ["parse_smoni"]

_SIZES = {"2G": 7, "3G": 9, "4G": 14}


def _row(fields: list[str], line: str) -> ServingCell | None:
    rat_word = clean(fields[0]).upper()
    if rat_word not in _SIZES:
        raise ParseError(f"unknown ^SMONI RAT {rat_word!r}", line)
    if clean(field_at(fields, 1)).upper() == "SEARCH":
        return None
    if len(fields) < _SIZES[rat_word]:
        raise ParseError(f"^SMONI {rat_word} row is too short", line)
    if rat_word == "2G":
        return ServingCell(
            rat=Rat.GSM,
            arfcn=dec(fields[1], "ARFCN"),
            rssi=dbm(fields[2], "BCCH level"),
            mcc=digits(fields[3]),
            mnc=digits(fields[4]),
            lac=hex_id(fields[5], "LAC"),
            ci=hex_id(fields[6], "cell id"),
        )
    if rat_word == "3G":
        return ServingCell(
            rat=Rat.UMTS,
            uarfcn=dec(fields[1], "UARFCN"),
            psc=dec(fields[2], "PSC"),
            ecio=dbm(fields[3], "Ec/n0"),
            rscp=dbm(fields[4], "RSCP"),
            mcc=digits(fields[5]),
            mnc=digits(fields[6]),
            lac=hex_id(fields[7], "LAC"),
            ci=hex_id(fields[8], "cell id"),
        )
    return ServingCell(
        rat=Rat.LTE,
        earfcn=dec(fields[1], "EARFCN"),
        band=dec(fields[2], "band"),
        mcc=digits(fields[6]),
        mnc=digits(fields[7]),
        tac=hex_id(fields[8], "TAC"),
        ci=hex_id(fields[9], "cell id"),
        pci=dec(fields[10], "PCI"),
        rsrp=dbm(fields[12], "RSRP"),
        rsrq=dbm(fields[13], "RSRQ"),
        state=clean(field_at(fields, 14)) or None,
    )


def parse_smoni(text: str) -> CellReport:
    """Parse the answer to ``AT^SMONI``.

    Returns:
        The serving cell; None while the module searches (``^SMONI: 4G,SEARCH``).

    Raises:
        ParseError: no ``^SMONI:`` line, an unknown RAT, or unreadable fields.
    """
    serving: ServingCell | None = None
    seen = False
    for line, body in iter_payloads(text, ("^SMONI",)):
        seen = True
        serving = _row(split_fields(body), line)
    return require_report(CellReport(serving=serving), seen, "^SMONI", text)
