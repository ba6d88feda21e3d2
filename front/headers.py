"""Header rules of the reverse proxy, as pure functions over ``(name, value)`` byte pairs.

Hop-by-hop headers (RFC 9110 §7.6.1: ``Connection`` and every header it names,
``Keep-Alive``, ``Proxy-*``, ``TE``, ``Trailer``, ``Transfer-Encoding``, ``Upgrade``)
describe one connection and never cross the front; framing is redone on each side.
The front is the edge: forwarding headers a client sends (``Forwarded``,
``X-Forwarded-*``) are someone's claim and are replaced by the front's own, naming the
TCP peer it saw, ``https`` and the requested host.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from typing import Final

__all__ = [
    "HOP_BY_HOP",
    "Headers",
    "connection_tokens",
    "content_length",
    "first_value",
    "forwarded_for",
    "is_chunked",
    "request_headers",
    "response_headers",
    "wants_upgrade",
]

Headers = Sequence[tuple[bytes, bytes]]

HOP_BY_HOP: Final = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
    }
)
_FORWARDING: Final = frozenset(
    {b"forwarded", b"x-forwarded-for", b"x-forwarded-proto", b"x-forwarded-host"}
)
# Expect: 100-continue is answered by the front itself (it reads the body as it comes).
_REQUEST_ONLY_DROPPED: Final = _FORWARDING | {b"expect"}


def connection_tokens(headers: Headers) -> frozenset[bytes]:
    """The lowercase tokens of every ``Connection`` header."""
    tokens: set[bytes] = set()
    for name, value in headers:
        if name.lower() == b"connection":
            tokens.update(t.strip().lower() for t in value.split(b",") if t.strip())
    return frozenset(tokens)


def _end_to_end(headers: Headers, also_dropped: Iterable[bytes] = ()) -> list[tuple[bytes, bytes]]:
    dropped = HOP_BY_HOP | connection_tokens(headers) | frozenset(also_dropped)
    return [(name, value) for name, value in headers if name.lower() not in dropped]


def first_value(headers: Headers, name: bytes) -> bytes | None:
    """The first value of header ``name`` (lowercase), or None."""
    return next((value for key, value in headers if key.lower() == name), None)


def content_length(headers: Headers) -> int | None:
    """The declared body length (h11 has checked it is one well-formed number)."""
    value = first_value(headers, b"content-length")
    return None if value is None else int(value)


def is_chunked(headers: Headers) -> bool:
    """Whether the body comes in chunks (``Transfer-Encoding``)."""
    return first_value(headers, b"transfer-encoding") is not None


def wants_upgrade(headers: Headers) -> bool:
    """Whether the request asks to switch protocols (WebSocket and the like)."""
    return any(name.lower() == b"upgrade" for name, _ in headers)


def forwarded_for(address: str) -> str:
    """The ``for=`` node of RFC 7239: an IPv6 address is bracketed and quoted."""
    try:
        if isinstance(ipaddress.ip_address(address), ipaddress.IPv6Address):
            return f'"[{address}]"'
    except ValueError:
        return '"unknown"'
    return address


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def request_headers(
    headers: Headers, *, client: str, host: str | None
) -> list[tuple[bytes, bytes]]:
    """The headers to send upstream for a client's request.

    Args:
        headers: The client's headers.
        client: The client's address as the front's socket saw it.
        host: The requested host (the ``Host`` header, else the TLS server name).
    """
    forwarded = [f"for={forwarded_for(client)}", "proto=https"]
    if host:
        forwarded.append(f"host={_quoted(host)}")
    result = _end_to_end(headers, _REQUEST_ONLY_DROPPED)
    result += [
        (b"Forwarded", ";".join(forwarded).encode("latin-1")),
        (b"X-Forwarded-For", client.encode("latin-1")),
        (b"X-Forwarded-Proto", b"https"),
    ]
    if host:
        result.append((b"X-Forwarded-Host", host.encode("latin-1")))
    return result


def response_headers(headers: Headers) -> list[tuple[bytes, bytes]]:
    """The upstream's response headers a client gets."""
    return _end_to_end(headers)
