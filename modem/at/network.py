"""Operator and signal: ``+COPS`` (27.007 §7.3), ``+CSQ`` (§8.5), ``+CESQ`` (§8.69), ``+CFUN``
(§8.2), and Huawei's ``^HCSQ``.

Signal values are converted to dBm/dB with the lower bound of each 27.007 step, as
ModemManager does; "not known" codes (99, 255) become ``None``.
"""

from __future__ import annotations

from modem.at.cells.layout import Index, Layout, Role, fields, read_row, select_layout
from modem.at.common import clean, dec, field_at, payload, split_fields, split_lines
from modem.errors import ParseError
from modem.models import Operator, Signal

__all__ = [
    "HCSQ_LAYOUTS",
    "parse_cesq",
    "parse_cfun",
    "parse_cops",
    "parse_cops_list",
    "parse_csq",
    "parse_hcsq",
    "split_operator_id",
]

# Upper bound, in percent, of each 27.007 <ber> class (RXQUAL_0 .. RXQUAL_7; 45.008 §8.2.4).
_BER_PERCENT = (0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 12.8, 100.0)


def _lines_with(text: str, prefix: str) -> list[str]:
    bodies = [body for line in split_lines(text) if (body := payload(line, (prefix,))) is not None]
    if not bodies:
        raise ParseError(f"no {prefix} line in the answer", text)
    return bodies


def split_operator_id(code: str) -> tuple[str, str] | None:
    """Split a numeric operator id (``"22801"``, ``"310260"``) into MCC and MNC.

    Five digits are MCC + 2-digit MNC, six are MCC + 3-digit MNC; anything else, or MCC
    ``000``, is not an operator id (ModemManager's ``mm_3gpp_parse_operator_id``).

    Returns:
        ``(mcc, mnc)`` as digit strings, or None.
    """
    value = code.strip()
    if len(value) not in (5, 6) or not value.isdigit() or not value.isascii():
        return None
    if value[:3] == "000":
        return None
    return value[:3], value[3:]


def _decode_ucs2(value: str) -> str:
    """Undo UCS2-hex encoding of an operator (``+CSCS="UCS2"``: ``"0053006F"`` is ``So``).

    Only text that decodes to printable ASCII is taken as UCS2, so a name that merely
    looks like hex (``"BEEF"``) stays as printed.
    """
    if len(value) < 8 or len(value) % 4 or not all(c in "0123456789abcdefABCDEF" for c in value):
        return value
    decoded = "".join(chr(int(value[i : i + 4], 16)) for i in range(0, len(value), 4))
    return decoded if decoded.isascii() and decoded.isprintable() else value


def _operator(
    mode: int | None, fmt: int | None, oper_field: str, act: int | None, status: int | None
) -> Operator:
    oper = clean(oper_field) if oper_field.strip() else None
    mcc = mnc = None
    if oper is not None:
        oper = _decode_ucs2(oper)
        split = split_operator_id(oper) if fmt in (2, None) else None
        if split is not None:
            mcc, mnc = split
    return Operator(mode=mode, format=fmt, oper=oper, mcc=mcc, mnc=mnc, act=act, status=status)


def parse_cops(text: str) -> Operator:
    """Parse the ``+COPS?`` read answer: ``+COPS: <mode>[,<format>,<oper>[,<AcT>]]``.

    ``+COPS: 0`` (not registered) gives an operator with only ``mode``. With format 2 the
    numeric code is split into ``mcc``/``mnc`` (5 digits: 2-digit MNC, 6 digits: 3-digit
    MNC). Names may hold commas.

    Raises:
        ParseError: no ``+COPS:`` line, or its fields cannot be read.
    """
    body = _lines_with(text, "+COPS")[0]
    if body.startswith("("):
        raise ParseError("+COPS list answer given to the read parser", text)
    fields = split_fields(body)
    mode = dec(fields[0], "+COPS <mode>")
    fmt = dec(field_at(fields, 1), "+COPS <format>")
    act = dec(field_at(fields, 3), "+COPS <AcT>")
    if mode is None:
        raise ParseError("+COPS has no <mode>", text)
    return _operator(mode, fmt, field_at(fields, 2), act, None)


def _list_groups(body: str) -> list[list[str]]:
    """Split a ``+COPS=?`` payload into its parenthesised groups (quote-aware).

    A bare number right after a group (``(…,"31026"),7)``, a misplaced parenthesis seen
    on some modules) is appended to that group as its AcT.
    """
    groups: list[list[str]] = []
    depth = 0
    quoted = False
    current: list[str] = []
    stray: list[str] = []
    for char in body:
        if char == '"':
            quoted = not quoted
        if quoted or (char not in "()" and depth > 0):
            current.append(char)
            continue
        if char == "(":
            _attach_stray(groups, stray)
            depth += 1
            current = []
        elif char == ")":
            if depth > 0:
                depth -= 1
                groups.append(split_fields("".join(current)))
                current = []
        else:
            stray.append(char)
    if quoted or depth:
        raise ParseError("+COPS list has an unterminated group", body)
    _attach_stray(groups, stray)
    return groups


def _attach_stray(groups: list[list[str]], stray: list[str]) -> None:
    text = "".join(stray).strip().strip(",").strip()
    stray.clear()
    if text.isdigit() and groups and len(groups[-1]) == 4:
        groups[-1].append(text)


def parse_cops_list(text: str) -> list[Operator]:
    """Parse the ``+COPS=?`` scan answer into one operator per network found.

    ``+COPS: (<stat>,"long","short","numeric"[,<AcT>]),…,,(modes),(formats)``. The trailing
    mode and format lists are skipped; names may hold commas; an empty scan gives ``[]``.

    Raises:
        ParseError: no ``+COPS:`` line, or an entry cannot be read.
    """
    operators: list[Operator] = []
    for body in _lines_with(text, "+COPS"):
        for group in _list_groups(body):
            if not any('"' in field for field in group):
                continue  # the (modes) and (formats) lists
            if len(group) < 4:
                raise ParseError("+COPS list entry has fewer than four fields", text)
            status = dec(group[0], "+COPS list <stat>")
            act = dec(field_at(group, 4), "+COPS list <AcT>")
            numeric = _operator(None, 2, group[3], act, status)
            long_name = _decode_ucs2(clean(group[1])) or None
            operators.append(
                Operator(
                    mode=None,
                    format=2,
                    oper=long_name or numeric.oper,
                    mcc=numeric.mcc,
                    mnc=numeric.mnc,
                    act=act,
                    status=status,
                )
            )
    return operators


def _csq_rssi(value: int) -> float | None:
    if value == 99 or value == 199:
        return None
    if 0 <= value <= 31:
        return float(-113 + 2 * value)
    if 100 <= value <= 191:
        # SIMCom's TD-SCDMA extension: 100 = -116 dBm … 191 = -25 dBm in 1 dB steps.
        return float(value - 216)
    raise ParseError(f"+CSQ <rssi> {value} out of range", str(value))


def _ber(value: int | None) -> float | None:
    if value is None or value == 99:
        return None
    if 0 <= value <= 7:
        return _BER_PERCENT[value]
    raise ParseError(f"<ber> {value} out of range", str(value))


def parse_csq(text: str) -> Signal:
    """Parse ``+CSQ: <rssi>,<ber>`` into dBm and a bit-error-rate percentage.

    rssi 0 is -113 dBm or less, 1..30 are -111..-53 dBm in 2 dB steps, 31 is -51 dBm or more,
    99 is unknown. ber is the upper bound of the RXQUAL class, 99 unknown.

    Raises:
        ParseError: no ``+CSQ:`` line, or values outside the 27.007 ranges.
    """
    fields = split_fields(_lines_with(text, "+CSQ")[0])
    rssi = dec(fields[0], "+CSQ <rssi>")
    ber = dec(field_at(fields, 1), "+CSQ <ber>")
    return Signal(rssi=None if rssi is None else _csq_rssi(rssi), ber=_ber(ber))


def _scaled(
    value: int | None, *, unknown: int, top: int, base: float, step: float, what: str
) -> float | None:
    if value is None or value == unknown:
        return None
    if not 0 <= value <= top:
        raise ParseError(f"+CESQ {what} {value} out of range", str(value))
    return base + step * value


def parse_cesq(text: str) -> Signal:
    """Parse ``+CESQ`` (27.007 §8.69) into dBm/dB, including the Rel-15 NR fields.

    ``<rxlev>,<ber>,<rscp>,<ecno>,<rsrq>,<rsrp>[,<ss_rsrq>,<ss_rsrp>,<ss_sinr>]``; 99/255 are
    unknown. When the E-UTRA RSRP/RSRQ are unknown and the NR values are present (NR
    standalone), ``rsrp``/``rsrq`` carry the SS values; ``sinr`` is the SS-SINR.

    Raises:
        ParseError: no ``+CESQ:`` line, too few fields, or values out of range.
    """
    fields = split_fields(_lines_with(text, "+CESQ")[0])
    if len(fields) < 6:
        raise ParseError("+CESQ needs six fields", text)
    values = [dec(field, "+CESQ value") for field in fields]
    rxlev, ber, rscp, ecno, rsrq, rsrp = values[:6]
    ss_rsrq, ss_rsrp, ss_sinr = [*values[6:9], None, None, None][:3]
    lte_rsrp = _scaled(rsrp, unknown=255, top=97, base=-141.0, step=1.0, what="<rsrp>")
    lte_rsrq = _scaled(rsrq, unknown=255, top=46, base=-20.0, step=0.5, what="<rsrq>")
    nr_rsrp = _scaled(ss_rsrp, unknown=255, top=126, base=-157.0, step=1.0, what="<ss_rsrp>")
    nr_rsrq = _scaled(ss_rsrq, unknown=255, top=127, base=-43.5, step=0.5, what="<ss_rsrq>")
    return Signal(
        rssi=_scaled(rxlev, unknown=99, top=63, base=-111.0, step=1.0, what="<rxlev>"),
        ber=_ber(ber),
        rscp=_scaled(rscp, unknown=255, top=96, base=-121.0, step=1.0, what="<rscp>"),
        ecno=_scaled(ecno, unknown=255, top=49, base=-24.5, step=0.5, what="<ecno>"),
        rsrp=lte_rsrp if lte_rsrp is not None else nr_rsrp,
        rsrq=lte_rsrq if lte_rsrq is not None else nr_rsrq,
        sinr=_scaled(ss_sinr, unknown=255, top=127, base=-23.5, step=0.5, what="<ss_sinr>"),
    )


def parse_cfun(text: str) -> int:
    """Parse ``+CFUN: <fun>[,<rst>]`` and return ``<fun>`` (0 minimum, 1 full, 4 RF off…).

    Raises:
        ParseError: no ``+CFUN:`` line or a non-numeric value.
    """
    fields = split_fields(_lines_with(text, "+CFUN")[0])
    fun = dec(fields[0], "+CFUN <fun>")
    if fun is None or fun < 0:
        raise ParseError("+CFUN has no <fun>", text)
    return fun


_HCSQ_CODECS = {
    "rssi": Index(-121.0, 1.0, 96),
    "ecio": Index(-32.5, 0.5, 65),
    "rsrp": Index(-141.0, 1.0, 97),
    "sinr": Index(-20.2, 0.2, 251),
    "rsrq": Index(-20.0, 0.5, 34),
}

#: Huawei ``^HCSQ`` rows by system mode; the values are indexes.
HCSQ_LAYOUTS: dict[str, Layout] = {
    "GSM": Layout("Huawei ^HCSQ GSM", Role.IGNORE, fields('"GSM",rssi:rssi', _HCSQ_CODECS)),
    "WCDMA": Layout("Huawei ^HCSQ WCDMA", Role.IGNORE,
                    fields('"WCDMA",rssi:rssi,rscp:rssi,ecno:ecio', _HCSQ_CODECS)),
    "LTE": Layout("Huawei ^HCSQ LTE", Role.IGNORE,
                  fields('"LTE",rssi:rssi,rsrp:rsrp,sinr:sinr,rsrq:rsrq', _HCSQ_CODECS)),
    "NOSERVICE": Layout("Huawei ^HCSQ no service", Role.IGNORE, fields('"NOSERVICE"')),
}  # fmt: skip


def parse_hcsq(text: str) -> Signal:
    """Parse Huawei ``^HCSQ: "<sysmode>",<value1>,…`` (answer to ``AT^HCSQ?`` or its URC).

    The values are indexes (Huawei's conversions, as ModemManager applies them): RSSI and
    RSCP -121 + i dBm, Ec/Io -32.5 + i/2 dB, RSRP -141 + i dBm, SINR -20.2 + i/5 dB, RSRQ
    -20 + i/2 dB; 255 is unknown. ``"NOSERVICE"`` gives a signal with no values.

    Raises:
        ParseError: no ``^HCSQ:`` line, an unknown system mode, or indexes out of range.
    """
    body = _lines_with(text, "^HCSQ")[0]
    fields = split_fields(body)
    layout = select_layout(HCSQ_LAYOUTS.values(), fields)
    if layout is None:
        raise ParseError(f"unknown ^HCSQ system mode {clean(fields[0])!r}", text)
    return Signal(**read_row(layout, fields, body))
