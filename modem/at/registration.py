"""Network registration: ``+CREG``, ``+CGREG``, ``+CEREG``, ``+C5GREG`` (3GPP TS 27.007 §7.2,
§10.1.20, §10.1.22, §10.1.23).

Theory of operation
-------------------
The four commands share one shape. The read answer is ``<n>,<stat>[,<area>,<ci>[,<AcT>…]]``
and the unsolicited form drops ``<n>``: ``<stat>[,<area>,<ci>[,<AcT>…]]``. Real modules
blur the two: read-shaped URCs, URC-shaped read answers, quoted or bare hex, padded
integers (``002,001``), stray spaces, empty location fields, extra trailing fields (RAC,
cause codes, PSM timers, NSSAI, vendor junk) and the 27.007 v8.6 ``+CEREG`` layout that
put a RAC between TAC and CI.

Which shape a line has is decided by reading it both ways and keeping the reading that
makes sense: ``<n>`` within 0..5 and ``<stat>`` within 0..11, and an ``<AcT>`` that is a
small number (0..16) or absent. When both readings make sense (``+CREG: 1,0001,0010,0``)
the tie is broken the way ModemManager's ``item_is_lac_not_stat`` does: the second field
is an area code (so the line has no ``<n>``) when it is quoted, empty, holds hex letters
or has four or more characters. A ``<stat>`` above 11 is kept as ``None`` (unknown), as
ModemManager does.

Values are reported as printed: a zero LAC or cell id (Huawei prints ``+CREG: 2,0,00,0``
while not registered) is 0, not ``None``. "Not known" markers and the reserved
``FFFE`` area become ``None``; so does the location of an "unknown" (4) state, which
ModemManager does not fill either. Stray spaces inside a hex field are dropped
(``  0 5`` is ``05``). Trailing fields that are no 27.007 field (Samsung's ``, B, C2816``)
are ignored, and an ``<AcT>`` that is not a number is read as unknown.
On E-UTRAN and NR access technologies the ``+CREG``/``+CGREG`` area field carries a TAC,
so it is reported as ``tac``.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

from modem.at.common import clean, dec, hex_id, payload, split_fields, split_lines
from modem.errors import ParseError
from modem.models import Rat, Registration, RegistrationDomain, RegistrationStatus

__all__ = ["act_to_rat", "parse_creg", "parse_urc"]

_PREFIXES: dict[str, RegistrationDomain] = {
    "+C5GREG": RegistrationDomain.C5GREG,
    "+CEREG": RegistrationDomain.CEREG,
    "+CGREG": RegistrationDomain.CGREG,
    "+CREG": RegistrationDomain.CREG,
}

# 27.007 <AcT> values (§7.3) and the radio they mean.
_ACT_RAT: dict[int, Rat] = {
    0: Rat.GSM,
    1: Rat.GSM,
    2: Rat.UMTS,
    3: Rat.GSM,
    4: Rat.UMTS,
    5: Rat.UMTS,
    6: Rat.UMTS,
    7: Rat.LTE,
    8: Rat.GSM,
    9: Rat.NB_IOT,
    10: Rat.LTE,
    11: Rat.NR,
    12: Rat.NR,
    13: Rat.LTE,  # EN-DC: the identity reported is the LTE anchor's
    14: Rat.NB_IOT,
    15: Rat.LTE,
    16: Rat.NR,
}

# Access technologies whose area code is a tracking area (E-UTRAN, NR).
_TAC_ACTS = frozenset({7, 9, 10, 11, 12, 13, 14, 15, 16})

# The largest <n> any of the four commands defines (+CEREG=5).
_MAX_N = 5


def act_to_rat(act: int | None) -> Rat | None:
    """Map a 27.007 ``<AcT>`` value to a :class:`~modem.models.Rat` (None when unknown)."""
    if act is None:
        return None
    return _ACT_RAT.get(act)


def _domain_and_payload(line: str) -> tuple[RegistrationDomain, str] | None:
    for prefix, domain in _PREFIXES.items():
        body = payload(line, (prefix,))
        if body is not None:
            return domain, body
    return None


def _looks_like_area(field: str) -> bool:
    """True when a field is an area code rather than a ``<stat>`` (MM's item_is_lac_not_stat)."""
    stripped = field.strip()
    if not stripped or '"' in stripped:
        return True
    if any(c in "abcdefABCDEF" for c in stripped):
        return True
    return len(stripped) >= 4


# The two shapes of a registration line: the read answer (with <n>) and the unsolicited one.
_Shape = Literal["read", "urc"]

# The largest <AcT> 27.007 defines (Rel-17 satellite NG-RAN).
_MAX_ACT = 16


def _hex_field(field: str, what: str) -> int | None:
    return hex_id(clean(field).replace(" ", ""), what)


def _act(field: str) -> tuple[int | None, bool]:
    """The ``<AcT>`` and whether it is one (junk in its place reads as unknown)."""
    value = clean(field)
    if not value:
        return None, True
    if value.isdigit() and int(value) <= _MAX_ACT:
        return int(value), True
    return None, False


def _build(
    domain: RegistrationDomain, fields: list[str], shape: _Shape, line: str
) -> tuple[Registration, bool]:
    """Read ``fields`` in one shape. Returns the record and whether the reading makes
    sense (``<n>``, ``<stat>`` and ``<AcT>`` in range)."""
    if shape == "read":
        n = dec(fields[0], "registration <n>")
        if n is None or not 0 <= n <= _MAX_N:
            raise ParseError(f"{domain} <n> out of range", line)
        rest = fields[1:]
    else:
        n = None
        rest = fields
    stat_value = dec(rest[0], "registration <stat>") if rest else None
    if stat_value is None:
        raise ParseError(f"{domain} has no <stat>", line)
    in_range = 0 <= stat_value <= max(RegistrationStatus)
    stat = RegistrationStatus(stat_value) if in_range else None
    location = rest[1:]
    if len(location) == 1 and location[0].strip():
        raise ParseError(f"{domain} has an area code but no cell id", line)
    if (
        domain is RegistrationDomain.CEREG
        and len(location) >= 4
        and len(clean(location[1])) <= 2
        and len(clean(location[2])) > 2
    ):
        # 27.007 v8.6 layout: <tac>,<rac>,<ci>,<AcT> (Novatel E362 and others).
        location = [location[0], location[2], *location[3:]]
    area = _hex_field(location[0], f"{domain} area code") if len(location) > 0 else None
    ci = _hex_field(location[1], f"{domain} cell id") if len(location) > 1 else None
    act, act_ok = _act(location[2]) if len(location) > 2 else (None, True)
    if stat is None or stat is RegistrationStatus.UNKNOWN:
        # ModemManager fills no location for an unknown state; neither do we.
        area = ci = None
    tac_domain = domain in (RegistrationDomain.CEREG, RegistrationDomain.C5GREG)
    uses_tac = tac_domain or (act is not None and act in _TAC_ACTS)
    record = Registration(
        domain=domain,
        stat=stat,
        n=n,
        lac=None if uses_tac else area,
        tac=area if uses_tac else None,
        ci=ci,
        act=act,
        rat=act_to_rat(act),
        unsolicited=shape == "urc",
    )
    return record, in_range and act_ok


def _parse_line(line: str, *, unsolicited: bool) -> Registration | None:
    found = _domain_and_payload(line)
    if found is None:
        return None
    domain, body = found
    fields = split_fields(body)
    shapes: list[_Shape]
    if len(fields) == 1:
        shapes = ["urc"]
    elif len(fields) == 2:
        shapes = ["read"]
    elif _looks_like_area(fields[1]):
        shapes = ["urc", "read"]
    else:
        shapes = ["read", "urc"]
    fallback: Registration | None = None
    errors: list[ParseError] = []
    for shape in shapes:
        try:
            record, sensible = _build(domain, fields, shape, line)
        except ParseError as error:
            errors.append(error)
            continue
        if sensible:
            return _mark(record, unsolicited)
        fallback = fallback or record
    if fallback is not None:
        return _mark(fallback, unsolicited)
    raise ParseError(f"{domain} line not understood: {errors[0]}", line) from errors[0]


def _mark(record: Registration, unsolicited: bool) -> Registration:
    """The record, flagged unsolicited when it arrived as a URC (even in read shape)."""
    if unsolicited and not record.unsolicited:
        return dataclasses.replace(record, unsolicited=True)
    return record


def parse_creg(text: str) -> list[Registration]:
    """Parse every ``+CREG/+CGREG/+CEREG/+C5GREG`` line of a module's answer.

    The domain comes from each line's prefix, so one call reads the answer to
    ``AT+CREG?;+CGREG?;+CEREG?`` or a read that holds two records. Echo, ``OK`` and other
    lines are skipped.

    Args:
        text: the answer, with or without framing.

    Returns:
        One :class:`~modem.models.Registration` per registration line, in order.

    Raises:
        ParseError: no registration line was found, or one cannot be read.
    """
    records: list[Registration] = []
    for line in split_lines(text):
        record = _parse_line(line, unsolicited=False)
        if record is not None:
            records.append(record)
    if not records:
        raise ParseError("no +CREG/+CGREG/+CEREG/+C5GREG line in the answer", text)
    return records


def parse_urc(line: str) -> Registration | None:
    """Recognise one unsolicited registration line.

    Args:
        line: one line as received (framing is stripped here).

    Returns:
        The record (``unsolicited=True``), or None when the line is not a registration line.

    Raises:
        ParseError: the line has a registration prefix but cannot be read.
    """
    lines = split_lines(line)
    if len(lines) != 1:
        return None
    return _parse_line(lines[0], unsolicited=True)
