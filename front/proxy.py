"""The reverse proxy: each request forwarded to the application, bodies streamed both ways.

The upstream side is Twisted's HTTP/1.1 client (:class:`twisted.web.client.Agent`) over a
persistent connection pool, so connections to the application are kept alive and reused.
A request body flows from the client into the upstream request as it arrives
(:class:`_BodyStream`), a response body from the upstream to the client as it arrives
(:class:`_Relay`), each side pausing the other when it cannot keep up: memory per
request stays bounded whatever the body size.

Limits and faults, each with its outcome, log line and counter:

* a request body over ``max_request_body_bytes``: ``413`` (when the response has not
  started), and the connection closes;
* the application refuses the connection or cannot be reached: ``502``;
* no response headers within ``response_timeout_s``: ``504``;
* the application resets the connection before answering: ``502``; after the response
  started, the client's connection is aborted (its status is already sent);
* a body that stalls longer than ``idle_timeout_s`` either way: the exchange ends (``504``
  when nothing was sent yet, else the connection is aborted).

WebSocket and other protocol upgrades are not forwarded: the front answers ``501`` (see
:mod:`front.http`), because the upstream client speaks HTTP/1.1 requests only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

import h11
from twisted.internet import error as net_error
from twisted.internet.defer import CancelledError, Deferred
from twisted.internet.protocol import Protocol
from twisted.python.failure import Failure
from twisted.web.client import (
    Agent,
    HTTPConnectionPool,
    ResponseDone,
    ResponseFailed,
)
from twisted.web.http import PotentialDataLoss
from twisted.web.http_headers import Headers as TwistedHeaders
from twisted.web.iweb import UNKNOWN_LENGTH, IBodyProducer, IResponse
from zope.interface import implementer

from front.config import UpstreamConfig
from front.headers import content_length, is_chunked, request_headers, response_headers
from front.metrics import FrontMetrics
from front.timing import Clock, DelayedCall
from runtime.logs import log_event

if TYPE_CHECKING:
    from front.http import FrontConnection

__all__ = ["ProxyExchange", "Upstream"]

_log = logging.getLogger(__name__)
_BUFFER_HIGH: Final = 256 * 1024


class Upstream:
    """The application behind the front: one Agent over a keep-alive pool.

    Args:
        config: ``[upstream]``.
        reactor: The reactor.
        metrics: Where failures and latencies are counted.
    """

    def __init__(self, config: UpstreamConfig, reactor: Any, metrics: FrontMetrics) -> None:
        self.config = config
        self.clock: Clock = reactor
        self.metrics = metrics
        self._pool = HTTPConnectionPool(reactor, persistent=True)
        self._pool.maxPersistentPerHost = config.max_connections
        self._pool.cachedConnectionTimeout = 60
        self.agent = Agent(reactor, connectTimeout=config.connect_timeout_s, pool=self._pool)
        self.base = config.url.encode("ascii")

    def close(self) -> Deferred[None]:
        """Close the kept-alive connections (at shutdown)."""
        closed: Deferred[None] = self._pool.closeCachedConnections()
        return closed


@implementer(IBodyProducer)
class _BodyStream:
    """Feeds a client's request body into the upstream request as it arrives."""

    def __init__(self, exchange: ProxyExchange, length: int | None) -> None:
        self.length: Any = UNKNOWN_LENGTH if length is None else length
        self._exchange = exchange
        self._consumer: Any | None = None
        self._buffer: list[bytes] = []
        self._buffered = 0
        self._ended = False
        self._stopped = False
        self._done: Deferred[None] | None = None

    def startProducing(self, consumer: Any) -> Deferred[None]:  # noqa: N802
        """Agent's hook: the upstream connection is ready for the body."""
        self._consumer = consumer
        self._done = Deferred()
        for chunk in self._buffer:
            consumer.write(chunk)
        self._buffer.clear()
        self._buffered = 0
        self._exchange.client_reading(True)
        done = self._done
        if self._ended:
            self._finish()
        return done

    def write(self, data: bytes) -> None:
        """A piece of the client's body."""
        if self._stopped:
            return
        if self._consumer is None:
            self._buffer.append(data)
            self._buffered += len(data)
            if self._buffered > _BUFFER_HIGH:
                self._exchange.client_reading(False)
            return
        self._consumer.write(data)

    def end(self) -> None:
        """The client's body is complete."""
        self._ended = True
        if self._consumer is not None:
            self._finish()

    def _finish(self) -> None:
        if self._done is not None and not self._done.called:
            self._done.callback(None)
            self._exchange.body_sent()

    def pauseProducing(self) -> None:  # noqa: N802
        """The upstream cannot take more now: stop reading the client."""
        self._exchange.client_reading(False)

    def resumeProducing(self) -> None:  # noqa: N802
        """The upstream can take more again."""
        self._exchange.client_reading(True)

    def stopProducing(self) -> None:  # noqa: N802
        """The upstream request is over (failed or cancelled): drop the rest."""
        self._stopped = True
        self._exchange.client_reading(True)


class _Relay(Protocol):
    """Receives the upstream's response body and passes it to the client."""

    def __init__(self, exchange: ProxyExchange) -> None:
        self._exchange = exchange

    def makeConnection(self, transport: Any) -> None:  # noqa: N802
        """Twisted hands over a producer that pauses the upstream connection."""
        super().makeConnection(transport)
        self._exchange.relay_started(transport)

    def dataReceived(self, data: bytes) -> None:  # noqa: N802
        """A piece of the response body."""
        self._exchange.relay_data(data)

    def connectionLost(self, reason: Failure = net_error.ConnectionDone) -> None:  # type: ignore[assignment]  # noqa: N802
        """The body is complete (ResponseDone, or PotentialDataLoss: ended by a close)."""
        self._exchange.relay_end(reason)


class ProxyExchange:
    """One proxied request, from the client's request head to the last response byte.

    Args:
        connection: The client connection it belongs to.
        upstream: Where it goes.
        request: The client's request head.
        host: The requested host (for ``Forwarded``).
    """

    def __init__(
        self,
        connection: FrontConnection,
        upstream: Upstream,
        request: h11.Request,
        host: str | None,
    ) -> None:
        self._connection = connection
        self._upstream = upstream
        self._request = request
        self._limit = connection.limits.max_request_body_bytes
        self._received = 0
        self._responded = False
        self._finished = False
        self._timed_out = False
        self._timer: DelayedCall | None = None
        self._producer: Any | None = None
        self._started = upstream.clock.seconds()
        length = content_length(request.headers)
        has_body = (length is not None and length > 0) or is_chunked(request.headers)
        self._body = _BodyStream(self, length) if has_body else None
        self._host = host
        self._pending: Deferred[IResponse] | None = None

    def start(self) -> None:
        """Send the request head upstream; the body follows as it arrives."""
        headers = TwistedHeaders()
        for name, value in request_headers(
            self._request.headers, client=self._connection.peer_host, host=self._host
        ):
            headers.addRawHeader(name, value)
        uri = self._upstream.base + self._request.target
        body: Any = self._body  # an IBodyProducer; mypy cannot see zope's declarations
        self._pending = self._upstream.agent.request(self._request.method, uri, headers, body)
        self._pending.addCallbacks(self._answered, self._failed)
        if self._body is None:
            self.body_sent()

    # -- the client's body -------------------------------------------------------------

    def body(self, data: bytes) -> None:
        """A piece of the client's request body."""
        self._received += len(data)
        if self._received > self._limit:
            self._too_large()
            return
        if self._body is not None:
            self._body.write(data)
            self._arm(self._upstream.config.idle_timeout_s, self._idle)

    def body_end(self) -> None:
        """The client's request body is complete."""
        if self._body is not None and not self._finished:
            self._body.end()

    def body_sent(self) -> None:
        """The whole request reached the upstream: the response clock starts."""
        if not self._responded and not self._finished:
            self._arm(self._upstream.config.response_timeout_s, self._response_timeout)

    def client_reading(self, on: bool) -> None:
        """Pause or resume reading the client (the upstream's flow control)."""
        self._connection.reading(on)

    def _too_large(self) -> None:
        self._connection.count_client_error(
            "body_too_large", f"request body over {self._limit} bytes"
        )
        self._end_upstream()
        if self._responded:
            self._connection.abort()
        else:
            self._responded = True
            self._connection.simple_response(413, "request body too large\n", close=True)

    # -- the upstream's answer ---------------------------------------------------------

    def _answered(self, response: Any) -> None:
        if self._finished:
            return
        self._upstream.metrics.upstream_latency.observe(
            self._upstream.clock.seconds() - self._started
        )
        self._disarm()
        self._responded = True
        headers = [
            (name, value)
            for name, values in response.headers.getAllRawHeaders()
            for value in values
        ]
        if response.length is not UNKNOWN_LENGTH and _has_body(self._request.method, response.code):
            # Twisted consumed the upstream's framing; a known length is passed on as such.
            headers.append((b"Content-Length", str(response.length).encode("ascii")))
        self._connection.send(
            h11.Response(
                status_code=response.code,
                headers=response_headers(headers),
                reason=response.phrase,
            )
        )
        response.deliverBody(_Relay(self))

    def _failed(self, reason: Failure) -> None:
        if self._finished:
            return
        self._disarm()
        if self._timed_out:
            self._give_up(504, "timeout", "the application did not answer in time")
        elif reason.check(net_error.ConnectError, net_error.DNSLookupError):
            self._give_up(502, "down", f"cannot reach the application: {reason.getErrorMessage()}")
        elif reason.check(CancelledError):
            return  # the client went away and the request was cancelled
        else:
            self._give_up(502, "reset", f"the application dropped the request: {_why(reason)}")

    def _give_up(self, status: int, kind: str, words: str) -> None:
        self._upstream.metrics.upstream_failures.labels(kind).inc()
        log_event(
            _log,
            logging.WARNING,
            "upstream_failed",
            reason=kind,
            status=status,
            method=self._request.method.decode("ascii", "replace"),
            detail=words,
        )
        self._finished = True
        if self._body is not None:
            self._body.stopProducing()
        texts = {
            502: "bad gateway: the application is unavailable\n",
            504: "gateway timeout: the application did not answer in time\n",
        }
        self._connection.simple_response(status, texts[status], close=self._body is not None)

    def relay_started(self, producer: Any) -> None:
        """The response body starts: the client's pace paces the upstream."""
        self._producer = producer
        self._connection.register_producer(producer)
        self._arm(self._upstream.config.idle_timeout_s, self._idle)

    def relay_data(self, data: bytes) -> None:
        """A piece of the response body, straight to the client."""
        if self._finished:
            return
        self._connection.send(h11.Data(data=data))
        self._arm(self._upstream.config.idle_timeout_s, self._idle)

    def relay_end(self, reason: Failure) -> None:
        """The response body ended, completely or not."""
        self._disarm()
        if self._producer is not None:
            self._connection.unregister_producer()
            self._producer = None
        if self._finished:
            return
        self._finished = True
        if reason.check(ResponseDone, PotentialDataLoss):
            self._connection.send(h11.EndOfMessage())
            self._connection.exchange_done()
            return
        self._upstream.metrics.upstream_failures.labels("reset").inc()
        log_event(
            _log,
            logging.WARNING,
            "upstream_failed",
            reason="reset",
            status=None,
            detail=f"the response body broke off: {_why(reason)}",
        )
        self._connection.abort()

    # -- time --------------------------------------------------------------------------

    def _arm(self, seconds: float, then: Callable[[], None]) -> None:
        self._disarm()
        self._timer = self._upstream.clock.callLater(seconds, then)

    def _disarm(self) -> None:
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None

    def _response_timeout(self) -> None:
        self._timer = None
        self._timed_out = True
        self._cancel()

    def _cancel(self) -> None:
        # Not guarded by .called: Agent's Deferred has fired (with the connection) and now
        # waits on the request's; cancel() forwards to it, and is a no-op once all is done.
        if self._pending is not None:
            self._pending.cancel()

    def _idle(self) -> None:
        self._timer = None
        if self._finished:
            return
        if not self._responded:
            self._timed_out = True
            self._cancel()
            return
        self._finished = True
        self._upstream.metrics.upstream_failures.labels("idle_timeout").inc()
        log_event(
            _log,
            logging.WARNING,
            "upstream_failed",
            reason="idle_timeout",
            status=None,
            detail="the response body stalled",
        )
        self._end_upstream()
        self._connection.abort()

    # -- ending ------------------------------------------------------------------------

    def _end_upstream(self) -> None:
        self._finished = True
        self._disarm()
        self._cancel()
        if self._producer is not None:
            self._producer.stopProducing()
            self._connection.unregister_producer()
            self._producer = None
        if self._body is not None:
            self._body.stopProducing()

    def connection_lost(self) -> None:
        """The client went away: stop talking to the upstream for it."""
        if not self._finished:
            self._end_upstream()


def _has_body(method: bytes, status: int) -> bool:
    return method != b"HEAD" and status >= 200 and status not in (204, 304)


def _why(reason: Failure) -> str:
    if reason.check(ResponseFailed):
        causes = getattr(reason.value, "reasons", [])
        if causes:
            return "; ".join(c.getErrorMessage() for c in causes)
    return reason.getErrorMessage()
