"""Decoding answers: ``svc_result`` with ``slia``, and ``gem`` (OMA MLP 3.x §5.3)."""

from __future__ import annotations

from datetime import datetime

from mlp.codes import ResultCode
from mlp.decoder.identities import decode_msid
from mlp.decoder.shapes import decode_shape
from mlp.decoder.walker import (
    DIGITS_RE,
    Element,
    Walker,
    check_ver,
    element_text,
    fail,
    need_child,
    nonempty_text,
    one_child,
    optional_integer,
    optional_text,
    safe_name,
)
from mlp.errors import MlpUnknownServiceError
from mlp.mlptime import parse_mlp_time
from mlp.model import (
    Gem,
    Position,
    PositionError,
    Slia,
)
from mlp.xmlsafe import parse_document

__all__ = ["decode_answer"]

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
    msid = decode_msid(need_child(groups, "msid", path), f"{path}/msid")
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
