"""Telit ``AT#SERVINFO``, ``AT#RFSTS``, ``AT#MONI`` and ``AT#CSURVC`` (Telit "AT Commands
Reference Guide", LE910/LM960/ME910 families), as layout tables.

* ``#SERVINFO``: GSM ``<B-ARFCN>,<dBm>,<NetName>,<NetCode>,<BSIC>,<LAC>,<TA>,<GPRS>[,…]``
  (no cell id); UMTS ``<UARFCN>,<dBm>,<NetName>,<NetCode>,<PSC>,<LAC>,<DRX>,<SD>,<RSCP>,
  <NOM>,<RAC>``; LTE ``<EARFCN>,<dBm>,<NetName>,<NetCode>,<cell id>,<TAC>,<DRX>,<SD>,
  <RSRP>``. The manual names the fifth LTE field "PhysicalCellId"; on real modules it is
  the hex cell id, and it is read as such. The fifth field is a cell id when it has four
  or more characters (a BSIC has two digits, a PSC at most three).
* ``#RFSTS``: ``"<MCC> <MNC>"`` first (the MNC width is explicit), then per RAT: GSM (14
  fields) ARFCN, RSSI, LAC, RAC, TXPWR, MM, RR, NOM, CID, IMSI, …; LTE (15-17 fields)
  EARFCN, RSRP, RSSI, RSRQ, TAC, RAC, TXPWR, DRX, MM, RRC, CID, IMSI, NetName, SD, ABND;
  WCDMA (18 or more) UARFCN, PSC, Ec/Io, RSCP, RSSI, LAC, RAC, TXPWR, DRX, MM, RRC, NOM,
  BLER, CID, ….
* ``#MONI``: ``key:value`` tokens after an operator name that may hold spaces. The row
  with a ``TAC:`` (LTE) or the first GSM/UMTS row is the serving cell; other LTE rows are
  neighbours whose ``Id:`` is the PCI in hex. The old table form
  ``#MONI: S <bsic> <lac> <id> <arfcn> <pwr>dbm …`` is read too.
* ``#CSURVC`` (network survey, numeric): one line per carrier, usually **without** a
  prefix, between ``Network survey started…`` and ``Network survey ended``. Cell ids,
  LAC and TAC are **decimal** here (``#CSURVF=0``, the numeric format). Rows: GSM
  ``<arfcn>,<bsic>,<rxLev>,<ber>,<mcc>,<mnc>,<lac>,<cellId>,<cellStatus>,…``; UMTS
  ``<uarfcn>,<rxLev>,<mcc>,<mnc>,<scrcode>,<cellId>,<lac>,<cellStatus>,<rscp>,<ecio>``;
  LTE ``<earfcn>,<rxLev>,<mcc>,<mnc>,<cellId>,<tac>,<pci>,<cellStatus>,<rsrp>,<rsrq>,…``;
  carriers without a decoded BCCH print ``<arfcn>,<rxLev>`` only. Every surveyed cell is
  reported as a neighbour (the survey does not say which one serves).
"""

from __future__ import annotations

import re

from modem.at.cells.layout import (
    CommandLayouts,
    Const,
    Dec,
    Digits,
    Field,
    Hex,
    Layout,
    Level,
    Plmn,
    Role,
    Row,
    Text,
    Word,
    constants,
    read_cells,
)
from modem.at.cells.report import CellReport
from modem.models import Rat

__all__ = [
    "CSURVC_LAYOUTS",
    "MONI_LAYOUTS",
    "RFSTS_LAYOUTS",
    "SERVINFO_LAYOUTS",
    "parse_csurvc",
    "parse_moni",
    "parse_rfsts",
    "parse_servinfo",
]

_DEC = Dec()
_DBM = Level()
_PRESENT = r".+"
_NAME = Field("operator", 2, Text(quoted=True))
_NET_CODE = Field(("mcc", "mnc"), 3, Plmn(separator="", quoted=True))

#: ``#SERVINFO:`` rows.
SERVINFO_LAYOUTS: dict[str, Layout] = {
    "LTE": Layout(
        "Telit #SERVINFO LTE",
        Role.SERVING,
        (
            Field("earfcn", 0, _DEC),
            Field("rssi", 1, _DBM),
            _NAME,
            _NET_CODE,
            Field("ci", 4, Hex(), match=r"[0-9A-Fa-f]{4,}"),
            Field("tac", 5, Hex(width=4)),
            # DRX, service domain
            *constants(6, "128", "3"),
            Field("rsrp", 8, _DBM),
        ),
        rat=Rat.LTE,
        sizes=range(8, 40),
    ),
    "UMTS": Layout(
        "Telit #SERVINFO UMTS",
        Role.SERVING,
        (
            Field("uarfcn", 0, _DEC),
            Field("rssi", 1, _DBM),
            _NAME,
            _NET_CODE,
            Field("psc", 4, _DEC),
            Field("lac", 5, Hex(width=4)),
            # DRX
            *constants(6, "7", "3"),
            Field("rscp", 8, _DBM),
            # network operation mode, RAC
            *constants(9, '"II"', "01"),
        ),
        rat=Rat.UMTS,
        sizes=range(11, 12),
    ),
    "GSM": Layout(
        "Telit #SERVINFO GSM",
        Role.SERVING,
        (
            Field("arfcn", 0, _DEC),
            Field("rssi", 1, _DBM),
            _NAME,
            _NET_CODE,
            Field("bsic", 4, _DEC, read=False),
            Field("lac", 5, Hex(width=4)),
            # timing advance, GPRS
            *constants(6, "00", "1"),
        ),
        rat=Rat.GSM,
        sizes=range(8, 40),
    ),
}

_RFSTS_PLMN = Field(("mcc", "mnc"), 0, Plmn(separator=" ", quoted=True))

#: ``#RFSTS:`` rows, told apart by their field count.
RFSTS_LAYOUTS: dict[str, Layout] = {
    "GSM": Layout(
        "Telit #RFSTS GSM",
        Role.SERVING,
        (
            _RFSTS_PLMN,
            Field("arfcn", 1, _DEC),
            Field("rssi", 2, _DBM),
            Field("lac", 3, Hex(width=4)),
            # RAC, TX power, MM state, RR state, NOM
            *constants(4, "FF", "", "19", "0", "1"),
            Field("ci", 9, Hex(width=4)),
            Field("imsi", 10, Text(quoted=True), read=False),
            Field("operator", 11, Text(quoted=True), read=False),
            *constants(12, "3", "2"),
        ),
        rat=Rat.GSM,
        sizes=range(14, 15),
    ),
    "LTE": Layout(
        "Telit #RFSTS LTE",
        Role.SERVING,
        (
            _RFSTS_PLMN,
            Field("earfcn", 1, _DEC),
            Field("rsrp", 2, _DBM),
            Field("rssi", 3, _DBM),
            Field("rsrq", 4, _DBM),
            Field("tac", 5, Hex(width=4)),
            *constants(6, "FF", "", "128", "19", "0"),
            Field("ci", 11, Hex(width=7)),
            Field("imsi", 12, Text(quoted=True), read=False),
            Field("operator", 13, Text(quoted=True), read=False),
            Field(None, 14, Const("3")),
            Field("band", 15, _DEC),
        ),
        rat=Rat.LTE,
        sizes=range(15, 18),
    ),
    "UMTS": Layout(
        "Telit #RFSTS WCDMA",
        Role.SERVING,
        (
            _RFSTS_PLMN,
            Field("uarfcn", 1, _DEC),
            Field("psc", 2, _DEC),
            Field("ecio", 3, _DBM),
            Field("rscp", 4, _DBM),
            Field("rssi", 5, _DBM),
            Field("lac", 6, Hex(width=4)),
            *constants(7, "FF", "", "7", "19", "0", "1", "0"),
            Field("ci", 14, Hex(width=7)),
            Field("imsi", 15, Text(quoted=True), read=False),
            Field("operator", 16, Text(quoted=True), read=False),
            *constants(17, "3", "1"),
        ),
        rat=Rat.UMTS,
        sizes=range(18, 40),
    ),
}

_KEY_VALUE = re.compile(r"([A-Za-z][A-Za-z0-9/]*):\s*(\S+)")
_TABLE_ROW = re.compile(r"S|N[1-6]", re.IGNORECASE)
_PWR = Field("rssi", "PWR", Level(suffix="dbm"))


def split_moni(body: str) -> Row:
    """A ``#MONI`` row: the table form as tokens, the ``key:value`` form by upper-case key
    (the operator name before the first key is kept under ``NAME``)."""
    tokens = body.split()
    if tokens and _TABLE_ROW.fullmatch(tokens[0]) and ":" not in body:
        return tokens
    row = {key.upper(): value for key, value in _KEY_VALUE.findall(body)}
    first = _KEY_VALUE.search(body)
    name = body[: first.start()].strip() if first else body.strip()
    if name:
        row["NAME"] = name
    return row


#: ``#MONI`` rows (any ``#MONI=<n>`` mode).
MONI_LAYOUTS: dict[str, Layout] = {
    "LTE": Layout(
        "Telit #MONI LTE serving cell",
        Role.SERVING,
        (
            Field("operator", "NAME", Text()),
            Field("rsrp", "RSRP", _DBM),
            Field("rsrq", "RSRQ", _DBM),
            Field("tac", "TAC", Hex(width=4), match=_PRESENT),
            Field("ci", "Id", Hex(width=7)),
            Field("earfcn", "EARFCN", _DEC),
            _PWR,
            Field(None, "DRX", Const("128")),
            Field("pci", "pci", _DEC),
            Field(None, "QRxLevMin", Const("-140")),
        ),
        rat=Rat.LTE,
    ),
    "LTE-NEIGHBOUR": Layout(
        "Telit #MONI LTE neighbour",
        Role.NEIGHBOUR,
        (
            Field("rsrp", "RSRP", _DBM, match=_PRESENT),
            Field("rsrq", "RSRQ", _DBM),
            Field("pci", "Id", Hex(width=7)),
            Field("earfcn", "EARFCN", _DEC),
            _PWR,
        ),
        rat=Rat.LTE,
    ),
    "UMTS": Layout(
        "Telit #MONI UMTS cell",
        Role.FIRST_SERVING,
        (
            Field("operator", "NAME", Text()),
            Field("psc", "PSC", _DEC),
            Field("rscp", "RSCP", _DBM),
            Field("lac", "LAC", Hex(width=4)),
            Field("ci", "Id", Hex(width=7)),
            Field("ecio", "EcIo", Level(decimals=1)),
            Field("uarfcn", "UARFCN", _DEC, match=_PRESENT),
            _PWR,
            Field(None, "DRX", Const("7")),
        ),
        rat=Rat.UMTS,
    ),
    "GSM": Layout(
        "Telit #MONI GSM cell",
        Role.FIRST_SERVING,
        (
            Field("operator", "NAME", Text()),
            Field("mcc", "Cc", Digits()),
            Field("mnc", "Nc", Digits()),
            Field("bsic", "BSIC", _DEC, read=False),
            Field(None, "RxQual", Const("0")),
            Field("lac", "LAC", Hex(width=4), match=_PRESENT),
            Field("ci", "Id", Hex(width=4)),
            Field("arfcn", "ARFCN", _DEC),
            _PWR,
            Field(None, "TA", Const("0")),
        ),
        rat=Rat.GSM,
    ),
    "TABLE-SERVING": Layout(
        "Telit #MONI table serving cell",
        Role.SERVING,
        (
            Field(None, 0, Word(("S",))),
            Field("bsic", 1, _DEC, read=False),
            Field("lac", 2, Hex(width=4)),
            Field("ci", 3, Hex(width=4)),
            Field("arfcn", 4, _DEC),
            Field("rssi", 5, Level(suffix="dbm")),
        ),
        rat=Rat.GSM,
        sizes=range(6, 40),
    ),
    "TABLE-NEIGHBOUR": Layout(
        "Telit #MONI table neighbour",
        Role.NEIGHBOUR,
        (
            Field(None, 0, Const("N1"), match=r"N[1-6]"),
            Field("bsic", 1, _DEC, read=False),
            Field("lac", 2, Hex(width=4)),
            Field("ci", 3, Hex(width=4)),
            Field("arfcn", 4, _DEC),
            Field("rssi", 5, Level(suffix="dbm")),
        ),
        rat=Rat.GSM,
        sizes=range(6, 40),
    ),
    # An operator name alone (printed while searching) or "NO SERVICE".
    "NAME-ONLY": Layout("Telit #MONI without a cell", Role.IGNORE, ()),
}

#: ``#CSURVC`` survey rows.
CSURVC_LAYOUTS: dict[str, Layout] = {
    "GSM": Layout(
        "Telit #CSURVC GSM carrier",
        Role.NEIGHBOUR,
        (
            Field("arfcn", 0, _DEC),
            Field("bsic", 1, _DEC, read=False),
            Field("rssi", 2, _DBM, match=r"-\d+"),
            Field(None, 3, Const("0")),  # BER
            Field("mcc", 4, Digits()),
            Field("mnc", 5, Digits()),
            Field("lac", 6, _DEC),
            Field("ci", 7, _DEC),
            # cell status: suitable, number of channels
            *constants(8, "0", "0"),
        ),
        rat=Rat.GSM,
        sizes=range(9, 200),
    ),
    "LTE": Layout(
        "Telit #CSURVC LTE carrier",
        Role.NEIGHBOUR,
        (
            Field("earfcn", 0, _DEC),
            Field("rssi", 1, _DBM, match=r"-\d+"),
            Field("mcc", 2, Digits()),
            Field("mnc", 3, Digits()),
            Field("ci", 4, _DEC, match=r"\d{4,}"),
            Field("tac", 5, _DEC),
            Field("pci", 6, _DEC),
            Field(None, 7, Const("0")),
            Field("rsrp", 8, _DBM),
            Field("rsrq", 9, _DBM),
        ),
        rat=Rat.LTE,
        sizes=range(10, 40),
    ),
    "UMTS": Layout(
        "Telit #CSURVC UMTS carrier",
        Role.NEIGHBOUR,
        (
            Field("uarfcn", 0, _DEC),
            Field("rssi", 1, _DBM, match=r"-\d+"),
            Field("mcc", 2, Digits()),
            Field("mnc", 3, Digits()),
            Field("psc", 4, _DEC, match=r"\d{1,3}"),
            Field("ci", 5, _DEC),
            Field("lac", 6, _DEC),
            Field(None, 7, Const("0")),
            Field("rscp", 8, _DBM),
            Field("ecio", 9, Level(decimals=1)),
        ),
        rat=Rat.UMTS,
        sizes=range(10, 40),
    ),
    # A carrier whose BCCH was not decoded: channel and level, no identity.
    "CARRIER": Layout("Telit #CSURVC carrier", Role.IGNORE, (), sizes=range(2, 3)),
}

_SERVINFO = CommandLayouts("#SERVINFO", tuple(SERVINFO_LAYOUTS.values()))
_RFSTS = CommandLayouts("#RFSTS", tuple(RFSTS_LAYOUTS.values()))
_MONI = CommandLayouts("#MONI", tuple(MONI_LAYOUTS.values()), split=split_moni)
_CSURVC = CommandLayouts("#CSURVC", tuple(CSURVC_LAYOUTS.values()), bare_rows=True)


def parse_servinfo(text: str) -> CellReport:
    """Parse the answer to ``AT#SERVINFO``.

    Raises:
        ParseError: no ``#SERVINFO:`` line, an unknown layout, or unreadable fields.
    """
    return read_cells(_SERVINFO, text)


def parse_rfsts(text: str) -> CellReport:
    """Parse the answer to ``AT#RFSTS``.

    Raises:
        ParseError: no ``#RFSTS:`` line, an unknown layout, or unreadable fields.
    """
    return read_cells(_RFSTS, text)


def parse_moni(text: str) -> CellReport:
    """Parse the answer to ``AT#MONI`` (any ``#MONI=<n>`` mode).

    Raises:
        ParseError: no ``#MONI:`` line, or a row whose values cannot be read.
    """
    return read_cells(_MONI, text)


def parse_csurvc(text: str) -> CellReport:
    """Parse the answer to ``AT#CSURVC`` (a network survey; rows with or without prefix).

    Returns:
        Every surveyed cell with an identity, as neighbours.

    Raises:
        ParseError: no survey row at all, or a row that cannot be read.
    """
    return read_cells(_CSURVC, text)
