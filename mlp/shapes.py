"""MLP shapes (MLP §5.3 "shape"; the 3GPP TS 23.032 GAD shapes map onto them).

All coordinates are WGS84 (EPSG:4326) in decimal degrees, latitude first, because
MLP's X axis is latitude and Y is longitude in that reference system. Distances are
metres and angles are degrees clockwise from north. Every class checks its values
on construction and raises ``ValueError`` for anything out of range, so a shape that
exists can always be written.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = [
    "AreaShape",
    "Box",
    "CircularArcArea",
    "CircularArea",
    "EllipticalArea",
    "LineString",
    "MultiPoint",
    "MultiPolygon",
    "Point",
    "Polygon",
    "Shape",
]


def _check_distance(name: str, value: float) -> None:
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite distance >= 0 m, got {value!r}")


def _check_angle(name: str, value: float, upper: float) -> None:
    if not math.isfinite(value) or not 0 <= value <= upper:
        raise ValueError(f"{name} must lie in [0, {upper:g}] degrees, got {value!r}")


@dataclass(frozen=True, slots=True)
class Point:
    """A WGS84 position.

    Attributes:
        lat: latitude in degrees, -90 to 90 (MLP ``X``).
        lon: longitude in degrees, -180 to 180 (MLP ``Y``).
    """

    lat: float
    lon: float

    def __post_init__(self) -> None:
        if not math.isfinite(self.lat) or not -90 <= self.lat <= 90:
            raise ValueError(f"latitude must lie in [-90, 90], got {self.lat!r}")
        if not math.isfinite(self.lon) or not -180 <= self.lon <= 180:
            raise ValueError(f"longitude must lie in [-180, 180], got {self.lon!r}")


@dataclass(frozen=True, slots=True)
class CircularArea:
    """A circle around a point (GAD "ellipsoid point with uncertainty circle").

    Attributes:
        center: the centre.
        radius_m: the radius in metres.
    """

    center: Point
    radius_m: float

    def __post_init__(self) -> None:
        _check_distance("radius_m", self.radius_m)


@dataclass(frozen=True, slots=True)
class CircularArcArea:
    """A ring sector (GAD "ellipsoid arc").

    Attributes:
        center: the centre of the ring.
        in_radius_m: inner radius in metres.
        out_radius_m: outer radius in metres, not smaller than the inner one.
        start_angle_deg: where the sector starts, degrees clockwise from north.
        stop_angle_deg: where it stops, degrees clockwise from north.
    """

    center: Point
    in_radius_m: float
    out_radius_m: float
    start_angle_deg: float
    stop_angle_deg: float

    def __post_init__(self) -> None:
        _check_distance("in_radius_m", self.in_radius_m)
        _check_distance("out_radius_m", self.out_radius_m)
        if self.in_radius_m > self.out_radius_m:
            raise ValueError("in_radius_m must not exceed out_radius_m")
        _check_angle("start_angle_deg", self.start_angle_deg, 360)
        _check_angle("stop_angle_deg", self.stop_angle_deg, 360)


@dataclass(frozen=True, slots=True)
class EllipticalArea:
    """An ellipse around a point (GAD "ellipsoid point with uncertainty ellipse").

    Attributes:
        center: the centre.
        angle_deg: orientation of the semi-major axis, degrees clockwise from north.
        semi_major_m: semi-major axis in metres.
        semi_minor_m: semi-minor axis in metres.
    """

    center: Point
    angle_deg: float
    semi_major_m: float
    semi_minor_m: float

    def __post_init__(self) -> None:
        _check_angle("angle_deg", self.angle_deg, 360)
        _check_distance("semi_major_m", self.semi_major_m)
        _check_distance("semi_minor_m", self.semi_minor_m)


@dataclass(frozen=True, slots=True)
class Polygon:
    """An area bounded by a ring of points (MLP ``Polygon`` of ``LinearRing``).

    Attributes:
        points: the outer boundary, at least three points; whether the first point is
            repeated at the end is kept as given.
        holes: inner boundaries, each at least three points (not allowed for basic
            services by 23.032, but part of MLP).
    """

    points: tuple[Point, ...]
    holes: tuple[tuple[Point, ...], ...] = ()

    def __post_init__(self) -> None:
        if len(self.points) < 3:
            raise ValueError("a polygon needs at least three points")
        if any(len(hole) < 3 for hole in self.holes):
            raise ValueError("every polygon hole needs at least three points")


@dataclass(frozen=True, slots=True)
class Box:
    """A latitude/longitude rectangle.

    Attributes:
        min_corner: the first ``coord`` (south-west corner).
        max_corner: the second ``coord`` (north-east corner).
    """

    min_corner: Point
    max_corner: Point


@dataclass(frozen=True, slots=True)
class LineString:
    """A path through at least two points."""

    points: tuple[Point, ...]

    def __post_init__(self) -> None:
        if len(self.points) < 2:
            raise ValueError("a line string needs at least two points")


@dataclass(frozen=True, slots=True)
class MultiPoint:
    """A collection of points (not valid for MLP basic services)."""

    points: tuple[Point, ...]

    def __post_init__(self) -> None:
        if not self.points:
            raise ValueError("a multi-point needs at least one point")


#: The shapes a MultiPolygon may hold.
AreaShape = Polygon | Box | CircularArea | CircularArcArea | EllipticalArea


@dataclass(frozen=True, slots=True)
class MultiPolygon:
    """A collection of areas (not valid for MLP basic services).

    Attributes:
        members: polygons, boxes, circles, arcs or ellipses, at least one.
    """

    members: tuple[AreaShape, ...]

    def __post_init__(self) -> None:
        if not self.members:
            raise ValueError("a multi-polygon needs at least one member")


Shape = (
    Point
    | CircularArea
    | CircularArcArea
    | EllipticalArea
    | Polygon
    | Box
    | LineString
    | MultiPoint
    | MultiPolygon
)
