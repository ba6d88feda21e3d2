"""OMA MLP 3.x codec and the SALVE wire formats (location statements, observation reports).

This module re-exports the codec: typed messages, shapes, result codes, errors, and
the pure functions that turn bytes into messages and back. Statements, keys,
observation reports and the HTTP client are used as ``mlp.statement``, ``mlp.keys``,
``mlp.observation`` and ``mlp.client``.
"""

from mlp.codes import LocType, MsidEncoding, MsidType, Prio, RespReq, ResType, ResultCode
from mlp.decoder import decode_answer, decode_request
from mlp.encoder import encode_gem, encode_request, encode_slia
from mlp.errors import MlpDecodeError, MlpEncodeError, MlpError, MlpUnknownServiceError
from mlp.model import (
    SALVE_NS,
    Client,
    Eqop,
    Gem,
    GeoInfo,
    Header,
    LocationRequest,
    Msid,
    MsidRange,
    Position,
    PositionError,
    Requestor,
    Slia,
    Slir,
    Subclient,
)
from mlp.shapes import (
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

__all__ = [
    "SALVE_NS",
    "Box",
    "CircularArcArea",
    "CircularArea",
    "Client",
    "EllipticalArea",
    "Eqop",
    "Gem",
    "GeoInfo",
    "Header",
    "LineString",
    "LocType",
    "LocationRequest",
    "MlpDecodeError",
    "MlpEncodeError",
    "MlpError",
    "MlpUnknownServiceError",
    "Msid",
    "MsidEncoding",
    "MsidRange",
    "MsidType",
    "MultiPoint",
    "MultiPolygon",
    "Point",
    "Polygon",
    "Position",
    "PositionError",
    "Prio",
    "Requestor",
    "ResType",
    "RespReq",
    "ResultCode",
    "Shape",
    "Slia",
    "Slir",
    "Subclient",
    "decode_answer",
    "decode_request",
    "encode_gem",
    "encode_request",
    "encode_slia",
]
