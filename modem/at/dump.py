"""``salve-modem parse``: read what a module printed and show what the parsers understand.

Operators paste a module's raw answer together with the command it answers; the result is
one plain dict per record, ready for JSON. Absent values are ``None``. Lines that are
not understood (echo, ``OK``, blank lines, NULs, garbage) are skipped; ``+CME ERROR`` and
``+CMS ERROR`` lines anywhere in the text become ``error`` records. An empty list means
nothing was understood. The command ``URC`` reads a log of unsolicited lines the way
the AT engine routes them: each line by its own prefix.

Record shapes (``type`` first):

* ``registration``: domain, n, stat, lac, tac, ci, act, unsolicited
* ``operator``: mode, format, oper, mcc, mnc
* ``serving_cell`` / ``neighbour_cell``: rat, state, mcc, mnc, lac, tac, ci, pci, arfcn,
  earfcn, uarfcn, psc, band, rsrp, rsrq, rssi, sinr, rscp, ecio; serving cells also
  ``nsa_leg`` (true for the NR leg of a 5G non-standalone connection)
* ``no_serving_cell``: rat, state (the module said it has none: ``^MONSC: NONE``,
  ``^SMONI: 4G,SEARCH``, ``+CPSI: NO SERVICE``…)
* ``signal``: rssi, ber, rscp, ecno, rsrp, rsrq, sinr (``+CSQ``, ``+CESQ``, ``^HCSQ``)
* ``sim_state``: state (``+CPIN``)
* ``pin_counters``: pin_retries, puk_retries, retries (vendor retry-counter commands;
  ``retries`` counts for whichever password the SIM asks for now)
* ``function``: fun (``+CFUN``)
* ``iccid`` (with ``luhn_ok``), ``imsi``, ``imei``, ``msisdn``: the identity under its
  own name
* ``event``: name (bare unsolicited words: ``RDY``, ``RING``, ``SMS DONE``…)
* ``error``: code, name
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from modem.at import cells, identity, network, pin, registration
from modem.at.cells.report import CellReport
from modem.at.cme import cme_code, cme_name, cms_code, cms_name
from modem.at.common import payload, split_lines
from modem.at.session import BARE_URCS
from modem.errors import ParseError
from modem.models import Cell, Operator, Registration, ServingCell

__all__ = ["normalise_command", "parse_dump"]

Record = dict[str, Any]
Parser = Callable[[str], list[Record]]

_COMMAND_RE = re.compile(r"^(?:AT)?\s*([+^#!$%]?[A-Z0-9_]+)(.*)$", re.IGNORECASE)
_PREFIXED_LINE = re.compile(r"^([+^#!$%][A-Za-z0-9_]+):")
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
_ICCID_COMMANDS = frozenset(
    {"+CCID", "+ICCID", "+QCCID", "+CICCID", "^ICCID", "!ICCID", "#CCID", "^SCID"}
)
_REGISTRATION_COMMANDS = frozenset({"+CREG", "+CGREG", "+CEREG", "+C5GREG"})
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


# --------------------------------------------------------------------------- records


def _cell_record(kind: str, cell: Cell) -> Record:
    record: Record = {"type": kind}
    for name in _CELL_FIELDS:
        value = getattr(cell, name, None)
        record[name] = value.value if name == "rat" and value is not None else value
    if isinstance(cell, ServingCell):
        record["nsa_leg"] = cell.nsa_leg
    return record


def _report_records(report: CellReport) -> list[Record]:
    records: list[Record] = []
    if report.serving is not None:
        records.append(_cell_record("serving_cell", report.serving))
    if report.nr_leg is not None:
        records.append(_cell_record("serving_cell", report.nr_leg))
    if report.no_cell is not None:
        rat = report.no_cell.rat
        records.append(
            {
                "type": "no_serving_cell",
                "rat": None if rat is None else rat.value,
                "state": report.no_cell.state,
            }
        )
    records.extend(_cell_record("neighbour_cell", n) for n in report.neighbours)
    return records


def _registration_record(record: Registration) -> Record:
    return {
        "type": "registration",
        "domain": record.domain.value,
        "n": record.n,
        "stat": None if record.stat is None else int(record.stat),
        "lac": record.lac,
        "tac": record.tac,
        "ci": record.ci,
        "act": record.act,
        "unsolicited": record.unsolicited,
    }


def _registrations(text: str) -> list[Record]:
    return [_registration_record(r) for r in registration.parse_creg(text)]


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


def _signal(parse: Callable[[str], Any]) -> Parser:
    def records(text: str) -> list[Record]:
        return [{"type": "signal", **parse(text).to_dict()}]

    return records


def _identity(kind: str, parse: Callable[[str], str | None]) -> Parser:
    def records(text: str) -> list[Record]:
        value = parse(text)
        return [] if value is None else [{"type": kind, kind: value}]

    return records


def _iccid(parse: Callable[[str], str]) -> Parser:
    def records(text: str) -> list[Record]:
        value = parse(text)
        return [{"type": "iccid", "iccid": value, "luhn_ok": identity.iccid_luhn_ok(value)}]

    return records


def _cells(parse: Callable[[str], CellReport]) -> Parser:
    def records(text: str) -> list[Record]:
        return _report_records(parse(text))

    return records


def _pin_counters(query: pin.PinCounterQuery) -> Parser:
    def records(text: str) -> list[Record]:
        counters = pin.read_pin_counters(query, text)
        return [
            {
                "type": "pin_counters",
                "pin_retries": counters.pin,
                "puk_retries": counters.puk,
                "retries": counters.current,
            }
        ]

    return records


def _try(parse: Parser, text: str, *, per_line: bool) -> list[Record]:
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


def _ucged(text: str) -> list[Record]:
    """u-blox: the ``+UCGED=2`` short form, or the ``+UCGED=5`` measurements."""
    if any(payload(line, ("+RSRP",)) is not None for line in split_lines(text)):
        return _report_records(cells.parse_ucged_measurements(text))
    return _report_records(cells.parse_ucged(text))


def _cfun(text: str) -> list[Record]:
    return [{"type": "function", "fun": network.parse_cfun(text)}]


def _cpin(text: str) -> list[Record]:
    return [{"type": "sim_state", "state": identity.parse_cpin(text).value}]


# Commands whose parser does not depend on the arguments, by name as printed.
_PARSERS: dict[str, Parser] = {
    **dict.fromkeys(_REGISTRATION_COMMANDS, _registrations),
    "+CSQ": _signal(network.parse_csq),
    "+CESQ": _signal(network.parse_cesq),
    "^HCSQ": _signal(network.parse_hcsq),
    "+CPIN": _cpin,
    "+CFUN": _cfun,
    "+CIMI": _identity("imsi", identity.parse_cimi),
    "+CGSN": _identity("imei", identity.parse_cgsn),
    "+GSN": _identity("imei", identity.parse_cgsn),
    "+CNUM": _identity("msisdn", identity.parse_cnum),
    **dict.fromkeys(_ICCID_COMMANDS, _iccid(identity.parse_iccid)),
    "+QENG": _qeng,
    "+UCGED": _ucged,
    "+CPSI": _cells(cells.parse_cpsi),
    "+CCINFO": _cells(cells.parse_ccinfo),
    "#SERVINFO": _cells(cells.parse_servinfo),
    "#RFSTS": _cells(cells.parse_rfsts),
    "#MONI": _cells(cells.parse_moni),
    "#CSURVC": _cells(cells.parse_csurvc),
    "!GSTATUS": _cells(cells.parse_gstatus),
    "!LTEINFO": _cells(cells.parse_lteinfo),
    "^MONSC": _cells(cells.parse_monsc),
    "^MONNC": _cells(cells.parse_monnc),
    "+GTCCINFO": _cells(cells.parse_gtccinfo),
    "^SMONI": _cells(cells.parse_smoni),
    "^SMONP": _cells(cells.parse_smonp),
    "+QPINC": _pin_counters(pin.PIN_COUNTER_QUERIES["quectel"][0]),
    "+SPIC": _pin_counters(pin.PIN_COUNTER_QUERIES["simcom"][0]),
    "^CPIN": _pin_counters(pin.PIN_COUNTER_QUERIES["huawei"][0]),
    "+CPINC": _pin_counters(pin.PIN_COUNTER_QUERIES["sierra"][0]),
    "+UPINCNT": _pin_counters(pin.PIN_COUNTER_QUERIES["ublox"][0]),
    "#PCT": _pin_counters(pin.PIN_COUNTER_QUERIES["telit"][0]),
    "+GTPINCNT": _pin_counters(pin.PIN_COUNTER_QUERIES["fibocom"][0]),
    "+CPINR": _pin_counters(pin.PIN_COUNTER_QUERIES["generic"][0]),
}


def _parser_for(name: str, rest: str) -> Parser | None:
    if name == "URC":
        return _urcs
    if name == "^SPIC":
        # Cinterion: AT^SPIC="SC",1 counts PUK attempts, AT^SPIC="SC" PIN attempts, and
        # the bare AT^SPIC those for the password the SIM asks for now.
        queries = pin.PIN_COUNTER_QUERIES["cinterion"]
        if not rest:
            return _pin_counters(pin.CURRENT_COUNTER_QUERIES["cinterion"])
        return _pin_counters(queries[1] if re.search(r",\s*1\s*$", rest) else queries[0])
    plus = "+" + name.lstrip("+^#!$%")
    if plus == "+COPS":
        if rest.startswith("=?"):
            return lambda text: _operator_records(network.parse_cops_list(text))
        return lambda text: _operator_records([network.parse_cops(text)])
    if plus == "+CRSM" and "12258" in rest:
        return _iccid(identity.parse_crsm_iccid)
    if name in _PARSERS:
        return _PARSERS[name]
    if plus in _PARSERS:
        return _PARSERS[plus]
    # A vendor command typed without its prefix character (QENG, SMONI, GSTATUS…).
    for prefix, parse in _PARSERS.items():
        if prefix.lstrip("+^#!$%") == name:
            return parse
    return None


# --------------------------------------------------------------------------- URC logs


def _urcs(text: str) -> list[Record]:
    """Each line of an unsolicited log, read by its own prefix as the engine routes it."""
    records: list[Record] = []
    for line in split_lines(text):
        if line.upper() in BARE_URCS:
            records.append({"type": "event", "name": line.upper()})
            continue
        match = _PREFIXED_LINE.match(line)
        if match is None:
            continue
        name = match.group(1).upper()
        if name in _REGISTRATION_COMMANDS:
            try:
                found = registration.parse_urc(line)
            except ParseError:
                continue
            if found is not None:
                records.append(_registration_record(found))
            continue
        parse = _PARSERS.get(name)
        if parse is not None and name not in ("+CME", "+CMS"):
            records += _try(parse, line, per_line=False)
    return records


# --------------------------------------------------------------------------- errors


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
            ``AT+QENG="servingcell"``); case-insensitive, with or without ``AT``. ``URC``
            reads a log of unsolicited lines.
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
