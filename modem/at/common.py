"""Shared field helpers for the AT parsers: line splitting, field splitting, number conversion.

Modules print the same quantity in many ways: quoted or bare, zero-padded or not,
upper- or lower-case hex, with a ``0x`` prefix or without, and they mark "not known"
with ``-``, ``--``, ``FFFF``, ``fff``, ``NONE`` or an empty field. Every helper here
turns such a marker into ``None`` (never a zero) and anything else it cannot read into a
:class:`~modem.errors.ParseError`, so a parser built from them can only fail with that
one error type.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from modem.errors import ParseError

__all__ = [
    "UNKNOWN_MARKERS",
    "clean",
    "dbm",
    "dec",
    "digits",
    "field_at",
    "hex_id",
    "is_unknown",
    "iter_payloads",
    "payload",
    "split_fields",
    "split_lines",
    "to_float",
]

#: Words and symbols modules print instead of a value they do not have (compared upper-case).
UNKNOWN_MARKERS = frozenset(
    {"", "-", "--", "---", "----", "NONE", "NO SERVICE", "UNKNOWN", "N/A", "NA", "INVALID"}
)

_HEX_RE = re.compile(r"[0-9A-Fa-f]+")
_DEC_RE = re.compile(r"[+-]?[0-9]+")
_FLOAT_RE = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")


def split_lines(text: str) -> list[str]:
    """Split a module's answer into stripped, non-empty lines.

    NUL bytes (printed by some modules at power-up) are dropped and both CR and LF end a
    line, so ``"AT+CSQ\\r\\r\\n+CSQ: 20,99\\r\\n\\r\\nOK"`` gives three lines.
    """
    cleaned = text.replace("\x00", "")
    return [line.strip() for line in re.split(r"[\r\n]+", cleaned) if line.strip()]


def payload(line: str, prefixes: Iterable[str]) -> str | None:
    """Return the text after the first matching ``PREFIX:`` of a line, or None.

    Matching ignores case and the space after the colon is optional (``+QENG:"x"`` is
    printed by some firmware).

    Args:
        line: one stripped line.
        prefixes: prefixes without the colon, e.g. ``("+CREG", "+CGREG")``.
    """
    upper = line.upper()
    for prefix in prefixes:
        head = prefix.upper() + ":"
        if upper.startswith(head):
            return line[len(head) :].strip()
    return None


def split_fields(text: str) -> list[str]:
    """Split a comma-separated payload; commas inside double quotes do not split.

    Each field keeps its quotes (callers may need to know a field was quoted) but loses
    surrounding spaces. An unterminated quote runs to the end of the text.
    """
    fields: list[str] = []
    current: list[str] = []
    quoted = False
    for char in text:
        if char == '"':
            quoted = not quoted
            current.append(char)
        elif char == "," and not quoted:
            fields.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    fields.append("".join(current).strip())
    return fields


def clean(field: str) -> str:
    """Strip spaces and one layer of double quotes (and spaces inside them)."""
    value = field.strip()
    if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
        value = value[1:-1].strip()
    elif value.startswith('"') or value.endswith('"'):
        value = value.strip('"').strip()
    return value


def is_unknown(field: str) -> bool:
    """True when the field is empty or one of the "not known" markers."""
    return clean(field).upper() in UNKNOWN_MARKERS


def _fail(what: str, field: str) -> ParseError:
    return ParseError(f"{what}: cannot read {field!r}", field)


def dec(field: str, what: str = "value") -> int | None:
    """Read a decimal integer; unknown markers give None.

    Args:
        field: the raw field.
        what: a name for error messages.

    Raises:
        ParseError: the field is neither a decimal integer nor an unknown marker.
    """
    value = clean(field)
    if value.upper() in UNKNOWN_MARKERS:
        return None
    if not _DEC_RE.fullmatch(value):
        raise _fail(what, field)
    return int(value)


def hex_id(field: str, what: str = "identifier", *, zero_is_unknown: bool = False) -> int | None:
    """Read a hexadecimal identifier (LAC, TAC, cell id); unknown markers give None.

    A ``0x`` prefix is accepted. A value made only of ``F`` digits with at least four of
    them after any leading zeros (``FFFF``, ``FFFFFFF``, ``00FFFFFFF``) is the vendors'
    "not known" marker and gives None, as does ``FFFE`` (a deleted LAI/TAI, 24.008).

    Args:
        field: the raw field.
        what: a name for error messages.
        zero_is_unknown: also treat an all-zero value as unknown (u-blox ``0000000``).

    Raises:
        ParseError: the field is not hexadecimal.
    """
    value = clean(field)
    if value.upper() in UNKNOWN_MARKERS:
        return None
    if value[:2].lower() == "0x":
        value = value[2:]
    if not _HEX_RE.fullmatch(value):
        raise _fail(what, field)
    significant = value.lstrip("0").upper()
    if len(significant) >= 4 and set(significant) == {"F"}:
        return None
    if significant == "FFFE":
        return None
    number = int(value, 16)
    if number == 0 and zero_is_unknown:
        return None
    return number


def to_float(field: str, what: str = "value") -> float | None:
    """Read a decimal number that may carry a fraction; unknown markers give None.

    Raises:
        ParseError: the field is not a number.
    """
    value = clean(field)
    if value.upper() in UNKNOWN_MARKERS:
        return None
    if not _FLOAT_RE.fullmatch(value):
        raise _fail(what, field)
    return float(value)


def dbm(field: str, what: str = "signal") -> float | None:
    """Read a signal level printed in dBm/dB, tolerating a ``dBm``/``dB`` suffix.

    Raises:
        ParseError: the field is not a number.
    """
    value = clean(field)
    lowered = value.lower()
    for suffix in ("dbm", "db"):
        if lowered.endswith(suffix):
            value = value[: -len(suffix)].strip()
            break
    return to_float(value, what)


def digits(field: str) -> str | None:
    """Read a digit string (MCC, MNC) keeping its width; unknown markers give None.

    ``fff``/``FFF`` (u-blox "not known") also gives None.

    Raises:
        ParseError: the field holds something other than digits.
    """
    value = clean(field)
    if value.upper() in UNKNOWN_MARKERS or (value and set(value.upper()) == {"F"}):
        return None
    if not value.isdigit() or not value.isascii():
        raise _fail("digit string", field)
    return value


def field_at(fields: list[str], index: int) -> str:
    """The field at ``index``, or an empty string (the unknown marker) past the end."""
    return fields[index] if index < len(fields) else ""


def iter_payloads(text: str, prefixes: Iterable[str]) -> Iterator[tuple[str, str]]:
    """Yield ``(line, payload)`` for every line of ``text`` that starts with a prefix."""
    wanted = tuple(prefixes)
    for line in split_lines(text):
        body = payload(line, wanted)
        if body is not None:
            yield line, body
