"""Shape values: construction checks and the decoder's answers to odd shapes."""

from __future__ import annotations

import math

import pytest

from mlp import (
    Box,
    CircularArcArea,
    CircularArea,
    EllipticalArea,
    LineString,
    MlpDecodeError,
    Msid,
    MsidRange,
    MsidType,
    MultiPoint,
    MultiPolygon,
    Point,
    Polygon,
    Position,
    ResultCode,
    Slia,
    decode_answer,
)

ORIGIN = Point(0, 0)


@pytest.mark.parametrize(
    "build",
    [
        lambda: Point(90.5, 0),
        lambda: Point(0, -180.5),
        lambda: Point(math.nan, 0),
        lambda: CircularArea(ORIGIN, -1),
        lambda: CircularArea(ORIGIN, math.inf),
        lambda: CircularArcArea(ORIGIN, 20, 10, 0, 90),
        lambda: CircularArcArea(ORIGIN, 0, 10, 0, 361),
        lambda: EllipticalArea(ORIGIN, -1, 10, 5),
        lambda: Polygon((ORIGIN, Point(1, 1))),
        lambda: Polygon((ORIGIN, Point(1, 1), Point(0, 1)), holes=((ORIGIN,),)),
        lambda: LineString((ORIGIN,)),
        lambda: MultiPoint(()),
        lambda: MultiPolygon(()),
    ],
)
def test_out_of_range_shapes_cannot_be_built(build: object) -> None:
    with pytest.raises(ValueError):
        build()  # type: ignore[operator]


def test_shapes_are_values() -> None:
    assert CircularArea(Point(1, 2), 3) == CircularArea(Point(1, 2), 3)
    assert hash(Box(ORIGIN, Point(1, 1))) == hash(Box(ORIGIN, Point(1, 1)))


def answer_with(shape_xml: str) -> bytes:
    return (
        '<svc_result ver="3.2.0"><slia ver="3.0.0"><pos><msid>46701234567</msid><pd>'
        f'<time utc_off="+0000">20240101000000</time><shape>{shape_xml}</shape>'
        "</pd></pos></slia></svc_result>"
    ).encode()


def only_shape(body: bytes) -> object:
    answer = decode_answer(body)
    assert isinstance(answer, Slia)
    (position,) = answer.positions
    assert isinstance(position, Position)
    return position.shape


COORD = "<coord><X>10 00 00.000N</X><Y>20 00 00.000E</Y></coord>"


def test_radians_are_converted_to_degrees() -> None:
    shape = only_shape(
        answer_with(
            f"<EllipticalArea>{COORD}<angle>{math.pi / 2}</angle><semiMajor>10</semiMajor>"
            "<semiMinor>5</semiMinor><angularUnit>Radians</angularUnit></EllipticalArea>"
        )
    )
    assert isinstance(shape, EllipticalArea)
    assert shape.angle_deg == pytest.approx(90)


def test_bare_linear_ring_is_a_polygon() -> None:
    ring = "".join(
        f"<coord><X>{lat}</X><Y>{lon}</Y></coord>" for lat, lon in [(1, 1), (1, 2), (2, 2)]
    )
    shape = only_shape(answer_with(f"<LinearRing>{ring}</LinearRing>"))
    assert shape == Polygon((Point(1, 1), Point(1, 2), Point(2, 2)))


def test_decimal_radius_is_accepted() -> None:
    shape = only_shape(answer_with(f"<CircularArea>{COORD}<radius>750.5</radius></CircularArea>"))
    assert shape == CircularArea(Point(10, 20), 750.5)


@pytest.mark.parametrize(
    ("shape_xml", "code", "fragment"),
    [
        (f"<CircularArea>{COORD}<radius>-5</radius></CircularArea>", 110, "CircularArea"),
        (f"<CircularArea>{COORD}<radius>5e3</radius></CircularArea>", 105, "radius"),
        (
            f"<CircularArea>{COORD}<radius>5</radius><distanceUnit>surveyfoot</distanceUnit>"
            "</CircularArea>",
            112,
            "distanceUnit",
        ),
        (
            f"<CircularArcArea>{COORD}<inRadius>9</inRadius><outRadius>5</outRadius>"
            "<startAngle>0</startAngle><stopAngle>5</stopAngle></CircularArcArea>",
            110,
            "CircularArcArea",
        ),
        ("<Point><coord><X>91 00 00N</X><Y>0E</Y></coord></Point>", 105, "coord/X"),
        ("<Point><coord><X>1N</X><Y>1N</Y></coord></Point>", 105, "coord/Y"),
        ("<Point><coord><X>1N</X></coord></Point>", 106, "coord/Y"),
        ("<Point><coord><X>1N</X><Y>1E</Y><Zone>32</Zone></coord></Point>", 107, "Zone"),
        ("<MultiLineString/>", 107, "MultiLineString"),
        ("<Box><coord><X>1N</X><Y>1E</Y></coord></Box>", 106, "Box/coord"),
        ("", 106, "shape"),
        (f"<Point>{COORD}</Point><Point>{COORD}</Point>", 106, "shape"),
    ],
)
def test_bad_shapes(shape_xml: str, code: int, fragment: str) -> None:
    with pytest.raises(MlpDecodeError) as caught:
        decode_answer(answer_with(shape_xml))
    assert caught.value.result_code == ResultCode(code)
    assert fragment in caught.value.add_info


def test_msid_range_checks_its_ends() -> None:
    assert len(MsidRange(Msid("0098"), Msid("0101"))) == 4
    for start, stop in [("0101", "0098"), ("98", "0101"), ("abc", "abd"), ("١٢", "١٣")]:
        with pytest.raises(ValueError):
            MsidRange(Msid(start), Msid(stop))
    with pytest.raises(ValueError):
        MsidRange(Msid("10"), Msid("11", MsidType.IMSI))
