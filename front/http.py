"""One client connection: the TLS handshake's binding, HTTP/1.1 (h11), and its requests.

Twisted runs TLS (``TLSMemoryBIOProtocol``) under a :class:`FrontConnection`. When the
handshake finishes (``handshakeCompleted``), the connection takes the RFC 9266 exporter,
derives the session hash and opens the session's statement request
(:meth:`front.statements.StatementBroker.open`) without waiting for it. Requests are
parsed by h11 (sans-IO) one at a time, in order:

* ``GET``/``HEAD /.well-known/salve/statement``: this connection's statement (200) or why
  there is none (503 with ``Retry-After``), from the broker;
* a protocol upgrade (WebSocket) or ``CONNECT``: ``501``, in plain words: the front
  forwards HTTP/1.1 requests only;
* everything else goes to the application (:class:`front.proxy.ProxyExchange`).

Client faults, each with a log line and a counter, never touch other connections:
garbage instead of a ClientHello, a TLS 1.2-only client (OpenSSL sends
``protocol_version``), a name nobody serves (``unrecognized_name``), a handshake that does
not finish in ``handshake_timeout_s``, headers larger than ``max_header_bytes`` or more
than ``max_headers`` (431), malformed requests (400), headers that do not arrive within
``header_timeout_s`` (408), oversized bodies (413).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import h11
from OpenSSL import SSL
from twisted.internet.interfaces import IHandshakeListener
from twisted.internet.protocol import Factory, Protocol, connectionDone
from twisted.python.failure import Failure
from zope.interface import implementer

from front.config import HttpConfig
from front.headers import content_length, first_value, wants_upgrade
from front.metrics import FrontMetrics
from front.proxy import ProxyExchange, Upstream
from front.statements import Delivery, SessionStatement, StatementBroker
from front.timing import Clock, DelayedCall
from front.tls import SessionBinding, session_binding
from mlp.delivery import STATEMENT_MEDIA_TYPE, STATEMENT_PATH, DeliveryFailure
from runtime.logs import log_event

__all__ = ["FrontConnection", "FrontFactory", "SiteState"]

_log = logging.getLogger(__name__)
_STATEMENT_TARGET: Final = STATEMENT_PATH.encode("ascii")
_PROTOCOL_VERSION_WORDS: Final = (
    "unsupported protocol",
    "version too low",
    "no protocols available",
)
_NOT_TLS_WORDS: Final = (
    "wrong version number",
    "http request",
    "packet length too long",
    "record layer failure",
    "unknown protocol",
    "record length mismatch",
)


@dataclass
class SiteState:
    """What every connection of one front shares.

    Attributes:
        limits: ``[http]``.
        handshake_timeout_s: Longest a TLS handshake may take.
        domains: The site's canonical host names (statements are only for these).
        default_domain: The name a client without SNI gets its statement for, if any.
        broker: The statements; None when the front serves none.
        upstream: The application.
        metrics: The counters.
        clock: The reactor.
    """

    limits: HttpConfig
    handshake_timeout_s: float
    domains: frozenset[str]
    default_domain: str | None
    broker: StatementBroker | None
    upstream: Upstream
    metrics: FrontMetrics
    clock: Clock


class _Exchange:
    """What a request in progress does with the rest of the client's request."""

    def body(self, data: bytes) -> None:
        """A piece of the request body."""

    def body_end(self) -> None:
        """The request is complete."""

    def connection_lost(self) -> None:
        """The client went away."""


class _Answer(_Exchange):
    """A response the front makes itself once the request is read (statement, errors)."""

    def __init__(self, respond: Callable[[], None]) -> None:
        self._respond = respond

    def body_end(self) -> None:
        """Answer now that the whole request is in."""
        self._respond()


@implementer(IHandshakeListener)
class FrontConnection(Protocol):
    """One client's connection (see the module docstring)."""

    def __init__(self, site: SiteState) -> None:
        self.site = site
        self.limits = site.limits
        self.peer_host = ""
        self._http = h11.Connection(
            h11.SERVER, max_incomplete_event_size=site.limits.max_header_bytes
        )
        self._handshake_done = False
        self._refused_name: str | None = None
        self._closing = False
        self._timer: DelayedCall | None = None
        self._timer_kind = ""
        self._binding: SessionBinding | None = None
        self._session: SessionStatement | None = None
        self._exchange: _Exchange | ProxyExchange | None = None
        self._paused_by: set[str] = set()
        self._producer_registered = False

    @property
    def tls(self) -> Any:
        """The TLS transport (Twisted's ``TLSMemoryBIOProtocol``)."""
        return self.transport

    # -- TLS -----------------------------------------------------------------------------

    def connectionMade(self) -> None:  # noqa: N802
        """TCP is up; the handshake is under way."""
        peer = self.tls.getPeer()
        self.peer_host = str(getattr(peer, "host", ""))
        self.site.metrics.connections_open.inc()
        self._arm(self.site.handshake_timeout_s, "handshake")

    def refuse_name(self, name: str) -> None:
        """The servername callback found no certificate for ``name``."""
        self._refused_name = name

    def handshakeCompleted(self) -> None:  # noqa: N802
        """The handshake finished: bind the session and ask for its statement."""
        self._handshake_done = True
        self._disarm()
        self.site.metrics.handshakes.inc()
        broker = self.site.broker
        if broker is not None:
            connection: SSL.Connection = self.tls.getHandle()
            self._binding = session_binding(connection)
            domain = self._binding.server_name or self.site.default_domain
            if domain in self.site.domains:
                self._session = broker.open(self._binding.session_hash, domain)
        self._arm(self.limits.keepalive_timeout_s, "idle")
        self._process()

    def connectionLost(self, reason: Failure = connectionDone) -> None:  # noqa: N802
        """The connection ended; a handshake that never finished is counted by why."""
        self.site.metrics.connections_open.dec()
        self._disarm()
        self._closing = True
        if self._exchange is not None:
            self._exchange.connection_lost()
            self._exchange = None
        if self._session is not None and self.site.broker is not None:
            self.site.broker.close(self._session)
        if not self._handshake_done:
            self._count_refusal(reason)

    def _count_refusal(self, reason: Failure) -> None:
        detail = ""
        if self._refused_name is not None:
            kind, detail = "unknown_name", f"no certificate for {self._refused_name!r}"
        elif self._timer_kind == "handshake_expired":
            kind, detail = "handshake_timeout", "the handshake did not finish in time"
        elif reason.check(SSL.Error):
            detail = _ssl_words(reason.value or Exception())
            if any(word in detail for word in _PROTOCOL_VERSION_WORDS):
                kind = "tls_version"
            elif any(word in detail for word in _NOT_TLS_WORDS):
                kind = "not_tls"
            else:
                kind = "handshake_failed"
        else:
            kind, detail = "closed_before_handshake", reason.getErrorMessage()
        self.site.metrics.tls_refusals.labels(kind).inc()
        log_event(
            _log, logging.INFO, "tls_refused", reason=kind, peer=self.peer_host, detail=detail
        )

    # -- timers --------------------------------------------------------------------------

    def _arm(self, seconds: float, kind: str) -> None:
        self._disarm()
        self._timer_kind = kind
        self._timer = self.site.clock.callLater(seconds, self._expired, kind)

    def _disarm(self) -> None:
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None

    def _expired(self, kind: str) -> None:
        self._timer = None
        if kind == "handshake":
            self._timer_kind = "handshake_expired"
            self.tls.abortConnection()
        elif kind == "idle":
            self.tls.loseConnection()  # a quiet keep-alive connection: just close
        elif kind == "header":
            self.count_client_error("header_timeout", "the request headers did not arrive in time")
            self.simple_response(408, "request timeout\n", close=True)

    # -- HTTP ----------------------------------------------------------------------------

    def dataReceived(self, data: bytes) -> None:  # noqa: N802
        """Bytes of the HTTP stream (already decrypted)."""
        if self._closing:
            return
        if self._timer_kind == "idle" and self._exchange is None:
            self._arm(self.limits.header_timeout_s, "header")
        self._http.receive_data(data)
        self._process()

    def _process(self) -> None:
        while not self._closing and not self._paused_by:
            try:
                event = self._http.next_event()
            except h11.RemoteProtocolError as exc:
                self._bad_request(exc)
                return
            if event is h11.NEED_DATA:
                return
            if event is h11.PAUSED:
                self.reading(False, "response")
                return
            if isinstance(event, h11.Request):
                self._disarm()
                self._timer_kind = ""
                self._start(event)
            elif isinstance(event, h11.Data):
                if self._exchange is not None:
                    self._exchange.body(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage):
                if self._exchange is not None:
                    self._exchange.body_end()
            elif isinstance(event, h11.ConnectionClosed):
                self._close()
                return

    def _bad_request(self, exc: h11.RemoteProtocolError) -> None:
        if exc.error_status_hint == 431:
            self.count_client_error("header_too_large", "the request head is too large")
            self.simple_response(431, "request header fields too large\n", close=True)
        else:
            self.count_client_error("bad_request", str(exc))
            self.simple_response(400, "bad request\n", close=True)

    def _start(self, request: h11.Request) -> None:
        head_size = sum(len(name) + len(value) + 4 for name, value in request.headers)
        if head_size > self.limits.max_header_bytes:
            # h11 caps only a head that arrives in pieces; one that arrived whole is
            # measured here, so the limit does not depend on how the bytes were cut.
            self.count_client_error("header_too_large", f"{head_size} bytes of header fields")
            self.simple_response(431, "request header fields too large\n", close=True)
            return
        if len(request.headers) > self.limits.max_headers:
            self.count_client_error("too_many_headers", f"{len(request.headers)} header fields")
            self.simple_response(431, "too many header fields\n", close=True)
            return
        path = request.target.split(b"?", 1)[0]
        if path == _STATEMENT_TARGET:
            self.site.metrics.requests.labels("statement").inc()
            self._exchange = _Answer(lambda: self._answer_statement(request))
            return
        self.site.metrics.requests.labels("proxy").inc()
        if request.method == b"CONNECT" or wants_upgrade(request.headers):
            self.count_client_error("websocket", "a protocol upgrade was asked for")
            self._exchange = _Answer(
                lambda: self.simple_response(
                    501,
                    "protocol upgrades (WebSocket) are not supported: this front forwards "
                    "HTTP/1.1 requests only\n",
                    close=True,
                )
            )
            return
        if not request.target.startswith(b"/"):
            self.count_client_error("bad_target", "the request target is not a path")
            self._exchange = _Answer(
                lambda: self.simple_response(400, "bad request target\n", close=True)
            )
            return
        declared = content_length(request.headers)
        if declared is not None and declared > self.limits.max_request_body_bytes:
            self.count_client_error("body_too_large", f"Content-Length {declared}")
            self.simple_response(413, "request body too large\n", close=True)
            return
        if self._http.client_is_waiting_for_100_continue:
            self.send(h11.InformationalResponse(status_code=100, headers=[]))
        raw_host = first_value(request.headers, b"host")
        host = raw_host.decode("latin-1") if raw_host is not None else None
        if host is None:  # HTTP/1.0 without Host: the name the client asked TLS for
            server_name = self.tls.getHandle().get_servername()
            host = server_name.decode("ascii", "replace") if server_name else None
        exchange = ProxyExchange(self, self.site.upstream, request, host)
        # Registered before it starts: a request that fails at once answers through it.
        self._exchange = exchange
        exchange.start()

    # -- the statement -------------------------------------------------------------------

    def _answer_statement(self, request: h11.Request) -> None:
        if request.method not in (b"GET", b"HEAD"):
            self.simple_response(405, "only GET and HEAD\n", extra=[(b"Allow", b"GET, HEAD")])
            return
        broker = self.site.broker
        if broker is None or self._session is None:
            self.site.metrics.deliveries.labels("no_domain").inc()
            self.simple_response(404, "no SALVE statement is served for this host name\n")
            return
        head_only = request.method == b"HEAD"
        broker.deliver(self._session).addCallback(self._deliver, head_only)

    def _deliver(self, result: Delivery, head_only: bool) -> None:
        if self._closing:
            return
        if isinstance(result, DeliveryFailure):
            self.site.metrics.deliveries.labels(result.error).inc()
            assert self.site.broker is not None  # only the broker makes deliveries
            retry = self.site.broker.retry_after(result)
            body = result.to_json()
            status, headers = 503, [(b"Retry-After", str(retry).encode("ascii"))]
        else:
            self.site.metrics.deliveries.labels("statement").inc()
            body, status, headers = result.to_json(), 200, []
        headers += [
            (b"Content-Type", STATEMENT_MEDIA_TYPE.encode("ascii")),
            (b"Cache-Control", b"no-store"),
            (b"Content-Length", str(len(body)).encode("ascii")),
        ]
        self.send(h11.Response(status_code=status, headers=headers))
        if not head_only:
            self.send(h11.Data(data=body))
        self.send(h11.EndOfMessage())
        self.exchange_done()

    # -- what exchanges use ----------------------------------------------------------------

    def send(self, event: h11.Event) -> None:
        """Write one h11 event to the client."""
        if self._closing:
            return
        try:
            data = self._http.send(event)
        except h11.LocalProtocolError as exc:
            log_event(_log, logging.WARNING, "response_refused", detail=str(exc))
            self.abort()
            return
        if data:
            self.tls.write(data)

    def simple_response(
        self,
        status: int,
        text: str,
        *,
        close: bool = False,
        extra: list[tuple[bytes, bytes]] | None = None,
    ) -> None:
        """A short plain-text response made by the front; aborts if one already started."""
        if self._closing:
            return
        if self._http.our_state is not h11.SEND_RESPONSE and self._http.our_state is not h11.IDLE:
            self.abort()
            return
        if self._http.their_state is h11.IDLE or self._http.their_state is h11.ERROR:
            # No request head was read (a timeout, a bad head): h11 cannot frame a response
            # to nothing, so the bytes are written as they are and the connection closes.
            self._raw_response(status, text)
            return
        body = text.encode("utf-8")
        headers = [
            (b"Content-Type", b"text/plain; charset=utf-8"),
            (b"Content-Length", str(len(body)).encode("ascii")),
            *(extra or []),
        ]
        if close:
            headers.append((b"Connection", b"close"))
        self.send(h11.Response(status_code=status, headers=headers))
        self.send(h11.Data(data=body))
        self.send(h11.EndOfMessage())
        if close:
            self._close()
        else:
            self.exchange_done()

    def _raw_response(self, status: int, text: str) -> None:
        body = text.encode("utf-8")
        reason = {
            400: b"Bad Request",
            408: b"Request Timeout",
            431: b"Request Header Fields Too Large",
        }
        self.tls.write(
            b"HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\n"
            b"Content-Length: %d\r\nConnection: close\r\n\r\n%s"
            % (status, reason.get(status, b"Error"), len(body), body)
        )
        self._close()

    def exchange_done(self) -> None:
        """The response is complete: read the next request, or close."""
        self._exchange = None
        if self._closing:
            return
        if self._http.our_state is h11.MUST_CLOSE or self._http.their_state is not h11.DONE:
            # The client's request was not read to its end (an early answer): its
            # remaining bytes cannot be told from the next request's.
            self._close()
            return
        if self._http.our_state is h11.DONE:
            self._http.start_next_cycle()
            self.reading(True, "response")
            self._arm(self.limits.keepalive_timeout_s, "idle")
            self._process()

    def reading(self, on: bool, why: str = "upstream") -> None:
        """Pause or resume reading from the client, for one reason among several."""
        before = bool(self._paused_by)
        if on:
            self._paused_by.discard(why)
        else:
            self._paused_by.add(why)
        after = bool(self._paused_by)
        if self._closing or before == after:
            return  # nothing changes for the transport (and no re-entrant processing)
        if after:
            self.tls.pauseProducing()
        else:
            self.tls.resumeProducing()
            self._process()

    def register_producer(self, producer: Any) -> None:
        """Let the client's pace pace the upstream (a response body)."""
        if not self._producer_registered and not self._closing:
            self.tls.registerProducer(producer, True)
            self._producer_registered = True

    def unregister_producer(self) -> None:
        """The response body is over."""
        if self._producer_registered:
            self._producer_registered = False
            if not self._closing:
                self.tls.unregisterProducer()

    def count_client_error(self, reason: str, words: str) -> None:
        """Count and log something wrong that the client sent."""
        self.site.metrics.client_errors.labels(reason).inc()
        log_event(
            _log, logging.INFO, "client_error", reason=reason, peer=self.peer_host, detail=words
        )

    def abort(self) -> None:
        """End the connection at once (a response that cannot be completed)."""
        if not self._closing:
            self._closing = True
            self.tls.abortConnection()

    def _close(self) -> None:
        if not self._closing:
            self._closing = True
            self.tls.loseConnection()


def _ssl_words(error: BaseException) -> str:
    args = getattr(error, "args", ())
    if args and isinstance(args[0], list):
        return "; ".join(str(item[-1]) for item in args[0] if isinstance(item, tuple)) or str(error)
    return str(error)


class FrontFactory(Factory):
    """Makes a :class:`FrontConnection` per accepted connection."""

    def __init__(self, site: SiteState) -> None:
        self.site = site

    def buildProtocol(self, addr: Any) -> FrontConnection:  # noqa: N802
        """A connection for a new client."""
        connection = FrontConnection(self.site)
        connection.factory = self
        return connection
