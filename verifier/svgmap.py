"""A small SVG map of a check: the legitimate sites and the statement's circles.

People would rather look than read a distance. The map is a local equirectangular
projection around the drawn circles (exact enough at the scale of sites and cells), with
a scale bar. Legitimate sites (LOC, radius ``hp/2``) are green; a statement circle is
blue when it lies inside a site and red when it does not, with a line to the nearest
site labelled with the distance. Circles too small to see at the map's scale are drawn
with a minimum size, and the label keeps the true radius.

:func:`render_map` takes one verdict or several (a demo draws the genuine statement and
an attacker's on one map), each a :class:`~verifier.verdict.Verdict` or a
:class:`MapVerdict` read back from a ``salve-verify --json`` document
(:meth:`MapVerdict.from_json`); it is pure and returns the SVG text.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final
from xml.sax.saxutils import escape

from mlp.dnsrecords import LocSite
from mlp.statement import great_circle_distance_m
from verifier.position import format_distance
from verifier.verdict import SCHEMA, Verdict

__all__ = ["MapCircle", "MapVerdict", "render_map"]

WIDTH: Final = 720
HEIGHT: Final = 520
MARGIN: Final = 60
MIN_RADIUS_PX: Final = 4.0
EARTH_RADIUS_M: Final = 6_371_008.8
_GREEN: Final = "#2e7d32"
_BLUE: Final = "#1565c0"
_RED: Final = "#c62828"


@dataclass(frozen=True, slots=True)
class MapCircle:
    """A statement circle and the legitimate site it fits best.

    Attributes:
        lat: Centre latitude, degrees.
        lon: Centre longitude, degrees.
        radius_m: Radius, metres.
        inside: Whether the whole circle lies inside ``site``.
        site: The best-fitting site (None when there is none).
    """

    lat: float
    lon: float
    radius_m: float
    inside: bool
    site: LocSite | None


@dataclass(frozen=True, slots=True)
class MapVerdict:
    """What a map draws of one check.

    Attributes:
        host: The site checked.
        outcome: ``VERIFIED``, ``REFUSED`` or ``NOT PROTECTED``.
        url: The site's URL.
        sites: Its legitimate sites (LOC).
        circles: The statement's circles, when its signature verified.
    """

    host: str
    outcome: str
    url: str
    sites: tuple[LocSite, ...]
    circles: tuple[MapCircle, ...]

    @classmethod
    def of(cls, verdict: Verdict) -> MapVerdict:
        """The map's view of a verdict."""
        fits = verdict.position.fits if verdict.position is not None else ()
        return cls(
            verdict.host,
            verdict.outcome.value,
            verdict.url,
            tuple(verdict.sites),
            tuple(
                MapCircle(f.circle.lat, f.circle.lon, f.circle.radius_m, f.inside, f.site)
                for f in fits
            ),
        )

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> MapVerdict:
        """The map's view of a ``salve-verify --json`` document (schema ``salve-verify/1``).

        Raises:
            ValueError: Not such a document, or members of the wrong kind.
        """
        if not isinstance(document, Mapping) or document.get("schema") != SCHEMA:
            raise ValueError(f"not a {SCHEMA} document (salve-verify --json)")
        try:
            sites = tuple(
                LocSite(_number(s["lat"]), _number(s["lon"]), _number(s["hp_m"]))
                for s in document["sites"]
            )
            circles = []
            position = document["position"]
            for item in position["circles"] if position is not None else ():
                index = item["site"]
                site = sites[index] if isinstance(index, int) and 0 <= index < len(sites) else None
                circles.append(
                    MapCircle(
                        _number(item["lat"]),
                        _number(item["lon"]),
                        _number(item["r"]),
                        site is not None and _number(item["margin_m"]) >= 0,
                        site,
                    )
                )
            return cls(
                str(document["host"]),
                str(document["verdict"]),
                str(document["url"]),
                sites,
                tuple(circles),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"a {SCHEMA} document with a missing or bad member ({exc})") from None


def _number(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{value!r} is not a number")
    return float(value)


@dataclass(frozen=True, slots=True)
class _Circle:
    lat: float
    lon: float
    radius_m: float
    colour: str
    label: str
    dashed: bool = False


def _circles(
    verdicts: Sequence[MapVerdict],
) -> tuple[list[_Circle], list[tuple[_Circle, LocSite]]]:
    sites: dict[tuple[float, float, float], _Circle] = {}
    drawn: list[_Circle] = []
    links: list[tuple[_Circle, LocSite]] = []
    for verdict in verdicts:
        for site in verdict.sites:
            key = (site.lat, site.lon, site.hp_m)
            sites.setdefault(
                key,
                _Circle(
                    site.lat,
                    site.lon,
                    site.hp_m / 2,
                    _GREEN,
                    f"legitimate site ±{format_distance(site.hp_m / 2)}",
                ),
            )
        for fit in verdict.circles:
            colour = _BLUE if fit.inside else _RED
            who = verdict.host if len(verdicts) == 1 else verdict.outcome.lower()
            circle = _Circle(
                fit.lat,
                fit.lon,
                fit.radius_m,
                colour,
                f"statement ({who}) ±{format_distance(fit.radius_m)}",
                dashed=not fit.inside,
            )
            drawn.append(circle)
            if not fit.inside and fit.site is not None:
                links.append((circle, fit.site))
    return [*sites.values(), *drawn], links


def _nice_length(metres: float) -> float:
    """A round length (1, 2 or 5 times a power of ten) no longer than ``metres``."""
    if metres <= 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(metres))
    for step in (5, 2, 1):
        if step * power <= metres:
            return step * power
    return power


def render_map(
    verdicts: Verdict | MapVerdict | Sequence[Verdict | MapVerdict], *, title: str | None = None
) -> str:
    """The SVG text of a map of the verdicts' sites and statement circles."""
    given = [verdicts] if isinstance(verdicts, Verdict | MapVerdict) else list(verdicts)
    many = [MapVerdict.of(v) if isinstance(v, Verdict) else v for v in given]
    circles, links = _circles(many)
    if title is None:
        first = many[0] if many else None
        title = f"{first.outcome} {first.url}" if first is not None else "SALVE"
    if not circles:
        return _document(
            title, ['<text x="20" y="80">nothing to draw: no site, no statement</text>']
        )
    lat0 = sum(c.lat for c in circles) / len(circles)
    lon0 = sum(c.lon for c in circles) / len(circles)
    cos0 = math.cos(math.radians(lat0))

    def project(lat: float, lon: float) -> tuple[float, float]:
        x = math.radians(lon - lon0) * EARTH_RADIUS_M * cos0
        y = math.radians(lat - lat0) * EARTH_RADIUS_M
        return x, y

    points = [(project(c.lat, c.lon), c.radius_m) for c in circles]
    left = min(x - r for (x, _), r in points)
    right = max(x + r for (x, _), r in points)
    bottom = min(y - r for (_, y), r in points)
    top = max(y + r for (_, y), r in points)
    span = max(right - left, top - bottom, 100.0)
    scale = min(WIDTH - 2 * MARGIN, HEIGHT - 2 * MARGIN - 40) / span
    centre_x, centre_y = (left + right) / 2, (bottom + top) / 2

    def screen(lat: float, lon: float) -> tuple[float, float]:
        x, y = project(lat, lon)
        return WIDTH / 2 + (x - centre_x) * scale, (HEIGHT + 40) / 2 - (y - centre_y) * scale

    body: list[str] = []
    placed: list[tuple[float, float, float]] = []
    for circle in circles:
        x, y = screen(circle.lat, circle.lon)
        radius = max(circle.radius_m * scale, MIN_RADIUS_PX)
        label_x, label_y = x + radius + 6, _free_line(placed, x + radius + 6, y + 4, circle.label)
        dash = ' stroke-dasharray="6 4"' if circle.dashed else ""
        body.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{radius:.1f}" fill="{circle.colour}" '
            f'fill-opacity="0.18" stroke="{circle.colour}" stroke-width="2"{dash}/>'
        )
        body.append(
            f'<path d="M{x - 5:.1f} {y:.1f}h10M{x:.1f} {y - 5:.1f}v10" stroke="{circle.colour}"/>'
        )
        body.append(
            f'<text x="{label_x:.1f}" y="{label_y:.1f}" fill="{circle.colour}">'
            f"{escape(circle.label)}</text>"
        )
    for circle, site in links:
        x1, y1 = screen(circle.lat, circle.lon)
        x2, y2 = screen(site.lat, site.lon)
        distance = great_circle_distance_m(circle.lat, circle.lon, site.lat, site.lon)
        body.append(
            f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="{_RED}" '
            'stroke-dasharray="2 4"/>'
        )
        body.append(
            f'<text x="{(x1 + x2) / 2:.1f}" y="{(y1 + y2) / 2 - 6:.1f}" fill="{_RED}" '
            f'text-anchor="middle">{escape(format_distance(distance))}</text>'
        )
    bar_m = _nice_length(span / 4)
    bar_px = bar_m * scale
    body.append(
        f'<path d="M20 {HEIGHT - 20}h{bar_px:.1f}" stroke="#333" stroke-width="3"/>'
        f'<text x="20" y="{HEIGHT - 28}" fill="#333">{escape(format_distance(bar_m))}</text>'
    )
    return _document(title, body)


# A rough width per character of the 13 px sans-serif labels, enough to tell overlaps apart.
_CHAR_WIDTH_PX: Final = 7.5
_LINE_HEIGHT_PX: Final = 16.0


def _free_line(placed: list[tuple[float, float, float]], x: float, y: float, label: str) -> float:
    """The baseline nearest below ``y`` where ``label`` at ``x`` overlaps no placed label.

    Circles often share a centre (the genuine statement sits on its site), and their labels
    would print over each other. ``placed`` holds (x, baseline, width) and gets this one.
    """
    width = len(label) * _CHAR_WIDTH_PX
    while any(
        abs(y - other_y) < _LINE_HEIGHT_PX and x < other_x + other_width and other_x < x + width
        for other_x, other_y, other_width in placed
    ):
        y += _LINE_HEIGHT_PX
    placed.append((x, y, width))
    return y


def _document(title: str, body: list[str]) -> str:
    return "\n".join(
        [
            '<?xml version="1.0" encoding="UTF-8"?>',
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
            f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="13">',
            f"<title>{escape(title)}</title>",
            f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#fafafa"/>',
            f'<text x="20" y="30" font-size="16" font-weight="bold" fill="#222">'
            f"{escape(title)}</text>",
            *body,
            "</svg>",
            "",
        ]
    )
