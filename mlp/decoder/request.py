"""Decoding requests: ``svc_init`` with its ``hdr`` and ``slir`` (OMA MLP 3.x §5.2)."""

from __future__ import annotations

import base64
import re

from mlp.codes import LocType, Prio, RespReq, ResType, ResultCode
from mlp.decoder.identities import decode_msid_range, decode_request_msid
from mlp.decoder.walker import (
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
from mlp.errors import MlpUnknownServiceError
from mlp.merkle import MAX_BATCH_SIZE
from mlp.model import (
    Client,
    Eqop,
    GeoInfo,
    Header,
    LocationRequest,
    Msid,
    MsidRange,
    Requestor,
    Slir,
    Subclient,
)
from mlp.names import HostNameError, check_host_name
from mlp.xmlsafe import parse_document

__all__ = ["decode_request"]

# Request services of MLP 3.0-3.5 other than slir (§5.2) and other message roots.
_OTHER_REQUEST_SERVICES = frozenset(
    {"eme_lir", "tlrr", "tlrsr", "hlir", "tlrqr", "ssrp", "slrep", "slirep", "emerep"}
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
        msids.append(decode_request_msid(element, f"{path}/msid"))
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
            msids.append(decode_request_msid(child, f"{path}/msid"))
        elif name == "msid_range":
            ranges.append(decode_msid_range(walker, child, f"{path}/msid_range"))
        elif name == "codeword":
            codewords.append(nonempty_text(child, f"{path}/codeword"))
        elif name == "trans_id":
            trans_ids.append(nonempty_text(child, f"{path}/trans_id"))
        elif name in _UNSUPPORTED_SLIR_CHILDREN:
            raise fail(ResultCode.PROTOCOL_ELEMENT_NOT_SUPPORTED, f"{path}/{name}", "not supported")


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
