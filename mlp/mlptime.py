"""MLP time values (MLP §5.3 ``time`` and its ``utc_off`` attribute).

A time is ``yyyyMMddhhmmss`` (local time of the sender) and ``utc_off`` is that
local time's offset from UTC as ``[+|-]HHMM``, HH 0-14 and MM 0-59; the DTD
default is ``0000``. The specification makes any other ``utc_off`` a FORMAT ERROR
(§5.3.120.1), so the parsers here are strict and raise ``ValueError``, which the
decoder turns into result 105.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

__all__ = ["format_mlp_time", "parse_mlp_time", "parse_utc_off"]

_TIME_RE = re.compile(r"\s*(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})\s*", re.ASCII)
_UTC_OFF_RE = re.compile(r"\s*([+-]?)(\d{2})(\d{2})\s*", re.ASCII)


def parse_utc_off(text: str | None) -> timezone:
    """Read ``utc_off``; ``None`` (attribute absent) means UTC.

    Raises:
        ValueError: not ``[+|-]HHMM`` with HH 0-14 and MM 0-59.
    """
    if text is None:
        return UTC
    match = _UTC_OFF_RE.fullmatch(text)
    if match is None:
        raise ValueError("utc_off is not [+|-]HHMM")
    sign, hours, minutes = match.group(1), int(match.group(2)), int(match.group(3))
    if hours > 14 or minutes > 59:
        raise ValueError("utc_off out of range")
    offset = timedelta(hours=hours, minutes=minutes)
    return timezone(-offset if sign == "-" else offset)


def parse_mlp_time(text: str, utc_off: str | None = None) -> datetime:
    """Read an MLP time with its ``utc_off`` into a timezone-aware datetime.

    Raises:
        ValueError: the text is not 14 digits forming a real date and time, or
            ``utc_off`` is malformed.
    """
    match = _TIME_RE.fullmatch(text)
    if match is None:
        raise ValueError("time is not yyyyMMddhhmmss")
    tz = parse_utc_off(utc_off)
    year, month, day, hour, minute, second = (int(part) for part in match.groups())
    # datetime() rejects impossible dates (month 13, 30 February, hour 24...).
    return datetime(year, month, day, hour, minute, second, tzinfo=tz)


def format_mlp_time(moment: datetime) -> tuple[str, str]:
    """Write a timezone-aware datetime as MLP ``time`` text and ``utc_off``.

    The local time and offset of ``moment`` are kept; sub-second digits are dropped
    because MLP has none.

    Returns:
        ``(text, utc_off)``, e.g. ``("20240611093015", "+0100")``.

    Raises:
        ValueError: ``moment`` is naive, or its offset has seconds or exceeds 14 hours.
    """
    offset = moment.utcoffset()
    if offset is None:
        raise ValueError("MLP times need a timezone-aware datetime")
    total_seconds = int(offset.total_seconds())
    sign = "-" if total_seconds < 0 else "+"
    hours, rest = divmod(abs(total_seconds), 3600)
    minutes, seconds = divmod(rest, 60)
    if seconds or hours > 14:
        raise ValueError("offset not representable as utc_off")
    text = (
        f"{moment.year:04d}{moment.month:02d}{moment.day:02d}"
        f"{moment.hour:02d}{moment.minute:02d}{moment.second:02d}"
    )
    return text, f"{sign}{hours:02d}{minutes:02d}"
