"""Encoding answers and requests: exact bytes, DTD structure, shapes, refusals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from lxml import etree

from mlp import (
    Box,
    CircularArcArea,
    CircularArea,
    Client,
    EllipticalArea,
    Eqop,
    Gem,
    GeoInfo,
    Header,
    LineString,
    LocationRequest,
    LocType,
    MlpEncodeError,
    Msid,
    MsidRange,
    MsidType,
    MultiPoint,
    MultiPolygon,
    Point,
    Polygon,
    Position,
    PositionError,
    Prio,
    Requestor,
    RespReq,
    ResType,
    ResultCode,
    Shape,
    Slia,
    Slir,
    Subclient,
    decode_answer,
    decode_request,
    encode_gem,
    encode_request,
    encode_slia,
)

DTD_DIR = Path(__file__).resolve().parents[2] / "data" / "mlp" / "dtd"
CET = timezone(timedelta(hours=1))
WHEN = datetime(2024, 6, 11, 9, 30, 15, tzinfo=CET)
TARGET = Msid("46701234567")
ZURICH = Point(47.376666666666665, 8.54)
MAS = 1 / 3_600_000


def assert_valid(document: bytes, dtd_name: str) -> None:
    dtd = etree.DTD(str(DTD_DIR / dtd_name))
    root = etree.fromstring(document, etree.XMLParser(resolve_entities=False, no_network=True))
    assert dtd.validate(root), str(dtd.error_log)


def test_typical_slia_bytes_are_exact() -> None:
    slia = Slia(
        positions=(Position(TARGET, WHEN, CircularArea(ZURICH, 750.0), 68, "eyJh.eyJi.c2ln"),)
    )
    assert encode_slia(slia) == (
        b'<?xml version="1.0" encoding="UTF-8"?>\n'
        b'<!DOCTYPE svc_result SYSTEM "MLP_SVC_RESULT_320.DTD">\n'
        b'<svc_result ver="3.2.0"><slia ver="3.0.0"><pos><msid type="MSISDN">46701234567</msid>'
        b'<pd><time utc_off="+0100">20240611093015</time><shape>'
        b'<CircularArea srsName="www.epsg.org#4326"><coord><X>47 22 36.000N</X>'
        b"<Y>8 32 24.000E</Y></coord><radius>750</radius></CircularArea></shape>"
        b"<lev_conf>68</lev_conf></pd>"
        b'<salve:statement xmlns:salve="urn:salve:mlp:1">eyJh.eyJi.c2ln</salve:statement>'
        b"</pos></slia></svc_result>\n"
    )
    assert b"<!DOCTYPE" not in encode_slia(slia, doctype=False)


def test_gem_bytes_are_exact_and_valid() -> None:
    gem = Gem(ResultCode.SERVICE_NOT_SUPPORTED, "'tlrr' is not supported")
    document = encode_gem(gem)
    assert document == (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<gem ver="3.2.0"><result resid="108">'
        b"SERVICE NOT SUPPORTED</result><add_info>'tlrr' is not supported</add_info></gem>\n"
    )
    assert_valid(document, "gem_32.dtd")
    assert decode_answer(document) == gem


ALL_SHAPES: list[Shape] = [
    ZURICH,
    CircularArea(ZURICH, 750),
    CircularArcArea(ZURICH, 100, 1720, 266.0, 86.5),
    EllipticalArea(ZURICH, 35.25, 400, 200),
    Polygon(
        (Point(47.0, 8.0), Point(47.1, 8.0), Point(47.1, 8.2), Point(47.0, 8.0)),
        holes=((Point(47.01, 8.01), Point(47.02, 8.01), Point(47.02, 8.02)),),
    ),
    Box(Point(-33.9, 151.1), Point(-33.8, 151.3)),
    LineString((Point(0.5, -0.5), Point(-0.5, 179.9))),
    MultiPoint((Point(1.0, 2.0), Point(-1.0, -2.0))),
    MultiPolygon(
        (
            CircularArea(Point(10, 10), 5),
            Box(Point(1, 1), Point(2, 2)),
            Polygon((Point(0, 0), Point(0, 1), Point(1, 1))),
            CircularArcArea(Point(3, 3), 0, 10, 0, 90),
            EllipticalArea(Point(4, 4), 0, 20, 10),
        )
    ),
]


def points_of(shape: object) -> list[Point]:
    if isinstance(shape, Point):
        return [shape]
    found: list[Point] = []
    for name in getattr(shape, "__slots__", ()):
        value = getattr(shape, name)
        values = value if isinstance(value, tuple) else (value,)
        for item in values:
            if isinstance(item, tuple):
                for inner in item:
                    found.extend(points_of(inner))
            elif not isinstance(item, int | float | str):
                found.extend(points_of(item))
    return found


@pytest.mark.parametrize("shape", ALL_SHAPES, ids=lambda shape: type(shape).__name__)
def test_every_shape_is_valid_and_round_trips(shape: Shape) -> None:
    document = encode_slia(Slia(positions=(Position(TARGET, WHEN, shape, 90),)))
    assert_valid(document, "svc_result_32.dtd")
    answer = decode_answer(document)
    assert isinstance(answer, Slia)
    (position,) = answer.positions
    assert isinstance(position, Position)
    assert type(position.shape) is type(shape)
    before, after = points_of(shape), points_of(position.shape)
    assert len(before) == len(after) > 0
    for original, decoded in zip(before, after, strict=True):
        assert abs(original.lat - decoded.lat) <= MAS
        assert abs(original.lon - decoded.lon) <= MAS
    assert position.time == WHEN
    assert position.lev_conf == 90


def test_distances_are_whole_metres_rounded_outwards() -> None:
    shape = CircularArcArea(ZURICH, 10.7, 1720.2, 0, 45)
    document = encode_slia(Slia(positions=(Position(TARGET, WHEN, shape),)))
    assert b"<inRadius>10</inRadius><outRadius>1721</outRadius>" in document
    noise = encode_slia(
        Slia(positions=(Position(TARGET, WHEN, CircularArea(ZURICH, 750.0000001)),))
    )
    assert b"<radius>750</radius>" in noise
    ellipse = EllipticalArea(ZURICH, 0, 99.01, 0.0)
    document = encode_slia(Slia(positions=(Position(TARGET, WHEN, ellipse),)))
    assert b"<semiMajor>100</semiMajor><semiMinor>0</semiMinor>" in document


def test_mixed_answer_is_valid_and_round_trips() -> None:
    slia = Slia(
        positions=(
            Position(TARGET, WHEN, CircularArea(ZURICH, 500), 68, "a.b.c"),
            PositionError(
                Msid("240011234567890", MsidType.IMSI),
                ResultCode.ABSENT_SUBSCRIBER,
                'no "signal" <&>',
                datetime(2024, 6, 11, 8, 30, 15, tzinfo=UTC),
            ),
        )
    )
    document = encode_slia(slia)
    assert_valid(document, "svc_result_32.dtd")
    assert decode_answer(document) == slia


@pytest.mark.parametrize(
    "slia",
    [
        Slia(result=ResultCode.UNAUTHORIZED_APPLICATION, add_info="wrong login"),
        Slia(result=ResultCode.SYSTEM_FAILURE),
        Slia(req_id="25267"),
    ],
)
def test_request_level_forms_are_valid_and_round_trip(slia: Slia) -> None:
    document = encode_slia(slia)
    assert_valid(document, "svc_result_32.dtd")
    assert decode_answer(document) == slia


@pytest.mark.parametrize(
    ("slia", "message"),
    [
        (Slia(), "exactly one"),
        (Slia(positions=(Position(TARGET, WHEN, ZURICH),), result=ResultCode.OK), "exactly one"),
        (Slia(req_id="1", add_info="x"), "add_info"),
        (Slia(positions=(Position(TARGET, datetime(2024, 1, 1), ZURICH),)), "timezone"),
        (Slia(positions=(PositionError(TARGET, ResultCode.UNKNOWN_SUBSCRIBER),)), "time"),
        (Slia(positions=(Position(TARGET, WHEN, ZURICH, lev_conf=101),)), "lev_conf"),
        (Slia(result=ResultCode.SYSTEM_FAILURE, add_info="bell\x07"), "cannot carry"),
        (Slia(result=ResultCode.SYSTEM_FAILURE, ver="4.0.0"), "3.x"),
        (Slia(positions=(Position(Msid(""), WHEN, ZURICH),)), "msid"),
    ],
)
def test_encode_refuses(slia: Slia, message: str) -> None:
    with pytest.raises(MlpEncodeError, match=message):
        encode_slia(slia)


def test_gem_refuses_unknown_code() -> None:
    with pytest.raises(MlpEncodeError):
        encode_gem(Gem(999))  # type: ignore[arg-type]


FULL_REQUEST = LocationRequest(
    header=Header(
        client=Client("acme", "pw&<", "0005", "ACTIVE"),
        sessionid="s-1",
        requestor="46709999999",
        subclient=(Subclient("reseller", "rp", "7"), Subclient("asp", last_client=True)),
        requestor_detail=Requestor("46709999999", "0005", "MSISDN"),
    ),
    slir=Slir(
        msids=(Msid("46701234567"), Msid("240011234567890", MsidType.IMSI)),
        msid_ranges=(MsidRange(Msid("46700000010"), Msid("46700000011")),),
        codewords=("cw1", "cw2", "r1", "r2"),
        eqop=Eqop(RespReq.LOW_DELAY, 20, 500, 50, 60, qos_class="BEST_EFFORT"),
        geo_info=GeoInfo(4326, "EPSG", "6.1"),
        loc_type=LocType.CURRENT_OR_LAST,
        prio=Prio.HIGH,
        pushaddr="https://client.example/push?a=1&b=2",
        res_type=ResType.ASYNC,
        req_id="ref-1",
        domain="www.example.com",
        session_hash=bytes(range(32)),
        batch_size=12,
    ),
)


def test_request_is_valid_and_round_trips() -> None:
    document = encode_request(FULL_REQUEST)
    assert_valid(document, "svc_init_32.dtd")
    assert document.rstrip().endswith(
        b'<salve:domain xmlns:salve="urn:salve:mlp:1">www.example.com</salve:domain>'
        b'<salve:session_hash xmlns:salve="urn:salve:mlp:1">'
        b"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8</salve:session_hash>"
        b'<salve:batch_size xmlns:salve="urn:salve:mlp:1">12</salve:batch_size></slir></svc_init>'
    )
    assert decode_request(document) == FULL_REQUEST


HEADER = Header(client=Client("c"))


def test_minimal_request_bytes() -> None:
    request = LocationRequest(Header(client=Client("acme", "pw")), Slir(msids=(TARGET,)))
    assert encode_request(request, doctype=False) == (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<svc_init ver="3.2.0"><hdr ver="3.2.0">'
        b'<client><id>acme</id><pwd>pw</pwd></client></hdr><slir ver="3.2.0"><msids>'
        b'<msid type="MSISDN">46701234567</msid></msids></slir></svc_init>\n'
    )


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (LocationRequest(Header(), Slir(msids=(TARGET,))), "client or a sessionid"),
        (LocationRequest(Header(client=Client("c")), Slir()), "target"),
        (
            LocationRequest(
                Header(client=Client("c")), Slir(msids=(TARGET,), codewords=("a", "b"))
            ),
            "codewords",
        ),
        (
            LocationRequest(Header(client=Client("c")), Slir(msids=(TARGET,), session_hash=b"x")),
            "32 bytes",
        ),
        (
            LocationRequest(HEADER, Slir(msids=(TARGET,), domain="WWW.example.com")),
            "salve:domain",
        ),
        (LocationRequest(HEADER, Slir(msids=(TARGET,), batch_size=2)), "needs a session hash"),
        (
            LocationRequest(
                HEADER, Slir(msids=(TARGET,), session_hash=bytes(32), batch_size=65537)
            ),
            "batch_size",
        ),
        (
            LocationRequest(
                Header(client=Client("c")), Slir(msids=(TARGET,), eqop=Eqop(hor_acc=-1))
            ),
            "hor_acc",
        ),
        (LocationRequest(Header(client=Client("c\x00")), Slir(msids=(TARGET,))), "cannot carry"),
    ],
)
def test_request_encode_refuses(request_: LocationRequest, message: str) -> None:
    with pytest.raises(MlpEncodeError, match=message):
        encode_request(request_)
