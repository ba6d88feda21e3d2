"""The verifier's own TLS 1.3 connections (pyOpenSSL) and HTTP/1.1 over them (h11).

A verdict covers one TLS session: the session hash comes from this connection's RFC 9266
exporter, and the statement, and any application request after it, travel on this very
connection. CPython's ``ssl`` cannot export keying material, hence pyOpenSSL.

Connections are TLS 1.3 only, with the usual certificate checks: the chain against the
system CA store or a given CA file (OpenSSL), and the host name against the certificate
(service-identity, since pyOpenSSL has no host name check). The client never resumes a
session (no session cache, no tickets kept), so every handshake is a full (EC)DHE one;
OpenSSL would offer only ``psk_dhe_ke`` anyway. Each failure raises the
:class:`verifier.errors.TlsError` subclass that says what went wrong, in plain words.

HTTP is h11 (sans-IO) over the connection: requests in order, keep-alive, bodies capped.
"""

from __future__ import annotations

import functools
import hashlib
import select
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Final, TypeVar

import h11
import service_identity
from cryptography import x509
from OpenSSL import SSL

from mlp.m2dmrt import spki_der
from mlp.statement import EXPORTER_LABEL, EXPORTER_LENGTH, session_hash_from_exporter
from verifier.errors import (
    HttpExchangeError,
    TlsCertificateError,
    TlsConnectError,
    TlsHandshakeError,
    TlsHostnameError,
    TlsProtocolError,
)

__all__ = [
    "MAX_BODY_BYTES",
    "HttpResponse",
    "TlsClient",
    "TlsConnection",
]

MAX_BODY_BYTES: Final = 1 << 20
_READ_CHUNK: Final = 65536
_T = TypeVar("_T")

# OpenSSL X509_V_ERR_* codes with their own words.
_CERT_EXPIRED: Final = 10
_CERT_NOT_YET_VALID: Final = 9
_UNTRUSTED: Final = frozenset({2, 18, 19, 20, 21, 27})
_PROTOCOL_WORDS: Final = ("protocol version", "unsupported protocol", "wrong version number")


@dataclass
class _VerifyRecord:
    """What OpenSSL's chain verification reported during one handshake."""

    errno: int = 0
    depth: int = 0
    certificate: x509.Certificate | None = None


def _verify_callback(
    connection: SSL.Connection, certificate: object, errno: int, depth: int, ok: int
) -> bool:
    record = connection.get_app_data()
    if not ok and isinstance(record, _VerifyRecord) and record.errno == 0:
        record.errno, record.depth = errno, depth
        to_cryptography = getattr(certificate, "to_cryptography", None)
        if to_cryptography is not None:
            record.certificate = to_cryptography()
    return bool(ok)


def _day(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _certificate_names(certificate: x509.Certificate) -> list[str]:
    try:
        extension = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return []
    return [str(n) for n in extension.value.get_values_for_type(x509.DNSName)]


def _retry(sock: socket.socket, operation: Callable[[], _T], deadline: float) -> _T:
    """Run a pyOpenSSL operation on a non-blocking socket until done or ``deadline``."""
    while True:
        try:
            return operation()
        except SSL.WantReadError:
            readable, writable = [sock], []
        except SSL.WantWriteError:
            readable, writable = [], [sock]
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        select.select(readable, writable, [], remaining)


@dataclass(frozen=True, slots=True)
class HttpResponse:
    """One HTTP response read from the connection.

    Attributes:
        status: The status code.
        headers: The header fields, names lower-cased, in order.
        body: The whole body.
    """

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def header(self, name: str) -> str | None:
        """The first field with this name (case-insensitive), or None."""
        wanted = name.lower()
        return next((value for key, value in self.headers if key == wanted), None)


@dataclass
class TlsConnection:
    """A verified TLS 1.3 client connection, with HTTP/1.1 on it.

    Attributes:
        host: The host name the certificate was checked for.
        port: The server's port.
        address: The address connected to.
        certificate: The server's leaf certificate.
        spki_der: The DER SubjectPublicKeyInfo of the server's key (M2DMRT checks it).
        protocol: The TLS version (``TLSv1.3``).
        cipher: The cipher suite.
        session_hash: ``SHA-256("SALVE-v1/session" || RFC 9266 exporter)``.
    """

    host: str
    port: int
    address: str
    certificate: x509.Certificate
    spki_der: bytes
    protocol: str
    cipher: str
    session_hash: bytes
    timeout: float
    _ssl: SSL.Connection = field(repr=False)
    _socket: socket.socket = field(repr=False)
    _http: h11.Connection = field(default_factory=lambda: h11.Connection(h11.CLIENT), repr=False)
    _closed: bool = field(default=False, repr=False)

    @property
    def ssl(self) -> SSL.Connection:
        """The pyOpenSSL connection itself, for callers that speak another protocol on it."""
        return self._ssl

    @property
    def spki_sha256(self) -> str:
        """Hex SHA-256 of the server's SPKI (how reports name a key)."""
        return hashlib.sha256(self.spki_der).hexdigest()

    @property
    def closed(self) -> bool:
        """Whether the connection was closed (by either side)."""
        return self._closed

    def _io(self, operation: Callable[[], _T], deadline: float) -> _T:
        return _retry(self._socket, operation, deadline)

    def _send(self, data: bytes, deadline: float) -> None:
        offset = 0
        while offset < len(data):
            chunk = data[offset : offset + _READ_CHUNK]
            offset += self._io(functools.partial(self._ssl.send, chunk), deadline)

    def _receive(self, deadline: float) -> bytes:
        def read() -> bytes:
            try:
                return self._ssl.recv(_READ_CHUNK)
            except (SSL.ZeroReturnError, SSL.SysCallError):
                return b""

        return self._io(read, deadline)

    def request(
        self,
        method: str,
        target: str,
        *,
        headers: Sequence[tuple[str, str]] = (),
        body: bytes = b"",
        max_body: int = MAX_BODY_BYTES,
        timeout: float | None = None,
    ) -> HttpResponse:
        """Send one HTTP/1.1 request on this connection and read the whole response.

        Raises:
            HttpExchangeError: The connection is closed, the answer is not HTTP/1.1, the
                body is larger than ``max_body``, or no answer came in time.
        """
        if self._closed:
            raise HttpExchangeError(f"the connection to {self.host} is closed")
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        fields = [("Host", self.host if self.port == 443 else f"{self.host}:{self.port}")]
        fields += [("User-Agent", "salve-verify"), *headers]
        if body:
            fields.append(("Content-Length", str(len(body))))
        try:
            outgoing = self._http.send(h11.Request(method=method, target=target, headers=fields))
            if body:
                outgoing = (outgoing or b"") + (self._http.send(h11.Data(data=body)) or b"")
            outgoing = (outgoing or b"") + (self._http.send(h11.EndOfMessage()) or b"")
            self._send(outgoing, deadline)
            return self._read_response(deadline, max_body)
        except TimeoutError:
            self.close()
            raise HttpExchangeError(
                f"{self.host} did not answer {method} {target} in time", code="tls.http_timeout"
            ) from None
        except (h11.ProtocolError, SSL.Error, OSError) as exc:
            self.close()
            raise HttpExchangeError(
                f"the HTTP exchange with {self.host} failed: {exc or type(exc).__name__}"
            ) from None

    def _read_response(self, deadline: float, max_body: int) -> HttpResponse:
        status = 0
        headers: tuple[tuple[str, str], ...] = ()
        chunks: list[bytes] = []
        size = 0
        while True:
            event = self._http.next_event()
            if event is h11.NEED_DATA:
                self._http.receive_data(self._receive(deadline))
                continue
            if isinstance(event, h11.InformationalResponse):
                continue
            if isinstance(event, h11.Response):
                status = event.status_code
                headers = tuple(
                    (k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in event.headers
                )
            elif isinstance(event, h11.Data):
                size += len(event.data)
                if size > max_body:
                    self.close()
                    raise HttpExchangeError(
                        f"{self.host} sent a body larger than {max_body} bytes", code="tls.http"
                    )
                chunks.append(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage):
                break
            elif isinstance(event, h11.ConnectionClosed):
                self.close()
                raise HttpExchangeError(f"{self.host} closed the connection before answering")
        if self._http.our_state is h11.DONE and self._http.their_state is h11.DONE:
            self._http.start_next_cycle()
        else:
            # The server will close (Connection: close): no further request fits here.
            self._closed = True
        return HttpResponse(status, headers, b"".join(chunks))

    def close(self) -> None:
        """Close the TLS session (close_notify) and the socket; safe to call twice."""
        if self._socket.fileno() < 0:
            self._closed = True
            return
        self._closed = True
        try:
            self._ssl.shutdown()
        except (SSL.Error, OSError):
            pass
        self._socket.close()


class TlsClient:
    """Makes verified TLS 1.3 client connections with one configuration.

    Attributes:
        ca: The CA file trusted instead of the system store (None: the system store).
        timeout: Seconds allowed for connecting and for each exchange.
    """

    def __init__(self, *, ca: Path | None = None, timeout: float = 10.0) -> None:
        """Prepare the TLS context.

        Raises:
            ValueError: The CA file cannot be loaded.
        """
        self.ca = ca
        self.timeout = timeout
        context = SSL.Context(SSL.TLS_CLIENT_METHOD)
        context.set_min_proto_version(SSL.TLS1_3_VERSION)
        context.set_max_proto_version(SSL.TLS1_3_VERSION)
        # Never resume: each check is a fresh (EC)DHE handshake with a fresh exporter.
        context.set_session_cache_mode(SSL.SESS_CACHE_OFF)
        context.set_options(SSL.OP_NO_TICKET | SSL.OP_NO_COMPRESSION)
        context.set_verify(SSL.VERIFY_PEER, _verify_callback)
        context.set_alpn_protos([b"http/1.1"])
        try:
            if ca is None:
                context.set_default_verify_paths()
            else:
                context.load_verify_locations(str(ca))
        except SSL.Error as exc:
            raise ValueError(f"cannot load the CA file {ca}: {exc}") from None
        self._context = context

    def connect(self, host: str, port: int, address: str) -> TlsConnection:
        """Connect to ``address:port``, handshake for ``host`` and check its certificate.

        Raises:
            TlsConnectError: No TCP connection.
            TlsProtocolError: The server does not speak TLS 1.3.
            TlsCertificateError: The chain does not verify (expired, unknown issuer...).
            TlsHostnameError: The certificate is for other names.
            TlsHandshakeError: Another handshake failure, or a timeout.
        """
        where = f"{host}:{port}" + (f" ({address})" if address != host else "")
        try:
            sock = socket.create_connection((address, port), timeout=self.timeout)
        except OSError as exc:
            reason = "timed out" if isinstance(exc, TimeoutError) else (exc.strerror or str(exc))
            raise TlsConnectError(f"cannot connect to {where}: {reason.lower()}") from None
        sock.setblocking(False)
        record = _VerifyRecord()
        connection = SSL.Connection(self._context, sock)
        connection.set_app_data(record)
        connection.set_tlsext_host_name(host.encode("idna"))
        connection.set_connect_state()
        deadline = time.monotonic() + self.timeout
        try:
            _retry(sock, connection.do_handshake, deadline)
        except TimeoutError:
            sock.close()
            raise TlsHandshakeError(
                f"the TLS handshake with {where} did not finish in time", code="tls.timeout"
            ) from None
        except SSL.Error as exc:
            sock.close()
            raise self._handshake_error(host, where, record, exc) from None
        except OSError as exc:
            sock.close()
            raise TlsHandshakeError(
                f"the TLS handshake with {where} failed: {exc.strerror or exc}"
            ) from None
        try:
            return self._verified(host, port, address, where, connection, sock)
        except BaseException:
            sock.close()
            raise

    def _verified(
        self,
        host: str,
        port: int,
        address: str,
        where: str,
        connection: SSL.Connection,
        sock: socket.socket,
    ) -> TlsConnection:
        protocol = connection.get_protocol_version_name()
        if protocol != "TLSv1.3":
            raise TlsProtocolError(f"{where} negotiated {protocol}, not TLS 1.3")
        certificate = connection.get_peer_certificate(as_cryptography=True)
        if certificate is None:
            raise TlsCertificateError(f"{where} presented no certificate")
        try:
            service_identity.pyopenssl.verify_hostname(connection, host)
        except (service_identity.VerificationError, service_identity.CertificateError):
            names = ", ".join(_certificate_names(certificate)) or "no DNS names"
            raise TlsHostnameError(
                f"the certificate {where} presented is not for {host} (it is for {names})"
            ) from None
        exporter = connection.export_keying_material(EXPORTER_LABEL, EXPORTER_LENGTH, b"")
        return TlsConnection(
            host=host,
            port=port,
            address=address,
            certificate=certificate,
            spki_der=spki_der(certificate),
            protocol=protocol,
            cipher=connection.get_cipher_name() or "",
            session_hash=session_hash_from_exporter(exporter),
            timeout=self.timeout,
            _ssl=connection,
            _socket=sock,
        )

    @staticmethod
    def _handshake_error(
        host: str, where: str, record: _VerifyRecord, exc: SSL.Error
    ) -> TlsCertificateError | TlsProtocolError | TlsHandshakeError:
        which = "certificate" if record.depth == 0 else f"issuer certificate (depth {record.depth})"
        certificate = record.certificate
        if record.errno == _CERT_EXPIRED:
            when = f" on {_day(certificate.not_valid_after_utc)}" if certificate else ""
            return TlsCertificateError(
                f"the {which} of {where} expired{when}", code="tls.certificate_expired"
            )
        if record.errno == _CERT_NOT_YET_VALID:
            when = f" before {_day(certificate.not_valid_before_utc)}" if certificate else ""
            return TlsCertificateError(
                f"the {which} of {where} is not valid{when}", code="tls.certificate_not_yet_valid"
            )
        if record.errno in _UNTRUSTED:
            return TlsCertificateError(
                f"the certificate of {where} is not issued by a trusted authority",
                code="tls.certificate_untrusted",
            )
        if record.errno:
            return TlsCertificateError(
                f"the certificate chain of {where} does not verify (OpenSSL error {record.errno})"
            )
        text = str(exc).lower()
        if any(words in text for words in _PROTOCOL_WORDS):
            return TlsProtocolError(f"{where} does not speak TLS 1.3")
        if exc.args and isinstance(exc.args[0], list):
            detail = "; ".join(str(part[-1]) for part in exc.args[0])
        else:
            detail = str(exc)
        return TlsHandshakeError(f"the TLS handshake with {where} failed: {detail or 'no reason'}")
