"""Decode the GML shapes of MLP positions (the shapes of OMA MLP 3.x §5.3, its shape DTD).

Point, LineString, Polygon (with its LinearRing boundaries), Box, CircularArea,
CircularArcArea, EllipticalArea, MultiPoint and MultiPolygon become :mod:`mlp.shapes`
values; MultiLineString is recognised but not supported (107). Distances are metres only
(112 otherwise), and values the shape classes refuse (a negative radius...) are 110.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from mlp.codes import ResultCode
from mlp.coords import parse_latitude, parse_longitude
from mlp.shapes import (
    AreaShape,
    Box,
    CircularArcArea,
    CircularArea,
    EllipticalArea,
    LineString,
    MultiPoint,
    MultiPolygon,
    Point,
    Polygon,
    Shape,
)
from mlp.xmlwalk import (
    Element,
    Walker,
    decimal_value,
    element_text,
    fail,
    need_child,
    one_child,
    safe_name,
)

__all__ = ["decode_shape"]

_SHAPE_NAMES = frozenset(
    {
        "Point",
        "LineString",
        "Polygon",
        "Box",
        "CircularArea",
        "CircularArcArea",
        "EllipticalArea",
        "MultiLineString",
        "MultiPoint",
        "MultiPolygon",
        "LinearRing",
    }
)
_METRE_UNITS = frozenset({"METER", "METRE", "METERS", "METRES", "M"})


def decode_shape(walker: Walker, element: Element, path: str) -> Shape:
    members = [child for child in element if walker.name(child) in _SHAPE_NAMES]
    if len(members) != 1:
        raise fail(ResultCode.SYNTAX_ERROR, path, "needs exactly one shape")
    return _decode_shape_element(walker, members[0], path)


def _decode_shape_element(walker: Walker, element: Element, parent: str) -> Shape:
    name = walker.name(element)
    decoder = _SHAPE_DECODERS.get(name)
    if decoder is None:
        raise fail(
            ResultCode.PROTOCOL_ELEMENT_NOT_SUPPORTED,
            f"{parent}/{safe_name(name)}",
            "not supported",
        )
    path = f"{parent}/{name}"
    try:
        return decoder(walker, element, path)
    except ValueError:
        # Raised by the shape classes for out-of-range values (negative radius...).
        raise fail(ResultCode.INVALID_PROTOCOL_ELEMENT_VALUE, path, "value out of range") from None


def _decode_coord(walker: Walker, element: Element, path: str) -> Point:
    groups = walker.children(element)
    if "Zone" in groups or "Hemisphere" in groups:
        raise fail(ResultCode.PROTOCOL_ELEMENT_NOT_SUPPORTED, f"{path}/Zone", "UTM not supported")
    x_element = need_child(groups, "X", path)
    y_element = need_child(groups, "Y", path)
    try:
        lat = parse_latitude(element_text(x_element, f"{path}/X"))
    except ValueError:
        raise fail(ResultCode.FORMAT_ERROR, f"{path}/X", "not a latitude") from None
    try:
        lon = parse_longitude(element_text(y_element, f"{path}/Y"))
    except ValueError:
        raise fail(ResultCode.FORMAT_ERROR, f"{path}/Y", "not a longitude") from None
    return Point(lat, lon)


def _coords(walker: Walker, element: Element, path: str, minimum: int) -> tuple[Point, ...]:
    points = tuple(
        _decode_coord(walker, child, f"{path}/coord")
        for child in element
        if walker.name(child) == "coord"
    )
    if len(points) < minimum:
        raise fail(ResultCode.SYNTAX_ERROR, f"{path}/coord", f"at least {minimum} needed")
    return points


def _center(walker: Walker, groups: dict[str, list[Element]], path: str) -> Point:
    return _decode_coord(walker, need_child(groups, "coord", path), f"{path}/coord")


def _distance(groups: dict[str, list[Element]], name: str, path: str) -> float:
    value = decimal_value(need_child(groups, name, path), f"{path}/{name}")
    unit_element = one_child(groups, "distanceUnit", path)
    if unit_element is not None:
        unit = element_text(unit_element, f"{path}/distanceUnit").upper()
        if unit and unit not in _METRE_UNITS:
            raise fail(
                ResultCode.PROTOCOL_ELEMENT_VALUE_NOT_SUPPORTED,
                f"{path}/distanceUnit",
                "only metres supported",
            )
    return value


def _angle(groups: dict[str, list[Element]], name: str, path: str) -> float:
    value = decimal_value(need_child(groups, name, path), f"{path}/{name}")
    unit_element = one_child(groups, "angularUnit", path)
    if unit_element is not None:
        unit = element_text(unit_element, f"{path}/angularUnit").upper()
        if unit == "RADIANS":
            return math.degrees(value)
        if unit and unit != "DEGREES":
            raise fail(
                ResultCode.PROTOCOL_ELEMENT_VALUE_NOT_SUPPORTED,
                f"{path}/angularUnit",
                "only Degrees or Radians",
            )
    return value


def _decode_point(walker: Walker, element: Element, path: str) -> Point:
    return _center(walker, walker.children(element), path)


def _decode_circle(walker: Walker, element: Element, path: str) -> CircularArea:
    groups = walker.children(element)
    return CircularArea(_center(walker, groups, path), _distance(groups, "radius", path))


def _decode_arc(walker: Walker, element: Element, path: str) -> CircularArcArea:
    groups = walker.children(element)
    return CircularArcArea(
        _center(walker, groups, path),
        _distance(groups, "inRadius", path),
        _distance(groups, "outRadius", path),
        _angle(groups, "startAngle", path),
        _angle(groups, "stopAngle", path),
    )


def _decode_ellipse(walker: Walker, element: Element, path: str) -> EllipticalArea:
    groups = walker.children(element)
    return EllipticalArea(
        _center(walker, groups, path),
        _angle(groups, "angle", path),
        _distance(groups, "semiMajor", path),
        _distance(groups, "semiMinor", path),
    )


def _ring(walker: Walker, boundary: Element, path: str) -> tuple[Point, ...]:
    ring = need_child(walker.children(boundary), "LinearRing", path)
    return _coords(walker, ring, f"{path}/LinearRing", 3)


def _decode_polygon(walker: Walker, element: Element, path: str) -> Polygon:
    groups = walker.children(element)
    outer = need_child(groups, "outerBoundaryIs", path)
    holes = tuple(
        _ring(walker, inner, f"{path}/innerBoundaryIs")
        for inner in groups.get("innerBoundaryIs", ())
    )
    return Polygon(_ring(walker, outer, f"{path}/outerBoundaryIs"), holes)


def _decode_linear_ring(walker: Walker, element: Element, path: str) -> Polygon:
    # MLP 3.4+ allows a bare LinearRing as a shape; it bounds the same area.
    return Polygon(_coords(walker, element, path, 3))


def _decode_box(walker: Walker, element: Element, path: str) -> Box:
    corners = _coords(walker, element, path, 2)
    if len(corners) != 2:
        raise fail(ResultCode.SYNTAX_ERROR, f"{path}/coord", "exactly 2 needed")
    return Box(corners[0], corners[1])


def _decode_line(walker: Walker, element: Element, path: str) -> LineString:
    return LineString(_coords(walker, element, path, 2))


def _decode_multipoint(walker: Walker, element: Element, path: str) -> MultiPoint:
    points = tuple(
        _decode_point(walker, child, f"{path}/Point")
        for child in element
        if walker.name(child) == "Point"
    )
    if not points:
        raise fail(ResultCode.SYNTAX_ERROR, f"{path}/Point", "at least 1 needed")
    return MultiPoint(points)


_AREA_NAMES = frozenset({"Polygon", "Box", "CircularArea", "CircularArcArea", "EllipticalArea"})


def _decode_multipolygon(walker: Walker, element: Element, path: str) -> MultiPolygon:
    members: list[AreaShape] = []
    for child in element:
        if walker.name(child) in _AREA_NAMES:
            member = _decode_shape_element(walker, child, path)
            assert isinstance(
                member, Polygon | Box | CircularArea | CircularArcArea | EllipticalArea
            )
            members.append(member)
    if not members:
        raise fail(ResultCode.SYNTAX_ERROR, path, "at least one area needed")
    return MultiPolygon(tuple(members))


_SHAPE_DECODERS: dict[str, Callable[[Walker, Element, str], Shape]] = {
    "Point": _decode_point,
    "CircularArea": _decode_circle,
    "CircularArcArea": _decode_arc,
    "EllipticalArea": _decode_ellipse,
    "Polygon": _decode_polygon,
    "LinearRing": _decode_linear_ring,
    "Box": _decode_box,
    "LineString": _decode_line,
    "MultiPoint": _decode_multipoint,
    "MultiPolygon": _decode_multipolygon,
}
