"""Prometheus metrics of one GMLC worker process.

Each app gets its own registry (no import-time global), exposed at ``/metrics``. Counters
are per process: with ``workers > 1`` every worker reports its own values, and which worker
answers a scrape is up to the kernel, so run one worker per scrape target or sum over
scrapes of each worker; multiprocess aggregation is deliberately not done.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

__all__ = ["CONTENT_TYPE_LATEST", "GmlcMetrics"]

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_SIGNING_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1)


class GmlcMetrics:
    """The metrics of one app instance, in their own registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.mlp_answers = Counter(
            "salve_gmlc_mlp_answers",
            "MLP answers by result code: request-level results and one per target",
            ["level", "result"],
            registry=self.registry,
        )
        self.mlp_latency = Histogram(
            "salve_gmlc_mlp_request_seconds",
            "Time from the first body byte to the encoded MLP answer",
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.signing_time = Histogram(
            "salve_gmlc_statement_signing_seconds",
            "Time to sign one location statement",
            buckets=_SIGNING_BUCKETS,
            registry=self.registry,
        )
        self.statements = Counter(
            "salve_gmlc_statements",
            "Location statements issued",
            ["kid"],
            registry=self.registry,
        )
        self.statement_rate_refusals = Counter(
            "salve_gmlc_statement_rate_refusals",
            "Requests answered 101 because the client asked for statements faster than "
            "statement_rate_per_s (per worker)",
            ["client"],
            registry=self.registry,
        )
        self.declarations = Counter(
            "salve_gmlc_declarations",
            "M2DMRT declaration requests by outcome (stored, repeated, or the refusal)",
            ["outcome"],
            registry=self.registry,
        )
        self.observations = Counter(
            "salve_gmlc_observations",
            "Observation submissions by outcome (accepted or the rejection code)",
            ["outcome"],
            registry=self.registry,
        )
        self.observation_age = Gauge(
            "salve_gmlc_observation_age_seconds",
            "Age of each appliance's latest accepted observation when it arrived",
            ["appliance"],
            registry=self.registry,
        )
        self.observation_last_accepted = Gauge(
            "salve_gmlc_observation_last_accepted_timestamp_seconds",
            "Unix time at which each appliance's latest observation was accepted",
            ["appliance"],
            registry=self.registry,
        )
        self.sim_mismatches = Counter(
            "salve_gmlc_sim_mismatch_alarms",
            "Observations whose SIM differs from the enrolled one (swapped SIM)",
            ["appliance"],
            registry=self.registry,
        )
        self.auth_failures = Counter(
            "salve_gmlc_auth_failures",
            "Refused MLP client authentications by reason",
            ["reason"],
            registry=self.registry,
        )
        self.pin_refusals = Counter(
            "salve_gmlc_client_pin_refusals",
            "Requests with a client's id from outside its networks (reason "
            "outside_networks) or without its pinned TLS certificate (certificate_mismatch); "
            "alert on any increase: with password_valid=yes its password was stolen",
            ["client", "reason", "password_valid"],
            registry=self.registry,
        )
        self.inflight = Gauge(
            "salve_gmlc_mlp_requests_in_flight",
            "MLP requests being answered",
            registry=self.registry,
        )
        self.overloaded = Counter(
            "salve_gmlc_overload_rejections",
            "Requests answered 101 because the concurrency limit or deadline was hit",
            registry=self.registry,
        )

        self.open_connections = Gauge(
            "salve_gmlc_connections_open",
            "Open HTTP connections of this process",
            registry=self.registry,
        )
        self.connection_events = Counter(
            "salve_gmlc_connection_events",
            "Connections refused over the per-source cap, closed by the header-read "
            "timeout, or closed lingering after an early answer",
            ["event"],
            registry=self.registry,
        )

    def render(self) -> bytes:
        """The exposition text of every metric."""
        return generate_latest(self.registry)
