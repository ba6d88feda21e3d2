"""``salve-verify --watch``: check a site again and again, and serve Prometheus metrics.

Ops monitor their own site from outside the way a client sees it. Each check is a full
one (a new TLS connection, hence a new session and statement); DNS answers and key sets
are reused while their TTLs and cache lifetimes allow. Metrics (own registry, served on
``--metrics ADDR:PORT`` at ``/metrics``)::

    salve_verify_checks_total{verdict, code}         checks by outcome and reason code
    salve_verify_verified                            1 when the last check verified, else 0
    salve_verify_last_exit_code                      exit code of the last check
    salve_verify_last_check_timestamp_seconds        when the last check ended
    salve_verify_check_duration_seconds              histogram of check durations
    salve_verify_position_margin_metres              how far inside a site the circle lies
    salve_verify_position_age_seconds                age of the stated position
    salve_verify_statement_age_seconds               age of the statement

Every series carries the label ``site`` (the URL checked).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from verifier.verdict import Verdict

__all__ = ["WatchMetrics", "watch"]


@dataclass
class WatchMetrics:
    """The metric families of one watcher, in their own registry."""

    registry: CollectorRegistry
    checks: Counter
    verified: Gauge
    exit_code: Gauge
    last_check: Gauge
    duration: Histogram
    margin: Gauge
    position_age: Gauge
    statement_age: Gauge

    @classmethod
    def create(cls) -> WatchMetrics:
        """Fresh metric families in a new registry."""
        registry = CollectorRegistry()
        return cls(
            registry=registry,
            checks=Counter(
                "salve_verify_checks",
                "Checks by verdict and reason code",
                ["site", "verdict", "code"],
                registry=registry,
            ),
            verified=Gauge(
                "salve_verify_verified",
                "1 when the last check verified",
                ["site"],
                registry=registry,
            ),
            exit_code=Gauge(
                "salve_verify_last_exit_code",
                "Exit code of the last check",
                ["site"],
                registry=registry,
            ),
            last_check=Gauge(
                "salve_verify_last_check_timestamp_seconds",
                "When the last check ended",
                ["site"],
                registry=registry,
            ),
            duration=Histogram(
                "salve_verify_check_duration_seconds",
                "Duration of a check",
                ["site"],
                buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
                registry=registry,
            ),
            margin=Gauge(
                "salve_verify_position_margin_metres",
                "How far inside a legitimate site the stated circle lies (negative: outside)",
                ["site"],
                registry=registry,
            ),
            position_age=Gauge(
                "salve_verify_position_age_seconds",
                "Age of the stated position",
                ["site"],
                registry=registry,
            ),
            statement_age=Gauge(
                "salve_verify_statement_age_seconds",
                "Age of the statement",
                ["site"],
                registry=registry,
            ),
        )

    def record(self, verdict: Verdict) -> None:
        """Update every family from one verdict."""
        site = verdict.url
        self.checks.labels(site, verdict.outcome.value, verdict.code).inc()
        self.verified.labels(site).set(1 if verdict.verified else 0)
        self.exit_code.labels(site).set(verdict.exit_code)
        self.last_check.labels(site).set(verdict.checked_at)
        self.duration.labels(site).observe(verdict.elapsed_s)
        if verdict.position is not None and verdict.position.fits:
            self.margin.labels(site).set(min(fit.margin_m for fit in verdict.position.fits))
        ages = verdict.ages()
        if ages is not None:
            self.position_age.labels(site).set(ages["position_s"])
            self.statement_age.labels(site).set(ages["statement_s"])


def watch(
    check: Callable[[], Verdict],
    *,
    interval_s: float,
    metrics: WatchMetrics,
    listen: tuple[str, int] | None,
    report: Callable[[Verdict], None],
    stop: threading.Event,
    count: int | None = None,
) -> Verdict | None:
    """Run ``check`` every ``interval_s`` seconds until ``stop`` is set (or ``count`` checks).

    Args:
        check: One full check.
        interval_s: Seconds from the start of one check to the start of the next.
        metrics: Where results are recorded.
        listen: ``(address, port)`` to serve ``/metrics`` on; None serves nothing.
        report: Called with each verdict (prints it).
        stop: Set it to end the loop (signal handlers do).
        count: Stop after this many checks.

    Returns:
        The last verdict (None if stopped before the first check).

    Raises:
        OSError: The metrics address cannot be bound.
    """
    served = (
        start_http_server(listen[1], addr=listen[0], registry=metrics.registry)
        if listen is not None
        else None
    )
    last: Verdict | None = None
    done = 0
    try:
        while not stop.is_set():
            started = time.monotonic()
            last = check()
            metrics.record(last)
            report(last)
            done += 1
            if count is not None and done >= count:
                break
            stop.wait(max(0.0, interval_s - (time.monotonic() - started)))
    finally:
        if served is not None:
            server, thread = served
            server.shutdown()
            thread.join(5)
    return last
