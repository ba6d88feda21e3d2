"""A TLS 1.3 site for labs, tests and benchmarks: statements bound to each connection.

:class:`LabSite` is a small pyOpenSSL + h11 server on loopback that does what a SALVE
front does for ``GET /.well-known/salve/statement``: it computes each connection's RFC
9266 exporter and session hash and answers with whatever ``serve(session_hash)`` returns,
so a lab can serve genuine statements, relayed ones, replays, or failures. Other paths
come from ``routes`` (exact paths) or answer a short text. One thread per connection;
not a production server (the real one is ``salve-front``).
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import h11
from OpenSSL import SSL

from mlp.delivery import STATEMENT_PATH
from mlp.statement import EXPORTER_LABEL, EXPORTER_LENGTH, session_hash_from_exporter

__all__ = ["LabSite", "Route", "StatementServer"]

StatementServer = Callable[[bytes], tuple[int, bytes]]
"""What the site answers on the statement path: ``(status, JSON body)`` for a session hash."""
Route = Callable[[], tuple[int, Sequence[tuple[str, str]], bytes]]
"""Another path's answer: ``(status, extra headers, body)``."""


@dataclass
class LabSite:
    """A TLS 1.3 (or, for staging, TLS 1.2-only) site on loopback.

    Attributes:
        host: The host name URLs use (the certificate's name).
        chain: The certificate chain file (PEM, leaf first).
        key: The private key file (PEM).
        serve: The statement path's answers.
        routes: Answers for other exact paths.
        tls12_only: Speak TLS 1.2 only (to stage an outdated server).
        address: The loopback address to listen on.
        port: The port (0: a free one, set by :meth:`start`).
        session_hashes: The session hash of every TLS 1.3 connection, in order.
    """

    host: str
    chain: Path
    key: Path
    serve: StatementServer
    routes: Mapping[str, Route] = field(default_factory=dict)
    tls12_only: bool = False
    address: str = "127.0.0.1"
    port: int = 0
    session_hashes: list[bytes] = field(default_factory=list)
    _listener: socket.socket | None = field(default=None, repr=False)
    _context: SSL.Context | None = field(default=None, repr=False)
    _acceptor: threading.Thread | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        """``https://HOST:PORT``."""
        return f"https://{self.host}:{self.port}"

    def start(self) -> LabSite:
        """Listen and serve in background threads."""
        context = SSL.Context(SSL.TLS_SERVER_METHOD)
        if self.tls12_only:
            context.set_min_proto_version(SSL.TLS1_2_VERSION)
            context.set_max_proto_version(SSL.TLS1_2_VERSION)
        else:
            context.set_min_proto_version(SSL.TLS1_3_VERSION)
        context.use_certificate_chain_file(str(self.chain))
        context.use_privatekey_file(str(self.key))
        self._context = context
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((self.address, self.port))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self._listener = listener
        self._acceptor = threading.Thread(target=self._accept, args=(listener,), daemon=True)
        self._acceptor.start()
        return self

    def stop(self) -> None:
        """Stop accepting connections; the port is free again when this returns."""
        if self._listener is not None:
            # Shut down first: closing alone leaves the socket bound while the accepting
            # thread is still blocked in accept().
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
            self._listener = None
        if self._acceptor is not None:
            self._acceptor.join(timeout=5)
            self._acceptor = None

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                sock, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=self._connection, args=(sock,), daemon=True).start()

    def _connection(self, sock: socket.socket) -> None:
        # Blocking: pyOpenSSL on a socket with a timeout raises WantRead instead of waiting.
        sock.setblocking(True)
        assert self._context is not None
        connection = SSL.Connection(self._context, sock)
        connection.set_accept_state()
        try:
            connection.do_handshake()
            session_hash = b""
            if connection.get_protocol_version_name() == "TLSv1.3":
                exporter = connection.export_keying_material(EXPORTER_LABEL, EXPORTER_LENGTH, b"")
                session_hash = session_hash_from_exporter(exporter)
                self.session_hashes.append(session_hash)
            self._http(connection, session_hash)
        except (SSL.Error, OSError, h11.ProtocolError):
            pass  # a client that goes away or fails its handshake ends its connection only
        finally:
            with contextlib.suppress(OSError):
                sock.close()

    def _answer(self, target: str, session_hash: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        if target == STATEMENT_PATH:
            status, body = self.serve(session_hash)
            return (
                status,
                [("Content-Type", "application/json"), ("Cache-Control", "no-store")],
                body,
            )
        route = self.routes.get(target)
        if route is not None:
            status, headers, body = route()
            return status, list(headers), body
        return 200, [("Content-Type", "text/plain")], f"hello from {self.host}{target}".encode()

    def _http(self, connection: SSL.Connection, session_hash: bytes) -> None:
        http = h11.Connection(h11.SERVER)
        target = ""
        while True:
            event = http.next_event()
            if event is h11.NEED_DATA:
                try:
                    data = connection.recv(65536)
                except (SSL.ZeroReturnError, SSL.SysCallError):
                    data = b""
                http.receive_data(data)
            elif isinstance(event, h11.Request):
                target = event.target.decode("ascii", "replace")
            elif isinstance(event, h11.EndOfMessage):
                status, headers, body = self._answer(target, session_hash)
                headers.append(("Content-Length", str(len(body))))
                # One write: head and body in one TLS record, as a real server sends them.
                connection.sendall(
                    b"".join(
                        http.send(item) or b""
                        for item in (
                            h11.Response(status_code=status, headers=headers),
                            h11.Data(data=body),
                            h11.EndOfMessage(),
                        )
                    )
                )
                http.start_next_cycle()
            elif isinstance(event, h11.ConnectionClosed) or event is h11.PAUSED:
                return
