"""The MLP HTTP client against a real HTTP/1.1 server on loopback.

The server is the standard library's threading HTTP server, answering with documents
made by the real codec; it records every connection and request, so the tests can
prove keep-alive (one TCP connection for many requests) and that a sent request is
never retried.
"""

from __future__ import annotations

import socket
import ssl
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from mlp import (
    CircularArea,
    Gem,
    LocationRequest,
    Msid,
    MsidType,
    Point,
    Position,
    PositionError,
    ResultCode,
    Slia,
    decode_request,
    encode_gem,
    encode_slia,
)
from mlp.client import (
    LocationResult,
    MlpBadAnswerError,
    MlpClient,
    MlpResultError,
    MlpTransportError,
)
from mlp.keys import KeyMaterialError, KeySet, SigningKey
from mlp.statement import (
    StatementPosition,
    issue_statement,
    session_hash_from_exporter,
    verify_statement,
)
from tests.support.certificates import self_signed_certificate

MSISDN = "41791234567"
SESSION_HASH = session_hash_from_exporter(bytes(range(32)))
DOMAIN = "www.example.com"
MEASURED = datetime(2026, 11, 23, 11, 59, 40, tzinfo=UTC)
SIGNING_KEY = SigningKey.generate("ES256")

CLOSE = "close without answering"
HANG = "never answer"
Reply = tuple[int, str, bytes] | str
Responder = Callable[[str, str, bytes], Reply]


@dataclass
class Exchange:
    connection: int
    method: str
    path: str
    body: bytes


@dataclass
class LoopbackServer:
    """A threading HTTP/1.1 server whose answers come from ``respond``."""

    respond: Responder
    exchanges: list[Exchange] = field(default_factory=list)
    connections: int = 0
    closed: int = 0
    close_after_answer: bool = False
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def open_connection(self) -> int:
        with self.lock:
            self.connections += 1
            return self.connections

    def note_closed(self) -> None:
        with self.lock:
            self.closed += 1

    def record(self, exchange: Exchange) -> None:
        with self.lock:
            self.exchanges.append(exchange)


class QuietServer(ThreadingHTTPServer):
    """Clients here drop connections on purpose; resets are expected, not printed."""

    state: LoopbackServer

    def shutdown_request(self, request: Any) -> None:
        # Counted only once the socket is really shut, so a test that waits for the
        # count knows the client can see the close.
        super().shutdown_request(request)
        self.state.note_closed()

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def _handler_for(state: LoopbackServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in two writes; without this, Nagle's algorithm and the
        # client's delayed ACK add 40 ms to every answer.
        disable_nagle_algorithm = True

        def setup(self) -> None:
            super().setup()
            self.connection_number = state.open_connection()

        def do_GET(self) -> None:
            self._answer()

        def do_POST(self) -> None:
            self._answer()

        def _answer(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            state.record(Exchange(self.connection_number, self.command, self.path, body))
            reply = state.respond(self.command, self.path, body)
            if reply == HANG:
                state.release.wait(timeout=30)
            if isinstance(reply, str):
                self.close_connection = True
                return
            status, content_type, content = reply
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)
            # Closing without "Connection: close" is what a server's idle timeout does.
            self.close_connection = state.close_after_answer

        def log_message(self, format: str, *args: Any) -> None:
            """Keep test output quiet."""

    return Handler


@pytest.fixture
def serve() -> Iterator[Callable[..., tuple[str, LoopbackServer]]]:
    started: list[tuple[QuietServer, threading.Thread, LoopbackServer]] = []

    def start(respond: Responder, tls: ssl.SSLContext | None = None) -> tuple[str, LoopbackServer]:
        state = LoopbackServer(respond)
        server = QuietServer(("127.0.0.1", 0), _handler_for(state))
        server.state = state
        server.daemon_threads = True
        scheme = "http"
        if tls is not None:
            server.socket = tls.wrap_socket(server.socket, server_side=True)
            scheme = "https"
        thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
        thread.start()
        started.append((server, thread, state))
        host, port = server.server_address[:2]
        return f"{scheme}://{host!s}:{port}", state

    yield start
    for server, thread, state in started:
        state.release.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def _xml(document: bytes, status: int = 200) -> Reply:
    return (status, "application/xml", document)


def position_for(request: LocationRequest, statement: str | None = None) -> Position:
    return Position(
        msid=request.slir.msids[0],
        time=MEASURED,
        shape=CircularArea(Point(47.376888, 8.541694), 750.0),
        lev_conf=68,
        statement=statement,
    )


def gmlc_like(request_body: bytes) -> Reply:
    """Answer as the GMLC would: check credentials, sign a statement when asked."""
    request = decode_request(request_body)
    client = request.header.client
    if client is None or (client.id, client.pwd) != ("webshop", "s3cret"):
        return _xml(encode_slia(Slia(result=ResultCode.UNAUTHORIZED_APPLICATION)))
    statement = None
    if request.slir.session_hash is not None:
        if request.slir.domain is None:
            return _xml(encode_slia(Slia(result=ResultCode.INVALID_PROTOCOL_ELEMENT_VALUE)))
        statement, _ = issue_statement(
            key=SIGNING_KEY,
            issuer="gmlc.example.net",
            subject=request.slir.domain,
            session_hash=request.slir.session_hash,
            positions=StatementPosition(47.376888, 8.541694, 750),
            position_time=MEASURED,
            now=MEASURED + timedelta(seconds=5),
            validity_s=60,
            batch_size=request.slir.batch_size,
        )
    return _xml(encode_slia(Slia(positions=(position_for(request, statement),))))


def answering(method: str, path: str, body: bytes) -> Reply:
    if method == "GET" and path == "/.well-known/salve/jwks.json":
        jwks = KeySet.from_signing_keys([SIGNING_KEY]).to_jwks()
        return (200, "application/json", httpx.Response(200, json=jwks).content)
    return gmlc_like(body)


def client_for(base_url: str, **options: Any) -> MlpClient:
    return MlpClient(base_url, client_id="webshop", password="s3cret", **options)


# --------------------------------------------------------------------------- success


def test_location_with_statement_that_verifies(serve: Any) -> None:
    base_url, server = serve(answering)

    with client_for(base_url) as client:
        result = client.request_location(MSISDN, SESSION_HASH, domain=DOMAIN)
        keys = client.fetch_jwks()

    assert isinstance(result, LocationResult)
    assert result.msid == Msid(MSISDN)
    assert result.position.time == MEASURED
    shape = result.position.shape
    assert isinstance(shape, CircularArea)
    assert shape.radius_m == 750.0
    # DMSH with millisecond seconds: about 3 cm of rounding.
    assert shape.center.lat == pytest.approx(47.376888, abs=1e-6)
    assert shape.center.lon == pytest.approx(8.541694, abs=1e-6)
    assert result.statement is not None
    verified = verify_statement(
        result.statement,
        keys,
        issuers=["gmlc.example.net"],
        subject=DOMAIN,
        session_hash=SESSION_HASH,
        proof=None,
        now=MEASURED + timedelta(seconds=10),
        max_position_age_s=60,
    )
    assert verified.claims.sub == DOMAIN
    request = decode_request(server.exchanges[0].body)
    assert (request.slir.domain, request.slir.session_hash) == (DOMAIN, SESSION_HASH)
    assert [(e.method, e.path) for e in server.exchanges] == [
        ("POST", "/mlp"),
        ("GET", "/.well-known/salve/jwks.json"),
    ]


def test_request_carries_credentials_target_and_qos(serve: Any) -> None:
    base_url, server = serve(answering)

    with client_for(base_url, serviceid="svc-7") as client:
        client.request_location(
            Msid("228011234567890", MsidType.IMSI), max_loc_age=30, hor_acc=1000
        )

    request = decode_request(server.exchanges[0].body)
    assert request.header.client is not None
    assert request.header.client.serviceid == "svc-7"
    assert request.slir.msids == (Msid("228011234567890", MsidType.IMSI),)
    assert request.slir.eqop is not None
    assert (request.slir.eqop.max_loc_age, request.slir.eqop.hor_acc) == (30, 1000)
    assert request.slir.session_hash is None


def test_batch_request_carries_the_root_and_its_size(serve: Any) -> None:
    base_url, server = serve(answering)
    root = session_hash_from_exporter(bytes(32))

    with client_for(base_url) as client:
        result = client.request_location(MSISDN, root, domain=DOMAIN, batch_size=9)

    request = decode_request(server.exchanges[0].body)
    assert (request.slir.session_hash, request.slir.batch_size) == (root, 9)
    assert result.statement is not None


def test_without_session_hash_no_statement_is_needed(serve: Any) -> None:
    base_url, _ = serve(answering)

    with client_for(base_url) as client:
        result = client.request_location(MSISDN)

    assert result.statement is None


def test_one_tcp_connection_serves_many_requests(serve: Any) -> None:
    base_url, server = serve(answering)

    with client_for(base_url) as client:
        for _ in range(25):
            client.request_location(MSISDN, SESSION_HASH, domain=DOMAIN)
        client.fetch_jwks()

    assert len(server.exchanges) == 26
    assert server.connections == 1
    assert {exchange.connection for exchange in server.exchanges} == {1}


def test_path_prefix_of_the_base_url_is_kept(serve: Any) -> None:
    base_url, server = serve(answering)

    with client_for(f"{base_url}/gmlc", path="/LocationQueryService/") as client:
        client.request_location(MSISDN)

    assert server.exchanges[0].path == "/gmlc/LocationQueryService/"


# --------------------------------------------------------------------------- MLP errors


def test_request_level_result_is_a_typed_error(serve: Any) -> None:
    base_url, _ = serve(answering)

    with (
        MlpClient(base_url, client_id="webshop", password="wrong") as client,
        pytest.raises(MlpResultError) as caught,
    ):
        client.request_location(MSISDN, SESSION_HASH, domain=DOMAIN)

    assert caught.value.result_code == ResultCode.UNAUTHORIZED_APPLICATION
    assert caught.value.resid == 3
    assert caught.value.slogan == "UNAUTHORIZED APPLICATION"
    assert caught.value.http_status == 200


def test_target_poserr_is_a_typed_error(serve: Any) -> None:
    def unknown_subscriber(method: str, path: str, body: bytes) -> Reply:
        request = decode_request(body)
        error = PositionError(
            msid=request.slir.msids[0],
            result=ResultCode.UNKNOWN_SUBSCRIBER,
            add_info="no appliance serves this SIM",
            time=MEASURED,
        )
        return _xml(encode_slia(Slia(positions=(error,))))

    base_url, _ = serve(unknown_subscriber)

    with client_for(base_url) as client, pytest.raises(MlpResultError) as caught:
        client.request_location(MSISDN, SESSION_HASH, domain=DOMAIN)

    assert caught.value.result_code == ResultCode.UNKNOWN_SUBSCRIBER
    assert caught.value.slogan == "UNKNOWN SUBSCRIBER"
    assert caught.value.add_info == "no appliance serves this SIM"
    assert caught.value.msid == Msid(MSISDN)


def test_gem_in_http_404_is_a_typed_error(serve: Any) -> None:
    def no_such_service(method: str, path: str, body: bytes) -> Reply:
        gem = Gem(ResultCode.SERVICE_NOT_SUPPORTED, "only slir is offered")
        return _xml(encode_gem(gem), status=404)

    base_url, _ = serve(no_such_service)

    with client_for(base_url) as client, pytest.raises(MlpResultError) as caught:
        client.request_location(MSISDN)

    assert caught.value.result_code == ResultCode.SERVICE_NOT_SUPPORTED
    assert caught.value.slogan == "SERVICE NOT SUPPORTED"
    assert caught.value.http_status == 404


# --------------------------------------------------------------------------- bad answers


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        ((500, "text/plain", b"Internal Server Error"), MlpTransportError),
        ((502, "text/html", b"<html>bad gateway</html>"), MlpTransportError),
        ((200, "application/xml", b"<not-mlp/>"), MlpBadAnswerError),
        ((200, "application/xml", b"\x00\x01 garbage"), MlpBadAnswerError),
        ((200, "application/xml", b""), MlpBadAnswerError),
        ((200, "application/xml", b"<a>" * 400_000), MlpBadAnswerError),
    ],
    ids=["500", "502", "other-xml", "garbage", "empty", "oversized"],
)
def test_unusable_answers_are_transport_errors(
    serve: Any, reply: Reply, error: type[Exception]
) -> None:
    base_url, _ = serve(lambda method, path, body: reply)

    with client_for(base_url) as client, pytest.raises(error):
        client.request_location(MSISDN)


def test_missing_statement_is_a_bad_answer(serve: Any) -> None:
    def no_statement(method: str, path: str, body: bytes) -> Reply:
        request = decode_request(body)
        return _xml(encode_slia(Slia(positions=(position_for(request),))))

    base_url, _ = serve(no_statement)

    with client_for(base_url) as client, pytest.raises(MlpBadAnswerError, match="statement"):
        client.request_location(MSISDN, SESSION_HASH, domain=DOMAIN)


def test_msisdn_echoed_without_plus_matches_the_request(serve: Any) -> None:
    def without_plus(method: str, path: str, body: bytes) -> Reply:
        request = decode_request(body)
        echoed = Msid(request.slir.msids[0].value.removeprefix("+"))
        position = Position(msid=echoed, time=MEASURED, shape=CircularArea(Point(47.0, 8.0), 9.0))
        return _xml(encode_slia(Slia(positions=(position,))))

    base_url, _ = serve(without_plus)

    with client_for(base_url) as client:
        result = client.request_location("+" + MSISDN.removeprefix("+"))
    assert result.position.shape == CircularArea(Point(47.0, 8.0), 9.0)


def test_answer_for_another_target_is_a_bad_answer(serve: Any) -> None:
    def wrong_target(method: str, path: str, body: bytes) -> Reply:
        position = Position(
            msid=Msid("41790000000"), time=MEASURED, shape=CircularArea(Point(47.0, 8.0), 9.0)
        )
        return _xml(encode_slia(Slia(positions=(position,))))

    base_url, _ = serve(wrong_target)

    with client_for(base_url) as client, pytest.raises(MlpBadAnswerError, match="target"):
        client.request_location(MSISDN)


def test_jwks_errors(serve: Any) -> None:
    replies: dict[str, Reply] = {
        "/missing/.well-known/salve/jwks.json": (404, "text/plain", b"not found"),
        "/junk/.well-known/salve/jwks.json": (200, "application/json", b'{"keys": [1]}'),
    }
    base_url, _ = serve(lambda method, path, body: replies[path])

    with client_for(f"{base_url}/missing") as client, pytest.raises(MlpBadAnswerError):
        client.fetch_jwks()
    with client_for(f"{base_url}/junk") as client, pytest.raises(KeyMaterialError):
        client.fetch_jwks()


# --------------------------------------------------------------------------- transport


def test_timeout_is_a_transport_error(serve: Any) -> None:
    base_url, server = serve(lambda method, path, body: HANG)
    started = time.monotonic()

    with client_for(base_url, timeout=0.3) as client, pytest.raises(MlpTransportError) as caught:
        client.request_location(MSISDN)

    assert isinstance(caught.value.__cause__, httpx.TimeoutException)
    assert time.monotonic() - started < 5
    assert len(server.exchanges) == 1


def test_connection_refused_is_a_transport_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # Nothing listens on the port any more.

    with client_for(f"http://127.0.0.1:{port}") as client, pytest.raises(MlpTransportError):
        client.request_location(MSISDN)


def test_a_sent_request_is_never_retried(serve: Any) -> None:
    base_url, server = serve(lambda method, path, body: CLOSE)

    with client_for(base_url) as client, pytest.raises(MlpTransportError) as caught:
        client.request_location(MSISDN)

    assert isinstance(caught.value.__cause__, httpx.TransportError)
    assert len(server.exchanges) == 1


def test_client_recovers_after_the_server_drops_the_connection(serve: Any) -> None:
    replies = iter([CLOSE])

    def drop_once(method: str, path: str, body: bytes) -> Reply:
        return next(replies, None) or gmlc_like(body)

    base_url, server = serve(drop_once)

    with client_for(base_url) as client:
        with pytest.raises(MlpTransportError):
            client.request_location(MSISDN)
        assert client.request_location(MSISDN, SESSION_HASH, domain=DOMAIN).statement is not None

    assert server.connections == 2


def test_connection_closed_by_the_server_while_idle_is_replaced(serve: Any) -> None:
    base_url, server = serve(answering)
    server.close_after_answer = True

    with client_for(base_url) as client:
        client.request_location(MSISDN)
        deadline = time.monotonic() + 5
        while server.closed < 1 and time.monotonic() < deadline:
            threading.Event().wait(0.01)
        assert server.closed == 1
        client.request_location(MSISDN)

    assert server.connections == 2
    assert len(server.exchanges) == 2


# --------------------------------------------------------------------------- TLS


@pytest.fixture
def tls_files(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key, as PEM files."""
    return self_signed_certificate(
        tmp_path,
        "gmlc.test",
        alt_names=("127.0.0.1",),
        authority=True,
        valid_since=timedelta(hours=1),
    )


def _server_context(tls_files: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.load_cert_chain(*tls_files)
    return context


def test_tls_with_a_ca_bundle_keeps_one_connection(
    serve: Any, tls_files: tuple[Path, Path]
) -> None:
    base_url, server = serve(answering, tls=_server_context(tls_files))

    with client_for(base_url, verify=str(tls_files[0])) as client:
        for _ in range(5):
            assert (
                client.request_location(MSISDN, SESSION_HASH, domain=DOMAIN).statement is not None
            )

    assert base_url.startswith("https://")
    assert server.connections == 1
    assert len(server.exchanges) == 5


def test_tls_with_an_untrusted_certificate_is_a_transport_error(
    serve: Any, tls_files: tuple[Path, Path]
) -> None:
    base_url, server = serve(answering, tls=_server_context(tls_files))

    with client_for(base_url) as client, pytest.raises(MlpTransportError):
        client.request_location(MSISDN)

    assert server.exchanges == []


def test_unreadable_ca_bundle_is_refused_at_setup(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="CA bundle"):
        client_for("https://127.0.0.1:9211", verify=str(tmp_path / "missing.pem"))


# --------------------------------------------------------------------------- arguments


def test_bad_arguments_are_value_errors() -> None:
    with pytest.raises(ValueError, match="timeout"):
        client_for("http://127.0.0.1:9", timeout=0)
    with client_for("http://127.0.0.1:9") as client, pytest.raises(ValueError, match="32 bytes"):
        client.request_location(MSISDN, b"short")
