"""WGS84 coordinates as MLP writes them (MLP §5.3 ``X``/``Y``, §5.7.1.3).

In EPSG:4326 the axis order is northing then easting, so MLP's ``X`` is the
latitude and ``Y`` the longitude. The presentation is DMSH: degrees, minutes and
seconds separated by single spaces with the hemisphere letter appended, minutes and
seconds zero-padded, e.g. ``47 22 36.000N`` and ``8 32 24.123E``.

Emitting is exact: degrees unpadded, two-digit minutes and seconds, three decimals
of seconds (one milli-arcsecond, about 3 cm), computed from one rounded integer
count of milli-arcseconds so that 59.9996 seconds carries into the next minute
instead of printing ``60.000``.

Parsing is liberal, because deployed servers and clients deviate: unpadded fields,
three-digit longitudes (``099 12 15.019W``), a space before the hemisphere
(``4 39 6.086597 N``), any number of decimals, degrees and decimal minutes, and
plain decimal degrees with or without a sign (``-33.8675``). Every parser raises
``ValueError`` for anything else.
"""

from __future__ import annotations

import math
import re

__all__ = [
    "format_latitude",
    "format_longitude",
    "parse_latitude",
    "parse_longitude",
]

_MAS_PER_DEGREE = 3_600_000
_MAS_PER_MINUTE = 60_000

# Up to three numeric fields (degrees, minutes, seconds); only the last may have a
# fraction. Then either a hemisphere letter (optionally after blanks) or nothing.
_COORD_RE = re.compile(
    r"""
    \s*
    (?P<sign>[+-])?
    (?P<deg>\d{1,3}(?:\.\d+)?)
    (?:\s+(?P<min>\d{1,2}(?:\.\d+)?)
       (?:\s+(?P<sec>\d{1,2}(?:\.\d+)?))?
    )?
    \s*
    (?P<hemi>[NSEWnsew])?
    \s*
    """,
    re.VERBOSE | re.ASCII,
)


def _format(value: float, positive: str, negative: str) -> str:
    mas = round(abs(value) * _MAS_PER_DEGREE)
    # The hemisphere follows the rounded value, so -0.0000000001 prints as 0...N.
    hemisphere = negative if value < 0 and mas else positive
    degrees, rest = divmod(mas, _MAS_PER_DEGREE)
    minutes, rest = divmod(rest, _MAS_PER_MINUTE)
    seconds, millis = divmod(rest, 1000)
    return f"{degrees} {minutes:02d} {seconds:02d}.{millis:03d}{hemisphere}"


def format_latitude(lat: float) -> str:
    """Write a latitude as DMSH, e.g. ``47 22 36.000N``.

    Raises:
        ValueError: not a finite value within [-90, 90].
    """
    if not math.isfinite(lat) or not -90 <= lat <= 90:
        raise ValueError(f"latitude out of range: {lat!r}")
    return _format(lat, "N", "S")


def format_longitude(lon: float) -> str:
    """Write a longitude as DMSH, e.g. ``8 32 24.000E``.

    Raises:
        ValueError: not a finite value within [-180, 180].
    """
    if not math.isfinite(lon) or not -180 <= lon <= 180:
        raise ValueError(f"longitude out of range: {lon!r}")
    return _format(lon, "E", "W")


def _parse(text: str, positive: str, negative: str, limit: int) -> float:
    match = _COORD_RE.fullmatch(text)
    if match is None:
        raise ValueError("not a coordinate")
    sign, deg, minutes, seconds, hemi = match.group("sign", "deg", "min", "sec", "hemi")
    if sign and hemi:
        raise ValueError("a coordinate has either a sign or a hemisphere, not both")
    # A fraction is only allowed on the last field given.
    if minutes is not None and "." in deg:
        raise ValueError("fractional degrees followed by minutes")
    if seconds is not None and minutes is not None and "." in minutes:
        raise ValueError("fractional minutes followed by seconds")
    value = float(deg)
    if minutes is not None:
        minute_value = float(minutes)
        if minute_value >= 60:
            raise ValueError("minutes must be below 60")
        value += minute_value / 60
    if seconds is not None:
        second_value = float(seconds)
        if second_value >= 60:
            raise ValueError("seconds must be below 60")
        value += second_value / 3600
    if value > limit:
        raise ValueError("coordinate out of range")
    if hemi is not None:
        letter = hemi.upper()
        if letter not in (positive, negative):
            raise ValueError("wrong hemisphere letter for this axis")
        if letter == negative:
            value = -value
    elif sign == "-":
        value = -value
    return value


def parse_latitude(text: str) -> float:
    """Read a latitude (MLP ``X``) in any DMSH variant or decimal degrees.

    Returns:
        Degrees north, negative for south.

    Raises:
        ValueError: the text is not a latitude.
    """
    return _parse(text, "N", "S", 90)


def parse_longitude(text: str) -> float:
    """Read a longitude (MLP ``Y``) in any DMSH variant or decimal degrees.

    Returns:
        Degrees east, negative for west.

    Raises:
        ValueError: the text is not a longitude.
    """
    return _parse(text, "E", "W", 180)
