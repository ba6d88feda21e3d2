"""Sierra Wireless ``AT!GSTATUS?`` and ``AT!LTEINFO?`` (MC/EM74xx, EM7565, EM919x), as layout
tables over labelled rows.

``!GSTATUS:`` is a block of ``Label: value`` pairs, two per line separated by tabs (or by
runs of spaces when the text was copied from a terminal); the whole block is one row.
Labels used here: ``System mode``, ``LTE band`` (``B66``), ``LTE Rx chan``, ``TAC`` and
``Cell ID`` printed as hex with the decimal in parentheses (``550d (21773)``; the two are
cross-checked), the first ``RSRP (dBm)`` and ``PCC RxM RSSI`` (the primary carrier's main
antenna), ``RSRQ (dB)``, ``SINR (dB)``, ``EMM state`` (the serving cell's state), and in
5G ``NR5G Cell ID``, ``NR5G TAC``, ``NR5G band`` (``n41``), ``NR5G Rx chan`` (the NR-ARFCN),
``NR5G MCC-MNC``. LTE ``!GSTATUS`` has no PLMN and no PCI. In EN-DC (``System mode: ENDC``
or LTE with NR5G lines) the block holds the LTE anchor and the NR leg. ``System mode:
Unknown`` (low power mode) or ``No service`` means no serving cell.

``!LTEINFO:`` prints column tables: a caption with column names (``Serving: EARFCN MCC
MNC TAC CID Bd D U SNR PCI RSRQ RSRP RSSI RXLV``) followed by rows of values. TAC is
**decimal** there and CID hex. ``IntraFreq:`` rows are neighbours on the serving EARFCN,
``InterFreq:`` rows carry their own EARFCN, ``WCDMA:`` rows UARFCN/PSC/RSCP/ECN0.
"""

from __future__ import annotations

import dataclasses
import re

from modem.at.cells.layout import (
    Band,
    CommandLayouts,
    Dec,
    Hex,
    HexDec,
    Layout,
    Level,
    Plmn,
    Role,
    Row,
    fields,
    read_rows,
)
from modem.at.cells.report import CellReport
from modem.at.common import payload, split_lines
from modem.models import Rat

__all__ = ["GSTATUS_LAYOUTS", "LTEINFO_LAYOUTS", "parse_gstatus", "parse_lteinfo"]

# Pairs are separated by tabs, or by two or more spaces before the next "Label:"; a label
# never holds two spaces in a row, so a padded value is not mistaken for one.
_SEGMENT_SPLIT = re.compile(r"\t+|\s{2,}(?=[A-Za-z](?:[\w()/.-]| (?! ))*:)")
_FINALS = frozenset({"OK", "ERROR"})
_SERVICE_MODE = r".*(LTE|ENDC|NR|5G|WCDMA|UMTS|HSPA|HSDPA|HSUPA|GSM).*"
_CODECS = {
    "dec": Dec(missing="--"),
    "dbm": Level(missing="--"),
    "tenth": Level(decimals=1, missing="--"),
    "lte_band": Band("B", missing="--"),
    "nr_band": Band("n", missing="--"),
    "hexdec4": HexDec(width=4),
    "hexdec6": HexDec(width=6),
    "hexdec8": HexDec(width=8),
    "hexdec9": HexDec(width=9, lower=False),
    "hex8": Hex(width=8),
    "plmn": Plmn(),
    "lte": r".*(LTE|ENDC).*",
    "nr_sa": r"(?!.*(LTE|ENDC)).*(NR|5G).*",
    "umts": r"WCDMA|UMTS|HSPA\+?|HSDPA|HSUPA",
    "gsm": r"GSM|EDGE|GPRS",
    "no_service": f"(?!{_SERVICE_MODE}).*",
    "present": r".+",
}
_S = Role.SERVING
_NR_SIGNAL = "NR5G RSRP (dBm)::rsrp:dbm,NR5G RSRQ (dB)::rsrq:dbm,NR5G SINR (dB)::sinr:tenth"

#: ``!GSTATUS`` blocks; in EN-DC both the LTE and the NR-leg layout apply.
GSTATUS_LAYOUTS: dict[str, Layout] = {
    "LTE": Layout("Sierra !GSTATUS LTE", _S, fields(
        "System mode::mode~lte,LTE band::band:lte_band,LTE Rx chan::earfcn:dec,"
        "EMM state::state,PCC RxM RSSI::rssi:dbm,RSRP (dBm)::rsrp:dbm,TAC::tac:hexdec4,"
        "RSRQ (dB)::rsrq:tenth,Cell ID::ci:hexdec8,SINR (dB)::sinr:tenth", _CODECS), rat=Rat.LTE),
    "NR-NSA": Layout("Sierra !GSTATUS NR5G leg", Role.NR_LEG, fields(
        "System mode::mode~lte,NR5G band::band:nr_band~present,NR5G Rx chan::arfcn:dec,"
        + _NR_SIGNAL, _CODECS), rat=Rat.NR),
    "NR": Layout("Sierra !GSTATUS NR5G", _S, fields(
        "System mode::mode~nr_sa,NR5G band::band:nr_band,NR5G Rx chan::arfcn:dec,"
        "NR5G TAC::tac:hexdec6,NR5G Cell ID::ci:hexdec9,NR5G MCC-MNC::mcc+mnc:plmn,"
        "EMM state::state," + _NR_SIGNAL, _CODECS), rat=Rat.NR),
    "UMTS": Layout("Sierra !GSTATUS WCDMA", _S, fields(
        "System mode::mode~umts,WCDMA channel::uarfcn:dec,MM state::state,LAC::lac:hexdec4,"
        "Cell ID::ci:hexdec8,RSCP (dBm)::rscp:dbm,Ec/Io (dB)::ecio:tenth", _CODECS),
        rat=Rat.UMTS),
    "GSM": Layout("Sierra !GSTATUS GSM", _S, fields(
        "System mode::mode~gsm,GSM channel::arfcn:dec,MM state::state,LAC::lac:hexdec4,"
        "Cell ID::ci:hexdec4", _CODECS), rat=Rat.GSM),
    "NO-SERVICE": Layout("Sierra !GSTATUS without service", Role.NO_CELL,
                         fields("System mode::state~no_service", _CODECS)),
}  # fmt: skip


def _gstatus_row(text: str) -> tuple[bool, dict[str, str]]:
    """Collect ``LABEL -> value`` (first occurrence wins) from a ``!GSTATUS`` block."""
    pairs: dict[str, str] = {}
    seen = False
    for line in split_lines(text):
        body = payload(line, ("!GSTATUS",))
        if body is not None:
            seen = True
            line = body
        elif not seen or line.upper() in _FINALS:
            continue
        for segment in _SEGMENT_SPLIT.split(line):
            label, colon, value = segment.partition(":")
            if colon and label.strip():
                # A value never holds two spaces in a row; what follows them is a
                # label-less note such as "Normal Service".
                first = re.split(r"\s{2,}", value.strip())[0]
                pairs.setdefault(label.strip().upper(), first)
    return seen, pairs


_GSTATUS = CommandLayouts("!GSTATUS", tuple(GSTATUS_LAYOUTS.values()), every_layout=True)


def parse_gstatus(text: str) -> CellReport:
    """Parse the answer to ``AT!GSTATUS?``.

    Raises:
        ParseError: no ``!GSTATUS:`` line, a hex/decimal pair that disagrees, or unreadable
            values.
    """
    seen, row = _gstatus_row(text)
    rows = [("!GSTATUS", row)] if seen else []
    return read_rows(_GSTATUS, rows)


_TABLE = "Table"
_SIGNAL = "RSRQ::rsrq:tenth,RSRP::rsrp:tenth,RSSI::rssi:tenth,RXLV::=--"

#: ``!LTEINFO`` table rows; the table's caption is the row's ``TABLE`` entry, the column
#: names the labels (bandwidth codes, thresholds and priorities are printed as constants).
LTEINFO_LAYOUTS: dict[str, Layout] = {
    "SERVING": Layout("Sierra !LTEINFO serving cell", _S, fields(
        "Table::@Serving,EARFCN::earfcn:dec,MCC::mcc,MNC::mnc,TAC::tac:dec,CID::ci:hex8,"
        f"Bd::band:dec,D::=5,U::=5,SNR::sinr:dbm,PCI::pci:dec,{_SIGNAL}", _CODECS), rat=Rat.LTE),
    "INTRA": Layout("Sierra !LTEINFO intra-frequency neighbour", Role.NEIGHBOUR, fields(
        f"Table::@IntraFreq,PCI::pci:dec,{_SIGNAL}", _CODECS), rat=Rat.LTE),
    "INTER": Layout("Sierra !LTEINFO inter-frequency neighbour", Role.NEIGHBOUR, fields(
        "Table::@InterFreq,EARFCN::earfcn:dec,ThresholdLow::=0,ThresholdHi::=0,Priority::=0,"
        f"PCI::pci:dec,{_SIGNAL}", _CODECS), rat=Rat.LTE),
    "UMTS": Layout("Sierra !LTEINFO WCDMA neighbour", Role.NEIGHBOUR, fields(
        "Table::@WCDMA,UARFCN::uarfcn:dec,ThreshL::=0,ThreshH::=0,Prio::=0,PSC::psc:dec,"
        "RSCP::rscp:tenth,ECN0::ecio:tenth,RXLV::=--", _CODECS), rat=Rat.UMTS),
}  # fmt: skip

_LTEINFO = CommandLayouts("!LTEINFO", tuple(LTEINFO_LAYOUTS.values()))


def _lteinfo_rows(text: str) -> tuple[bool, list[tuple[str, Row]]]:
    """Cut ``!LTEINFO`` output into rows keyed by column name (and ``TABLE``)."""
    rows: list[tuple[str, Row]] = []
    caption: str | None = None
    columns: list[str] = []
    seen = False
    for line in split_lines(text):
        body = payload(line, ("!LTEINFO",))
        if body is not None:
            seen = True
            if not body:
                continue
            line = body
        elif not seen or line.upper() in _FINALS:
            continue
        head, colon, rest = line.partition(":")
        if colon and head.strip() and not head.strip()[0].isdigit():
            caption, columns = head.strip().upper(), rest.upper().split()
            continue
        if caption is None or caption not in _KNOWN_TABLES:
            continue
        row = dict(zip(columns, line.split(), strict=False))
        row[_TABLE.upper()] = caption
        rows.append((line, row))
    return seen, rows


_KNOWN_TABLES = frozenset({"SERVING", "INTRAFREQ", "INTERFREQ", "WCDMA"})


def parse_lteinfo(text: str) -> CellReport:
    """Parse the answer to ``AT!LTEINFO?`` (serving cell and neighbour tables).

    Intra-frequency neighbours take the serving cell's EARFCN.

    Raises:
        ParseError: no ``!LTEINFO:`` line, or values that cannot be read.
    """
    seen, rows = _lteinfo_rows(text)
    report = read_rows(_LTEINFO, rows, seen=seen)
    serving = report.serving
    if serving is None or serving.earfcn is None:
        return report
    neighbours = tuple(
        dataclasses.replace(n, earfcn=serving.earfcn)
        if n.rat is Rat.LTE and n.earfcn is None
        else n
        for n in report.neighbours
    )
    return dataclasses.replace(report, neighbours=neighbours)
