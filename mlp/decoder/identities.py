"""Decoding ``msid`` and ``msid_range``: the target identities of requests and answers."""

from __future__ import annotations

import ipaddress
import re

from mlp.codes import MsidEncoding, MsidType, ResultCode
from mlp.decoder.walker import (
    Element,
    Walker,
    enum_value,
    fail,
    need_child,
    nonempty_text,
)
from mlp.model import (
    Msid,
    MsidRange,
)

__all__ = ["decode_msid", "decode_msid_range", "decode_request_msid"]

_MSISDN_RE = re.compile(r"\+?(\d{1,15})", re.ASCII)


def decode_msid(element: Element, path: str) -> Msid:
    """An ``msid`` of a request or an answer, its value checked against its type."""
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


def decode_request_msid(element: Element, path: str) -> Msid:
    """An ``msid`` of a request: not ANONYMOUS, not encrypted."""
    msid = decode_msid(element, path)
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


def decode_msid_range(walker: Walker, element: Element, path: str) -> MsidRange:
    """An ``msid_range``: two numeric identities of one type and width, start <= stop."""
    groups = walker.children(element)
    ends = []
    for name in ("start_msid", "stop_msid"):
        end = need_child(groups, name, path)
        inner = need_child(walker.children(end), "msid", f"{path}/{name}")
        ends.append(decode_request_msid(inner, f"{path}/{name}/msid"))
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
