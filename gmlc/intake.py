"""Intake of signed observation reports from enrolled appliances.

``POST /v1/observations`` carries one compact JWS (mlp.observation) signed with the
appliance's Ed25519 key. Checks, in order, each with its own answer
``{"error": code, "detail": words}`` and an audit entry (kind "observation_rejected",
or "sim_mismatch" for the alarm):

====================  ======  =============================================================
code                  status  reason
====================  ======  =============================================================
too_large             413     body above ``max_observation_bytes`` (checked while reading)
timeout               408     body not received within ``request_deadline_s``
malformed             400     not a compact JWS, bad header, or claims off the schema
unknown_key           401     no enrolled, enabled appliance with the token's kid
bad_signature         401     signature does not verify with the enrolled key
out_of_range          422     a signed claim of the right type outside its range
                              (``mlp.observation.CLAIM_RANGES``: a date beyond year 9999,
                              a cell id wider than 36 bits, an impossible signal level)
replay                409     ``seq`` not above the last accepted one
clock_skew            422     ``observed_at`` outside [now - observation_max_age_s,
                              now + observation_skew_s]: from the future means a wrong
                              clock; older than the positioning limit is useless
sim_mismatch          409     the SIM's IMSI/ICCID (or a reported MSISDN) differs from the
                              enrolled one: the SIM was swapped. Alarm: audit entry, an
                              ERROR log event, and a metric
====================  ======  =============================================================

Before anything is read, a source whose recent submissions were refused too often gets
``rate_limited`` (HTTP 429 with ``Retry-After``): every refusal spends a token of the
source's bucket (``observation_refusal_burst``, refilled at ``observation_refusals_per_s``),
accepted reports spend none. Refusals are audited folded (:mod:`gmlc.refusals`): the first
of each (source, reason, appliance) in ``audit_fold_window_s`` is written at once with a
WARNING log line, the repeats as one row with their count, so garbage cannot flood the
audit log or the journal.

Accepted -> 202 ``{"accepted": seq}``; the observations table is the record (no audit row
per accepted report). The replay check is done early against ``last_seq`` for a precise
answer, and again atomically by :meth:`Store.accept_observation`, which is what actually
guarantees that two racing deliveries cannot both be accepted.

Retention: every ``prune_every`` accepts, one request prunes observations older than
``observation_retention_s`` beyond the newest ``observation_keep_per_appliance`` per
appliance. Only one prune runs at a time; the others skip it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from gmlc.metrics import GmlcMetrics
from gmlc.refusals import RefusalFolder, SourceBuckets
from gmlc.settings import Settings
from gmlc.store import ApplianceRecord, AuditEntry, Store
from mlp.observation import (
    ObservationMalformedError,
    ObservationRangeError,
    ObservationReport,
    ObservationSignatureError,
    decode_public_key,
    peek_appliance_id,
    verify_observation,
)
from runtime.logs import log_event

__all__ = ["IntakeAnswer", "ObservationIntake"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class IntakeAnswer:
    """The HTTP answer to one submission.

    Attributes:
        status: HTTP status code.
        body: JSON body.
        retry_after_s: For 429: when the source may try again (the ``Retry-After`` header).
    """

    status: int
    body: dict[str, Any] = field(default_factory=dict)
    retry_after_s: int | None = None

    @property
    def accepted(self) -> bool:
        """Whether the observation was stored."""
        return self.status == 202


class ObservationIntake:
    """Verifies and stores observation reports.

    Args:
        store: The database.
        settings: Service settings (limits, skew window, retention).
        metrics: The app's metrics.
        clock: Wall clock (UTC, tz-aware).
        prune_every: Accepted observations between two retention prunes.
        on_stored: Called with the appliance id after an observation is stored (the
            read model of this worker takes it at once).
    """

    def __init__(
        self,
        *,
        store: Store,
        settings: Settings,
        metrics: GmlcMetrics,
        clock: Callable[[], datetime],
        prune_every: int = 500,
        on_stored: Callable[[str], None] | None = None,
    ) -> None:
        self._store = store
        self._on_stored = on_stored
        self._settings = settings
        self._metrics = metrics
        self._clock = clock
        self._prune_every = prune_every
        self._accepted_since_prune = 0
        self._counter_lock = threading.Lock()
        self._prune_lock = threading.Lock()
        self._refusals = RefusalFolder(
            store.append_audits, window_s=settings.audit_fold_window_s, clock=clock
        )
        self._buckets = SourceBuckets(
            settings.observation_refusal_burst, settings.observation_refusals_per_s
        )

    def admit(self, source: str | None) -> IntakeAnswer | None:
        """Refuse a source that spent its refusals, before its body is read; else None."""
        wait_s = self._buckets.retry_after_s(source)
        if not wait_s:
            return None
        answer = self.reject(
            429,
            "rate_limited",
            f"too many refused observations from this address; retry in {wait_s} s",
            source=source,
            spend=False,
        )
        return IntakeAnswer(answer.status, answer.body, retry_after_s=wait_s)

    def flush_refusals(self, *, everything: bool = False) -> int:
        """Write the folded refusal counts that are due (all of them at shutdown)."""
        return self._refusals.flush(everything=everything)

    def reject(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        source: str | None,
        appliance_id: str | None = None,
        kind: str = "observation_rejected",
        extra: dict[str, Any] | None = None,
        spend: bool = True,
    ) -> IntakeAnswer:
        """Audit (folded) and count a rejection, spend the source's token, build the answer."""
        self._metrics.observations.labels(code).inc()
        if spend:
            self._buckets.spend(source)
        entry = AuditEntry(
            kind,
            appliance_id=appliance_id,
            source=source,
            result=status,
            detail={"reason": code, "detail": detail, **(extra or {})},
        )
        if self._refusals.record((kind, source, code, appliance_id), entry):
            log_event(
                logger,
                logging.WARNING,
                "observation_rejected",
                reason=code,
                appliance_id=appliance_id,
                source=source,
            )
        return IntakeAnswer(status, {"error": code, "detail": detail})

    def submit(self, body: bytes, *, source: str | None) -> IntakeAnswer:
        """Verify one submission and store it when every check passes.

        Args:
            body: The request body (the compact JWS, surrounding whitespace allowed).
            source: The peer's address, for the audit log.

        Returns:
            202 with the accepted sequence number, or the rejection.
        """
        if len(body) > self._settings.max_observation_bytes:
            return self.reject(
                413,
                "too_large",
                f"observation larger than {self._settings.max_observation_bytes} bytes",
                source=source,
            )
        try:
            token = body.decode("ascii").strip()
        except UnicodeDecodeError:
            return self.reject(400, "malformed", "body is not a compact JWS", source=source)
        try:
            appliance_id = peek_appliance_id(token)
        except ObservationMalformedError:
            return self.reject(400, "malformed", "body is not an observation JWS", source=source)

        appliance = self._store.get_appliance(appliance_id)
        if appliance is None or not appliance.enabled:
            # Unknown and disabled read the same, so the answer does not enumerate ids.
            return self.reject(
                401,
                "unknown_key",
                "no enrolled appliance for this key",
                source=source,
                appliance_id=appliance_id if appliance is not None else None,
                extra={"claimed_appliance": appliance_id},
            )
        try:
            report = verify_observation(token, decode_public_key(appliance.public_key))
        except ObservationSignatureError:
            return self.reject(
                401,
                "bad_signature",
                "signature does not verify",
                source=source,
                appliance_id=appliance_id,
            )
        except ObservationRangeError as exc:
            return self.reject(
                422, "out_of_range", str(exc), source=source, appliance_id=appliance_id
            )
        except ObservationMalformedError as exc:
            return self.reject(
                400,
                "malformed",
                f"invalid observation: {exc}",
                source=source,
                appliance_id=appliance_id,
            )
        return self._check_and_store(appliance, report, source)

    def _check_and_store(
        self, appliance: ApplianceRecord, report: ObservationReport, source: str | None
    ) -> IntakeAnswer:
        appliance_id = appliance.appliance_id
        if report.seq <= appliance.last_seq:
            return self.reject(
                409,
                "replay",
                f"seq {report.seq} is not above the last accepted {appliance.last_seq}",
                source=source,
                appliance_id=appliance_id,
            )
        now = self._clock()
        observed_at = datetime.fromtimestamp(report.observed_at, now.tzinfo)
        if observed_at > now + timedelta(seconds=self._settings.observation_skew_s):
            return self.reject(
                422,
                "clock_skew",
                "observed_at is in the future; check the appliance clock",
                source=source,
                appliance_id=appliance_id,
            )
        if observed_at < now - timedelta(seconds=self._settings.observation_max_age_s):
            return self.reject(
                422,
                "clock_skew",
                "observed_at is too old to be used",
                source=source,
                appliance_id=appliance_id,
            )
        mismatch = self._sim_mismatch(appliance, report)
        if mismatch:
            self._metrics.sim_mismatches.labels(appliance_id).inc()
            log_event(
                logger,
                logging.ERROR,
                "sim_mismatch",
                appliance_id=appliance_id,
                fields_differing=mismatch,
                site=appliance.site,
            )
            return self.reject(
                409,
                "sim_mismatch",
                "the SIM differs from the enrolled SIM: " + ", ".join(mismatch),
                source=source,
                appliance_id=appliance_id,
                kind="sim_mismatch",
                extra={"fields": mismatch, "seq": report.seq},
            )
        stored = self._store.accept_observation(
            appliance_id, report.seq, observed_at, report.to_claims(), now
        )
        if not stored:
            return self.reject(
                409,
                "replay",
                f"seq {report.seq} was already accepted",
                source=source,
                appliance_id=appliance_id,
            )
        if self._on_stored is not None:
            self._on_stored(appliance_id)
        self._metrics.observations.labels("accepted").inc()
        self._metrics.observation_age.labels(appliance_id).set(
            max((now - observed_at).total_seconds(), 0.0)
        )
        self._metrics.observation_last_accepted.labels(appliance_id).set(now.timestamp())
        self._maybe_prune(now)
        return IntakeAnswer(202, {"accepted": report.seq})

    @staticmethod
    def _sim_mismatch(appliance: ApplianceRecord, report: ObservationReport) -> list[str]:
        differing = []
        if report.sim.imsi != appliance.imsi:
            differing.append("imsi")
        if report.sim.iccid != appliance.iccid:
            differing.append("iccid")
        if (
            report.sim.msisdn is not None
            and appliance.msisdn is not None
            and report.sim.msisdn.lstrip("+") != appliance.msisdn.lstrip("+")
        ):
            differing.append("msisdn")
        return differing

    def _maybe_prune(self, now: datetime) -> None:
        with self._counter_lock:
            self._accepted_since_prune += 1
            if self._accepted_since_prune < self._prune_every:
                return
            self._accepted_since_prune = 0
        if not self._prune_lock.acquire(blocking=False):
            return
        try:
            removed = self._store.prune_observations(
                older_than=now - timedelta(seconds=self._settings.observation_retention_s),
                keep_per_appliance=self._settings.observation_keep_per_appliance,
            )
            if removed:
                log_event(logger, logging.INFO, "observations_pruned", removed=removed)
        finally:
            self._prune_lock.release()
