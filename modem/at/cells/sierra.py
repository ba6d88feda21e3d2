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
    Const,
    Dec,
    Digits,
    Field,
    Hex,
    HexDec,
    Layout,
    Level,
    Plmn,
    Role,
    Row,
    Text,
    Word,
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
_DEC = Dec(missing="--")
_DBM = Level(missing="--")
_TENTH = Level(decimals=1, missing="--")
_LTE_MODE = r".*(LTE|ENDC).*"
_NR_SA_MODE = r"(?!.*(LTE|ENDC)).*(NR|5G).*"
_UMTS_MODE = r"WCDMA|UMTS|HSPA\+?|HSDPA|HSUPA"
_SERVICE_MODE = r".*(LTE|ENDC|NR|5G|WCDMA|UMTS|HSPA|HSDPA|HSUPA|GSM).*"


def _mode(pattern: str) -> Field:
    return Field("mode", "System mode", Text(), match=pattern)


#: ``!GSTATUS`` blocks; in EN-DC both the LTE and the NR-leg layout apply.
GSTATUS_LAYOUTS: dict[str, Layout] = {
    "LTE": Layout(
        "Sierra !GSTATUS LTE",
        Role.SERVING,
        (
            _mode(_LTE_MODE),
            Field("band", "LTE band", Band("B", missing="--")),
            Field("earfcn", "LTE Rx chan", _DEC),
            Field("state", "EMM state", Text()),
            Field("rssi", "PCC RxM RSSI", _DBM),
            Field("rsrp", "RSRP (dBm)", _DBM),
            Field("tac", "TAC", HexDec(width=4)),
            Field("rsrq", "RSRQ (dB)", _TENTH),
            Field("ci", "Cell ID", HexDec(width=8)),
            Field("sinr", "SINR (dB)", _TENTH),
        ),
        rat=Rat.LTE,
    ),
    "NR-NSA": Layout(
        "Sierra !GSTATUS NR5G leg",
        Role.NR_LEG,
        (
            _mode(_LTE_MODE),
            Field("band", "NR5G band", Band("n", missing="--"), match=r".+"),
            Field("arfcn", "NR5G Rx chan", _DEC),
            Field("rsrp", "NR5G RSRP (dBm)", _DBM),
            Field("rsrq", "NR5G RSRQ (dB)", _DBM),
            Field("sinr", "NR5G SINR (dB)", _TENTH),
        ),
        rat=Rat.NR,
    ),
    "NR": Layout(
        "Sierra !GSTATUS NR5G",
        Role.SERVING,
        (
            _mode(_NR_SA_MODE),
            Field("band", "NR5G band", Band("n", missing="--")),
            Field("arfcn", "NR5G Rx chan", _DEC),
            Field("tac", "NR5G TAC", HexDec(width=6)),
            Field("ci", "NR5G Cell ID", HexDec(width=9, lower=False)),
            Field(("mcc", "mnc"), "NR5G MCC-MNC", Plmn()),
            Field("state", "EMM state", Text()),
            Field("rsrp", "NR5G RSRP (dBm)", _DBM),
            Field("rsrq", "NR5G RSRQ (dB)", _DBM),
            Field("sinr", "NR5G SINR (dB)", _TENTH),
        ),
        rat=Rat.NR,
    ),
    "UMTS": Layout(
        "Sierra !GSTATUS WCDMA",
        Role.SERVING,
        (
            _mode(_UMTS_MODE),
            Field("uarfcn", "WCDMA channel", _DEC),
            Field("state", "MM state", Text()),
            Field("lac", "LAC", HexDec(width=4)),
            Field("ci", "Cell ID", HexDec(width=8)),
            Field("rscp", "RSCP (dBm)", _DBM),
            Field("ecio", "Ec/Io (dB)", _TENTH),
        ),
        rat=Rat.UMTS,
    ),
    "GSM": Layout(
        "Sierra !GSTATUS GSM",
        Role.SERVING,
        (
            _mode(r"GSM|EDGE|GPRS"),
            Field("arfcn", "GSM channel", _DEC),
            Field("state", "MM state", Text()),
            Field("lac", "LAC", HexDec(width=4)),
            Field("ci", "Cell ID", HexDec(width=4)),
        ),
        rat=Rat.GSM,
    ),
    "NO-SERVICE": Layout(
        "Sierra !GSTATUS without service",
        Role.NO_CELL,
        (Field("state", "System mode", Text(), match=f"(?!{_SERVICE_MODE}).*"),),
    ),
}


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
_TABLE_SIGNAL = (
    Field("rsrq", "RSRQ", _TENTH),
    Field("rsrp", "RSRP", _TENTH),
    Field("rssi", "RSSI", _TENTH),
    Field(None, "RXLV", Const("--")),
)

#: ``!LTEINFO`` table rows; the table's caption is the row's ``TABLE`` entry.
LTEINFO_LAYOUTS: dict[str, Layout] = {
    "SERVING": Layout(
        "Sierra !LTEINFO serving cell",
        Role.SERVING,
        (
            Field(None, _TABLE, Word(("Serving",))),
            Field("earfcn", "EARFCN", _DEC),
            Field("mcc", "MCC", Digits()),
            Field("mnc", "MNC", Digits()),
            Field("tac", "TAC", _DEC),
            Field("ci", "CID", Hex(width=8)),
            Field("band", "Bd", _DEC),
            Field(None, "D", Const("5")),
            Field(None, "U", Const("5")),
            Field("sinr", "SNR", _DBM),
            Field("pci", "PCI", _DEC),
            *_TABLE_SIGNAL,
        ),
        rat=Rat.LTE,
    ),
    "INTRA": Layout(
        "Sierra !LTEINFO intra-frequency neighbour",
        Role.NEIGHBOUR,
        (Field(None, _TABLE, Word(("IntraFreq",))), Field("pci", "PCI", _DEC), *_TABLE_SIGNAL),
        rat=Rat.LTE,
    ),
    "INTER": Layout(
        "Sierra !LTEINFO inter-frequency neighbour",
        Role.NEIGHBOUR,
        (
            Field(None, _TABLE, Word(("InterFreq",))),
            Field("earfcn", "EARFCN", _DEC),
            Field(None, "ThresholdLow", Const("0")),
            Field(None, "ThresholdHi", Const("0")),
            Field(None, "Priority", Const("0")),
            Field("pci", "PCI", _DEC),
            *_TABLE_SIGNAL,
        ),
        rat=Rat.LTE,
    ),
    "UMTS": Layout(
        "Sierra !LTEINFO WCDMA neighbour",
        Role.NEIGHBOUR,
        (
            Field(None, _TABLE, Word(("WCDMA",))),
            Field("uarfcn", "UARFCN", _DEC),
            Field(None, "ThreshL", Const("0")),
            Field(None, "ThreshH", Const("0")),
            Field(None, "Prio", Const("0")),
            Field("psc", "PSC", _DEC),
            Field("rscp", "RSCP", _TENTH),
            Field("ecio", "ECN0", _TENTH),
            Field(None, "RXLV", Const("--")),
        ),
        rat=Rat.UMTS,
    ),
}

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
