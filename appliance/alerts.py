"""Alerts to people: a JSON webhook and, optionally, SMS through the modem itself.

SMS matters exactly when the data-center network is down and the webhook cannot be
reached: the modem still has its own way out. Each alert kind is rate-limited on its
own (:class:`RateLimiter`), so a flapping cell cannot flood anybody, and what was
held back is counted.

The webhook is posted from a worker thread (a slow receiver must never stall the
daemon's main loop). SMS goes through the modem, which the main loop owns, so SMS
alerts wait in an outbox that the main loop drains with :meth:`AlertDispatcher.drain_sms`.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from runtime.logs import log_event

__all__ = ["Alert", "AlertDispatcher", "RateLimiter"]

_log = logging.getLogger(__name__)

#: Webhook alerts waiting for the worker; beyond this the oldest are dropped (and counted).
_WEBHOOK_BACKLOG = 100
#: One SMS: 160 GSM 7-bit characters; longer texts are cut rather than split.
_SMS_LENGTH = 160


@dataclass(frozen=True, slots=True)
class Alert:
    """Something a person should know about."""

    kind: str
    severity: str
    message: str
    appliance_id: str
    site: str | None = None
    at: datetime = field(default_factory=lambda: datetime.now(UTC))
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The webhook body."""
        return {
            "source": "salve-appliance",
            "appliance": self.appliance_id,
            "site": self.site,
            "kind": self.kind,
            "severity": self.severity,
            "message": self.message,
            "at": self.at.isoformat(),
            "details": self.details,
        }

    def to_sms(self) -> str:
        """One short, plain-ASCII text message."""
        text = f"SALVE {self.appliance_id} {self.severity.upper()}: {self.message}"
        text = text.encode("ascii", "replace").decode("ascii")
        return text if len(text) <= _SMS_LENGTH else text[: _SMS_LENGTH - 3] + "..."


class RateLimiter:
    """Lets one alert of a kind through per ``min_interval_s``; counts the rest.

    Pure apart from the injected clock, which tests replace.
    """

    def __init__(self, min_interval_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        """Creates a limiter.

        Args:
            min_interval_s: the minimum time between two alerts of the same kind
                (0 lets everything through).
            clock: a monotonic clock in seconds.
        """
        self._interval = min_interval_s
        self._clock = clock
        self._last: dict[str, float] = {}
        self._suppressed: collections.Counter[str] = collections.Counter()
        self._lock = threading.Lock()

    @property
    def min_interval_s(self) -> float:
        """The current interval."""
        return self._interval

    @min_interval_s.setter
    def min_interval_s(self, value: float) -> None:
        self._interval = value

    def allow(self, kind: str) -> bool:
        """True when an alert of ``kind`` may go out now (and records that it did)."""
        with self._lock:
            now = self._clock()
            last = self._last.get(kind)
            if last is not None and now - last < self._interval:
                self._suppressed[kind] += 1
                return False
            self._last[kind] = now
            return True

    def suppressed(self, kind: str | None = None) -> int:
        """How many alerts were held back, for one kind or in total."""
        with self._lock:
            if kind is None:
                return sum(self._suppressed.values())
            return self._suppressed[kind]


class AlertDispatcher:
    """Routes alerts to the webhook worker and the SMS outbox, rate-limited per kind."""

    def __init__(
        self,
        *,
        webhook_url: str | None,
        sms_numbers: tuple[str, ...],
        limiter: RateLimiter,
        timeout_s: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        """Creates the dispatcher (call :meth:`start` to run the webhook worker).

        Args:
            webhook_url: where alerts are POSTed as JSON, or ``None``.
            sms_numbers: ops phone numbers for SMS alerts (may be empty).
            limiter: the per-kind rate limiter.
            timeout_s: webhook request timeout.
            transport: an httpx transport (tests inject one; default: the network).
        """
        self._webhook_url = webhook_url
        self._sms_numbers = sms_numbers
        self.limiter = limiter
        self._client = httpx.Client(timeout=timeout_s, transport=transport)
        self._pending: collections.deque[Alert] = collections.deque()
        self._sms_outbox: collections.deque[tuple[str, Alert]] = collections.deque(
            maxlen=_WEBHOOK_BACKLOG
        )
        self._condition = threading.Condition()
        self._stopping = False
        self._busy = False
        self._thread: threading.Thread | None = None
        self.counters: collections.Counter[str] = collections.Counter()

    def reconfigure(
        self, *, webhook_url: str | None, sms_numbers: tuple[str, ...], min_interval_s: float
    ) -> None:
        """Applies reloaded settings."""
        with self._condition:
            self._webhook_url = webhook_url
            self._sms_numbers = sms_numbers
            self.limiter.min_interval_s = min_interval_s

    def start(self) -> None:
        """Starts the webhook worker thread."""
        self._thread = threading.Thread(target=self._run, name="alert-webhook", daemon=True)
        self._thread.start()

    def close(self, timeout: float = 2.0) -> None:
        """Stops the worker after the alerts already queued, within ``timeout`` seconds."""
        with self._condition:
            self._stopping = True
            self._condition.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
        self._client.close()

    def raise_alert(self, alert: Alert) -> bool:
        """Sends an alert unless its kind is rate-limited.

        Returns:
            True when the alert was let through (queued for webhook and/or SMS).
        """
        if not self.limiter.allow(alert.kind):
            self.counters["suppressed"] += 1
            log_event(_log, logging.INFO, "alert_suppressed", alert_kind=alert.kind)
            return False
        with self._condition:
            if self._webhook_url is not None:
                if len(self._pending) >= _WEBHOOK_BACKLOG:
                    self._pending.popleft()
                    self.counters["webhook_overflow"] += 1
                self._pending.append(alert)
                self._condition.notify_all()
            for number in self._sms_numbers:
                self._sms_outbox.append((number, alert))
        return True

    def drain_sms(self, send: Callable[[str, str], object]) -> None:
        """Sends the waiting SMS alerts with ``send(number, text)`` (the main loop's modem).

        A failed send is logged and counted, and the message stays for the next call.
        """
        while True:
            with self._condition:
                if not self._sms_outbox:
                    return
                number, alert = self._sms_outbox[0]
            try:
                send(number, alert.to_sms())
            except Exception as error:
                # The modem may be the very thing that is failing; keep the message for
                # the next cycle and let the daemon carry on.
                self.counters["sms_failed"] += 1
                log_event(_log, logging.WARNING, "alert_sms_failed", str(error), number=number)
                return
            with self._condition:
                if self._sms_outbox and self._sms_outbox[0] == (number, alert):
                    self._sms_outbox.popleft()
            self.counters["sms_sent"] += 1
            log_event(_log, logging.INFO, "alert_sms_sent", number=number, alert_kind=alert.kind)

    @property
    def sms_waiting(self) -> int:
        """SMS alerts not yet sent."""
        with self._condition:
            return len(self._sms_outbox)

    def wait_idle(self, timeout: float) -> bool:
        """Waits until the webhook backlog is empty (tests and shutdown); True when it is."""
        deadline = time.monotonic() + timeout
        with self._condition:
            while self._pending or self._busy:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._condition.wait(remaining)
            return True

    def _run(self) -> None:
        while True:
            with self._condition:
                while not self._pending and not self._stopping:
                    self._condition.wait()
                if not self._pending:
                    return
                alert = self._pending.popleft()
                url = self._webhook_url
                self._busy = True
            try:
                if url is not None:
                    self._post(url, alert)
            finally:
                with self._condition:
                    self._busy = False
                    self._condition.notify_all()

    def _post(self, url: str, alert: Alert) -> None:
        try:
            response = self._client.post(url, json=alert.to_json())
        except httpx.HTTPError as error:
            self.counters["webhook_failed"] += 1
            log_event(
                _log, logging.WARNING, "alert_webhook_failed", str(error), alert_kind=alert.kind
            )
            return
        if response.is_success:
            self.counters["webhook_sent"] += 1
        else:
            self.counters["webhook_failed"] += 1
            log_event(
                _log,
                logging.WARNING,
                "alert_webhook_failed",
                f"HTTP {response.status_code}",
                alert_kind=alert.kind,
            )
