"""The reverse proxy against a real application: headers, keep-alive, streaming, limits, faults.

Each fault (client or upstream) gets its defined answer, a log line and a count, and the
connections of other clients keep working.
"""

from __future__ import annotations

import hashlib
import json
import socket
from typing import Any

import h11

from mlp.delivery import StatementDelivery, parse_delivery

H = "shop.example.salve.test"
Fixture = Any
MiB = 1024 * 1024


def echoed(response: Any) -> dict[str, Any]:
    assert response.status == 200, (response.status, response.body[:200])
    document: dict[str, Any] = json.loads(response.body)
    return document


def test_hop_by_hop_headers_are_dropped_and_forwarding_headers_are_the_fronts(
    front: Fixture, client: Fixture
) -> None:
    connection = client.connect(front.port)
    seen = echoed(
        connection.request(
            "GET",
            "/headers?q=1",
            headers=[
                ("Connection", "x-private, keep-alive"),
                ("X-Private", "hop"),
                ("Keep-Alive", "timeout=5"),
                ("TE", "trailers"),
                ("Proxy-Authorization", "Basic c2VjcmV0"),
                ("X-Forwarded-For", "6.6.6.6"),
                ("Forwarded", "for=6.6.6.6"),
                ("X-End-To-End", "kept"),
            ],
        )
    )
    names = {name.lower(): value for name, value in seen["headers"]}
    assert seen["path"] == "/headers?q=1"
    for dropped in ("x-private", "keep-alive", "te", "proxy-authorization", "connection"):
        assert dropped not in names, dropped
    assert names["x-end-to-end"] == "kept"
    assert names["x-forwarded-for"] == "127.0.0.1"
    assert names["forwarded"] == f'for=127.0.0.1;proto=https;host="{H}"'
    assert (names["x-forwarded-proto"], names["x-forwarded-host"]) == ("https", H)
    assert "6.6.6.6" not in json.dumps(seen["headers"])


def test_connections_to_the_application_are_kept_alive(
    front: Fixture, client: Fixture, world: Fixture
) -> None:
    echoed(client.connect(front.port).request("GET", "/warm"))
    before = world.upstream.connections()
    for index in range(6):
        connection = client.connect(front.port)
        echoed(connection.request("GET", f"/again/{index}"))
        echoed(connection.request("POST", f"/again/{index}", body=b"x" * 100))
    # Twelve requests over six client connections, on the pooled upstream connection(s).
    assert world.upstream.connections() - before <= 1


def test_bodies_stream_both_ways(front: Fixture, client: Fixture) -> None:
    connection = client.connect(front.port)
    size = 24 * MiB + 123
    download = connection.request("GET", f"/big?n={size}")
    assert download.status == 200 and len(download.body) == size
    assert download.headers["content-length"] == str(size)
    assert download.body[:256] == bytes(range(256))
    # A chunked upload of unknown length, larger than any buffer on the way.
    piece = bytes(range(256)) * 4096  # 1 MiB
    http = connection.http
    data = http.send(
        h11.Request(
            method="PUT",
            target="/upload",
            headers=[("Host", H), ("Transfer-Encoding", "chunked")],
        )
    )
    connection.ssl.sendall(data)
    for _ in range(6):
        connection.ssl.sendall(http.send(h11.Data(data=piece)))
    connection.ssl.sendall(http.send(h11.EndOfMessage()))
    seen = echoed(connection.read_response())
    assert seen["length"] == 6 * MiB
    assert seen["sha256"] == hashlib.sha256(piece * 6).hexdigest()
    # The same connection still serves the statement.
    delivery = parse_delivery(connection.request("GET", "/.well-known/salve/statement").body)
    assert isinstance(delivery, StatementDelivery)


def test_head_and_expect_continue(front: Fixture, client: Fixture) -> None:
    connection = client.connect(front.port)
    head = connection.request("HEAD", "/page")
    assert head.status == 200 and head.body == b""
    seen = echoed(
        connection.request("POST", "/form", headers=[("Expect", "100-continue")], body=b"a=1")
    )
    assert seen["length"] == 3
    assert "expect" not in {name.lower() for name, _ in seen["headers"]}


def test_oversized_bodies_get_413_and_the_connection_closes(
    front: Fixture, client: Fixture, poll: Fixture
) -> None:
    before = front.metric("salve_front_client_errors_total", reason="body_too_large")
    declared = client.connect(front.port)
    head = (f"POST /upload HTTP/1.1\r\nHost: {H}\r\nContent-Length: {9 * MiB}\r\n\r\n").encode()
    declared.send_raw(head)
    response = declared.read_response()
    assert response.status == 413 and response.headers["connection"] == "close"
    assert declared.closed_by_peer()
    streamed = client.connect(front.port)
    http = streamed.http
    streamed.ssl.sendall(
        http.send(
            h11.Request(
                method="POST",
                target="/upload",
                headers=[("Host", H), ("Transfer-Encoding", "chunked")],
            )
        )
    )
    piece = b"y" * MiB
    try:
        for _ in range(10):
            streamed.ssl.sendall(http.send(h11.Data(data=piece)))
    except Exception:  # the front may close while the client still sends: fine
        pass
    assert streamed.read_response().status == 413
    poll(
        lambda: (
            front.metric("salve_front_client_errors_total", reason="body_too_large") == before + 2
        ),
        "two oversized bodies counted",
    )
    assert echoed(client.connect(front.port).request("GET", "/fine"))["path"] == "/fine"


def test_header_floods_get_431(front: Fixture, client: Fixture) -> None:
    large = client.connect(front.port)
    large.send_raw(f"GET / HTTP/1.1\r\nHost: {H}\r\nX-Big: {'a' * 20000}\r\n\r\n".encode())
    assert large.read_response().status == 431
    many = client.connect(front.port)
    fields = "".join(f"X-H{i}: {i}\r\n" for i in range(150))
    many.send_raw(f"GET / HTTP/1.1\r\nHost: {H}\r\n{fields}\r\n".encode())
    assert many.read_response().status == 431
    assert front.metric("salve_front_client_errors_total", reason="header_too_large") >= 1
    assert front.metric("salve_front_client_errors_total", reason="too_many_headers") >= 1


def test_a_request_head_that_never_ends_gets_408(front: Fixture, client: Fixture) -> None:
    slow = client.connect(front.port)
    slow.send_raw(f"GET /slowloris HTTP/1.1\r\nHost: {H}\r\n".encode())
    response = slow.read_response()
    assert response.status == 408
    assert any(e["reason"] == "header_timeout" for e in front.events("client_error"))


def test_malformed_requests_get_400(front: Fixture, client: Fixture) -> None:
    bad = client.connect(front.port)
    bad.send_raw(b"BLAH\r\n\r\n")
    assert bad.read_response().status == 400
    absolute = client.connect(front.port)
    assert absolute.request("GET", "http://elsewhere.example/").status == 400


def test_websocket_upgrades_get_a_clear_501(front: Fixture, client: Fixture) -> None:
    connection = client.connect(front.port)
    response = connection.request(
        "GET",
        "/socket",
        headers=[
            ("Connection", "Upgrade"),
            ("Upgrade", "websocket"),
            ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
            ("Sec-WebSocket-Version", "13"),
        ],
    )
    assert response.status == 501
    assert b"WebSocket" in response.body
    assert front.metric("salve_front_client_errors_total", reason="websocket") >= 1


def test_upstream_faults_give_502_or_504_with_a_plain_body(
    front: Fixture, client: Fixture, world: Fixture
) -> None:
    connection = client.connect(front.port)
    reset = connection.request("GET", "/reset")
    assert reset.status == 502 and reset.headers["content-type"].startswith("text/plain")
    slow = client.connect(front.port).request("GET", "/slow")
    assert slow.status == 504 and b"did not answer in time" in slow.body
    world.upstream.release.set()
    world.upstream.release.clear()
    assert front.metric("salve_front_upstream_failures_total", reason="reset") >= 1
    assert front.metric("salve_front_upstream_failures_total", reason="timeout") >= 1
    # A body that breaks off after the status was sent: the client's connection is aborted.
    half = client.connect(front.port)
    half.send_raw(f"GET /half HTTP/1.1\r\nHost: {H}\r\n\r\n".encode())
    try:
        half.read_response()
        raise AssertionError("a broken body was passed off as complete")
    except (ConnectionError, h11.RemoteProtocolError, OSError):
        pass
    assert echoed(client.connect(front.port).request("GET", "/after-faults"))


def test_an_application_that_is_down_gives_502_and_statements_still_work(
    world: Fixture, client: Fixture
) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    front = world.start(world.settings(upstream={"url": f"http://127.0.0.1:{port}"}))
    connection = client.connect(front.port)
    response = connection.request("GET", "/")
    assert response.status == 502 and b"unavailable" in response.body
    assert front.metric("salve_front_upstream_failures_total", reason="down") == 1
    assert any(e["reason"] == "down" for e in front.events("upstream_failed"))
    delivery = parse_delivery(connection.request("GET", "/.well-known/salve/statement").body)
    assert isinstance(delivery, StatementDelivery)
