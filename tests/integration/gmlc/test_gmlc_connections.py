"""The GMLC's connection layer against a real server, with raw sockets on loopback.

Early answers to bodies that are too large (HTTP 413 before the body, honouring
``Expect: 100-continue``, then a lingering close so a client still sending can read the
answer), clients that leave in the middle of their body, the header-read timeout, the cap
on connections per source address, and the separate metrics listener.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from mlp import ResultCode, Slia
from mlp.decoder import decode_answer

# The GmlcServer object built by conftest.py (not importable from here).
GmlcServer = Any

pytestmark = pytest.mark.slow

HEADER_TIMEOUT_S = 1.0
PER_SOURCE = 6
FOLD_WINDOW_S = 1.0
REFUSAL_BURST = 10
FIVE_MIB = 5 * 1024 * 1024


@pytest.fixture(scope="module")
def plain_server(start_module_gmlc: Callable[..., GmlcServer]) -> GmlcServer:
    """A plain-HTTP GMLC with a short header timeout and a small per-source cap."""
    return start_module_gmlc(
        header_timeout_s=HEADER_TIMEOUT_S,
        max_connections_per_source=PER_SOURCE,
        audit_fold_window_s=FOLD_WINDOW_S,
        observation_refusal_burst=REFUSAL_BURST,
    )


def wait_idle(server: GmlcServer) -> None:
    """Wait until the only open connection is the metrics scrape asking."""
    server.wait_for(
        lambda: "salve_gmlc_connections_open 1.0" in server.metrics(),
        what="earlier connections to be closed",
    )


def connect(server: GmlcServer, *, source: str = "127.0.0.1", timeout: float = 10) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    sock.bind((source, 0))
    sock.connect(("127.0.0.1", server.port))
    return sock


def read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes its side."""
    received = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return received
        received += chunk


def read_response(sock: socket.socket) -> bytes:
    """One whole response (head and Content-Length body), without waiting for the close."""
    received = b""
    while b"\r\n\r\n" not in received:
        received += sock.recv(65536)
    _, headers, body = split_response(received)
    while len(body) < int(headers["content-length"]):
        chunk = sock.recv(65536)
        assert chunk, "the connection closed in the middle of the answer"
        body += chunk
    return received.partition(b"\r\n\r\n")[0] + b"\r\n\r\n" + body


def split_response(raw: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), {k.lower(): v for k, v in headers.items()}, body


def assert_mlp_413(raw: bytes) -> None:
    status, headers, body = split_response(raw)
    assert status == 413, raw[:200]
    assert headers["connection"] == "close"
    answer = decode_answer(body)
    assert isinstance(answer, Slia)
    assert answer.result is ResultCode.SYNTAX_ERROR
    assert answer.add_info == "document larger than 65536 bytes"


def head(length: int | None, *extra: str, path: str = "/mlp") -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: gmlc", "Content-Type: application/xml", *extra]
    if length is not None:
        lines.append(f"Content-Length: {length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def audit_kinds(server: GmlcServer, kind: str) -> list[Any]:
    with server.store() as store:
        return list(store.list_audit(kind=kind))


# -- 7: a body over the cap gets its answer before it is read ---------------------------------


def test_expect_100_continue_gets_413_instead_of_continue(plain_server: GmlcServer) -> None:
    with connect(plain_server) as sock:
        sock.sendall(head(FIVE_MIB, "Expect: 100-continue"))
        raw = read_until_closed(sock)  # the body is never sent
    assert not raw.startswith(b"HTTP/1.1 100")
    assert_mlp_413(raw)


@pytest.mark.parametrize("connection", ["keep-alive", "close"])
def test_client_that_sends_5_mib_anyway_reads_the_413(
    plain_server: GmlcServer, connection: str
) -> None:
    # A simple client: the whole body first, then the answer. Closing the socket with
    # the body unread would reset the connection under it.
    with connect(plain_server) as sock:
        sock.sendall(head(FIVE_MIB, f"Connection: {connection}") + b" " * FIVE_MIB)
        assert_mlp_413(read_until_closed(sock))


def test_chunked_body_over_the_cap_gets_413(plain_server: GmlcServer) -> None:
    chunk = b"%x\r\n%s\r\n" % (65536, b" " * 65536)
    with connect(plain_server) as sock:
        sock.sendall(head(None, "Transfer-Encoding: chunked") + chunk * 40 + b"0\r\n\r\n")
        assert_mlp_413(read_until_closed(sock))


def test_observation_over_the_cap_gets_413_before_its_body(plain_server: GmlcServer) -> None:
    with connect(plain_server) as sock:
        sock.sendall(head(FIVE_MIB, "Expect: 100-continue", path="/v1/observations"))
        status, headers, body = split_response(read_until_closed(sock))
    assert (status, headers["connection"]) == (413, "close")
    assert json.loads(body)["error"] == "too_large"


# -- 8: a client that leaves in the middle of its body ----------------------------------------


def test_disconnect_mid_body_is_one_warning_and_one_audit_row(plain_server: GmlcServer) -> None:
    before = len(audit_kinds(plain_server, "request_abandoned"))
    log_before = plain_server.log()
    with connect(plain_server) as sock:
        sock.sendall(head(1000) + b"<svc_init" + b" " * 91)
    plain_server.wait_for(
        lambda: len(audit_kinds(plain_server, "request_abandoned")) == before + 1,
        what="the abandoned request in the audit log",
    )
    (row,) = audit_kinds(plain_server, "request_abandoned")[before:]
    assert row.detail == {"path": "/mlp", "received_bytes": 100, "declared_bytes": 1000}
    assert row.source == "127.0.0.1"
    new_lines = plain_server.log()[len(log_before) :].splitlines()
    events = [json.loads(line) for line in new_lines if line.startswith("{")]
    abandoned = [e for e in events if e["event"] == "request_abandoned"]
    assert [e["level"] for e in abandoned] == ["WARNING"]
    assert not [e for e in events if e["level"] in ("ERROR", "CRITICAL")]
    assert "Traceback" not in "\n".join(new_lines)


# -- 9: connections that never send a request, and many of them from one source ---------------


def test_a_connection_that_sends_nothing_is_closed_after_the_header_timeout(
    plain_server: GmlcServer,
) -> None:
    with connect(plain_server) as silent, connect(plain_server) as partial:
        partial.sendall(b"POST /mlp HTTP/1.1\r\nHost: gm")
        opened = time.monotonic()
        assert read_until_closed(silent) == b""
        assert read_until_closed(partial).startswith(b"HTTP/1.1 408 ")
        waited = time.monotonic() - opened
    assert HEADER_TIMEOUT_S * 0.8 <= waited < HEADER_TIMEOUT_S + 5
    assert 'event="header_timeout"' in plain_server.metrics()


def test_the_header_timeout_restarts_with_each_request(plain_server: GmlcServer) -> None:
    # A keep-alive client that takes its time between requests is not cut off: the limit
    # applies to one request head, counted from its first byte.
    with connect(plain_server) as sock:
        for _ in range(2):
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: gmlc\r\n\r\n")
            reply = b""
            while b'"alive"' not in reply:
                reply += sock.recv(4096)
            assert reply.startswith(b"HTTP/1.1 200 ")
            time.sleep(HEADER_TIMEOUT_S * 0.6)  # idle, below the keep-alive timeout


def test_connections_per_source_are_capped(plain_server: GmlcServer) -> None:
    wait_idle(plain_server)
    # The scrape that saw the server idle has closed too, so the whole cap is free.
    held = [connect(plain_server) for _ in range(PER_SOURCE)]
    try:
        # Each of these has been accepted and counted once its request is answered.
        for sock in held:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: gmlc\r\n\r\n")
            assert sock.recv(4096).startswith(b"HTTP/1.1 200 ")
        with connect(plain_server) as over:
            try:
                assert read_until_closed(over) == b""
            except ConnectionResetError:
                pass  # closed before it was read: a reset is just as final
        # Another source is not affected.
        with connect(plain_server, source="127.0.0.2") as other:
            other.sendall(b"GET /healthz HTTP/1.1\r\nHost: gmlc\r\nConnection: close\r\n\r\n")
            assert read_until_closed(other).startswith(b"HTTP/1.1 200 ")
    finally:
        for sock in held:
            sock.close()
    assert 'event="connection_refused"' in plain_server.metrics()

    def admitted_again() -> bool:
        with connect(plain_server) as again:
            again.sendall(b"GET /healthz HTTP/1.1\r\nHost: gmlc\r\nConnection: close\r\n\r\n")
            try:
                return read_until_closed(again).startswith(b"HTTP/1.1 200 ")
            except ConnectionResetError:
                return False

    plain_server.wait_for(admitted_again, what="the source to be admitted again")


# -- 10: metrics on their own listener --------------------------------------------------------


def test_metrics_only_on_their_own_listener(plain_server: GmlcServer) -> None:
    assert httpx.get(plain_server.url + "/metrics", timeout=10).status_code == 404
    metrics = plain_server.metrics()
    assert "salve_gmlc_connections_open" in metrics
    on_metrics = plain_server.metrics_url.removesuffix("/metrics")
    assert httpx.get(on_metrics + "/healthz", timeout=10).status_code == 404
    assert httpx.post(on_metrics + "/mlp", content=b"<svc_init/>", timeout=10).status_code == 404


# -- 6: a flood of unauthenticated garbage to /v1/observations ----------------------------------


def test_a_garbage_flood_is_rate_limited_and_folded_in_the_audit_log(
    plain_server: GmlcServer,
) -> None:
    server = plain_server
    flood, source = 100, "127.0.0.9"
    before = len(audit_kinds(server, "observation_rejected"))
    transport = httpx.HTTPTransport(local_address=source)
    with httpx.Client(base_url=server.url, transport=transport, timeout=10) as client:
        answers = [client.post("/v1/observations", content=b"{not a jws}") for _ in range(flood)]
    statuses = [a.status_code for a in answers]
    # The burst is refused one by one; then the source is refused before being read.
    assert statuses[:REFUSAL_BURST] == [400] * REFUSAL_BURST
    assert statuses.count(429) >= flood - REFUSAL_BURST - 5  # a few tokens come back
    limited = next(a for a in answers if a.status_code == 429)
    assert int(limited.headers["retry-after"]) >= 1
    assert limited.json()["error"] == "rate_limited"

    def folded_rows() -> list[Any]:
        return [
            r for r in audit_kinds(server, "observation_rejected")[before:] if r.source == source
        ]

    # Once the window has passed, the counts are written: one row per reason plus one
    # count row each, and every refusal is in exactly one of them.
    server.wait_for(
        lambda: sum(r.detail.get("repeated", 1) for r in folded_rows()) == flood,
        what="the folded counts of the flood",
    )
    rows = folded_rows()
    # Two reasons, each a first row and a count row per window (the flood takes well under
    # a window; a slow machine may stretch it over two).
    assert len(rows) <= 8, [(r.detail["reason"], r.detail.get("repeated")) for r in rows]
    assert {r.detail["reason"] for r in rows} == {"malformed", "rate_limited"}
    assert any(r.detail.get("repeated", 0) > 50 for r in rows)
    log_lines = [line for line in server.log().splitlines() if source in line]
    assert len(log_lines) <= 4  # one WARNING line per reason and window, not one per request


def test_two_workers_share_both_listeners_and_only_the_main_process_notifies(
    start_gmlc: Callable[..., GmlcServer], notify_socket: Any
) -> None:
    server = start_gmlc(
        workers=2, env={"NOTIFY_SOCKET": str(notify_socket.path), "WATCHDOG_USEC": "2000000"}
    )
    for _ in range(4):  # whichever worker accepts, the split holds
        assert httpx.get(server.url + "/healthz", timeout=10).json() == {"status": "alive"}
        assert httpx.get(server.url + "/metrics", timeout=10).status_code == 404
        assert "salve_gmlc_connections_open" in server.metrics()
    # systemd hears the supervisor only (NotifyAccess=main): READY once both workers
    # serve, the watchdog from its loop, STOPPING when it is stopped.
    main = server.process.pid
    sender, ready = notify_socket.wait_for("READY")
    assert sender == main
    assert ready["STATUS"].startswith(f"serving MLP on {server.url}, metrics on http")
    assert ready["STATUS"].endswith("; 2 workers")
    assert notify_socket.wait_for("WATCHDOG")[0] == main
    server.process.terminate()
    assert notify_socket.wait_for("STOPPING")[0] == main
    assert server.process.wait(timeout=30) == 0
    assert {pid for pid, _ in notify_socket.messages} == {main}
