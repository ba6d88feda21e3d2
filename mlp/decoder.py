"""Decode MLP documents into typed messages (OMA MLP 3.x §5.2, §5.3).

Theory of operation
-------------------
Deployed MLP clients do not follow the DTDs to the letter, and no peer validates
against them (their ``hdr`` model is not even deterministic), so decoding is a
tolerant structural walk followed by explicit checks with precise result codes:

* any ``ver`` of major version 3 on any element, in any mix; another major
  version is 103 UNSUPPORTED VERSION;
* children in any order; enumerations in any case; a default namespace on the
  root (elements are matched by local name in no namespace or the root's);
* elements in other namespaces, and unknown elements, are extensions and are
  ignored as §5.1.2 asks; SALVE's own extensions live in ``urn:salve:mlp:1``;
* MLP elements this server does not implement are 107 PROTOCOL ELEMENT NOT
  SUPPORTED rather than being silently dropped.

Result codes carried by :class:`~mlp.errors.MlpDecodeError`:

=====  ==========================================================================
106    not well-formed, hostile XML, missing or duplicated mandatory element
105    element or attribute text in the wrong format (digits, time, utc_off,
       coordinates, base64url of the session hash, version string)
103    ``ver`` with a major version other than 3
104    more targets (msids plus range sizes) than ``max_targets``
107    an MLP element we do not implement (``msid_group``, ``gsm_net_param``...)
109    an MLP attribute we do not implement (``loc_type/@per_type``)
110    an element value that is well-formed but invalid (latitude 91, an empty
       or inverted ``msid_range``, ``lev_conf`` 150, unknown ``resid``)
111    an attribute value outside its enumeration (``msid/@type="PHONE"``)
112    a valid element value we do not support (a CRS other than EPSG 4326,
       distance units other than metres)
113    a valid attribute value we do not support (``msid/@enc="CRP"``)
108    (:class:`~mlp.errors.MlpUnknownServiceError`) any root or service other
       than ``svc_init`` carrying ``slir``
=====  ==========================================================================

``add_info`` names the element by its path (``slir/eqop/hor_acc``) and a fixed
reason; it never echoes submitted values or parser messages.

The walk and the readers of element text are :mod:`mlp.xmlwalk`; the GML shapes of a
position are :mod:`mlp.shapedecoder`.

Asynchronous requests: ``res_type="ASYNC"`` and ``pushaddr`` are decoded like every
other element (``Slir.res_type``, ``Slir.pushaddr``); whether to serve them is the
server's decision, not the codec's.
"""

from __future__ import annotations

import base64
import ipaddress
import re
from datetime import datetime

from mlp.codes import LocType, MsidEncoding, MsidType, Prio, RespReq, ResType, ResultCode
from mlp.errors import MlpUnknownServiceError
from mlp.merkle import MAX_BATCH_SIZE
from mlp.mlptime import parse_mlp_time
from mlp.model import (
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
from mlp.names import HostNameError, check_host_name
from mlp.shapedecoder import decode_shape
from mlp.xmlsafe import parse_document
from mlp.xmlwalk import (
    DIGITS_RE,
    Element,
    Walker,
    check_ver,
    decimal_value,
    element_text,
    enum_value,
    fail,
    integer_value,
    need_child,
    nonempty_text,
    one_child,
    optional_integer,
    optional_text,
    reject_unsupported,
    safe_name,
)

__all__ = ["decode_answer", "decode_request"]

# Request services of MLP 3.0-3.5 other than slir (§5.2) and other message roots.
_OTHER_REQUEST_SERVICES = frozenset(
    {"eme_lir", "tlrr", "tlrsr", "hlir", "tlrqr", "ssrp", "slrep", "slirep", "emerep"}
)
_ANSWER_SERVICES = frozenset(
    {
        "slirep",
        "slrep",
        "slra",
        "eme_lia",
        "eme_lirep",
        "emerep",
        "tlra",
        "tlrep",
        "tlrsa",
        "hlia",
        "hlirep",
        "tlrpr",
        "tlrqa",
        "tlqrep",
    }
)
# MLP elements that are valid in a request but that this codec does not implement.
_UNSUPPORTED_SLIR_CHILDREN = frozenset(
    {
        "gsm_net_param",
        "service_coverage",
        "MapRequest",
        "MotionStateRequest",
        "ReferencePoint",
        "msid_group",
        "session",
    }
)
_UNSUPPORTED_HDR_CHILDREN = frozenset({"serving_node_privacy_action"})
_MSISDN_RE = re.compile(r"\+?(\d{1,15})", re.ASCII)
_SESSION_HASH_RE = re.compile(r"[A-Za-z0-9_-]{43}=?", re.ASCII)
_BATCH_SIZE_RE = re.compile(r"[1-9][0-9]{0,4}", re.ASCII)


# --------------------------------------------------------------------------- requests


def decode_request(
    body: bytes, *, max_body_bytes: int = 65536, max_targets: int = 100
) -> LocationRequest:
    """Decode an ``svc_init`` carrying an ``slir`` (Standard Location Immediate Request).

    Args:
        body: the HTTP request body, raw bytes.
        max_body_bytes: bodies above this size are refused before parsing.
        max_targets: the most targets (msids plus the sizes of msid ranges) accepted.

    Returns:
        The header and the request.

    Raises:
        MlpUnknownServiceError: the root is not ``svc_init``, or it carries a service
            other than ``slir`` (108; answer with a ``gem`` in HTTP 404).
        MlpDecodeError: anything else wrong, with the result code to answer with
            (see the module documentation).
        TypeError: ``body`` is not bytes.
    """
    root = parse_document(body, max_body_bytes=max_body_bytes)
    walker = Walker(root)
    root_name = walker.name(root)
    if root_name != "svc_init":
        raise MlpUnknownServiceError(f"'{safe_name(root_name)}' is not a supported service")
    wrapper_ver = check_ver(root, "svc_init")
    groups = walker.children(root)
    services = [name for name in groups if name in _OTHER_REQUEST_SERVICES]
    if "slir" not in groups:
        if services:
            raise MlpUnknownServiceError(f"'{services[0]}' is not supported")
        unknown = [name for name in groups if name != "hdr" and not name.startswith("salve:")]
        if unknown:
            raise MlpUnknownServiceError(f"'{safe_name(unknown[0])}' is not supported")
        raise fail(ResultCode.SYNTAX_ERROR, "svc_init", "no service element")
    if services:
        raise fail(ResultCode.SYNTAX_ERROR, "svc_init", "more than one service element")
    header = _decode_hdr(walker, need_child(groups, "hdr", "svc_init"), wrapper_ver or "3.2.0")
    slir = _decode_slir(walker, need_child(groups, "slir", "svc_init"), max_targets)
    return LocationRequest(header=header, slir=slir)


def _decode_hdr(walker: Walker, hdr: Element, wrapper_ver: str) -> Header:
    path = "svc_init/hdr"
    check_ver(hdr, path)
    groups = walker.children(hdr)
    reject_unsupported(groups, _UNSUPPORTED_HDR_CHILDREN, path)
    client_element = one_child(groups, "client", path)
    client = None if client_element is None else _decode_client(walker, client_element, path)
    sessionid = optional_text(groups, "sessionid", path)
    if client is None and sessionid is None:
        raise fail(ResultCode.SYNTAX_ERROR, f"{path}/client", "client or sessionid required")
    subclients = tuple(
        _decode_subclient(walker, element, f"{path}/subclient")
        for element in groups.get("subclient", ())
    )
    requestor_element = one_child(groups, "requestor", path)
    requestor = None
    if requestor_element is not None:
        requestor = _decode_requestor(walker, requestor_element, f"{path}/requestor")
    return Header(
        client=client,
        sessionid=sessionid,
        requestor=None if requestor is None else requestor.id,
        subclient=subclients,
        ver=wrapper_ver,
        requestor_detail=requestor,
    )


def _decode_client(walker: Walker, element: Element, parent: str) -> Client:
    path = f"{parent}/client"
    groups = walker.children(element)
    requestmode = None
    mode_element = one_child(groups, "requestmode", path)
    if mode_element is not None:
        requestmode = mode_element.get("type", "PASSIVE").strip().upper()
        if requestmode not in ("PASSIVE", "ACTIVE"):
            raise fail(
                ResultCode.INVALID_PROTOCOL_ELEMENT_ATTRIBUTE_VALUE,
                f"{path}/requestmode@type",
                "value not in enumeration",
            )
    return Client(
        id=nonempty_text(need_child(groups, "id", path), f"{path}/id"),
        pwd=optional_text(groups, "pwd", path),
        serviceid=optional_text(groups, "serviceid", path),
        requestmode=requestmode,
    )


def _decode_subclient(walker: Walker, element: Element, path: str) -> Subclient:
    groups = walker.children(element)
    last = element.get("last_client", "NO").strip().upper()
    if last not in ("YES", "NO"):
        raise fail(
            ResultCode.INVALID_PROTOCOL_ELEMENT_ATTRIBUTE_VALUE,
            f"{path}@last_client",
            "value not in enumeration",
        )
    return Subclient(
        id=nonempty_text(need_child(groups, "id", path), f"{path}/id"),
        pwd=optional_text(groups, "pwd", path),
        serviceid=optional_text(groups, "serviceid", path),
        last_client=last == "YES",
    )


def _decode_requestor(walker: Walker, element: Element, path: str) -> Requestor:
    groups = walker.children(element)
    kind = element.get("type")
    return Requestor(
        id=nonempty_text(need_child(groups, "id", path), f"{path}/id"),
        serviceid=optional_text(groups, "serviceid", path),
        type=None if kind is None else kind.strip().upper(),
    )


def _decode_slir(walker: Walker, slir: Element, max_targets: int) -> Slir:
    path = "svc_init/slir"
    ver = check_ver(slir, path) or "3.2.0"
    res_type_text = slir.get("res_type")
    res_type = (
        None if res_type_text is None else enum_value(ResType, res_type_text, f"{path}@res_type")
    )
    groups = walker.children(slir)
    reject_unsupported(groups, _UNSUPPORTED_SLIR_CHILDREN, path)

    msids: list[Msid] = []
    ranges: list[MsidRange] = []
    codewords: list[str] = []
    trans_ids: list[str] = []
    msids_element = one_child(groups, "msids", path)
    if msids_element is not None:
        _decode_msids(walker, msids_element, f"{path}/msids", msids, ranges, codewords, trans_ids)
    # Form B of the DTD: msid (+ codeword, trans_id) directly inside slir.
    for element in groups.get("msid", ()):
        msids.append(_decode_request_msid(element, f"{path}/msid"))
    for element in groups.get("codeword", ()):
        codewords.append(nonempty_text(element, f"{path}/codeword"))
    for element in groups.get("trans_id", ()):
        trans_ids.append(nonempty_text(element, f"{path}/trans_id"))
    if not msids and not ranges:
        raise fail(ResultCode.SYNTAX_ERROR, f"{path}/msids", "no target")
    target_count = len(msids) + sum(len(msid_range) for msid_range in ranges)
    if target_count > max_targets:
        raise fail(
            ResultCode.TOO_MANY_POSITION_ITEMS, f"{path}/msids", f"more than {max_targets} targets"
        )

    eqop_element = one_child(groups, "eqop", path)
    geo_element = one_child(groups, "geo_info", path)
    loc_type_element = one_child(groups, "loc_type", path)
    prio_element = one_child(groups, "prio", path)
    push_element = one_child(groups, "pushaddr", path)
    domain_element = one_child(groups, "salve:domain", path)
    hash_element = one_child(groups, "salve:session_hash", path)
    batch_element = one_child(groups, "salve:batch_size", path)
    if batch_element is not None and hash_element is None:
        raise fail(
            ResultCode.INVALID_PROTOCOL_ELEMENT_VALUE,
            f"{path}/salve:batch_size",
            "a batch size needs a salve:session_hash (the Merkle root)",
        )
    return Slir(
        ver=ver,
        msids=tuple(msids),
        msid_ranges=tuple(ranges),
        codewords=tuple(codewords),
        eqop=None if eqop_element is None else _decode_eqop(walker, eqop_element, path),
        geo_info=None if geo_element is None else _decode_geo_info(walker, geo_element, path),
        loc_type=None if loc_type_element is None else _decode_loc_type(loc_type_element, path),
        prio=None
        if prio_element is None
        else enum_value(Prio, prio_element.get("type", "NORMAL"), f"{path}/prio@type"),
        pushaddr=None if push_element is None else _decode_pushaddr(walker, push_element, path),
        res_type=res_type,
        req_id=trans_ids[0] if trans_ids else None,
        domain=None if domain_element is None else _decode_domain(domain_element, path),
        session_hash=None if hash_element is None else _decode_session_hash(hash_element, path),
        batch_size=None if batch_element is None else _decode_batch_size(batch_element, path),
    )


def _decode_msids(
    walker: Walker,
    element: Element,
    path: str,
    msids: list[Msid],
    ranges: list[MsidRange],
    codewords: list[str],
    trans_ids: list[str],
) -> None:
    # Document order is kept for every kind; a child's position among the others
    # carries no meaning the codec could use.
    for child in element:
        name = walker.name(child)
        if name == "msid":
            msids.append(_decode_request_msid(child, f"{path}/msid"))
        elif name == "msid_range":
            ranges.append(_decode_msid_range(walker, child, f"{path}/msid_range"))
        elif name == "codeword":
            codewords.append(nonempty_text(child, f"{path}/codeword"))
        elif name == "trans_id":
            trans_ids.append(nonempty_text(child, f"{path}/trans_id"))
        elif name in _UNSUPPORTED_SLIR_CHILDREN:
            raise fail(ResultCode.PROTOCOL_ELEMENT_NOT_SUPPORTED, f"{path}/{name}", "not supported")


def _decode_msid(element: Element, path: str) -> Msid:
    kind = enum_value(MsidType, element.get("type", "MSISDN"), f"{path}@type")
    enc = enum_value(MsidEncoding, element.get("enc", "ASC"), f"{path}@enc")
    value = nonempty_text(element, path)
    if enc is MsidEncoding.CRP:
        # An encrypted identity is opaque: its format is the server's own business.
        if len(value) > 256:
            raise fail(ResultCode.FORMAT_ERROR, path, "not a valid identity")
    elif kind is MsidType.MSISDN:
        match = _MSISDN_RE.fullmatch(value)
        if match is None:
            raise fail(ResultCode.FORMAT_ERROR, path, "not an MSISDN")
        value = match.group(1)
    elif kind in (MsidType.IMSI, MsidType.IMEI, MsidType.MIN, MsidType.MDN):
        lengths = {MsidType.IMSI: (5, 15), MsidType.IMEI: (14, 16)}.get(kind, (1, 15))
        if (
            not value.isdigit()
            or not value.isascii()
            or not (lengths[0] <= len(value) <= lengths[1])
        ):
            raise fail(ResultCode.FORMAT_ERROR, path, f"not an {kind.value}")
    elif kind in (MsidType.IPV4, MsidType.IPV6):
        try:
            address = ipaddress.ip_address(value)
        except ValueError:
            raise fail(ResultCode.FORMAT_ERROR, path, "not an IP address") from None
        if address.version != (4 if kind is MsidType.IPV4 else 6):
            raise fail(ResultCode.FORMAT_ERROR, path, "IP version does not match type")
    elif len(value) > 256 or any(char.isspace() for char in value):
        raise fail(ResultCode.FORMAT_ERROR, path, "not a valid identity")
    return Msid(value=value, type=kind, enc=enc.value)


def _decode_request_msid(element: Element, path: str) -> Msid:
    msid = _decode_msid(element, path)
    if msid.type is MsidType.ANONYMOUS:
        # §5.3: ANONYMOUS only ever appears in reports from the location server.
        raise fail(
            ResultCode.INVALID_PROTOCOL_ELEMENT_ATTRIBUTE_VALUE, f"{path}@type", "not in requests"
        )
    if msid.enc != MsidEncoding.ASC:
        raise fail(
            ResultCode.PROTOCOL_ELEMENT_ATTRIBUTE_VALUE_NOT_SUPPORTED,
            f"{path}@enc",
            "encrypted identities not supported",
        )
    return msid


_NUMERIC_TYPES = frozenset(
    {MsidType.MSISDN, MsidType.IMSI, MsidType.IMEI, MsidType.MIN, MsidType.MDN}
)


def _decode_msid_range(walker: Walker, element: Element, path: str) -> MsidRange:
    groups = walker.children(element)
    ends = []
    for name in ("start_msid", "stop_msid"):
        end = need_child(groups, name, path)
        inner = need_child(walker.children(end), "msid", f"{path}/{name}")
        ends.append(_decode_request_msid(inner, f"{path}/{name}/msid"))
    start, stop = ends
    if start.type in _NUMERIC_TYPES:
        try:
            return MsidRange(start=start, stop=stop)
        except ValueError:
            pass  # MsidRange's own checks: same type and width, start <= stop
    raise fail(
        ResultCode.INVALID_PROTOCOL_ELEMENT_VALUE,
        path,
        "ends must be numeric identities of one type and width, start <= stop",
    )


def _decode_eqop(walker: Walker, element: Element, parent: str) -> Eqop:
    path = f"{parent}/eqop"
    groups = walker.children(element)
    resp_req_element = one_child(groups, "resp_req", path)
    resp_req = None
    if resp_req_element is not None:
        resp_req = enum_value(
            RespReq, resp_req_element.get("type", "DELAY_TOL"), f"{path}/resp_req@type"
        )
    hor_element = one_child(groups, "hor_acc", path)
    ll_element = one_child(groups, "ll_acc", path)
    if hor_element is not None and ll_element is not None:
        raise fail(ResultCode.SYNTAX_ERROR, f"{path}/ll_acc", "hor_acc and ll_acc are exclusive")
    alt_element = one_child(groups, "alt_acc", path)
    qos_class = None
    for accuracy in (hor_element, ll_element, alt_element):
        if accuracy is not None and accuracy.get("qos_class") is not None:
            qos_class = accuracy.get("qos_class", "").strip().upper()
            if qos_class not in ("ASSURED", "BEST_EFFORT"):
                raise fail(
                    ResultCode.INVALID_PROTOCOL_ELEMENT_ATTRIBUTE_VALUE,
                    f"{path}/{walker.name(accuracy)}@qos_class",
                    "value not in enumeration",
                )
    ll_acc = None
    if ll_element is not None:
        ll_acc = decimal_value(ll_element, f"{path}/ll_acc")
        if ll_acc < 0:
            raise fail(ResultCode.INVALID_PROTOCOL_ELEMENT_VALUE, f"{path}/ll_acc", "negative")
    return Eqop(
        resp_req=resp_req,
        resp_timer=optional_integer(groups, "resp_timer", path),
        hor_acc=None if hor_element is None else integer_value(hor_element, f"{path}/hor_acc"),
        alt_acc=None if alt_element is None else integer_value(alt_element, f"{path}/alt_acc"),
        max_loc_age=optional_integer(groups, "max_loc_age", path),
        ll_acc=ll_acc,
        qos_class=qos_class,
    )


def _decode_geo_info(walker: Walker, element: Element, parent: str) -> GeoInfo:
    path = f"{parent}/geo_info"
    wanted = element.get("requested_positiondata")
    if wanted is not None:
        value = wanted.strip().upper()
        if value not in ("SHAPE", "CIVICLOC", "SHAPE_AND_CIVICLOC"):
            raise fail(
                ResultCode.INVALID_PROTOCOL_ELEMENT_ATTRIBUTE_VALUE,
                f"{path}@requested_positiondata",
                "value not in enumeration",
            )
        if value != "SHAPE":
            raise fail(
                ResultCode.PROTOCOL_ELEMENT_ATTRIBUTE_VALUE_NOT_SUPPORTED,
                f"{path}@requested_positiondata",
                "only SHAPE is supported",
            )
    crs = need_child(walker.children(element), "CoordinateReferenceSystem", path)
    crs_path = f"{path}/CoordinateReferenceSystem"
    identifier = need_child(walker.children(crs), "Identifier", crs_path)
    id_path = f"{crs_path}/Identifier"
    groups = walker.children(identifier)
    code = integer_value(need_child(groups, "code", id_path), f"{id_path}/code")
    code_space = nonempty_text(need_child(groups, "codeSpace", id_path), f"{id_path}/codeSpace")
    edition = optional_text(groups, "edition", id_path)
    if code != 4326:
        raise fail(
            ResultCode.PROTOCOL_ELEMENT_VALUE_NOT_SUPPORTED, f"{id_path}/code", "only 4326 (WGS84)"
        )
    if "EPSG" not in code_space.upper():
        raise fail(
            ResultCode.PROTOCOL_ELEMENT_VALUE_NOT_SUPPORTED, f"{id_path}/codeSpace", "only EPSG"
        )
    return GeoInfo(code=code, code_space=code_space, edition=edition)


def _decode_loc_type(element: Element, parent: str) -> LocType:
    path = f"{parent}/loc_type"
    if element.get("per_type") is not None:
        raise fail(
            ResultCode.PROTOCOL_ELEMENT_ATTRIBUTE_NOT_SUPPORTED,
            f"{path}@per_type",
            "periodic reporting not supported",
        )
    return enum_value(LocType, element.get("type", "CURRENT"), f"{path}@type")


def _decode_pushaddr(walker: Walker, element: Element, parent: str) -> str:
    path = f"{parent}/pushaddr"
    return nonempty_text(need_child(walker.children(element), "url", path), f"{path}/url")


def _decode_domain(element: Element, parent: str) -> str:
    path = f"{parent}/salve:domain"
    try:
        return check_host_name(element_text(element, path))
    except HostNameError as exc:
        raise fail(ResultCode.INVALID_PROTOCOL_ELEMENT_VALUE, path, str(exc)) from None


def _decode_batch_size(element: Element, parent: str) -> int:
    path = f"{parent}/salve:batch_size"
    text = element_text(element, path)
    if not _BATCH_SIZE_RE.fullmatch(text) or not 1 <= int(text) <= MAX_BATCH_SIZE:
        raise fail(
            ResultCode.INVALID_PROTOCOL_ELEMENT_VALUE,
            path,
            f"not a whole number 1-{MAX_BATCH_SIZE}",
        )
    return int(text)


def _decode_session_hash(element: Element, parent: str) -> bytes:
    path = f"{parent}/salve:session_hash"
    text = element_text(element, path)
    if _SESSION_HASH_RE.fullmatch(text) is None:
        raise fail(ResultCode.FORMAT_ERROR, path, "not base64url of 32 bytes")
    raw = base64.urlsafe_b64decode(text.rstrip("=") + "=")
    # Only the canonical spelling is accepted: 43 characters leave two spare bits.
    if base64.urlsafe_b64encode(raw).rstrip(b"=").decode() != text.rstrip("="):
        raise fail(ResultCode.FORMAT_ERROR, path, "not base64url of 32 bytes")
    return raw


# ---------------------------------------------------------------------------- answers


def decode_answer(body: bytes, *, max_body_bytes: int = 1048576) -> Slia | Gem:
    """Decode a location server's answer: ``svc_result`` with ``slia``, or a ``gem``.

    Args:
        body: the HTTP response body, raw bytes.
        max_body_bytes: bodies above this size are refused before parsing.

    Returns:
        The answer.

    Raises:
        MlpUnknownServiceError: the document is neither ``gem`` nor ``svc_result`` with
            ``slia``.
        MlpDecodeError: the answer is malformed (result codes as for requests).
        TypeError: ``body`` is not bytes.
    """
    root = parse_document(body, max_body_bytes=max_body_bytes)
    walker = Walker(root)
    root_name = walker.name(root)
    if root_name == "gem":
        check_ver(root, "gem")
        groups = walker.children(root)
        return Gem(
            result=_decode_result(need_child(groups, "result", "gem"), "gem/result"),
            add_info=optional_text(groups, "add_info", "gem"),
        )
    if root_name != "svc_result":
        raise MlpUnknownServiceError(f"'{safe_name(root_name)}' is not a supported answer")
    ver = check_ver(root, "svc_result") or "3.2.0"
    groups = walker.children(root)
    slia = one_child(groups, "slia", "svc_result")
    if slia is None:
        others = [name for name in groups if name in _ANSWER_SERVICES]
        label = others[0] if others else "svc_result"
        raise MlpUnknownServiceError(f"'{label}' is not a supported answer")
    return _decode_slia(walker, slia, ver)


def _decode_result(element: Element, path: str) -> ResultCode:
    resid = element.get("resid")
    if resid is None:
        raise fail(ResultCode.SYNTAX_ERROR, f"{path}@resid", "mandatory attribute missing")
    match = DIGITS_RE.fullmatch(resid)
    if match is None:
        raise fail(ResultCode.FORMAT_ERROR, f"{path}@resid", "not an integer")
    try:
        return ResultCode(int(match.group(1)))
    except ValueError:
        raise fail(
            ResultCode.INVALID_PROTOCOL_ELEMENT_ATTRIBUTE_VALUE, f"{path}@resid", "unknown code"
        ) from None


def _decode_slia(walker: Walker, slia: Element, ver: str) -> Slia:
    path = "svc_result/slia"
    check_ver(slia, path)
    groups = walker.children(slia)
    result_element = one_child(groups, "result", path)
    req_id = optional_text(groups, "req_id", path)
    positions = tuple(
        _decode_pos(walker, element, f"{path}/pos") for element in groups.get("pos", ())
    )
    forms = sum((bool(positions), result_element is not None, req_id is not None))
    if forms != 1:
        raise fail(ResultCode.SYNTAX_ERROR, path, "needs exactly one of pos, req_id or result")
    return Slia(
        positions=positions,
        result=None if result_element is None else _decode_result(result_element, f"{path}/result"),
        add_info=optional_text(groups, "add_info", path),
        ver=ver,
        req_id=req_id,
    )


def _decode_time(element: Element, path: str) -> datetime:
    try:
        return parse_mlp_time(element_text(element, path), element.get("utc_off"))
    except ValueError:
        raise fail(ResultCode.FORMAT_ERROR, path, "not yyyyMMddhhmmss with utc_off") from None


def _decode_pos(walker: Walker, element: Element, path: str) -> Position | PositionError:
    groups = walker.children(element)
    msid = _decode_msid(need_child(groups, "msid", path), f"{path}/msid")
    pd = one_child(groups, "pd", path)
    poserr = one_child(groups, "poserr", path)
    if (pd is None) == (poserr is None):
        raise fail(ResultCode.SYNTAX_ERROR, path, "needs exactly one of pd or poserr")
    if poserr is not None:
        err_path = f"{path}/poserr"
        err_groups = walker.children(poserr)
        time_element = one_child(err_groups, "time", err_path)
        return PositionError(
            msid=msid,
            result=_decode_result(need_child(err_groups, "result", err_path), f"{err_path}/result"),
            add_info=optional_text(err_groups, "add_info", err_path),
            time=None if time_element is None else _decode_time(time_element, f"{err_path}/time"),
        )
    assert pd is not None
    pd_path = f"{path}/pd"
    pd_groups = walker.children(pd)
    time = _decode_time(need_child(pd_groups, "time", pd_path), f"{pd_path}/time")
    shape = decode_shape(walker, need_child(pd_groups, "shape", pd_path), f"{pd_path}/shape")
    lev_conf = optional_integer(pd_groups, "lev_conf", pd_path)
    if lev_conf is not None and lev_conf > 100:
        raise fail(ResultCode.INVALID_PROTOCOL_ELEMENT_VALUE, f"{pd_path}/lev_conf", "over 100")
    statement_element = one_child(groups, "salve:statement", path)
    statement = None
    if statement_element is not None:
        statement = nonempty_text(statement_element, f"{path}/salve:statement")
    return Position(msid=msid, time=time, shape=shape, lev_conf=lev_conf, statement=statement)
