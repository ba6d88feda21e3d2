"""Encode typed MLP messages as documents in the MLP 3.2 dialect.

Answers are what deployed 3.2 location servers send: ``svc_result ver="3.2.0"``
wrapping ``slia ver="3.0.0"`` (the 3.1 DTD set fixes ``slia``'s version at 3.0.0,
and 3.2 servers in the field keep that pair), a ``SYSTEM "MLP_SVC_RESULT_320.DTD"``
DOCTYPE unless asked not to, children in DTD order, exact result slogans, DMSH
coordinates, and distances in whole metres. Requests are ``svc_init`` with
``SYSTEM "MLP_SVC_INIT_320.DTD"``. The ``gem`` carries no DOCTYPE: no DTD file
name for it is common to the 3.x sets.

Documents are built as strings with every value escaped (XML 1.0 characters are
checked, markup characters escaped), then encoded as UTF-8; for a typical SLIA
this takes about two thirds of the time of building and serializing an lxml tree. Output is
deterministic: same message, same bytes.

SALVE extensions: ``salve:statement`` follows ``pd`` inside ``pos`` and
``salve:session_hash`` is the last child of ``slir``, each declaring the
``urn:salve:mlp:1`` namespace on itself.
"""

from __future__ import annotations

import base64
import math
import re
from datetime import datetime

from mlp.codes import ResultCode
from mlp.coords import format_latitude, format_longitude
from mlp.errors import MlpEncodeError
from mlp.merkle import MAX_BATCH_SIZE
from mlp.mlptime import format_mlp_time
from mlp.model import (
    SALVE_NS,
    Eqop,
    Gem,
    GeoInfo,
    Header,
    LocationRequest,
    Msid,
    MsidRange,
    Position,
    PositionError,
    Slia,
    Slir,
)
from mlp.names import HostNameError, check_host_name
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

__all__ = ["encode_gem", "encode_request", "encode_slia"]

_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'
_RESULT_DOCTYPE = '<!DOCTYPE svc_result SYSTEM "MLP_SVC_RESULT_320.DTD">\n'
_INIT_DOCTYPE = '<!DOCTYPE svc_init SYSTEM "MLP_SVC_INIT_320.DTD">\n'
_SLIA_VER = "3.0.0"
_SRS_NAME = "www.epsg.org#4326"
_VER_RE = re.compile(r"3(?:\.\d{1,3}){0,2}", re.ASCII)
# Characters XML 1.0 cannot carry at all, even escaped.
_INVALID_XML_RE = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_ESCAPE_RE = re.compile('[&<>"]')
_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}
# Sub-micrometre noise from float arithmetic must not add a metre when rounding up.
_ROUNDING_SLACK_M = 1e-6


def _escape(value: str, what: str) -> str:
    if _INVALID_XML_RE.search(value) is not None:
        raise MlpEncodeError(f"{what} contains characters XML cannot carry")
    if _ESCAPE_RE.search(value) is None:
        return value
    return _ESCAPE_RE.sub(lambda match: _ESCAPES[match.group()], value)


def _element(name: str, text: str, what: str | None = None) -> str:
    return f"<{name}>{_escape(text, what or name)}</{name}>"


def _ver(value: str, what: str) -> str:
    if _VER_RE.fullmatch(value) is None:
        raise MlpEncodeError(f"{what} must be an MLP 3.x version, e.g. 3.2.0")
    return value


def _time(moment: datetime | None, what: str) -> str:
    if moment is None:
        raise MlpEncodeError(f"{what} needs a time")
    try:
        text, utc_off = format_mlp_time(moment)
    except ValueError as exc:
        raise MlpEncodeError(f"{what}: {exc}") from exc
    return f'<time utc_off="{utc_off}">{text}</time>'


def _result(code: ResultCode, add_info: str | None) -> str:
    # ResultCode(code) also rejects plain ints that are not in the table.
    try:
        member = ResultCode(code)
    except ValueError as exc:
        raise MlpEncodeError(f"unknown result code {code!r}") from exc
    out = f'<result resid="{int(member)}">{member.slogan}</result>'
    if add_info is not None:
        out += _element("add_info", add_info)
    return out


def _msid(msid: Msid) -> str:
    enc = "" if msid.enc == "ASC" else f' enc="{_escape(msid.enc, "msid/@enc")}"'
    if not msid.value:
        raise MlpEncodeError("msid needs a value")
    return f'<msid type="{msid.type.value}"{enc}>{_escape(msid.value, "msid")}</msid>'


# ----------------------------------------------------------------------------- shapes


def _number(value: float) -> str:
    if value == int(value):
        return str(int(value))
    return f"{value:.6f}".rstrip("0").rstrip(".")


def _metres_up(value: float) -> str:
    # Rounded up so that an uncertainty area never shrinks in the answer.
    return str(math.ceil(value - _ROUNDING_SLACK_M)) if value > _ROUNDING_SLACK_M else "0"


def _metres_down(value: float) -> str:
    return str(math.floor(value + _ROUNDING_SLACK_M))


def _coord(point: Point) -> str:
    return f"<coord><X>{format_latitude(point.lat)}</X><Y>{format_longitude(point.lon)}</Y></coord>"


def _ring(points: tuple[Point, ...]) -> str:
    return "<LinearRing>" + "".join(_coord(point) for point in points) + "</LinearRing>"


def _shape(shape: Shape, srs: str) -> str:
    if isinstance(shape, Point):
        return f"<Point{srs}>{_coord(shape)}</Point>"
    if isinstance(shape, CircularArea):
        return (
            f"<CircularArea{srs}>{_coord(shape.center)}"
            f"<radius>{_metres_up(shape.radius_m)}</radius></CircularArea>"
        )
    if isinstance(shape, CircularArcArea):
        return (
            f"<CircularArcArea{srs}>{_coord(shape.center)}"
            f"<inRadius>{_metres_down(shape.in_radius_m)}</inRadius>"
            f"<outRadius>{_metres_up(shape.out_radius_m)}</outRadius>"
            f"<startAngle>{_number(shape.start_angle_deg)}</startAngle>"
            f"<stopAngle>{_number(shape.stop_angle_deg)}</stopAngle></CircularArcArea>"
        )
    if isinstance(shape, EllipticalArea):
        return (
            f"<EllipticalArea{srs}>{_coord(shape.center)}"
            f"<angle>{_number(shape.angle_deg)}</angle>"
            f"<semiMajor>{_metres_up(shape.semi_major_m)}</semiMajor>"
            f"<semiMinor>{_metres_up(shape.semi_minor_m)}</semiMinor></EllipticalArea>"
        )
    if isinstance(shape, Polygon):
        inner = "".join(f"<innerBoundaryIs>{_ring(hole)}</innerBoundaryIs>" for hole in shape.holes)
        return (
            f"<Polygon{srs}><outerBoundaryIs>{_ring(shape.points)}</outerBoundaryIs>"
            f"{inner}</Polygon>"
        )
    if isinstance(shape, Box):
        return f"<Box{srs}>{_coord(shape.min_corner)}{_coord(shape.max_corner)}</Box>"
    if isinstance(shape, LineString):
        return f"<LineString{srs}>" + "".join(_coord(p) for p in shape.points) + "</LineString>"
    if isinstance(shape, MultiPoint):
        points = "".join(_shape(point, "") for point in shape.points)
        return f"<MultiPoint{srs}>{points}</MultiPoint>"
    if isinstance(shape, MultiPolygon):
        members = "".join(_shape(member, "") for member in shape.members)
        return f"<MultiPolygon{srs}>{members}</MultiPolygon>"
    raise MlpEncodeError(f"not an MLP shape: {type(shape).__name__}")


# ---------------------------------------------------------------------------- answers


def _pos(item: Position | PositionError) -> str:
    if isinstance(item, PositionError):
        return (
            f"<pos>{_msid(item.msid)}<poserr>{_result(item.result, item.add_info)}"
            f"{_time(item.time, 'poserr')}</poserr></pos>"
        )
    if not isinstance(item, Position):
        raise MlpEncodeError(f"not a position: {type(item).__name__}")
    lev_conf = ""
    if item.lev_conf is not None:
        if isinstance(item.lev_conf, bool) or not 0 <= item.lev_conf <= 100:
            raise MlpEncodeError("lev_conf must be an integer percentage 0-100")
        lev_conf = f"<lev_conf>{int(item.lev_conf)}</lev_conf>"
    statement = ""
    if item.statement is not None:
        statement = (
            f'<salve:statement xmlns:salve="{SALVE_NS}">'
            f"{_escape(item.statement, 'statement')}</salve:statement>"
        )
    shape = _shape(item.shape, f' srsName="{_SRS_NAME}"')
    return (
        f"<pos>{_msid(item.msid)}<pd>{_time(item.time, 'pd')}<shape>{shape}</shape>"
        f"{lev_conf}</pd>{statement}</pos>"
    )


def encode_slia(slia: Slia, *, doctype: bool = True) -> bytes:
    """Write a ``svc_result`` carrying an ``slia`` (Standard Location Immediate Answer).

    Args:
        slia: the answer; exactly one of ``positions``, ``result`` or ``req_id`` set.
        doctype: emit the ``MLP_SVC_RESULT_320.DTD`` DOCTYPE.

    Returns:
        The UTF-8 document.

    Raises:
        MlpEncodeError: the answer cannot be written: not exactly one form, a
            position or error without a timezone-aware time, ``lev_conf`` outside
            0-100, text with characters XML cannot carry, a version other than 3.x.
    """
    forms = sum((bool(slia.positions), slia.result is not None, slia.req_id is not None))
    if forms != 1:
        raise MlpEncodeError("an slia has exactly one of positions, result or req_id")
    if slia.add_info is not None and slia.result is None:
        raise MlpEncodeError("slia add_info belongs to a request-level result")
    parts = [_DECLARATION]
    if doctype:
        parts.append(_RESULT_DOCTYPE)
    parts.append(f'<svc_result ver="{_ver(slia.ver, "svc_result ver")}"><slia ver="{_SLIA_VER}">')
    if slia.result is not None:
        parts.append(_result(slia.result, slia.add_info))
    elif slia.req_id is not None:
        parts.append(_element("req_id", slia.req_id))
    else:
        parts.extend(_pos(item) for item in slia.positions)
    parts.append("</slia></svc_result>\n")
    return "".join(parts).encode()


def encode_gem(gem: Gem) -> bytes:
    """Write a ``gem`` (General Error Message), the answer to an undefined service.

    Returns:
        The UTF-8 document.

    Raises:
        MlpEncodeError: unknown result code or ``add_info`` XML cannot carry.
    """
    return (f'{_DECLARATION}<gem ver="3.2.0">{_result(gem.result, gem.add_info)}</gem>\n').encode()


# --------------------------------------------------------------------------- requests


def _hdr(header: Header, ver: str) -> str:
    parts = [f'<hdr ver="{ver}">']
    if header.client is None and header.sessionid is None:
        raise MlpEncodeError("hdr needs a client or a sessionid")
    if header.client is not None:
        client = header.client
        parts.append("<client>" + _element("id", client.id, "client id"))
        if client.pwd is not None:
            parts.append(_element("pwd", client.pwd, "client pwd"))
        if client.serviceid is not None:
            parts.append(_element("serviceid", client.serviceid))
        if client.requestmode is not None:
            mode = client.requestmode.upper()
            if mode not in ("PASSIVE", "ACTIVE"):
                raise MlpEncodeError("requestmode must be PASSIVE or ACTIVE")
            parts.append(f'<requestmode type="{mode}"/>')
        parts.append("</client>")
    if header.sessionid is not None:
        parts.append(_element("sessionid", header.sessionid))
    for sub in header.subclient:
        last = ' last_client="YES"' if sub.last_client else ""
        parts.append(f"<subclient{last}>" + _element("id", sub.id, "subclient id"))
        if sub.pwd is not None:
            parts.append(_element("pwd", sub.pwd, "subclient pwd"))
        if sub.serviceid is not None:
            parts.append(_element("serviceid", sub.serviceid))
        parts.append("</subclient>")
    detail = header.requestor_detail
    if detail is not None:
        kind = "" if detail.type is None else f' type="{_escape(detail.type, "requestor type")}"'
        parts.append(f"<requestor{kind}>" + _element("id", detail.id, "requestor id"))
        if detail.serviceid is not None:
            parts.append(_element("serviceid", detail.serviceid))
        parts.append("</requestor>")
    elif header.requestor is not None:
        parts.append(
            "<requestor>" + _element("id", header.requestor, "requestor id") + "</requestor>"
        )
    parts.append("</hdr>")
    return "".join(parts)


def _msids(slir: Slir) -> str:
    if not slir.msids and not slir.msid_ranges:
        raise MlpEncodeError("slir needs at least one target")
    # Codewords pair with targets in document order: one per msid, then as many
    # per range as the range is long (MLP §5.3 msid_range).
    codewords = list(slir.codewords)
    parts = ["<msids>"]
    for index, msid in enumerate(slir.msids):
        parts.append(_msid(msid))
        if codewords:
            parts.append(_element("codeword", codewords.pop(0)))
        if index == 0 and slir.req_id is not None:
            parts.append(_element("trans_id", slir.req_id))
    for msid_range in slir.msid_ranges:
        parts.append(_msid_range(msid_range))
        for _ in range(min(len(msid_range), len(codewords))):
            parts.append(_element("codeword", codewords.pop(0)))
    if codewords:
        raise MlpEncodeError("more codewords than targets")
    parts.append("</msids>")
    return "".join(parts)


def _msid_range(msid_range: MsidRange) -> str:
    return (
        f"<msid_range><start_msid>{_msid(msid_range.start)}</start_msid>"
        f"<stop_msid>{_msid(msid_range.stop)}</stop_msid></msid_range>"
    )


def _eqop(eqop: Eqop) -> str:
    parts = ["<eqop>"]
    qos = "" if eqop.qos_class is None else f' qos_class="{_escape(eqop.qos_class, "qos_class")}"'
    if eqop.resp_req is not None:
        parts.append(f'<resp_req type="{eqop.resp_req.value}"/>')
    if eqop.resp_timer is not None:
        parts.append(f"<resp_timer>{_whole(eqop.resp_timer, 'resp_timer')}</resp_timer>")
    if eqop.hor_acc is not None and eqop.ll_acc is not None:
        raise MlpEncodeError("hor_acc and ll_acc are exclusive")
    if eqop.ll_acc is not None:
        if not math.isfinite(eqop.ll_acc) or eqop.ll_acc < 0:
            raise MlpEncodeError("ll_acc must be a finite number >= 0")
        parts.append(f"<ll_acc{qos}>{_number(eqop.ll_acc)}</ll_acc>")
    if eqop.hor_acc is not None:
        parts.append(f"<hor_acc{qos}>{_whole(eqop.hor_acc, 'hor_acc')}</hor_acc>")
    if eqop.alt_acc is not None:
        parts.append(f"<alt_acc>{_whole(eqop.alt_acc, 'alt_acc')}</alt_acc>")
    if eqop.max_loc_age is not None:
        parts.append(f"<max_loc_age>{_whole(eqop.max_loc_age, 'max_loc_age')}</max_loc_age>")
    parts.append("</eqop>")
    return "".join(parts)


def _whole(value: int, what: str) -> str:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise MlpEncodeError(f"{what} must be an integer >= 0")
    return str(value)


def _geo_info(geo: GeoInfo) -> str:
    edition = "" if geo.edition is None else _element("edition", geo.edition)
    return (
        f"<geo_info><CoordinateReferenceSystem><Identifier><code>{_whole(geo.code, 'code')}</code>"
        f"{_element('codeSpace', geo.code_space)}{edition}"
        "</Identifier></CoordinateReferenceSystem></geo_info>"
    )


def _slir(slir: Slir) -> str:
    res_type = "" if slir.res_type is None else f' res_type="{slir.res_type.value}"'
    parts = [f'<slir ver="{_ver(slir.ver, "slir ver")}"{res_type}>', _msids(slir)]
    if slir.eqop is not None:
        parts.append(_eqop(slir.eqop))
    if slir.geo_info is not None:
        parts.append(_geo_info(slir.geo_info))
    if slir.loc_type is not None:
        parts.append(f'<loc_type type="{slir.loc_type.value}"/>')
    if slir.prio is not None:
        parts.append(f'<prio type="{slir.prio.value}"/>')
    if slir.pushaddr is not None:
        parts.append("<pushaddr>" + _element("url", slir.pushaddr, "pushaddr url") + "</pushaddr>")
    parts.extend(_salve_extensions(slir))
    parts.append("</slir>")
    return "".join(parts)


def _salve_extensions(slir: Slir) -> list[str]:
    """The SALVE elements, in the contract's order: domain, session hash, batch size."""
    parts = []
    if slir.domain is not None:
        try:
            domain = check_host_name(slir.domain)
        except HostNameError as exc:
            raise MlpEncodeError(f"salve:domain: {exc}") from None
        parts.append(f'<salve:domain xmlns:salve="{SALVE_NS}">{domain}</salve:domain>')
    if slir.session_hash is not None:
        if len(slir.session_hash) != 32:
            raise MlpEncodeError("session_hash must be exactly 32 bytes")
        encoded = base64.urlsafe_b64encode(slir.session_hash).rstrip(b"=").decode()
        parts.append(f'<salve:session_hash xmlns:salve="{SALVE_NS}">{encoded}</salve:session_hash>')
    if slir.batch_size is not None:
        if slir.session_hash is None:
            raise MlpEncodeError("a batch size needs a session hash (the Merkle root)")
        size = slir.batch_size
        if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= MAX_BATCH_SIZE:
            raise MlpEncodeError(f"batch_size must be a whole number 1-{MAX_BATCH_SIZE}")
        parts.append(f'<salve:batch_size xmlns:salve="{SALVE_NS}">{size}</salve:batch_size>')
    return parts


def encode_request(request: LocationRequest, *, doctype: bool = True) -> bytes:
    """Write an ``svc_init`` carrying an ``slir``, as an MLP client sends it.

    Args:
        request: header and request; ``header.ver`` versions ``svc_init`` and ``hdr``.
        doctype: emit the ``MLP_SVC_INIT_320.DTD`` DOCTYPE.

    Returns:
        The UTF-8 document.

    Raises:
        MlpEncodeError: no client or sessionid, no target, a session hash that is not
            32 bytes, negative accuracies, more codewords than targets, text with
            characters XML cannot carry, a version other than 3.x.
    """
    ver = _ver(request.header.ver, "svc_init ver")
    parts = [_DECLARATION]
    if doctype:
        parts.append(_INIT_DOCTYPE)
    parts.append(f'<svc_init ver="{ver}">{_hdr(request.header, ver)}{_slir(request.slir)}')
    parts.append("</svc_init>\n")
    return "".join(parts).encode()
