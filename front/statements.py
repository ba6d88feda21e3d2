"""Statements for TLS sessions: requested in the background, batched, delivered on demand.

Each finished handshake opens a :class:`SessionStatement` (:meth:`StatementBroker.open`),
and the request for its statement leaves at once, off the connection's path: the first
HTTP response never waits for it. ``GET /.well-known/salve/statement`` asks
:meth:`StatementBroker.deliver`, which answers from what is there, or waits up to
``wait_s`` for a request in flight, or asks again when the statement has expired (or will
within ``refresh_margin_s``), and says why when there is none (DESIGN "Statement delivery").

With batching on, sessions of one domain are collected for a window (``window_ms``, or
until ``max_sessions`` arrive, whichever comes first); the window's session hashes become
the leaves of an RFC 9162 Merkle tree (:class:`mlp.merkle.MerkleTree`), the root is sent
with ``salve:batch_size``, and every session gets the one statement with its own inclusion
proof. A window that closes with a single session asks for a plain statement.

Failures are classified once: a GMLC that cannot be reached or answers nonsense
(``gmlc_unreachable``), one that refuses this client or domain (``gmlc_refused``), or
another MLP result (``mlp_result``). After a failure, sessions opened within
``retry_after_s`` are not sent to the GMLC (they get the failure at once, and ask again on
their next request after that time): a GMLC in trouble is not flooded by every new
connection. The time source and the request function are given, so the whole logic runs
under a test clock.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from twisted.internet.defer import Deferred, succeed
from twisted.python.failure import Failure

from front.metrics import FrontMetrics
from front.timing import Clock, DelayedCall
from mlp.client import MlpResultError, MlpTransportError
from mlp.codes import ResultCode
from mlp.delivery import DeliveryFailure, FailureReason, StatementDelivery
from mlp.keys import b64url_encode, loads_json_object, split_compact_jws
from mlp.merkle import MerkleTree
from mlp.statement import MAX_STATEMENT_LENGTH, StatementClaims
from runtime.logs import log_event

__all__ = [
    "REFUSAL_CODES",
    "Delivery",
    "Fetch",
    "SessionStatement",
    "StatementBroker",
]

_log = logging.getLogger(__name__)

Fetch = Callable[[bytes, str, int | None], "Deferred[str]"]
"""``fetch(session_hash_or_root, domain, batch_size)``: the statement (compact JWS)."""
Delivery = StatementDelivery | DeliveryFailure

REFUSAL_CODES: Final = frozenset(
    {
        ResultCode.UNAUTHORIZED_APPLICATION,
        ResultCode.UNKNOWN_SUBSCRIBER,
        ResultCode.POSITIONING_NOT_ALLOWED,
    }
)
"""MLP results that mean "not for you": wrong credentials, a domain or SIM not yours."""


class _WrongStatementError(Exception):
    """The GMLC's statement is not for what was asked (subject, hash or batch size)."""


@dataclass(eq=False)
class SessionStatement:
    """The statement state of one TLS session.

    Attributes:
        session_hash: The session's hash (a leaf when batched).
        domain: The host name the statement is for (``salve:domain``, ``sub``).
        opened_at: When the handshake finished (clock seconds).
    """

    session_hash: bytes
    domain: str
    opened_at: float
    delivery: StatementDelivery | None = None
    expires_at: float = 0.0
    failure: DeliveryFailure | None = None
    failed_at: float = 0.0
    in_flight: bool = False
    closed: bool = False
    ready_once: bool = False
    waiters: list[tuple[Deferred[Delivery], DelayedCall]] = field(default_factory=list)


@dataclass(eq=False)
class _Batch:
    domain: str
    sessions: list[SessionStatement]
    timer: DelayedCall | None = None


class StatementBroker:
    """Gets, keeps and hands out the statements of open TLS sessions.

    Args:
        clock: The reactor (or a test clock): ``seconds()`` and ``callLater``.
        fetch: Asks the GMLC; its Deferred fails with ``MlpError`` subclasses.
        metrics: Where counts and latencies go.
        wait_s: Longest a delivery waits for a request in flight.
        retry_after_s: How long a failure stands (and the ``Retry-After`` it suggests).
        batch_window_s: Batching window; None: one request per session.
        batch_max: Sessions that close a window early.
        max_pending: Requests in flight beyond which new sessions wait for their first
            delivery request to ask.
        refresh_margin_s: A statement that expires within this is asked for again.
    """

    def __init__(
        self,
        *,
        clock: Clock,
        fetch: Fetch,
        metrics: FrontMetrics,
        wait_s: float,
        retry_after_s: int,
        batch_window_s: float | None = None,
        batch_max: int = 1024,
        max_pending: int = 1024,
        refresh_margin_s: float = 2.0,
    ) -> None:
        self._clock = clock
        self._fetch = fetch
        self._metrics = metrics
        self._wait_s = wait_s
        self._retry_after_s = retry_after_s
        self._batch_window_s = batch_window_s
        self._batch_max = batch_max
        self._max_pending = max_pending
        self._refresh_margin_s = refresh_margin_s
        self._batches: dict[str, _Batch] = {}
        self._pending = 0
        self._backoff_until = 0.0
        self._backoff_failure: DeliveryFailure | None = None

    @property
    def batching(self) -> bool:
        """Whether sessions are batched."""
        return self._batch_window_s is not None

    @property
    def pending(self) -> int:
        """Requests to the GMLC in flight."""
        return self._pending

    # -- sessions ----------------------------------------------------------------------

    def open(self, session_hash: bytes, domain: str) -> SessionStatement:
        """A session finished its handshake: ask for its statement in the background."""
        now = self._clock.seconds()
        session = SessionStatement(session_hash=session_hash, domain=domain, opened_at=now)
        if now < self._backoff_until and self._backoff_failure is not None:
            session.failure, session.failed_at = self._backoff_failure, now
            self._metrics.gmlc_backoff.inc()
        elif self._pending < self._max_pending:
            self._request(session)
        return session

    def close(self, session: SessionStatement) -> None:
        """The connection ended: nobody is left to answer.

        A session in an open batch stays in it: its leaf costs nothing, and the window
        costs one signature whoever is still there when it closes.
        """
        session.closed = True
        for _, timer in session.waiters:
            if timer.active():
                timer.cancel()
        session.waiters.clear()

    def retry_after(self, failure: DeliveryFailure) -> int:
        """Seconds a client should wait before asking again after ``failure``."""
        if failure.error == "timeout":
            return 1
        remaining = self._backoff_until - self._clock.seconds()
        return max(1, min(self._retry_after_s, math.ceil(remaining)))

    def deliver(self, session: SessionStatement) -> Deferred[Delivery]:
        """The session's statement, or why there is none, within ``wait_s``."""
        now = self._clock.seconds()
        if session.delivery is not None and now < session.expires_at - self._refresh_margin_s:
            return succeed(session.delivery)
        if (
            not session.in_flight
            and session.failure is not None
            and now < session.failed_at + self._retry_after_s
        ):
            return succeed(session.failure)
        if not session.in_flight:
            self._request(session)
            if session.delivery is not None and not session.in_flight:
                return succeed(session.delivery)
            if session.failure is not None and not session.in_flight:
                return succeed(session.failure)
        if self._wait_s <= 0:
            return succeed(DeliveryFailure("timeout"))
        waiter: Deferred[Delivery] = Deferred()
        timer = self._clock.callLater(self._wait_s, self._time_out, session, waiter)
        session.waiters.append((waiter, timer))
        return waiter

    def _time_out(self, session: SessionStatement, waiter: Deferred[Delivery]) -> None:
        session.waiters = [(w, t) for w, t in session.waiters if w is not waiter]
        waiter.callback(DeliveryFailure("timeout"))

    # -- requests ----------------------------------------------------------------------

    def _request(self, session: SessionStatement) -> None:
        session.in_flight = True
        if self._batch_window_s is None:
            self._send([session])
            return
        batch = self._batches.get(session.domain)
        if batch is None:
            batch = _Batch(session.domain, [])
            batch.timer = self._clock.callLater(self._batch_window_s, self._flush, session.domain)
            self._batches[session.domain] = batch
        batch.sessions.append(session)
        if len(batch.sessions) >= self._batch_max:
            self._flush(session.domain)

    def _flush(self, domain: str) -> None:
        batch = self._batches.pop(domain, None)
        if batch is None:
            return
        if batch.timer is not None and batch.timer.active():
            batch.timer.cancel()
        if batch.sessions:
            self._send(batch.sessions)

    def _send(self, sessions: list[SessionStatement]) -> None:
        domain = sessions[0].domain
        tree: MerkleTree | None = None
        if len(sessions) == 1:
            asked, batch_size = sessions[0].session_hash, None
        else:
            tree = MerkleTree([s.session_hash for s in sessions])
            asked, batch_size = tree.root, tree.size
        mode = "single" if tree is None else "batch"
        self._pending += 1
        started = self._clock.seconds()
        try:
            request = self._fetch(asked, domain, batch_size)
        except Exception:  # a fetch that cannot even start fails like a failed request
            request = Deferred()
            request.errback(Failure())

        def answered(result: str | Failure) -> None:
            self._pending -= 1
            self._metrics.gmlc_latency.observe(self._clock.seconds() - started)
            self._metrics.batch_sessions.observe(len(sessions))
            if isinstance(result, Failure):
                self._fail(sessions, mode, result)
                return
            try:
                expires = _check(result, domain=domain, asked=asked, batch_size=batch_size)
            except _WrongStatementError as exc:
                self._fail(sessions, mode, Failure(exc))
                return
            self._metrics.statement_requests.labels(mode, "ok").inc()
            if tree is not None:
                self._metrics.sessions_batched.inc(len(sessions))
            for index, session in enumerate(sessions):
                proof = tree.proof(index) if tree is not None else None
                self._settle(session, StatementDelivery(result, proof), expires, mode)

        request.addBoth(answered)

    def _fail(self, sessions: list[SessionStatement], mode: str, reason: Failure) -> None:
        failure, words = _classify(reason)
        self._metrics.statement_requests.labels(mode, failure.error).inc()
        self._metrics.statement_failures.labels(failure.error).inc(len(sessions))
        now = self._clock.seconds()
        self._backoff_until = now + self._retry_after_s
        self._backoff_failure = failure
        log_event(
            _log,
            logging.WARNING,
            "statement_request_failed",
            domain=sessions[0].domain,
            sessions=len(sessions),
            reason=failure.error,
            mlp_result=failure.mlp_result,
            detail=words,
        )
        for session in sessions:
            self._settle(session, failure, now, mode)

    def _settle(
        self, session: SessionStatement, result: Delivery, expires_or_now: float, mode: str
    ) -> None:
        session.in_flight = False
        if session.closed:
            return
        if isinstance(result, StatementDelivery):
            session.delivery, session.expires_at = result, expires_or_now
            session.failure = None
            if not session.ready_once:
                session.ready_once = True
                self._metrics.statement_ready.labels(mode).observe(
                    self._clock.seconds() - session.opened_at
                )
        else:
            session.failure, session.failed_at = result, expires_or_now
        waiters, session.waiters = session.waiters, []
        for waiter, timer in waiters:
            if timer.active():
                timer.cancel()
            waiter.callback(result)


def _check(token: str, *, domain: str, asked: bytes, batch_size: int | None) -> float:
    """The statement's expiry, after checking it is for what was asked.

    The front does not verify the GMLC's signature (the client does); it reads the claims
    to know when to ask again and to refuse a statement for another subject or session.
    """
    try:
        parts = split_compact_jws(token, max_length=MAX_STATEMENT_LENGTH)
        claims = StatementClaims.from_claims(loads_json_object(parts.payload))
    except ValueError as exc:
        raise _WrongStatementError(f"the statement cannot be read: {exc}") from None
    if claims.sub != domain:
        raise _WrongStatementError(f"the statement is about {claims.sub!r}, not {domain!r}")
    if claims.sbh != asked:
        raise _WrongStatementError(
            f"the statement is bound to {b64url_encode(claims.sbh)}, not {b64url_encode(asked)}"
        )
    if claims.bsz != batch_size:
        raise _WrongStatementError(f"the statement signs bsz={claims.bsz}, not {batch_size}")
    return float(claims.exp)


def _classify(reason: Failure) -> tuple[DeliveryFailure, str]:
    error = reason.value
    if isinstance(error, MlpResultError):
        kind: FailureReason = "gmlc_refused" if error.result_code in REFUSAL_CODES else "mlp_result"
        return DeliveryFailure(kind, error.resid), str(error)
    if isinstance(error, MlpTransportError | _WrongStatementError):
        return DeliveryFailure("gmlc_unreachable"), str(error)
    # Anything else is a fault of ours; the session still gets a defined answer.
    return DeliveryFailure("gmlc_unreachable"), f"{type(error).__name__}: {error}"
