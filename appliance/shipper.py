"""Delivers queued observations to the GMLC, in order, with backoff.

Theory of operation: every signed observation is first written to the on-disk
queue (:mod:`appliance.queue`), then a single worker thread posts the *oldest* one
to ``POST {gmlc}/v1/observations`` and only removes it once the GMLC has answered.
One observation in flight at a time keeps the order the GMLC sees equal to the
sequence order, which its replay check requires.

How each answer is handled (:func:`classify_response`, pure):

======================  ===========  ================================================
answer                  outcome      what happens
======================  ===========  ================================================
202                     DELIVERED    removed from the queue
409 replay              REPLAY       removed with a log line: the GMLC already has it
409 SIM mismatch        REFUSED      alert; stays queued; retried with backoff
401 unknown key         REFUSED      alert; stays queued; retried with backoff
422 on an old report    EXPIRED      older than the GMLC accepts: removed and counted
400 / 413 / 422         INVALID      cannot ever succeed: removed, counted, alerted
5xx, 429, connection    RETRY        stays queued; retried with backoff
======================  ===========  ================================================

The queue stays bounded throughout (it drops its oldest entries and counts them),
so a GMLC that refuses for days costs a fixed amount of disk. A refused entry that
has newer ones behind it is given up after a few refusals (counted as
``discarded``), so one refused report cannot hold back newer ones that the GMLC may
accept (the SIM put back, the appliance enrolled meanwhile).

The HTTP client is persistent (keep-alive), verifies the server certificate
(``gmlc.ca_file`` or the system store) and has timeouts on every request.
"""

from __future__ import annotations

import base64
import enum
import json
import logging
import ssl
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from appliance.changes import EventKind
from appliance.queue import ObservationQueue
from runtime.logs import log_event

__all__ = [
    "OBSERVATIONS_PATH",
    "Backoff",
    "Delivery",
    "Outcome",
    "Shipper",
    "classify_response",
    "token_observed_at",
]

_log = logging.getLogger(__name__)

OBSERVATIONS_PATH = "/v1/observations"
_CONTENT_TYPE = "application/jose"

EventSink = Callable[[EventKind, str, dict[str, Any]], None]

#: A 422 for a report older than this is taken as "too old for the GMLC" (it sat in the
#: queue through an outage), not as a wrong clock.
_EXPIRED_AFTER_S = 60.0
#: Refusals of one entry before it is given up in favour of newer entries.
_REFUSALS_PER_ENTRY = 3


class Outcome(enum.Enum):
    """What to do with an observation after the GMLC's answer."""

    DELIVERED = "delivered"
    REPLAY = "replay"
    REFUSED = "refused"
    EXPIRED = "expired"
    INVALID = "invalid"
    RETRY = "retry"


@dataclass(frozen=True, slots=True)
class Delivery:
    """The classified answer: outcome, the GMLC's error code (if any) and plain words."""

    outcome: Outcome
    code: str | None
    detail: str


def classify_response(status: int, body: bytes) -> Delivery:
    """Classifies one answer of ``POST /v1/observations``.

    Args:
        status: the HTTP status code.
        body: the response body (``{"error": code, "detail": words}`` on errors).

    Returns:
        The outcome, the error code the GMLC named, and a description.
    """
    code: str | None = None
    detail = ""
    try:
        data = json.loads(body) if body else None
    except ValueError:
        data = None
    if isinstance(data, dict):
        if isinstance(data.get("error"), str):
            code = data["error"]
        if isinstance(data.get("detail"), str):
            detail = data["detail"]
    words = f"HTTP {status}" + (f" {code}" if code else "") + (f": {detail}" if detail else "")
    if 200 <= status < 300:
        return Delivery(Outcome.DELIVERED, code, words)
    if status == 409:
        if code is not None and ("replay" in code.lower() or "seq" in code.lower()):
            return Delivery(Outcome.REPLAY, code, words)
        return Delivery(Outcome.REFUSED, code, words)
    if status in (401, 403):
        return Delivery(Outcome.REFUSED, code, words)
    if status in (400, 413, 422):
        return Delivery(Outcome.INVALID, code, words)
    return Delivery(Outcome.RETRY, code, words)


class Backoff:
    """Exponential backoff: 1 s, 2 s, 4 s … up to ``cap_s``; pure apart from its state."""

    def __init__(self, cap_s: float, base_s: float = 1.0) -> None:
        """Creates a backoff that starts at ``base_s`` and never waits longer than ``cap_s``."""
        self.cap_s = cap_s
        self._base = base_s
        self._failures = 0

    @property
    def failures(self) -> int:
        """Consecutive failures since the last success."""
        return self._failures

    def failed(self) -> float:
        """Records a failure; returns how long to wait before the next attempt."""
        delay = float(min(self.cap_s, self._base * 2.0 ** min(self._failures, 30)))
        self._failures += 1
        return delay

    def succeeded(self) -> None:
        """Resets after a success."""
        self._failures = 0


def _verify_setting(ca_file: Path | None) -> ssl.SSLContext | bool:
    if ca_file is None:
        return True
    return ssl.create_default_context(cafile=str(ca_file))


class Shipper:
    """The delivery worker; see the module docstring."""

    def __init__(
        self,
        queue: ObservationQueue,
        *,
        url: str,
        ca_file: Path | None,
        timeout_s: float,
        max_backoff_s: float,
        on_event: EventSink,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        """Creates the worker (call :meth:`start`).

        Args:
            queue: the on-disk queue to drain.
            url: the GMLC base URL (``https://gmlc.example.net:9211``).
            ca_file: a CA bundle for the GMLC's certificate, or ``None`` for the system's.
            timeout_s: connect/read/write timeout of each request.
            max_backoff_s: the longest wait between two attempts.
            on_event: called with (kind, message, details) for GMLC-related events.
            transport: an httpx transport (tests inject one; default: the network).

        Raises:
            ssl.SSLError, OSError: ``ca_file`` cannot be loaded.
        """
        self._queue = queue
        self._on_event = on_event
        self._transport = transport
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._backoff = Backoff(max_backoff_s)
        self._next_attempt = 0.0
        self._client = self._make_client(url, ca_file, timeout_s)
        self._url = url
        self.counters: Counter[str] = Counter()
        self.reachable: bool | None = None
        self.refused: str | None = None
        self.rejected: str | None = None
        self.last_error: str | None = None
        self.last_delivered_seq: int | None = None
        self.last_delivered_at: datetime | None = None
        self._refusals: dict[int, int] = {}

    def _make_client(self, url: str, ca_file: Path | None, timeout_s: float) -> httpx.Client:
        return httpx.Client(
            base_url=url,
            verify=_verify_setting(ca_file),
            timeout=httpx.Timeout(timeout_s),
            headers={"Content-Type": _CONTENT_TYPE, "User-Agent": "salve-appliance"},
            transport=self._transport,
            follow_redirects=False,
        )

    def reconfigure(
        self, *, url: str, ca_file: Path | None, timeout_s: float, max_backoff_s: float
    ) -> None:
        """Applies reloaded GMLC settings; the next attempt uses them.

        Raises:
            ssl.SSLError, OSError: ``ca_file`` cannot be loaded (old settings stay).
        """
        client = self._make_client(url, ca_file, timeout_s)
        with self._lock:
            old, self._client = self._client, client
            self._url = url
            self._backoff.cap_s = max_backoff_s
            self._next_attempt = 0.0
            self._wake.notify_all()
        old.close()

    def start(self) -> None:
        """Starts the worker thread."""
        self._thread = threading.Thread(target=self._run, name="observation-shipper", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Tells the worker a new observation is queued (backoff still applies)."""
        with self._lock:
            self._wake.notify_all()

    def close(self, timeout: float = 5.0) -> None:
        """Stops the worker (an in-flight request may finish) and closes the connection.

        Undelivered observations stay in the queue for the next start.
        """
        with self._lock:
            self._stopping = True
            self._wake.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
        self._client.close()

    @property
    def retry_in_s(self) -> float:
        """Seconds until the next attempt when backing off (0 otherwise)."""
        with self._lock:
            return max(0.0, self._next_attempt - time.monotonic())

    # -- the worker ----------------------------------------------------------------

    def _run(self) -> None:
        while True:
            with self._lock:
                while not self._stopping:
                    wait = self._next_attempt - time.monotonic()
                    if wait > 0:
                        self._wake.wait(wait)
                        continue
                    if len(self._queue) > 0:
                        break
                    self._wake.wait()
                if self._stopping:
                    return
                client = self._client
            head = self._queue.head()
            if head is None:
                continue
            delivery = self._post(client, head.token)
            if delivery.outcome is Outcome.INVALID and delivery.code == "clock_skew":
                observed_at = token_observed_at(head.token)
                if observed_at is not None and time.time() - observed_at > _EXPIRED_AFTER_S:
                    delivery = Delivery(Outcome.EXPIRED, delivery.code, delivery.detail)
            self._handle(head.seq, delivery)

    def _post(self, client: httpx.Client, token: str) -> Delivery:
        try:
            response = client.post(OBSERVATIONS_PATH, content=token.encode("ascii"))
        except httpx.HTTPError as error:
            return Delivery(Outcome.RETRY, None, _describe_transport_error(error))
        return classify_response(response.status_code, response.content)

    def _handle(self, seq: int, delivery: Delivery) -> None:
        outcome = delivery.outcome
        if outcome in (Outcome.DELIVERED, Outcome.REPLAY, Outcome.EXPIRED, Outcome.INVALID):
            self._queue.remove(seq)
            self._refusals.pop(seq, None)
            with self._lock:
                self._backoff.succeeded()
                self._next_attempt = 0.0
            was_unreachable = self.reachable is False
            was_refused = self.refused is not None
            self.reachable = True
            self.refused = None
            if was_unreachable or was_refused:
                self._on_event(
                    EventKind.GMLC_BACK, "the GMLC accepts observations again", {"seq": seq}
                )
        if outcome is Outcome.DELIVERED:
            self.counters["delivered"] += 1
            self.rejected = None
            self.last_delivered_seq = seq
            self.last_delivered_at = datetime.now(UTC)
            self.last_error = None
            log_event(_log, logging.INFO, "observation_delivered", seq=seq)
        elif outcome is Outcome.REPLAY:
            self.counters["replayed"] += 1
            log_event(_log, logging.INFO, "observation_replay", delivery.detail, seq=seq)
        elif outcome is Outcome.EXPIRED:
            self.counters["expired"] += 1
            log_event(_log, logging.WARNING, "observation_expired", "too old for the GMLC", seq=seq)
        elif outcome is Outcome.INVALID:
            self.counters["invalid"] += 1
            self.last_error = delivery.detail
            self.rejected = delivery.code or delivery.detail
            log_event(_log, logging.ERROR, "observation_invalid", delivery.detail, seq=seq)
            self._on_event(
                EventKind.GMLC_REJECTED,
                f"the GMLC rejected observation {seq} for good ({delivery.detail})",
                {"seq": seq, "code": delivery.code},
            )
        else:
            self._failed(seq, delivery)

    def _failed(self, seq: int, delivery: Delivery) -> None:
        with self._lock:
            delay = self._backoff.failed()
            self._next_attempt = time.monotonic() + delay
        self.last_error = delivery.detail
        if delivery.outcome is Outcome.REFUSED:
            self.counters["refused"] += 1
            self.reachable = True
            log_event(
                _log,
                logging.ERROR,
                "observation_refused",
                delivery.detail,
                seq=seq,
                retry_in_s=round(delay, 1),
            )
            if self.refused != (delivery.code or delivery.detail):
                self.refused = delivery.code or delivery.detail
                self._on_event(
                    EventKind.GMLC_REJECTED,
                    f"the GMLC refuses this appliance's observations ({delivery.detail})",
                    {"seq": seq, "code": delivery.code},
                )
            self._refusals[seq] = self._refusals.get(seq, 0) + 1
            if self._refusals[seq] >= _REFUSALS_PER_ENTRY and self._queue.seqs()[-1:] != [seq]:
                self._queue.remove(seq)
                del self._refusals[seq]
                self.counters["discarded"] += 1
                log_event(
                    _log,
                    logging.WARNING,
                    "observation_discarded",
                    "refused repeatedly while newer observations wait",
                    seq=seq,
                    detail=delivery.detail,
                )
                with self._lock:
                    self._next_attempt = 0.0
            return
        self.counters["retries"] += 1
        log_event(
            _log,
            logging.WARNING,
            "observation_retry",
            delivery.detail,
            seq=seq,
            retry_in_s=round(delay, 1),
        )
        if self.reachable is not False:
            self.reachable = False
            self._on_event(
                EventKind.GMLC_UNREACHABLE,
                f"the GMLC at {self._url} is unreachable ({delivery.detail})",
                {"seq": seq},
            )


def token_observed_at(token: str) -> int | None:
    """The ``observed_at`` claim of one of our own queued tokens (None if unreadable)."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return None
    value = claims.get("observed_at") if isinstance(claims, dict) else None
    return value if type(value) is int else None


def _describe_transport_error(error: httpx.HTTPError) -> str:
    if isinstance(error, httpx.ConnectTimeout):
        return "connection timed out"
    if isinstance(error, httpx.TimeoutException):
        return "no answer in time"
    if isinstance(error, httpx.ConnectError):
        text = str(error)
        if "CERTIFICATE_VERIFY_FAILED" in text or "certificate" in text.lower():
            return f"the GMLC's certificate is not trusted ({text})"
        return f"cannot connect ({text or 'connection refused'})"
    return f"{type(error).__name__}: {error}"
