"""The front's TLS side against real clients: session binding, SNI, resumption, refusals, reload.

A pyOpenSSL client computes its own RFC 9266 exporter, and ``openssl s_client`` prints
its own: the statement each gets on its connection must be bound to exactly that session.
"""

from __future__ import annotations

import json
import re
import shutil
import signal
import socket
import subprocess
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from OpenSSL import SSL

from mlp.delivery import StatementDelivery, parse_delivery
from mlp.keys import b64url_decode, loads_json_object, split_compact_jws
from mlp.m2dmrt import spki_der
from mlp.statement import (
    MAX_STATEMENT_LENGTH,
    StatementBindingError,
    session_hash_from_exporter,
    verify_statement,
)

H = "shop.example.salve.test"
API = "api.example.salve.test"
G = "front-gmlc.gmlc.salve.test"
Fixture = Any


def statement_of(response: Any) -> StatementDelivery:
    assert response.status == 200, (response.status, response.body)
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["content-type"] == "application/json"
    delivery = parse_delivery(response.body)
    assert isinstance(delivery, StatementDelivery)
    return delivery


def verified(
    world: Fixture, delivery: StatementDelivery, session_hash: bytes, subject: str = H
) -> Any:
    return verify_statement(
        delivery.statement,
        world.gmlc.keys(),
        issuers=[G],
        subject=subject,
        session_hash=session_hash,
        proof=delivery.proof,
        now=datetime.now(UTC),
        max_position_age_s=300,
    )


def sbh(token: str) -> bytes:
    claims = loads_json_object(split_compact_jws(token, max_length=MAX_STATEMENT_LENGTH).payload)
    return b64url_decode(claims["sbh"])


def test_each_connection_gets_a_statement_bound_to_its_own_session(
    front: Fixture, client: Fixture, world: Fixture
) -> None:
    first, second = client.connect(front.port), client.connect(front.port)
    one = statement_of(first.request("GET", "/.well-known/salve/statement"))
    two = statement_of(second.request("GET", "/.well-known/salve/statement"))
    assert verified(world, one, first.session_hash).claims.sub == H
    assert verified(world, two, second.session_hash).claims.sbh == second.session_hash
    assert one.proof is None
    # A statement relayed to another session does not bind.
    with pytest.raises(StatementBindingError):
        verified(world, one, second.session_hash)
    # One statement per TLS session: asked again, the same one comes back.
    again = statement_of(first.request("GET", "/.well-known/salve/statement?again=1"))
    assert again.statement == one.statement
    # Proxied traffic runs on the same connection, before and after.
    assert first.request("GET", "/account").status == 200
    assert front.metric("salve_front_statement_requests_total", mode="single", outcome="ok") >= 2


def test_openssl_computes_the_same_exporter_and_a_resumed_session_gets_a_new_one(
    front: Fixture, world: Fixture, tmp_path: Path
) -> None:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("the openssl command is not installed")
    session_file = tmp_path / "session.pem"
    request = (
        f"GET /.well-known/salve/statement HTTP/1.1\r\nHost: {H}\r\nConnection: close\r\n\r\n"
    ).encode()

    def s_client(*extra: str) -> tuple[bytes, StatementDelivery, str]:
        result = subprocess.run(
            [
                openssl, "s_client", "-connect", f"127.0.0.1:{front.port}", "-servername", H,
                "-CAfile", str(world.pki.ca_file), "-verify_return_error", "-ign_eof",
                "-keymatexport", "EXPORTER-Channel-Binding", "-keymatexportlen", "32", *extra,
            ],
            input=request,
            capture_output=True,
            timeout=30,
            check=False,
        )  # fmt: skip
        output = result.stdout.decode("latin-1")
        material = re.search(r"Keying material: ([0-9A-F]{64})", output)
        assert material is not None, output + result.stderr.decode("latin-1")
        # The body has no final newline: s_client's next message follows on its line.
        body = re.search(r'\{"statement":"[^"]+","proof":null\}', output)
        assert body is not None, output
        delivery = parse_delivery(body.group(0).encode())
        assert isinstance(delivery, StatementDelivery)
        return bytes.fromhex(material.group(1)), delivery, output

    exporter, delivery, first_output = s_client("-sess_out", str(session_file))
    assert sbh(delivery.statement) == session_hash_from_exporter(exporter)
    verified(world, delivery, session_hash_from_exporter(exporter))
    assert "TLSv1.3" in first_output
    assert "Max Early Data: 0" in first_output  # no 0-RTT: nothing before the handshake

    resumed_exporter, resumed, output = s_client("-sess_in", str(session_file))
    assert "Reused, TLSv1.3" in output  # a resumed (psk_dhe_ke) session...
    assert resumed_exporter != exporter  # ...has a new exporter...
    verified(world, resumed, session_hash_from_exporter(resumed_exporter))  # ...and statement
    assert resumed.statement != delivery.statement


def test_sni_chooses_the_certificate_and_the_statement_domain(
    front: Fixture, client: Fixture, world: Fixture
) -> None:
    api = client.connect(front.port, server_name=API)
    certificate = api.ssl.get_peer_certificate(as_cryptography=True)
    names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == [API]
    delivery = statement_of(api.request("GET", "/.well-known/salve/statement", host=API))
    assert verified(world, delivery, api.session_hash, subject=API).claims.sub == API
    # Without SNI: the first certificate, and the statement names its domain.
    bare = client.connect(front.port, server_name=None)
    cert = bare.ssl.get_peer_certificate(as_cryptography=True)
    assert spki_der(cert) == world.pki.spki(world.pki.site)
    assert (
        verified(
            world,
            statement_of(bare.request("GET", "/.well-known/salve/statement")),
            bare.session_hash,
        ).claims.sub
        == H
    )


def _handshake_error(port: int, context: SSL.Context, server_name: bytes | None) -> str:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.setblocking(True)
    connection = SSL.Connection(context, sock)
    if server_name:
        connection.set_tlsext_host_name(server_name)
    connection.set_connect_state()
    try:
        connection.do_handshake()
        connection.recv(1)  # TLS 1.3: the server's verdict on the client's Finished
    except SSL.Error as exc:
        return str(exc)
    finally:
        sock.close()
    raise AssertionError("the handshake succeeded")


@pytest.mark.parametrize(
    ("case", "reason", "alert"),
    [
        ("unknown_name", "unknown_name", "unrecognized name"),
        ("tls12", "tls_version", "protocol version"),
    ],
)
def test_refused_handshakes_get_their_alert_a_log_line_and_a_count(
    front: Fixture,
    client: Fixture,
    world: Fixture,
    poll: Fixture,
    case: str,
    reason: str,
    alert: str,
) -> None:
    before = front.metric("salve_front_tls_refusals_total", reason=reason)
    context = SSL.Context(SSL.TLS_CLIENT_METHOD)
    context.load_verify_locations(str(world.pki.ca_file))
    name = b"nobody.example.salve.test"
    if case == "tls12":
        context.set_max_proto_version(SSL.TLS1_2_VERSION)
        name = H.encode()
    assert alert in _handshake_error(front.port, context, name)
    poll(
        lambda: front.metric("salve_front_tls_refusals_total", reason=reason) == before + 1, reason
    )
    assert any(e["reason"] == reason for e in front.events("tls_refused"))
    # Other clients are not affected.
    assert client.connect(front.port).request("GET", "/ok").status == 200


def test_garbage_and_a_silent_client_are_dropped(front: Fixture, poll: Fixture) -> None:
    before = front.metric("salve_front_tls_refusals_total", reason="not_tls")
    with socket.create_connection(("127.0.0.1", front.port), timeout=10) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert sock.recv(4096)[:1] in (b"\x15", b"")  # an alert record, or just the close
    poll(
        lambda: front.metric("salve_front_tls_refusals_total", reason="not_tls") == before + 1,
        "not_tls",
    )
    timed_out = front.metric("salve_front_tls_refusals_total", reason="handshake_timeout")
    with socket.create_connection(("127.0.0.1", front.port), timeout=10) as sock:
        sock.sendall(b"\x16\x03\x01")  # the start of a ClientHello, and then nothing
        try:
            assert sock.recv(4096) == b""  # closed by the front after handshake_timeout_s
        except ConnectionResetError:
            pass  # or aborted: either way the front let go
    poll(
        lambda: (
            front.metric("salve_front_tls_refusals_total", reason="handshake_timeout")
            == timed_out + 1
        ),
        "handshake_timeout",
    )


@pytest.fixture
def notify_socket() -> Any:
    """A datagram socket standing in for systemd's NOTIFY_SOCKET."""
    directory = tempfile.mkdtemp(prefix="ntf")  # short: unix socket paths are limited
    path = str(Path(directory) / "notify")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(0.1)
    messages: list[str] = []

    def received() -> list[str]:
        while True:
            try:
                messages.append(sock.recv(4096).decode())
            except TimeoutError:
                return messages

    yield path, received
    sock.close()
    shutil.rmtree(directory, ignore_errors=True)


def test_sighup_reloads_certificates_without_dropping_connections(
    world: Fixture, client: Fixture, poll: Fixture, notify_socket: Any
) -> None:
    path, received = notify_socket
    settings = world.settings()
    front = world.start(settings, env={"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "3000000"})
    poll(lambda: any("READY=1" in m for m in received()), "READY=1")
    poll(lambda: any(m == "WATCHDOG=1" for m in received()), "a watchdog ping")
    kept = client.connect(front.port)
    assert kept.request("GET", "/before").status == 200
    # The next key of a rollover takes the site's name.
    next_chain, next_key = world.pki.pair(world.pki.site_next, "site-next")
    settings["tls"]["_certificates"] = [
        (next_chain, next_key, False),
        *settings["tls"]["_certificates"][1:],
    ]
    world.write(settings)
    front.signal(signal.SIGHUP)
    poll(lambda: front.metric("salve_front_certificate_reloads_total", outcome="ok") == 1, "reload")
    fresh = client.connect(front.port)
    assert spki_der(fresh.ssl.get_peer_certificate(as_cryptography=True)) == world.pki.spki(
        world.pki.site_next
    )
    assert kept.request("GET", "/after").status == 200  # the open connection lives on
    assert statement_of(kept.request("GET", "/.well-known/salve/statement"))
    # A broken set is not used: the previous one keeps serving.
    broken = settings["_directory"]["path"] / "broken-key.pem"
    broken.write_text("not a key")
    broken.chmod(0o600)
    settings["tls"]["_certificates"] = [(next_chain, broken, False)]
    world.write(settings)
    front.signal(signal.SIGHUP)
    poll(
        lambda: front.metric("salve_front_certificate_reloads_total", outcome="failed") == 1,
        "failed reload",
    )
    assert any("broken-key.pem" in e["detail"] for e in front.events("certificate_reload_failed"))
    again = client.connect(front.port)
    assert spki_der(again.ssl.get_peer_certificate(as_cryptography=True)) == world.pki.spki(
        world.pki.site_next
    )
    assert json.loads(again.request("GET", "/still").body)["path"] == "/still"
    assert any(m.startswith("RELOADING=1") for m in received())
    assert front.stop() == 0  # SIGTERM: a clean stop
    assert any(m.startswith("STOPPING=1") for m in received())
