"""What goes into a location statement: the client's domain, its statement mode and
precision, and a cap on how fast a client may have statements signed.

:class:`StatementIssuer` signs one statement (:func:`mlp.statement.issue_statement`) for a
client's domain from the fixes the location service found: the asked target's (mode
``one``) or one per SIM of the client (mode ``all``; ``lt`` is then the oldest). The
statement names the domain (``sub``) and never a SIM: it goes to every visitor of the
site. Its audit row names the targets, which stay inside the GMLC.

Coarse positions (:func:`coarse_circle`): a client configured with a precision of N
metres gets circles whose centre is snapped to a grid of N metres and whose radius is
widened to a multiple of N large enough that the true circle lies inside the stated one,
so the statement never claims more than the fix supports, and never reveals the centre
more finely than N.

:class:`StatementRateLimiter` is a token bucket per client and per worker process: a
front batches its sessions into Merkle roots, so a client that needs more statements
than the cap is either misconfigured or abused (every statement costs a signature).
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from gmlc.metrics import GmlcMetrics
from gmlc.positioning import Fix
from gmlc.store import AuditEntry, ClientRecord
from mlp.codes import ResultCode
from mlp.keys import Signer, b64url_encode
from mlp.statement import (
    EARTH_RADIUS_M,
    MAX_POSITIONS,
    MAX_RADIUS_M,
    StatementPosition,
    great_circle_distance_m,
    issue_statement,
)

__all__ = [
    "MAX_POSITIONS",
    "SiteFixes",
    "StatementIssuer",
    "StatementRateLimiter",
    "StatementRequest",
    "coarse_circle",
]

_METRES_PER_DEGREE: Final = math.pi * EARTH_RADIUS_M / 180.0


def _wrap_longitude(lon: float) -> float:
    wrapped = (lon + 180.0) % 360.0 - 180.0
    return 180.0 if wrapped == -180.0 and lon > 0 else wrapped


def coarse_circle(
    lat: float, lon: float, radius_m: float, precision_m: int | None
) -> StatementPosition:
    """A fix's circle as stated to a client: exact, or coarsened to ``precision_m``.

    The centre snaps to a grid of ``precision_m`` metres (latitude rows ``precision_m``
    apart; in each row, longitude columns ``precision_m`` apart along the row). The radius
    becomes the smallest multiple of ``precision_m`` (at least one) that reaches the far
    side of the true circle from the new centre, so the true circle lies inside and the
    stated area never shrinks.

    Args:
        lat: Latitude of the fix, WGS84 degrees.
        lon: Longitude of the fix, WGS84 degrees.
        radius_m: Radius of the fix in metres.
        precision_m: The grid in metres; None for the exact circle.

    Raises:
        ValueError: A coordinate or radius out of range.
    """
    if precision_m is None:
        return StatementPosition.from_circle(lat, lon, radius_m)
    exact = StatementPosition.from_circle(lat, lon, radius_m)  # checks the ranges
    lat_step = precision_m / _METRES_PER_DEGREE
    snapped_lat = max(-90.0, min(90.0, round(lat / lat_step) * lat_step))
    row_scale = math.cos(math.radians(snapped_lat))
    if row_scale * 360.0 <= lat_step:
        snapped_lon = 0.0  # at the pole every longitude is the same point
    else:
        lon_step = lat_step / row_scale
        snapped_lon = _wrap_longitude(round(lon / lon_step) * lon_step)
    centre = StatementPosition(snapped_lat, snapped_lon, 0)  # rounded as on the wire
    reach = great_circle_distance_m(lat, lon, centre.lat, centre.lon) + exact.radius_m
    widened = max(1, math.ceil(reach / precision_m)) * precision_m
    return StatementPosition(centre.lat, centre.lon, min(widened, MAX_RADIUS_M))


class StatementRateLimiter:
    """Token buckets, one per client: ``burst`` statements at once, ``rate_per_s`` after.

    Per worker process (each keeps its own buckets), so a node with W workers allows up
    to W times the rate. Thread-safe; the least recently used buckets are forgotten beyond
    ``max_clients`` (a forgotten client starts again with a full bucket).

    Args:
        rate_per_s: Statements per second a client may sustain.
        burst: Statements a client may have at once.
        monotonic: Clock.
        max_clients: Buckets kept.
    """

    def __init__(
        self,
        rate_per_s: float,
        burst: int,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        max_clients: int = 10_000,
    ) -> None:
        if not rate_per_s > 0 or burst < 1:
            raise ValueError("rate_per_s must be positive and burst at least 1")
        self._rate = rate_per_s
        self._burst = float(burst)
        self._monotonic = monotonic
        self._max_clients = max_clients
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, client_id: str, count: int = 1) -> bool:
        """Spend ``count`` tokens of the client's bucket; False (nothing spent) if short."""
        now = self._monotonic()
        with self._lock:
            tokens, at = self._buckets.get(client_id, (self._burst, now))
            tokens = min(self._burst, tokens + (now - at) * self._rate)
            allowed = tokens >= count
            if allowed:
                tokens -= count
            self._buckets[client_id] = (tokens, now)
            self._buckets.move_to_end(client_id)
            while len(self._buckets) > self._max_clients:
                self._buckets.popitem(last=False)
            return allowed


@dataclass(frozen=True, slots=True)
class StatementRequest:
    """What a SLIR asks a statement to be bound to.

    Attributes:
        domain: The web service (``salve:domain``), the statement's ``sub``.
        session_hash: The session hash or Merkle root (``salve:session_hash``).
        batch_size: The Merkle batch's leaves (``salve:batch_size``), None for one session.
    """

    domain: str
    session_hash: bytes
    batch_size: int | None


@dataclass(frozen=True, slots=True)
class SiteFixes:
    """Where every SIM of a client is (mode ``all``): one fix per SIM.

    Attributes:
        targets: The SIMs (``msisdn:…``/``imsi:…``), for the audit row only.
        fixes: Their fixes, in the same order (1 to ``MAX_POSITIONS``).
    """

    targets: tuple[str, ...]
    fixes: tuple[Fix, ...]


def _method(fixes: Sequence[Fix]) -> str:
    methods = {fix.method for fix in fixes}
    # Mixed methods: name the coarser one, since the statement is only as good as its
    # weakest circle (a location-area fallback).
    return methods.pop() if len(methods) == 1 else "AREA"


class StatementIssuer:
    """Signs statements for a client's domain and describes each for the audit log.

    Args:
        signing_key: The active signing key (reloaded by the caller when the ring changes).
        issuer: The GMLC's host name (``iss``).
        validity_s: Statement lifetime.
        metrics: Signing time and statements per key.
        clock: Wall clock (UTC, tz-aware).
    """

    def __init__(
        self,
        *,
        signing_key: Callable[[], Signer],
        issuer: str,
        validity_s: int,
        metrics: GmlcMetrics,
        clock: Callable[[], datetime],
    ) -> None:
        self._signing_key = signing_key
        self._issuer = issuer
        self._validity_s = validity_s
        self._metrics = metrics
        self._clock = clock

    def issue(
        self,
        *,
        client: ClientRecord,
        request: StatementRequest,
        target: str,
        fix: Fix,
        site: SiteFixes | None,
        source: str | None,
    ) -> tuple[str, AuditEntry]:
        """Sign one statement.

        Args:
            client: The client; its mode and precision shape the positions.
            request: Domain, session hash and batch size.
            target: The asked target (``msisdn:…``/``imsi:…``), for the audit row only.
            fix: The asked target's fix.
            site: Every SIM's fix; required in mode ``all``, ignored in mode ``one``.
            source: The client's address, for the audit row.

        Returns:
            The compact JWS and its audit entry (to be committed before it is handed out).

        Raises:
            KeyFileError: No usable signing key.
            ValueError: Mode ``all`` without the site's fixes, or with more than a
                statement holds.
        """
        fixes: Sequence[Fix] = (fix,)
        targets = [target]
        if client.statement_mode == "all":
            if site is None or not 1 <= len(site.fixes) <= MAX_POSITIONS:
                raise ValueError(f"mode all needs 1-{MAX_POSITIONS} fixes, one per SIM")
            fixes = site.fixes
            targets += [other for other in site.targets if other != target]
        circles = [coarse_circle(f.lat, f.lon, f.radius_m, client.precision_m) for f in fixes]
        # Mode all lists circles in a fixed order that says nothing about which SIM is which.
        positions: StatementPosition | tuple[StatementPosition, ...] = (
            tuple(sorted(circles, key=lambda c: (c.lat, c.lon, c.radius_m)))
            if client.statement_mode == "all"
            else circles[0]
        )
        key = self._signing_key()
        started = time.perf_counter()
        token, claims = issue_statement(
            key=key,
            issuer=self._issuer,
            subject=request.domain,
            session_hash=request.session_hash,
            positions=positions,
            position_time=min(f.measured_at for f in fixes),
            now=self._clock(),
            validity_s=self._validity_s,
            method=_method(fixes),
            batch_size=request.batch_size,
        )
        self._metrics.signing_time.observe(time.perf_counter() - started)
        self._metrics.statements.labels(key.kid).inc()
        detail: dict[str, Any] = {
            "jti": claims.jti,
            "target": target,
            "domain": request.domain,
            "mode": client.statement_mode,
            "batch_size": request.batch_size,
            "session_hash": b64url_encode(request.session_hash),
            "position": {"lat": fix.lat, "lon": fix.lon, "r": fix.radius_m},
            "stated": [circle.to_claim() for circle in claims.circles],
            "precision_m": client.precision_m,
            "method": claims.pm,
            "lt": claims.lt,
            "iat": claims.iat,
            "exp": claims.exp,
            "kid": key.kid,
        }
        entry = AuditEntry(
            "statement",
            client_id=client.client_id,
            source=source,
            targets=targets,
            result=int(ResultCode.OK),
            detail=detail,
        )
        return token, entry
