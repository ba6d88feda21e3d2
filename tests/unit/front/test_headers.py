"""The proxy's header rules."""

from __future__ import annotations

from front.headers import (
    connection_tokens,
    content_length,
    forwarded_for,
    request_headers,
    response_headers,
    wants_upgrade,
)


def test_hop_by_hop_and_connection_named_headers_are_dropped() -> None:
    headers = [
        (b"connection", b"close, X-Trace"),
        (b"x-trace", b"1"),
        (b"transfer-encoding", b"chunked"),
        (b"upgrade", b"h2c"),
        (b"proxy-connection", b"keep-alive"),
        (b"content-type", b"text/html"),
    ]
    assert connection_tokens(headers) == {b"close", b"x-trace"}
    assert response_headers(headers) == [(b"content-type", b"text/html")]


def test_request_headers_name_the_client_the_front_saw() -> None:
    sent = request_headers(
        [
            (b"host", b"www.example.com"),
            (b"x-forwarded-for", b"10.9.9.9"),
            (b"X-Forwarded-Proto", b"http"),
            (b"forwarded", b"for=10.9.9.9"),
            (b"expect", b"100-continue"),
            (b"accept", b"*/*"),
        ],
        client="2001:db8::7",
        host="www.example.com",
    )
    assert sent == [
        (b"host", b"www.example.com"),
        (b"accept", b"*/*"),
        (b"Forwarded", b'for="[2001:db8::7]";proto=https;host="www.example.com"'),
        (b"X-Forwarded-For", b"2001:db8::7"),
        (b"X-Forwarded-Proto", b"https"),
        (b"X-Forwarded-Host", b"www.example.com"),
    ]


def test_small_readers() -> None:
    assert forwarded_for("192.0.2.1") == "192.0.2.1"
    assert forwarded_for("not an address") == '"unknown"'
    assert content_length([(b"content-length", b"42")]) == 42
    assert content_length([]) is None
    assert wants_upgrade([(b"Upgrade", b"websocket")])
    assert not wants_upgrade([(b"connection", b"keep-alive")])
