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
    Hex,
    Layout,
    Level,
    Plmn,
    Role,
    Row,
    Text,
    fields,
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

_CODECS = {
    "name": Text(quoted=True),
    "code": Plmn(separator="", quoted=True),
    "plmn": Plmn(separator=" ", quoted=True),
    "hex4": Hex(width=4),
    "hex7": Hex(width=7),
    "id4": r"[0-9A-Fa-f]{4,}",  # a cell id; a BSIC has two digits, a PSC at most three
}
_S = Role.SERVING

#: ``#SERVINFO:`` rows. Fixed: DRX, service domain, network operation mode, RAC, TA, GPRS.
SERVINFO_LAYOUTS: dict[str, Layout] = {
    "LTE": Layout("Telit #SERVINFO LTE", _S, fields(
        "earfcn,rssi,operator:name,mcc+mnc:code,ci~id4,tac:hex4,=128,=3,rsrp", _CODECS),
        rat=Rat.LTE, sizes=range(8, 40)),
    "UMTS": Layout("Telit #SERVINFO UMTS", _S, fields(
        'uarfcn,rssi,operator:name,mcc+mnc:code,psc,lac:hex4,=7,=3,rscp,="II",=01', _CODECS),
        rat=Rat.UMTS, sizes=range(11, 12)),
    "GSM": Layout("Telit #SERVINFO GSM", _S, fields(
        "arfcn,rssi,operator:name,mcc+mnc:code,bsic*,lac:hex4,=00,=1", _CODECS),
        rat=Rat.GSM, sizes=range(8, 40)),
}  # fmt: skip

# IMSI and operator name are printed by the simulator, never read.
_IDS = "imsi:name*,operator:name*"

#: ``#RFSTS:`` rows, told apart by their field count. Fixed: RAC, TX power, DRX, MM and
#: RR/RRC state, network operation mode, BLER, service domain.
RFSTS_LAYOUTS: dict[str, Layout] = {
    "GSM": Layout("Telit #RFSTS GSM", _S, fields(
        f"mcc+mnc:plmn,arfcn,rssi,lac:hex4,=FF,=,=19,=0,=1,ci:hex4,{_IDS},=3,=2", _CODECS),
        rat=Rat.GSM, sizes=range(14, 15)),
    "LTE": Layout("Telit #RFSTS LTE", _S, fields(
        f"mcc+mnc:plmn,earfcn,rsrp,rssi,rsrq,tac:hex4,=FF,=,=128,=19,=0,ci:hex7,{_IDS},=3,band",
        _CODECS), rat=Rat.LTE, sizes=range(15, 18)),
    "UMTS": Layout("Telit #RFSTS WCDMA", _S, fields(
        "mcc+mnc:plmn,uarfcn,psc,ecio,rscp,rssi,lac:hex4,=FF,=,=7,=19,=0,=1,=0,ci:hex7,"
        f"{_IDS},=3,=1", _CODECS), rat=Rat.UMTS, sizes=range(18, 40)),
}  # fmt: skip

_KEY_VALUE = re.compile(r"([A-Za-z][A-Za-z0-9/]*):\s*(\S+)")
_TABLE_ROW = re.compile(r"S|N[1-6]", re.IGNORECASE)


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


_MONI_CODECS = {
    "hex4": Hex(width=4),
    "hex7": Hex(width=7),
    "dbm": Level(suffix="dbm"),
    "tenth": Level(decimals=1),
    "present": r".+",
    "neighbour": r"N[1-6]",
    "n1": Const("N1"),
}

#: ``#MONI`` rows (any ``#MONI=<n>`` mode): ``key:value`` rows after the operator name
#: (``NAME``), or the old table form.
MONI_LAYOUTS: dict[str, Layout] = {
    "LTE": Layout("Telit #MONI LTE serving cell", _S, fields(
        "NAME::operator,RSRP::rsrp,RSRQ::rsrq,TAC::tac:hex4~present,Id::ci:hex7,EARFCN::earfcn,"
        "PWR::rssi:dbm,DRX::=128,pci::pci,QRxLevMin::=-140", _MONI_CODECS), rat=Rat.LTE),
    # LTE neighbours: Id is the PCI in hex.
    "LTE-NEIGHBOUR": Layout("Telit #MONI LTE neighbour", Role.NEIGHBOUR, fields(
        "RSRP::rsrp~present,RSRQ::rsrq,Id::pci:hex7,EARFCN::earfcn,PWR::rssi:dbm", _MONI_CODECS),
        rat=Rat.LTE),
    "UMTS": Layout("Telit #MONI UMTS cell", Role.FIRST_SERVING, fields(
        "NAME::operator,PSC::psc,RSCP::rscp,LAC::lac:hex4,Id::ci:hex7,EcIo::ecio:tenth,"
        "UARFCN::uarfcn~present,PWR::rssi:dbm,DRX::=7", _MONI_CODECS), rat=Rat.UMTS),
    "GSM": Layout("Telit #MONI GSM cell", Role.FIRST_SERVING, fields(
        "NAME::operator,Cc::mcc,Nc::mnc,BSIC::bsic*,RxQual::=0,LAC::lac:hex4~present,"
        "Id::ci:hex4,ARFCN::arfcn,PWR::rssi:dbm,TA::=0", _MONI_CODECS), rat=Rat.GSM),
    "TABLE-SERVING": Layout("Telit #MONI table serving cell", _S, fields(
        "@S,bsic*,lac:hex4,ci:hex4,arfcn,rssi:dbm", _MONI_CODECS),
        rat=Rat.GSM, sizes=range(6, 40)),
    "TABLE-NEIGHBOUR": Layout("Telit #MONI table neighbour", Role.NEIGHBOUR, fields(
        "_:n1~neighbour,bsic*,lac:hex4,ci:hex4,arfcn,rssi:dbm", _MONI_CODECS),
        rat=Rat.GSM, sizes=range(6, 40)),
    # An operator name alone (printed while searching) or "NO SERVICE".
    "NAME-ONLY": Layout("Telit #MONI without a cell", Role.IGNORE, ()),
}  # fmt: skip

_CSURVC_CODECS = {
    "dec": Dec(),
    "tenth": Level(decimals=1),
    "negative": r"-\d+",
    "long": r"\d{4,}",
    "short": r"\d{1,3}",
}

#: ``#CSURVC`` survey rows (numeric format: ids decimal). Fixed: BER, cell status,
#: number of channels.
CSURVC_LAYOUTS: dict[str, Layout] = {
    "GSM": Layout("Telit #CSURVC GSM carrier", Role.NEIGHBOUR, fields(
        "arfcn,bsic*,rssi~negative,=0,mcc,mnc,lac:dec,ci:dec,=0,=0", _CSURVC_CODECS),
        rat=Rat.GSM, sizes=range(9, 200)),
    "LTE": Layout("Telit #CSURVC LTE carrier", Role.NEIGHBOUR, fields(
        "earfcn,rssi~negative,mcc,mnc,ci:dec~long,tac:dec,pci,=0,rsrp,rsrq", _CSURVC_CODECS),
        rat=Rat.LTE, sizes=range(10, 40)),
    "UMTS": Layout("Telit #CSURVC UMTS carrier", Role.NEIGHBOUR, fields(
        "uarfcn,rssi~negative,mcc,mnc,psc~short,ci:dec,lac:dec,=0,rscp,ecio:tenth",
        _CSURVC_CODECS), rat=Rat.UMTS, sizes=range(10, 40)),
    # A carrier whose BCCH was not decoded: channel and level, no identity.
    "CARRIER": Layout("Telit #CSURVC carrier", Role.IGNORE, (), sizes=range(2, 3)),
}  # fmt: skip

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
