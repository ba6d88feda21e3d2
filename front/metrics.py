"""Prometheus metrics of one front process, in their own registry (no import-time global).

Served at ``/metrics`` on a separate loopback listener, never on the public port. Every
fault the front handles (a client that is not TLS, an upstream that resets, a GMLC that
refuses) counts under a label that names it, beside its log line.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

__all__ = ["FrontMetrics"]

_LATENCY_BUCKETS = (
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5,
    0.75, 1.0, 2.5, 5.0, 10.0,
)  # fmt: skip
_BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096, 16384, 65536)


class FrontMetrics:
    """The metrics of one front, in their own registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        registry = self.registry
        self.connections_open = Gauge(
            "salve_front_connections_open", "Client connections open now", registry=registry
        )
        self.handshakes = Counter(
            "salve_front_tls_handshakes", "Finished TLS 1.3 handshakes", registry=registry
        )
        self.tls_refusals = Counter(
            "salve_front_tls_refusals",
            "Connections that ended before a finished handshake, by reason "
            "(tls_version, not_tls, unknown_name, handshake_timeout, handshake_failed)",
            ["reason"],
            registry=registry,
        )
        self.statement_requests = Counter(
            "salve_front_statement_requests",
            "Statement requests sent to the GMLC, by mode and outcome",
            ["mode", "outcome"],
            registry=registry,
        )
        self.sessions_batched = Counter(
            "salve_front_sessions_batched",
            "TLS sessions that got their statement through a Merkle batch",
            registry=registry,
        )
        self.batch_sessions = Histogram(
            "salve_front_batch_sessions",
            "Sessions per statement request (1 for a single-session statement)",
            buckets=_BATCH_BUCKETS,
            registry=registry,
        )
        self.statement_failures = Counter(
            "salve_front_statement_failures",
            "Sessions left without a statement by a failed request, by delivery reason",
            ["reason"],
            registry=registry,
        )
        self.statement_ready = Histogram(
            "salve_front_statement_ready_seconds",
            "Time from the end of the handshake to the session's statement being available",
            ["mode"],
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        )
        self.gmlc_latency = Histogram(
            "salve_front_gmlc_request_seconds",
            "Time of one statement request to the GMLC",
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        )
        self.gmlc_backoff = Counter(
            "salve_front_gmlc_backoff_sessions",
            "Sessions not sent to the GMLC because it failed moments ago",
            registry=registry,
        )
        self.deliveries = Counter(
            "salve_front_statement_deliveries",
            "Answers on /.well-known/salve/statement (statement, or the 503 reason)",
            ["result"],
            registry=registry,
        )
        self.requests = Counter(
            "salve_front_http_requests",
            "HTTP requests from clients, by route",
            ["route"],
            registry=registry,
        )
        self.client_errors = Counter(
            "salve_front_client_errors",
            "Requests refused for what the client sent (bad_request, header_too_large, "
            "too_many_headers, body_too_large, header_timeout, websocket, bad_target)",
            ["reason"],
            registry=registry,
        )
        self.upstream_failures = Counter(
            "salve_front_upstream_failures",
            "Proxied requests the upstream failed (down, timeout, reset, idle_timeout)",
            ["reason"],
            registry=registry,
        )
        self.upstream_latency = Histogram(
            "salve_front_upstream_response_seconds",
            "Time from forwarding a request to the upstream's response headers",
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        )
        self.reloads = Counter(
            "salve_front_certificate_reloads",
            "Certificate reloads (SIGHUP), by outcome",
            ["outcome"],
            registry=registry,
        )
