"""The connection layer between the listening sockets and uvicorn's HTTP protocol.

uvicorn parses HTTP and runs the app, but leaves three things to whoever runs it, and a
service facing strangers needs all three:

* **A header-read timeout.** uvicorn arms a timer only between requests of a keep-alive
  connection, so a connection that never sends a request line stays open forever (4,000 of
  them held a review's test server). Here a request head (request line and headers) must be
  complete within ``header_timeout_s`` of the connection opening, or of the first byte of
  a later request on the same connection; otherwise the connection is closed (after a
  ``408`` when part of a head had arrived).
* **A cap on connections per source address** (``max_per_source``), so one host cannot take
  every file descriptor. A connection over the cap is closed at once, before it is read.
* **The client's TLS certificate**, with mutual TLS (``tls_client_ca``): its pin name
  (:mod:`gmlc.peers`) travels to the app in the request's state, for clients pinned to
  certificates.
* **A lingering close.** When the app answers before reading the whole body (a document
  over the size cap, a body that did not arrive in time) and the answer closes the
  connection, uvicorn closes the socket with unread bytes in its receive buffer; the kernel
  then sends a reset, and a client still sending its body never reads the answer. Here the
  socket is half-closed after the answer instead (the answer is flushed, then FIN), and
  whatever the client still sends is read and dropped until it closes its side, for at most
  ``linger_s`` seconds and ``linger_bytes`` bytes. On TLS, where a half-close does not
  exist, the same reading happens before the close.

:class:`GuardedHttpProtocol` wraps uvicorn's own protocol object and speaks only the public
interfaces around it: uvicorn's ``http=`` setting (a protocol class), the asyncio
``Protocol``/``Transport`` pair, and httptools' request parser, which observes the same bytes
to know where a request head ends and whether a body is still coming. Nothing of uvicorn
is patched or subclassed. The per-process bookkeeping lives in a :class:`ConnectionGuard`
that the app's lifespan creates and publishes in the lifespan state under
:data:`GUARD_STATE_KEY`; uvicorn hands that state to every protocol it creates.

Refusals are counted in the app's metrics (``salve_gmlc_connection_events_total``) and
logged as WARNING events, at most one line per event kind and source per
``notice_interval_s`` (with the number folded into it), so a flood cannot flood the log.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, cast

import httptools
from uvicorn.protocols.http.auto import AutoHTTPProtocol

from gmlc.errors import ConfigError
from gmlc.metrics import GmlcMetrics
from gmlc.peers import PEER_CERTIFICATE_KEY, spki_sha256_of_der
from runtime.logs import log_event

__all__ = [
    "GUARD_STATE_KEY",
    "ConnectionGuard",
    "ConnectionLimits",
    "GuardedHttpProtocol",
]

logger = logging.getLogger(__name__)

GUARD_STATE_KEY: Final = "salve_connection_guard"
"""Key of the :class:`ConnectionGuard` in the app's lifespan state."""

_REQUEST_TIMEOUT: Final = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
)
_NOTICES_KEPT: Final = 4096


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    """Limits of one server process.

    Attributes:
        header_timeout_s: Time allowed for a request head to arrive.
        max_per_source: Open connections allowed per source address.
        linger_s: Longest time a lingering close keeps reading.
        linger_bytes: Most bytes a lingering close reads and drops.
        uncapped: Networks whose connections are not capped: the load balancers in front
            of the node, which carry every client's connections.
    """

    header_timeout_s: float
    max_per_source: int
    linger_s: float = 2.0
    linger_bytes: int = 16 * 1024 * 1024
    uncapped: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()

    def __post_init__(self) -> None:
        if self.header_timeout_s <= 0 or self.linger_s <= 0:
            raise ValueError("header_timeout_s and linger_s must be positive")
        if self.max_per_source < 1 or self.linger_bytes < 0:
            raise ValueError("max_per_source must be >= 1 and linger_bytes >= 0")


class ConnectionGuard:
    """Bookkeeping shared by the connections of one process: counts, metrics, notices.

    Only the event loop's thread touches it, so it needs no lock.

    Args:
        limits: The limits to enforce.
        metrics: Where connection events are counted; None counts nothing.
        monotonic: Clock for the notice interval.
        notice_interval_s: Shortest time between two log lines of one event and source.
    """

    def __init__(
        self,
        limits: ConnectionLimits,
        *,
        metrics: GmlcMetrics | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        notice_interval_s: float = 60.0,
    ) -> None:
        self.limits = limits
        self._metrics = metrics
        self._monotonic = monotonic
        self._notice_interval_s = notice_interval_s
        self._open: dict[str, int] = {}
        # (event, source) -> (time of the last line, events since then)
        self._notices: OrderedDict[tuple[str, str], tuple[float, int]] = OrderedDict()

    def open_connections(self, source: str | None = None) -> int:
        """Open connections in this process, in total or from one source."""
        if source is None:
            return sum(self._open.values())
        return self._open.get(source, 0)

    def admit(self, source: str) -> bool:
        """Count a new connection from ``source``; False when it is over the cap."""
        count = self._open.get(source, 0)
        if count >= self.limits.max_per_source and not self._uncapped(source):
            self.event("connection_refused", source, limit=self.limits.max_per_source)
            return False
        self._open[source] = count + 1
        if self._metrics is not None:
            self._metrics.open_connections.inc()
        return True

    def _uncapped(self, source: str) -> bool:
        if not self.limits.uncapped:
            return False
        try:
            address = ipaddress.ip_address(source)
        except ValueError:
            return False
        return any(address in network for network in self.limits.uncapped)

    def release(self, source: str) -> None:
        """Forget a connection admitted with :meth:`admit`."""
        count = self._open.get(source, 0)
        if count <= 1:
            self._open.pop(source, None)
        else:
            self._open[source] = count - 1
        if self._metrics is not None and count > 0:
            self._metrics.open_connections.dec()

    def event(self, name: str, source: str | None, **fields: Any) -> None:
        """Count a connection event and log it, folding repeats per interval into one line."""
        if self._metrics is not None:
            self._metrics.connection_events.labels(name).inc()
        key = (name, source or "-")
        now = self._monotonic()
        last = self._notices.get(key)
        if last is not None and now - last[0] < self._notice_interval_s:
            self._notices[key] = (last[0], last[1] + 1)
            return
        folded = last[1] if last is not None else 0
        self._notices[key] = (now, 0)
        self._notices.move_to_end(key)
        while len(self._notices) > _NOTICES_KEPT:
            self._notices.popitem(last=False)
        extra = {"also_since_last_line": folded} if folded else {}
        log_event(logger, logging.WARNING, name, source=source, **fields, **extra)


def _peer_certificate(transport: asyncio.Transport) -> str | None:
    """The pin name of the TLS client certificate the peer presented, or None."""
    ssl_object = transport.get_extra_info("ssl_object")
    if ssl_object is None:
        return None
    der = ssl_object.getpeercert(binary_form=True)
    return spki_sha256_of_der(der) if der else None


class _RequestFraming:
    """httptools callbacks that follow where requests begin, end their head, and end."""

    def __init__(self, protocol: GuardedHttpProtocol) -> None:
        self._protocol = protocol
        self.in_head = False
        self.in_message = False

    def on_message_begin(self) -> None:
        self.in_head = self.in_message = True
        self._protocol.head_started()

    def on_headers_complete(self) -> None:
        self.in_head = False
        self._protocol.head_complete()

    def on_message_complete(self) -> None:
        self.in_message = False


class _InnerTransport(asyncio.Transport):
    """The transport uvicorn's protocol sees: the real one, with ``close`` made lingering."""

    def __init__(self, real: asyncio.Transport, owner: GuardedHttpProtocol) -> None:
        super().__init__()
        self._real = real
        self._owner = owner

    def close(self) -> None:
        self._owner.inner_closed()

    def is_closing(self) -> bool:
        return self._owner.closing or self._real.is_closing()

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not self._owner.closing:
            self._real.write(data)

    def writelines(self, list_of_data: Any) -> None:
        for data in list_of_data:
            self.write(data)

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._real.get_extra_info(name, default)

    def pause_reading(self) -> None:
        if not self._owner.closing:
            self._real.pause_reading()

    def resume_reading(self) -> None:
        self._real.resume_reading()

    def is_reading(self) -> bool:
        return self._real.is_reading()

    def can_write_eof(self) -> bool:
        return self._real.can_write_eof()

    def write_eof(self) -> None:
        self._real.write_eof()

    def abort(self) -> None:
        self._owner.closing = True
        self._real.abort()

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        self._real.set_write_buffer_limits(high, low)

    def get_write_buffer_size(self) -> int:
        return self._real.get_write_buffer_size()

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self._real.set_protocol(protocol)

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self._real.get_protocol()


class GuardedHttpProtocol(asyncio.Protocol):
    """uvicorn's HTTP protocol behind a header timeout, a per-source cap and a lingering close.

    Created by uvicorn for every accepted connection (``uvicorn.Config(http=...)``), with
    uvicorn's own arguments, which are handed on unchanged to the wrapped protocol.

    Raises:
        ConfigError: the app's lifespan published no :class:`ConnectionGuard`.
    """

    def __init__(
        self,
        config: Any,
        server_state: Any,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        guard = app_state.get(GUARD_STATE_KEY)
        if not isinstance(guard, ConnectionGuard):
            raise ConfigError(
                f"the app's lifespan state has no {GUARD_STATE_KEY}; serve it with gmlc.server"
            )
        self._guard = guard
        self._loop = _loop or asyncio.get_event_loop()
        # The wrapped protocol is made in connection_made, when the TLS handshake is done
        # and the peer's certificate (if any) is known.
        self._uvicorn = {"config": config, "server_state": server_state, "_loop": _loop}
        self._app_state = app_state
        self._inner = asyncio.Protocol()
        self._framing = _RequestFraming(self)
        self._parser: httptools.HttpRequestParser | None = httptools.HttpRequestParser(
            self._framing
        )
        self._real: asyncio.Transport | None = None
        self._source: str | None = None
        self._admitted = False
        self._head_timer: asyncio.TimerHandle | None = None
        self._linger_timer: asyncio.TimerHandle | None = None
        self._lingered_bytes = 0
        self._bytes_towards_head = 0
        self._lost = False
        self._inner_started = False
        self.closing = False

    # -- asyncio.Protocol --------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement the interface without subclassing asyncio.Transport.
        transport = cast(asyncio.Transport, transport)
        self._real = transport
        peer = transport.get_extra_info("peername")
        self._source = str(peer[0]) if isinstance(peer, tuple) and peer else None
        if self._source is not None:
            if not self._guard.admit(self._source):
                self.closing = True
                transport.abort()  # nothing was read: no answer owed, nothing to linger for
                return
            self._admitted = True
        self._arm_head_timer()
        # uvicorn copies its app state into every request's scope["state"]: a per-connection
        # copy carries the client certificate's pin name to the app (gmlc.peers).
        state = dict(self._app_state)
        state[PEER_CERTIFICATE_KEY] = _peer_certificate(transport)
        self._inner = AutoHTTPProtocol(app_state=state, **self._uvicorn)  # type: ignore[call-arg]
        self._inner_started = True
        self._inner.connection_made(_InnerTransport(transport, self))

    def data_received(self, data: bytes) -> None:
        if self.closing:
            self._drop(len(data))
            return
        self._observe(data)
        if not self.closing:
            self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        if self.closing:
            self._finish()
            return None
        return self._inner.eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        self._lost = self.closing = True
        self._cancel_timers()
        if self._admitted and self._source is not None:
            self._guard.release(self._source)
            self._admitted = False
        if self._inner_started:
            self._inner.connection_lost(exc)

    def pause_writing(self) -> None:
        self._inner.pause_writing()

    def resume_writing(self) -> None:
        self._inner.resume_writing()

    # -- request framing -----------------------------------------------------------------------

    def _observe(self, data: bytes) -> None:
        if self._parser is None:
            return
        if self._framing.in_head or not self._framing.in_message:
            self._bytes_towards_head += len(data)
        try:
            self._parser.feed_data(data)
        except (httptools.HttpParserError, httptools.HttpParserUpgrade):
            # uvicorn answers malformed requests itself; there is nothing more to follow.
            self._parser = None
            self._cancel_head_timer()

    def head_started(self) -> None:
        """A request's first byte arrived (the timer keeps an earlier start)."""
        self._arm_head_timer()

    def head_complete(self) -> None:
        """A request's head is complete: its time limit no longer applies."""
        self._cancel_head_timer()
        self._bytes_towards_head = 0

    def _arm_head_timer(self) -> None:
        if self._head_timer is None:
            self._head_timer = self._loop.call_later(
                self._guard.limits.header_timeout_s, self._head_timed_out
            )

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.closing or self._real is None:
            return
        self._guard.event(
            "header_timeout",
            self._source,
            timeout_s=self._guard.limits.header_timeout_s,
            received=self._bytes_towards_head,
        )
        self.closing = True
        if self._bytes_towards_head:
            self._real.write(_REQUEST_TIMEOUT)
        self._real.close()

    # -- closing -------------------------------------------------------------------------------

    def inner_closed(self) -> None:
        """uvicorn closed the connection: close now, or linger while a body is still coming."""
        if self.closing or self._lost or self._real is None:
            return
        self.closing = True
        self._cancel_head_timer()
        if self._parser is None or not self._framing.in_message:
            self._real.close()
            return
        # The answer left before the request's body was read: let the client finish sending
        # and read the answer, instead of resetting the connection under it.
        self._guard.event("lingering_close", self._source)
        if self._real.can_write_eof():
            self._real.write_eof()
        self._real.resume_reading()
        self._linger_timer = self._loop.call_later(self._guard.limits.linger_s, self._finish)

    def _drop(self, size: int) -> None:
        self._lingered_bytes += size
        if self._lingered_bytes > self._guard.limits.linger_bytes:
            self._finish()

    def _finish(self) -> None:
        if self._linger_timer is not None:
            self._linger_timer.cancel()
            self._linger_timer = None
        if self._real is not None and not self._real.is_closing():
            self._real.close()

    def _cancel_timers(self) -> None:
        self._cancel_head_timer()
        if self._linger_timer is not None:
            self._linger_timer.cancel()
            self._linger_timer = None
