"""Sierra Wireless ``AT!GSTATUS?`` and ``AT!LTEINFO?`` (MC/EM74xx, EM7565, EM919x).

``!GSTATUS:`` is a block of ``Label: value`` pairs, two per line separated by tabs (or by
runs of spaces when the text was copied from a terminal). Labels used here: ``System
mode``, ``LTE band`` (``B66``), ``LTE Rx chan``, ``TAC`` and ``Cell ID`` printed as hex
with the decimal in parentheses (``550d (21773)``; the two are cross-checked), the first
``RSRP (dBm)`` and ``PCC RxM RSSI`` (the primary carrier's main antenna), ``RSRQ (dB)``,
``SINR (dB)``, ``EMM state`` (the serving cell's state), and in 5G ``NR5G Cell ID``,
``NR5G TAC``, ``NR5G band`` (``n41``), ``NR5G MCC-MNC``. LTE ``!GSTATUS`` has no PLMN and
no PCI. ``System mode: Unknown`` (low power mode) means no serving cell.

``!LTEINFO:`` prints column tables: a caption with column names (``Serving: EARFCN MCC
MNC TAC CID Bd D U SNR PCI RSRQ RSRP RSSI RXLV``) followed by rows of values. TAC is
**decimal** there and CID hex. ``IntraFreq:`` rows are neighbours on the serving EARFCN,
``InterFreq:`` rows carry their own EARFCN, ``WCDMA:`` rows UARFCN/PSC/RSCP/ECN0.
"""

from __future__ import annotations

import re

from modem.at.cells.report import CellReport
from modem.at.common import dbm, dec, digits, hex_id, payload, split_lines
from modem.errors import ParseError
from modem.models import NeighbourCell, Rat, ServingCell

__all__ = ["parse_gstatus", "parse_lteinfo"]

# Pairs are separated by tabs, or by two or more spaces before the next "Label:"; a label
# never holds two spaces in a row, so a padded value is not mistaken for one.
_SEGMENT_SPLIT = re.compile(r"\t+|\s{2,}(?=[A-Za-z](?:[\w()/.-]| (?! ))*:)")
_HEX_DEC = re.compile(r"([0-9A-Fa-f]+)\s*\((\d+)\)")
_FINALS = frozenset({"OK", "ERROR"})


def _pairs(text: str) -> tuple[bool, dict[str, str]]:
    """Collect ``label -> value`` (first occurrence wins) from a ``!GSTATUS`` block."""
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


def _hex_with_decimal(value: str | None, what: str) -> int | None:
    """Read ``550d (21773)``, checking that both forms agree; a bare hex value is accepted."""
    if value is None:
        return None
    match = _HEX_DEC.fullmatch(value.strip())
    if match is None:
        return hex_id(value, what)
    number = int(match.group(1), 16)
    if number != int(match.group(2)):
        raise ParseError(f"{what}: hex {match.group(1)} and decimal {match.group(2)} differ", value)
    return number


def _band_number(value: str | None) -> int | None:
    if value is None:
        return None
    match = re.search(r"(\d+)", value)
    return int(match.group(1)) if match else None


def parse_gstatus(text: str) -> CellReport:
    """Parse the answer to ``AT!GSTATUS?``.

    Raises:
        ParseError: no ``!GSTATUS:`` line, a hex/decimal pair that disagrees, or unreadable
            values.
    """
    seen, pairs = _pairs(text)
    if not seen:
        raise ParseError("no !GSTATUS line in the answer", text)
    mode = pairs.get("SYSTEM MODE", "").upper()
    state = pairs.get("EMM STATE") or None
    if "NR5G CELL ID" in pairs and ("NR" in mode or "5G" in mode) and "LTE" not in mode:
        mcc = mnc = None
        plmn = pairs.get("NR5G MCC-MNC")
        if plmn:
            left, _, right = plmn.partition("-")
            mcc, mnc = digits(left), digits(right)
        serving = ServingCell(
            rat=Rat.NR,
            state=state,
            mcc=mcc,
            mnc=mnc,
            ci=_hex_with_decimal(pairs.get("NR5G CELL ID"), "NR cell id"),
            tac=_hex_with_decimal(pairs.get("NR5G TAC"), "NR TAC"),
            band=_band_number(pairs.get("NR5G BAND")),
            rsrp=dbm(pairs.get("NR5G RSRP (DBM)", ""), "RSRP"),
            rsrq=dbm(pairs.get("NR5G RSRQ (DB)", ""), "RSRQ"),
            sinr=dbm(pairs.get("NR5G SINR (DB)", ""), "SINR"),
        )
        return CellReport(serving=serving)
    if "LTE" in mode or "ENDC" in mode.replace("-", "").replace(" ", ""):
        serving = ServingCell(
            rat=Rat.LTE,
            state=state,
            band=_band_number(pairs.get("LTE BAND")),
            earfcn=dec(pairs.get("LTE RX CHAN", ""), "EARFCN"),
            tac=_hex_with_decimal(pairs.get("TAC"), "TAC"),
            ci=_hex_with_decimal(pairs.get("CELL ID"), "cell id"),
            rsrp=dbm(pairs.get("RSRP (DBM)", ""), "RSRP"),
            rsrq=dbm(pairs.get("RSRQ (DB)", ""), "RSRQ"),
            rssi=dbm(pairs.get("PCC RXM RSSI", ""), "RSSI"),
            sinr=dbm(pairs.get("SINR (DB)", ""), "SINR"),
        )
        return CellReport(serving=serving)
    if mode in ("WCDMA", "UMTS", "HSPA", "HSPA+"):
        return CellReport(
            serving=ServingCell(
                rat=Rat.UMTS,
                state=state or pairs.get("MM STATE") or None,
                lac=_hex_with_decimal(pairs.get("LAC"), "LAC"),
                ci=_hex_with_decimal(pairs.get("CELL ID"), "cell id"),
                uarfcn=dec(pairs.get("WCDMA CHANNEL", ""), "UARFCN"),
            )
        )
    if mode == "GSM":
        return CellReport(
            serving=ServingCell(
                rat=Rat.GSM,
                state=state or pairs.get("MM STATE") or None,
                lac=_hex_with_decimal(pairs.get("LAC"), "LAC"),
                ci=_hex_with_decimal(pairs.get("CELL ID"), "cell id"),
                arfcn=dec(pairs.get("GSM CHANNEL", ""), "ARFCN"),
            )
        )
    return CellReport()


def _tables(text: str) -> tuple[bool, list[tuple[str, list[str], list[list[str]]]]]:
    """Split ``!LTEINFO`` output into ``(caption, columns, rows)`` tables."""
    tables: list[tuple[str, list[str], list[list[str]]]] = []
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
        caption, colon, rest = line.partition(":")
        if colon and caption.strip() and not caption.strip()[0].isdigit():
            tables.append((caption.strip().upper(), rest.upper().split(), []))
        elif tables:
            tables[-1][2].append(line.split())
    return seen, tables


def _row_map(columns: list[str], row: list[str]) -> dict[str, str]:
    return dict(zip(columns, row, strict=False))


def parse_lteinfo(text: str) -> CellReport:
    """Parse the answer to ``AT!LTEINFO?`` (serving cell and neighbour tables).

    Raises:
        ParseError: no ``!LTEINFO:`` line, or values that cannot be read.
    """
    seen, tables = _tables(text)
    if not seen:
        raise ParseError("no !LTEINFO line in the answer", text)
    serving: ServingCell | None = None
    neighbours: list[NeighbourCell] = []
    for caption, columns, rows in tables:
        for row in rows:
            values = _row_map(columns, row)
            if caption == "SERVING":
                serving = ServingCell(
                    rat=Rat.LTE,
                    earfcn=dec(values.get("EARFCN", ""), "EARFCN"),
                    mcc=digits(values.get("MCC", "")),
                    mnc=digits(values.get("MNC", "")),
                    tac=dec(values.get("TAC", ""), "TAC"),
                    ci=hex_id(values.get("CID", ""), "cell id"),
                    band=dec(values.get("BD", ""), "band"),
                    pci=dec(values.get("PCI", ""), "PCI"),
                    rsrq=dbm(values.get("RSRQ", ""), "RSRQ"),
                    rsrp=dbm(values.get("RSRP", ""), "RSRP"),
                    rssi=dbm(values.get("RSSI", ""), "RSSI"),
                    sinr=dbm(values.get("SNR", ""), "SINR"),
                )
            elif caption in ("INTRAFREQ", "INTERFREQ"):
                earfcn = values.get("EARFCN")
                neighbours.append(
                    NeighbourCell(
                        rat=Rat.LTE,
                        earfcn=dec(earfcn, "EARFCN")
                        if earfcn is not None
                        else (serving.earfcn if serving else None),
                        pci=dec(values.get("PCI", ""), "PCI"),
                        rsrq=dbm(values.get("RSRQ", ""), "RSRQ"),
                        rsrp=dbm(values.get("RSRP", ""), "RSRP"),
                        rssi=dbm(values.get("RSSI", ""), "RSSI"),
                    )
                )
            elif caption == "WCDMA":
                neighbours.append(
                    NeighbourCell(
                        rat=Rat.UMTS,
                        uarfcn=dec(values.get("UARFCN", ""), "UARFCN"),
                        psc=dec(values.get("PSC", ""), "PSC"),
                        rscp=dbm(values.get("RSCP", ""), "RSCP"),
                        ecio=dbm(values.get("ECN0", ""), "Ec/N0"),
                    )
                )
    return CellReport(serving=serving, neighbours=tuple(neighbours))
