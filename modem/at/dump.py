"""``salve-modem parse``: read what a module printed and show what the parsers understand.

Operators paste a module's raw answer together with the command it answers; the result is
one plain dict per record, ready for JSON. Absent values are ``None``. Lines that are
not understood (echo, ``OK``, blank lines, NULs, garbage) are skipped; ``+CME ERROR`` and
``+CMS ERROR`` lines anywhere in the text become ``error`` records. An empty list means
nothing was understood.

Record shapes (``type`` first):

* ``registration``: domain, n, stat, lac, tac, ci, act
* ``operator``: mode, format, oper, mcc, mnc
* ``serving_cell`` / ``neighbour_cell``: rat, state, mcc, mnc, lac, tac, ci, pci, arfcn,
  earfcn, uarfcn, psc, band, rsrp, rsrq, rssi, sinr, rscp, ecio
* ``signal``: rssi, ber, rscp, ecno, rsrp, rsrq, sinr (``+CSQ``, ``+CESQ``)
* ``sim_state``: state (``+CPIN``)
* ``iccid``, ``imsi``, ``imei``: the identity under its own name
* ``error``: code, name
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from modem.at import cells, identity, network, registration
from modem.at.cells.report import CellReport
from modem.at.cme import cme_code, cme_name, cms_code, cms_name
from modem.at.common import split_lines
from modem.errors import ParseError
from modem.models import Cell, Operator

__all__ = ["normalise_command", "parse_dump"]

Record = dict[str, Any]

_COMMAND_RE = re.compile(r"^(?:AT)?\s*([+^#!$%]?[A-Z0-9_]+)(.*)$", re.IGNORECASE)
_CELL_FIELDS = (
    "rat",
    "state",
    "mcc",
    "mnc",
    "lac",
    "tac",
    "ci",
    "pci",
    "arfcn",
    "earfcn",
    "uarfcn",
    "psc",
    "band",
    "rsrp",
    "rsrq",
    "rssi",
    "sinr",
    "rscp",
    "ecio",
)
_ICCID_COMMANDS = frozenset({"+CCID", "+ICCID", "+QCCID", "+CICCID", "^ICCID", "!ICCID", "#CCID"})
_ICCID_COMMANDS_EXTRA = frozenset({"^SCID"})
_CELL_PARSERS: dict[str, Callable[[str], CellReport]] = {
    "+CPSI": cells.parse_cpsi,
    "+UCGED": cells.parse_ucged,
    "#SERVINFO": cells.parse_servinfo,
    "#RFSTS": cells.parse_rfsts,
    "#MONI": cells.parse_moni,
    "!GSTATUS": cells.parse_gstatus,
    "!LTEINFO": cells.parse_lteinfo,
    "^MONSC": cells.parse_monsc,
    "^MONNC": cells.parse_monnc,
    "+GTCCINFO": cells.parse_gtccinfo,
    "^SMONI": cells.parse_smoni,
}
_ERROR_RE = re.compile(r"^\+(CME|CMS) ERROR:\s*(.*)$", re.IGNORECASE)


def normalise_command(command: str) -> tuple[str, str]:
    """Split a command as typed into its upper-case name and the rest.

    ``AT+QENG="servingcell"`` gives ``("+QENG", '="servingcell"')``; ``cereg?`` gives
    ``("CEREG", "?")`` and ``+cereg?`` gives ``("+CEREG", "?")``. A name typed without
    its ``+`` is matched by :func:`parse_dump` too.

    Raises:
        ValueError: the text is not an AT command name.
    """
    match = _COMMAND_RE.match(command.strip())
    if match is None:
        raise ValueError(f"{command!r} is not an AT command")
    return match.group(1).upper(), match.group(2).strip()


def _cell_record(kind: str, cell: Cell) -> Record:
    record: Record = {"type": kind}
    for name in _CELL_FIELDS:
        value = getattr(cell, name, None)
        record[name] = value.value if name == "rat" and value is not None else value
    return record


def _report_records(report: CellReport) -> list[Record]:
    records: list[Record] = []
    if report.serving is not None:
        records.append(_cell_record("serving_cell", report.serving))
    records.extend(_cell_record("neighbour_cell", n) for n in report.neighbours)
    return records


def _try(parse: Callable[[str], list[Record]], text: str, *, per_line: bool) -> list[Record]:
    """Parse the whole text; when that fails and ``per_line`` is set, each line alone."""
    try:
        return parse(text)
    except ParseError:
        if not per_line:
            return []
    records: list[Record] = []
    for line in split_lines(text):
        try:
            records.extend(parse(line))
        except ParseError:
            continue
    return records


def _registrations(text: str) -> list[Record]:
    return [
        {
            "type": "registration",
            "domain": r.domain.value,
            "n": r.n,
            "stat": None if r.stat is None else int(r.stat),
            "lac": r.lac,
            "tac": r.tac,
            "ci": r.ci,
            "act": r.act,
        }
        for r in registration.parse_creg(text)
    ]


def _operator_records(operators: list[Operator]) -> list[Record]:
    return [
        {
            "type": "operator",
            "mode": o.mode,
            "format": o.format,
            "oper": o.oper,
            "mcc": o.mcc,
            "mnc": o.mnc,
        }
        for o in operators
    ]


def _signal(parse: Callable[[str], Any]) -> Callable[[str], list[Record]]:
    def records(text: str) -> list[Record]:
        signal = parse(text)
        return [{"type": "signal", **signal.to_dict()}]

    return records


def _identity(kind: str, parse: Callable[[str], str]) -> Callable[[str], list[Record]]:
    def records(text: str) -> list[Record]:
        return [{"type": kind, kind: parse(text)}]

    return records


def _cells(parse: Callable[[str], CellReport]) -> Callable[[str], list[Record]]:
    def records(text: str) -> list[Record]:
        return _report_records(parse(text))

    return records


def _qeng(text: str) -> list[Record]:
    """Quectel: serving and neighbour answers may be pasted together; split them by kind."""
    serving_lines: list[str] = []
    neighbour_lines: list[str] = []
    for line in split_lines(text):
        if "neighbourcell" in line.lower():
            neighbour_lines.append(line)
        else:
            serving_lines.append(line)
    records: list[Record] = []
    if any(line.upper().startswith("+QENG") for line in serving_lines):
        records += _try(
            _cells(cells.parse_qeng_servingcell), "\n".join(serving_lines), per_line=True
        )
    if neighbour_lines:
        records += _try(
            _cells(cells.parse_qeng_neighbourcell), "\n".join(neighbour_lines), per_line=True
        )
    return records


def _parser_for(name: str, rest: str) -> Callable[[str], list[Record]] | None:
    bare = name.lstrip("+^#!$%")
    plus = "+" + bare
    if plus in ("+CREG", "+CGREG", "+CEREG", "+C5GREG"):
        return _registrations
    if plus == "+COPS":
        if rest.startswith("=?"):
            return lambda text: _operator_records(network.parse_cops_list(text))
        return lambda text: _operator_records([network.parse_cops(text)])
    if plus == "+CSQ":
        return _signal(network.parse_csq)
    if plus == "+CESQ":
        return _signal(network.parse_cesq)
    if plus == "+CPIN":
        return lambda text: [{"type": "sim_state", "state": identity.parse_cpin(text).value}]
    if plus == "+CIMI":
        return _identity("imsi", identity.parse_cimi)
    if plus in ("+CGSN", "+GSN"):
        return _identity("imei", identity.parse_cgsn)
    if plus == "+CRSM" and "12258" in rest:
        return _identity("iccid", identity.parse_crsm_iccid)
    if name in _ICCID_COMMANDS or name in _ICCID_COMMANDS_EXTRA or plus in _ICCID_COMMANDS:
        return _identity("iccid", identity.parse_iccid)
    if plus == "+QENG":
        return _qeng
    for prefix, parse in _CELL_PARSERS.items():
        if name == prefix or (prefix.lstrip("+^#!") == bare and name == bare):
            return _cells(parse)
    return None


def _errors(text: str) -> list[Record]:
    records: list[Record] = []
    for line in split_lines(text):
        match = _ERROR_RE.match(line)
        if match is None:
            continue
        cms = match.group(1).upper() == "CMS"
        detail = match.group(2).strip().strip('"').strip()
        if not detail:
            continue
        if detail.isdigit():
            code: int | None = int(detail)
            name = cms_name(int(detail)) if cms else cme_name(int(detail))
        else:
            code = cms_code(detail) if cms else cme_code(detail)
            name = detail
        records.append({"type": "error", "code": code, "name": name})
    return records


def parse_dump(command: str, text: str) -> list[Record]:
    """Read a module's raw answer to ``command`` into one dict per record.

    Args:
        command: the AT command the text answers, as typed (``AT+CEREG?``, ``+cpsi?``,
            ``AT+QENG="servingcell"``); case-insensitive, with or without ``AT``.
        text: what the module printed, possibly with echo, ``OK``, blank lines, NULs and
            garbage.

    Returns:
        The records understood, in the order the parsers found them, followed by any
        ``+CME ERROR``/``+CMS ERROR`` records; ``[]`` when nothing was understood
        (including an unknown command).
    """
    try:
        name, rest = normalise_command(command)
    except ValueError:
        return _errors(text)
    parser = _parser_for(name, rest)
    records: list[Record] = []
    if parser is not None:
        records = _try(parser, text, per_line=True)
    return records + _errors(text)
