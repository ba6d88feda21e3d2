"""Telit ``AT#SERVINFO``, ``AT#RFSTS`` and ``AT#MONI`` (Telit "AT Commands Reference Guide",
LE910/LM960/ME910 families).

* ``#SERVINFO``: GSM ``<B-ARFCN>,<dBm>,<NetName>,<NetCode>,<BSIC>,<LAC>,<TA>,<GPRS>[,…]``
  (no cell id); UMTS ``<UARFCN>,<dBm>,<NetName>,<NetCode>,<PSC>,<LAC>,<DRX>,<SD>,<RSCP>,…``;
  LTE ``<EARFCN>,<dBm>,<NetName>,<NetCode>,<cell id>,<TAC>,<DRX>,<SD>,<RSRP>``. The manual
  names the fifth LTE field "PhysicalCellId"; on real modules it is the hex cell id, and it
  is read as such. The fifth field is a cell id when it has four or more characters (a
  BSIC has two digits, a PSC at most three).
* ``#RFSTS``: ``"<MCC> <MNC>"`` first (the MNC width is explicit), then per RAT: GSM (14
  fields) ARFCN, RSSI, LAC, RAC, TXPWR, MM, RR, NOM, CID, IMSI, …; LTE (15-17 fields)
  EARFCN, RSRP, RSSI, RSRQ, TAC, RAC, TXPWR, DRX, MM, RRC, CID, IMSI, NetName, SD, ABND;
  WCDMA (18 or more) UARFCN, PSC, Ec/Io, RSCP, RSSI, LAC, RAC, TXPWR, DRX, MM, RRC, NOM,
  BLER, CID, ….
* ``#MONI``: ``key:value`` tokens after an operator name that may hold spaces. The row
  with a ``TAC:`` (LTE) or the first GSM/UMTS row is the serving cell; other LTE rows are
  neighbours whose ``Id:`` is the PCI in hex. The old table form
  ``#MONI: S <bsic> <lac> <id> <arfcn> <pwr>dbm …`` is read too.
"""

from __future__ import annotations

import re

from modem.at.cells.report import CellReport, as_neighbour, as_serving, require_report
from modem.at.common import clean, dbm, dec, digits, hex_id, iter_payloads, split_fields
from modem.at.network import split_operator_id
from modem.errors import ParseError
from modem.models import Cell, NeighbourCell, Rat, ServingCell

__all__ = ["parse_moni", "parse_rfsts", "parse_servinfo"]

_KEY_VALUE_RE = re.compile(r"([A-Za-z][A-Za-z0-9/]*):\s*(\S+)")


def _net_code(field: str) -> tuple[str | None, str | None]:
    value = clean(field).replace(" ", "")
    if not value:
        return None, None
    split = split_operator_id(value)
    if split is None:
        raise ParseError(f"Telit network code {field!r} is not MCC+MNC", field)
    return split


def _plmn(field: str) -> tuple[str | None, str | None]:
    value = clean(field)
    if " " in value:
        mcc, _, mnc = value.partition(" ")
        return digits(mcc), digits(mnc.strip())
    return _net_code(value)


def parse_servinfo(text: str) -> CellReport:
    """Parse the answer to ``AT#SERVINFO``.

    Raises:
        ParseError: no ``#SERVINFO:`` line, an unknown layout, or unreadable fields.
    """
    serving: ServingCell | None = None
    seen = False
    for line, body in iter_payloads(text, ("#SERVINFO",)):
        seen = True
        fields = split_fields(body)
        if len(fields) < 8:
            raise ParseError("#SERVINFO has too few fields", line)
        mcc, mnc = _net_code(fields[3])
        if len(clean(fields[4])) >= 4:
            serving = ServingCell(
                rat=Rat.LTE,
                mcc=mcc,
                mnc=mnc,
                earfcn=dec(fields[0], "EARFCN"),
                rssi=dbm(fields[1], "power"),
                ci=hex_id(fields[4], "cell id"),
                tac=hex_id(fields[5], "TAC"),
                rsrp=dbm(fields[8], "RSRP") if len(fields) > 8 else None,
            )
        elif len(fields) == 11:
            serving = ServingCell(
                rat=Rat.UMTS,
                mcc=mcc,
                mnc=mnc,
                uarfcn=dec(fields[0], "UARFCN"),
                rssi=dbm(fields[1], "power"),
                psc=dec(fields[4], "PSC"),
                lac=hex_id(fields[5], "LAC"),
                rscp=dbm(fields[8], "RSCP"),
            )
        else:
            serving = ServingCell(
                rat=Rat.GSM,
                mcc=mcc,
                mnc=mnc,
                arfcn=dec(fields[0], "ARFCN"),
                rssi=dbm(fields[1], "power"),
                lac=hex_id(fields[5], "LAC"),
            )
    return require_report(CellReport(serving=serving), seen, "#SERVINFO", text)


def parse_rfsts(text: str) -> CellReport:
    """Parse the answer to ``AT#RFSTS``.

    Raises:
        ParseError: no ``#RFSTS:`` line, an unknown layout, or unreadable fields.
    """
    serving: ServingCell | None = None
    seen = False
    for line, body in iter_payloads(text, ("#RFSTS",)):
        seen = True
        fields = split_fields(body)
        mcc, mnc = _plmn(fields[0])
        count = len(fields)
        if count == 14:
            serving = ServingCell(
                rat=Rat.GSM,
                mcc=mcc,
                mnc=mnc,
                arfcn=dec(fields[1], "ARFCN"),
                rssi=dbm(fields[2], "RSSI"),
                lac=hex_id(fields[3], "LAC"),
                ci=hex_id(fields[9], "cell id"),
            )
        elif 15 <= count <= 17:
            serving = ServingCell(
                rat=Rat.LTE,
                mcc=mcc,
                mnc=mnc,
                earfcn=dec(fields[1], "EARFCN"),
                rsrp=dbm(fields[2], "RSRP"),
                rssi=dbm(fields[3], "RSSI"),
                rsrq=dbm(fields[4], "RSRQ"),
                tac=hex_id(fields[5], "TAC"),
                ci=hex_id(fields[11], "cell id"),
                band=dec(fields[15], "band") if count > 15 else None,
            )
        elif count >= 18:
            serving = ServingCell(
                rat=Rat.UMTS,
                mcc=mcc,
                mnc=mnc,
                uarfcn=dec(fields[1], "UARFCN"),
                psc=dec(fields[2], "PSC"),
                ecio=dbm(fields[3], "Ec/Io"),
                rscp=dbm(fields[4], "RSCP"),
                rssi=dbm(fields[5], "RSSI"),
                lac=hex_id(fields[6], "LAC"),
                ci=hex_id(fields[14], "cell id"),
            )
        else:
            raise ParseError(f"#RFSTS with {count} fields is not a known layout", line)
    return require_report(CellReport(serving=serving), seen, "#RFSTS", text)


def _moni_table_row(tokens: list[str], line: str) -> tuple[bool, Cell]:
    """Old GSM table form: ``S|N1..N6 <bsic> <lac> <id> <arfcn> <pwr>dbm …``."""
    if len(tokens) < 6:
        raise ParseError("#MONI table row is too short", line)
    cell = Cell(
        rat=Rat.GSM,
        lac=hex_id(tokens[2], "LAC"),
        ci=hex_id(tokens[3], "cell id"),
        arfcn=dec(tokens[4], "ARFCN"),
        rssi=dbm(tokens[5], "power"),
    )
    return tokens[0].upper() == "S", cell


def parse_moni(text: str) -> CellReport:
    """Parse the answer to ``AT#MONI`` (any ``#MONI=<n>`` mode).

    Raises:
        ParseError: no ``#MONI:`` line, or a row whose values cannot be read.
    """
    serving: ServingCell | None = None
    neighbours: list[NeighbourCell] = []
    seen = False
    for line, body in iter_payloads(text, ("#MONI",)):
        seen = True
        tokens = body.split()
        if tokens and re.fullmatch(r"S|N[1-6]", tokens[0], re.IGNORECASE) and ":" not in body:
            is_serving, cell = _moni_table_row(tokens, line)
            if is_serving:
                serving = as_serving(cell)
            else:
                neighbours.append(as_neighbour(cell))
            continue
        pairs = {key.upper(): value for key, value in _KEY_VALUE_RE.findall(body)}
        if not pairs:
            continue  # an operator name alone, printed while searching
        mcc = digits(pairs["CC"]) if "CC" in pairs else None
        mnc = digits(pairs["NC"]) if "NC" in pairs else None
        power = dbm(pairs.get("PWR", ""), "power")
        if {"EARFCN", "TAC", "RSRP"} & pairs.keys():
            if "TAC" in pairs and serving is None:
                serving = ServingCell(
                    rat=Rat.LTE,
                    mcc=mcc,
                    mnc=mnc,
                    tac=hex_id(pairs["TAC"], "TAC"),
                    ci=hex_id(pairs.get("ID", ""), "cell id"),
                    pci=dec(pairs.get("PCI", ""), "PCI"),
                    earfcn=dec(pairs.get("EARFCN", ""), "EARFCN"),
                    rsrp=dbm(pairs.get("RSRP", ""), "RSRP"),
                    rsrq=dbm(pairs.get("RSRQ", ""), "RSRQ"),
                    rssi=power,
                )
            else:
                neighbours.append(
                    NeighbourCell(
                        rat=Rat.LTE,
                        pci=hex_id(pairs.get("ID", ""), "PCI")
                        if "PCI" not in pairs
                        else dec(pairs["PCI"], "PCI"),
                        earfcn=dec(pairs.get("EARFCN", ""), "EARFCN"),
                        rsrp=dbm(pairs.get("RSRP", ""), "RSRP"),
                        rsrq=dbm(pairs.get("RSRQ", ""), "RSRQ"),
                        rssi=power,
                    )
                )
            continue
        umts = bool({"UARFCN", "PSC", "RSCP"} & pairs.keys())
        cell = Cell(
            rat=Rat.UMTS if umts else Rat.GSM,
            mcc=mcc,
            mnc=mnc,
            lac=hex_id(pairs.get("LAC", ""), "LAC"),
            ci=hex_id(pairs.get("ID", ""), "cell id"),
            rssi=power,
            arfcn=None if umts else dec(pairs.get("ARFCN", ""), "ARFCN"),
            uarfcn=dec(pairs.get("UARFCN", ""), "UARFCN") if umts else None,
            psc=dec(pairs.get("PSC", ""), "PSC") if umts else None,
            rscp=dbm(pairs.get("RSCP", ""), "RSCP") if umts else None,
            ecio=dbm(pairs.get("ECIO", ""), "Ec/Io") if umts else None,
        )
        if serving is None:
            serving = as_serving(cell)
        else:
            neighbours.append(as_neighbour(cell))
    return require_report(
        CellReport(serving=serving, neighbours=tuple(neighbours)), seen, "#MONI", text
    )
