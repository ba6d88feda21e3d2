"""The position check: do the statement's circles lie within the site's legitimate sites?

A LOC record's ``hp`` is the *diameter* of a legitimate site; a statement circle (centre,
radius ``r``) lies inside a site when ``haversine(centre, site) + r <= hp / 2``
(:meth:`mlp.dnsrecords.LocSite.covers`). The policy's mode decides what must hold:

* ``one``: every circle of the statement lies inside at least one site (a statement
  normally places one SIM, so: any site will do);
* ``all``: the statement lists one circle per SIM of the service (``pos`` is a list),
  every circle lies inside at least one site, *and* every site contains at least one
  circle, so a statement that leaves a legitimate site unattested is refused (the
  paper's defence against an attacker co-located with some of the data centres).

A single circle (``pos`` an object) under mode ``all`` is refused: the GMLC, configured
for the mode, always writes a list.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from mlp.dnsrecords import LocSite, PolicyMode
from mlp.statement import StatementPosition, great_circle_distance_m

__all__ = [
    "CircleFit",
    "PositionCheck",
    "check_position",
    "format_distance",
    "format_site",
]


def format_distance(metres: float) -> str:
    """A distance for people: ``850 m``, ``1 km``, ``1.2 km``, ``305 km``."""
    metres = abs(metres)
    if metres < 1000:
        return f"{metres:.0f} m"
    if metres < 10_000:
        return f"{metres / 1000:.1f}".removesuffix(".0") + " km"
    return f"{metres / 1000:.0f} km"


def format_site(site: LocSite) -> str:
    """A site for people: ``47.3767°N 8.5400°E, ±1 km``."""
    north = "N" if site.lat >= 0 else "S"
    east = "E" if site.lon >= 0 else "W"
    return (
        f"{abs(site.lat):.4f}°{north} {abs(site.lon):.4f}°{east}, ±{format_distance(site.hp_m / 2)}"
    )


@dataclass(frozen=True, slots=True)
class CircleFit:
    """One statement circle and the site it fits best.

    Attributes:
        circle: The circle.
        site: The site with the largest margin (None when there is no site).
        distance_m: Centre-to-centre distance to that site.
        margin_m: How far inside the site the circle lies (negative: outside).
    """

    circle: StatementPosition
    site: LocSite | None
    distance_m: float
    margin_m: float

    @property
    def inside(self) -> bool:
        """Whether the whole circle lies inside the site."""
        return self.site is not None and self.margin_m >= 0


@dataclass(frozen=True, slots=True)
class PositionCheck:
    """The outcome of the position check.

    Attributes:
        mode: The policy's mode.
        fits: Each circle with its best site.
        unattested: Sites no circle lies in (they matter in mode ``all``).
        ok: Whether the position is accepted.
        reason: Why not, in plain words (empty when accepted).
        code: A reason code (empty when accepted).
    """

    mode: PolicyMode
    fits: tuple[CircleFit, ...]
    unattested: tuple[LocSite, ...]
    ok: bool
    reason: str = ""
    code: str = ""


def _fit(circle: StatementPosition, sites: Sequence[LocSite]) -> CircleFit:
    best: CircleFit | None = None
    for site in sites:
        margin = site.margin_m(circle.lat, circle.lon, circle.radius_m)
        if best is None or margin > best.margin_m:
            distance = great_circle_distance_m(site.lat, site.lon, circle.lat, circle.lon)
            best = CircleFit(circle, site, distance, margin)
    return best or CircleFit(circle, None, float("inf"), float("-inf"))


def _outside_reason(fit: CircleFit) -> str:
    assert fit.site is not None
    half = fit.site.hp_m / 2
    where = f"the nearest legitimate site ({format_site(fit.site)})"
    if fit.distance_m > half:
        return f"position {format_distance(fit.distance_m)} from {where}"
    return (
        f"position {format_distance(fit.distance_m)} from the centre of {where}, but its "
        f"uncertainty of ±{format_distance(fit.circle.radius_m)} reaches "
        f"{format_distance(-fit.margin_m)} beyond it"
    )


def check_position(
    positions: StatementPosition | tuple[StatementPosition, ...],
    sites: Sequence[LocSite],
    mode: PolicyMode,
) -> PositionCheck:
    """Check a statement's ``pos`` against the legitimate sites under the policy's mode."""
    circles = positions if isinstance(positions, tuple) else (positions,)
    fits = tuple(_fit(circle, sites) for circle in circles)
    unattested = tuple(
        site for site in sites if not any(site.covers(c.lat, c.lon, c.radius_m) for c in circles)
    )
    if not sites:
        return PositionCheck(
            mode,
            fits,
            (),
            False,
            "the site publishes no legitimate location (LOC)",
            "position.no_sites",
        )
    if mode == "all" and not isinstance(positions, tuple):
        return PositionCheck(
            mode,
            fits,
            unattested,
            False,
            "the policy requires every site to be attested (mode all), but the statement "
            "places a single SIM",
            "position.mode",
        )
    outside = next((fit for fit in fits if not fit.inside), None)
    if outside is not None:
        return PositionCheck(
            mode, fits, unattested, False, _outside_reason(outside), "position.outside"
        )
    if mode == "all" and unattested:
        return PositionCheck(
            mode,
            fits,
            unattested,
            False,
            f"no position in the statement lies in the legitimate site "
            f"({format_site(unattested[0])}); the policy requires every site (mode all)",
            "position.unattested",
        )
    return PositionCheck(mode, fits, unattested, True)
