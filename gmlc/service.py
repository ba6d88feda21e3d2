"""Answering a location request: authentication, authorization, positioning, statements.

No FastAPI here: :class:`LocationService` turns a decoded :class:`mlp.LocationRequest` into
an :class:`mlp.Slia`, with the store, the key holder and a clock passed in. The route
only reads bytes, decodes, calls :meth:`LocationService.answer` in a worker thread and
encodes.

Result codes (OMA MLP 3.x §5.4; request level in ``slia/result``, else one ``pos`` per
target, in request order):

- 3 UNAUTHORIZED APPLICATION: no ``client/id`` or ``pwd``, unknown client, wrong
  password, disabled client, a request from outside the client's networks or without its
  pinned TLS client certificate, or throttled
  after repeated failures. One answer for all, and the same argon2 work for unknown, wrong
  and outside (see :mod:`gmlc.auth`); the audit row says which it was.
- 104 TOO MANY POSITION ITEMS: more targets than ``max_targets``.
- 107 PROTOCOL ELEMENT NOT SUPPORTED: ``pushaddr`` (we never connect to client-supplied
  URLs). 113 PROTOCOL ELEMENT ATTRIBUTE VALUE NOT SUPPORTED: ``res_type="ASYNC"``, a
  ``loc_type`` other than CURRENT/LAST/CURRENT_OR_LAST/LAST_OR_CURRENT; per target: an msid
  type other than MSISDN/IMSI, or ``enc="CRP"``.
- 4 UNKNOWN SUBSCRIBER: the target is not enrolled, **or the client is not authorized for
  it, or the SLIR's ``salve:domain`` is not one of the client's domains**. All get exactly
  the same answer (code and add_info), and authorization is decided before any database
  lookup, so neither the answer nor its timing depends on whether a number the client may
  not see exists. 4 rather
  than 202 POSITIONING NOT ALLOWED: 202 would be a true statement only about targets
  that exist, so using it for both would teach clients that a non-existent number
  "exists but is private"; 4 is what an MLP client expects for "not a subscriber you can
  locate here" and is accurate from that client's point of view.
- 5 ABSENT SUBSCRIBER, 6 POSITION METHOD FAILURE, 201 QOP NOT ATTAINABLE: from
  :mod:`gmlc.positioning`; 6 also when the appliance has never reported, and, for a
  client in statement mode ``all``, when not every SIM of the client has a position.
- 101 CONGESTION IN LOCATION SERVER: per target, when the request deadline passes before
  the target was answered; request level, with add_info "statement rate exceeded", when
  the client asks for statements faster than its rate allows
  (:class:`gmlc.statements.StatementRateLimiter`).
- 110 INVALID PROTOCOL ELEMENT VALUE (request level): a ``salve:session_hash`` without
  ``salve:domain`` (a statement names the site it is for).
- 0 with a position (coarsened to the client's precision, if it has one); with
  ``salve:session_hash`` in the request, the ``pos`` also carries a signed
  ``salve:statement`` for the domain (see :mod:`gmlc.statements`; every statement is
  audited).

Every request is audited once (kind "slir"), whatever its outcome.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gmlc.auditlog import AuditWriter
from gmlc.auth import Authenticator, AuthOutcome, PendingCheck
from gmlc.errors import KeyFileError
from gmlc.keys import KeyRing
from gmlc.metrics import GmlcMetrics
from gmlc.positioning import Fix, NoFix, PositioningLimits, locate
from gmlc.readmodel import CellCache, ReadModel, TargetView
from gmlc.settings import Settings
from gmlc.statements import (
    MAX_POSITIONS,
    SiteFixes,
    StatementIssuer,
    StatementRateLimiter,
    StatementRequest,
    coarse_circle,
)
from gmlc.store import AuditEntry, ClientRecord, Store
from mlp.codes import LocType, MsidType, ResType, ResultCode
from mlp.keys import Signer
from mlp.model import Eqop, LocationRequest, Msid, Position, PositionError, Slia, Slir
from mlp.shapes import CircularArea, Point
from runtime.logs import log_event

__all__ = ["CellCache", "KeyHolder", "LocationService", "RequestContext", "positioning_limits"]

logger = logging.getLogger(__name__)

_SUPPORTED_LOC_TYPES = frozenset(
    {LocType.CURRENT, LocType.LAST, LocType.CURRENT_OR_LAST, LocType.LAST_OR_CURRENT}
)
_SUPPORTED_MSID_TYPES = frozenset({MsidType.MSISDN, MsidType.IMSI})
_UNKNOWN_TARGET_INFO = "unknown subscriber"
_RATE_EXCEEDED_INFO = "statement rate exceeded"


class KeyHolder:
    """The active signing key and the published JWKS, reloaded when the ring changes.

    The ring's metadata file is looked at (one ``stat``, about a microsecond) before every
    statement: a ``salve-gmlc keys revoke`` must take effect before the next signature, not
    a moment later. When it changed (a rotation or revocation ran), the active key is loaded
    again. A failed reload keeps the previous key and logs the problem, so a half-finished
    operator action never takes signing down; the one exception is a previous key that has
    been revoked, which is never used again (signing then fails until the ring is fixed).

    Args:
        ring: The key ring in the state directory.
        grace_period_s: How long retired keys stay in the JWKS.
        clock: Wall clock for the JWKS grace period.
        monotonic: Clock for the intervals below.
        check_interval_s: How long a computed JWKS is reused while the ring is unchanged
            (a retired key must still leave it when its grace period ends), and how often
            a ring whose active key failed to load is tried again.
    """

    def __init__(
        self,
        ring: KeyRing,
        *,
        grace_period_s: int,
        clock: Callable[[], datetime],
        monotonic: Callable[[], float] = time.monotonic,
        check_interval_s: float = 1.0,
    ) -> None:
        self._ring = ring
        self._grace_period_s = grace_period_s
        self._clock = clock
        self._monotonic = monotonic
        self._check_interval_s = check_interval_s
        self._lock = threading.Lock()
        self._key: Signer | None = None
        self._jwks: dict[str, Any] | None = None
        self._jwks_at = float("-inf")
        self._version: tuple[int, int, int] | None = None
        # A ring version whose key could not be loaded is retried once per interval, not
        # on every statement (the operator may fix a file mode without touching the ring).
        self._failed: tuple[tuple[int, int, int] | None, float] | None = None

    def load(self) -> Signer:
        """Load the active key now.

        Raises:
            KeyFileError: the ring has no usable active key.
        """
        with self._lock:
            version = self._ring.metadata_version()
            key = self._ring.active_signing_key()
            self._key, self._version, self._jwks = key, version, None
            return key

    def _refresh(self) -> None:
        version = self._ring.metadata_version()
        if version == self._version and self._key is not None:
            return
        now = self._monotonic()
        if (
            self._key is not None
            and self._failed is not None
            and self._failed[0] == version
            and now - self._failed[1] < self._check_interval_s
        ):
            return
        previous = self._key.kid if self._key is not None else None
        try:
            key = self._ring.active_signing_key()
        except KeyFileError as exc:
            self._failed = (version, now)
            log_event(logger, logging.ERROR, "signing_key_reload_failed", problem=str(exc))
            if previous is not None and self._revoked(previous):
                self._key = None
                log_event(logger, logging.ERROR, "signing_key_revoked", kid=previous)
            return
        self._key, self._version, self._jwks, self._failed = key, version, None, None
        if previous != key.kid:
            log_event(logger, logging.INFO, "signing_key_loaded", kid=key.kid, alg=key.alg)

    def _revoked(self, kid: str) -> bool:
        try:
            return any(k.kid == kid and k.status == "revoked" for k in self._ring.list())
        except KeyFileError:
            return False

    @property
    def loaded(self) -> bool:
        """Whether an active key is in memory."""
        return self._key is not None

    def current(self) -> Signer:
        """The active signing key, reloaded if the ring changed.

        Raises:
            KeyFileError: no key could ever be loaded, or the loaded one was revoked and
                no new active key can be read.
        """
        with self._lock:
            self._refresh()
            if self._key is None:
                raise KeyFileError("no active signing key is loaded")
            return self._key

    def jwks(self) -> dict[str, Any]:
        """The JWKS to publish (active key and retired keys within the grace period)."""
        with self._lock:
            self._refresh()
            # Recomputed at most once per interval while the ring is unchanged: a retired
            # key leaves the set when its grace period ends, even if the ring does not change.
            now = self._monotonic()
            if self._jwks is None or now - self._jwks_at >= self._check_interval_s:
                self._jwks = self._ring.jwks(self._clock(), self._grace_period_s)
                self._jwks_at = now
            return self._jwks


def positioning_limits(settings: Settings) -> PositioningLimits:
    """The positioning limits the settings give."""
    return PositioningLimits(
        max_age_s=settings.observation_max_age_s,
        radius_floor_m=settings.radius_floor_m,
        radius_ceiling_m=settings.radius_ceiling_m,
        area_fallback_radius_m=settings.area_fallback_radius_m,
        lev_conf=settings.lev_conf,
    )


@dataclass(frozen=True, slots=True)
class RequestContext:
    """Facts about the HTTP exchange that the answer depends on.

    Attributes:
        source: The peer's address, for throttling and audit.
        deadline: ``time.monotonic()`` value after which remaining targets get 101.
        certificate: SPKI SHA-256 of the peer's TLS client certificate, if it sent one.
    """

    source: str | None
    deadline: float
    certificate: str | None = None


@dataclass(slots=True)
class _RequestScope:
    """What the targets of one request share: the site's fixes (mode all), found once."""

    site: SiteFixes | str | None = None


@dataclass(frozen=True, slots=True)
class _TargetOutcome:
    entry: Position | PositionError
    code: ResultCode
    # The statement's audit entry, written with the request's own so that a statement is
    # only handed out once its audit row is committed.
    audit: AuditEntry | None = None
    # Why a target got the answer of an unknown one, for the operator's audit row only
    # (the caller gets the same answer whatever the reason).
    refusal: str | None = None


class LocationService:
    """Answers SLIRs from the read model's clients, appliances, observations and cells.

    The request path reads no database: clients and targets come from ``read_model``;
    the only database work is the audit rows, handed to ``audit`` (group commit), and the
    answer waits until they are committed. :meth:`answer` runs in a thread;
    :meth:`answer_async` runs on the event loop and only awaits the argon2 pool (for a
    credential not in the cache) and the audit commit.

    Args:
        store: The database (audit rows when there is no ``audit`` writer).
        settings: Service settings.
        authenticator: Client credential checker (reads clients from ``read_model``).
        keys: The active signing key.
        metrics: The app's metrics.
        clock: Wall clock (UTC, tz-aware).
        read_model: Clients, targets and latest observations in memory.
        monotonic: Clock for deadlines.
        audit: Group-committing audit writer; None writes each request's rows directly.
    """

    def __init__(
        self,
        *,
        store: Store,
        settings: Settings,
        authenticator: Authenticator[ClientRecord],
        keys: KeyHolder,
        metrics: GmlcMetrics,
        clock: Callable[[], datetime],
        read_model: ReadModel,
        monotonic: Callable[[], float] = time.monotonic,
        audit: AuditWriter | None = None,
    ) -> None:
        self._store = store
        self._audit = audit
        self._model = read_model
        self._settings = settings
        self._authenticator = authenticator
        self._keys = keys
        self._metrics = metrics
        self._clock = clock
        self._monotonic = monotonic
        self._limits = positioning_limits(settings)
        self._statements = StatementIssuer(
            signing_key=keys.current,
            issuer=settings.issuer,
            validity_s=settings.statement_validity_s,
            metrics=metrics,
            clock=clock,
        )
        self._statement_rate = StatementRateLimiter(
            settings.statement_rate_per_s, settings.statement_burst, monotonic=monotonic
        )

    def _write_audit(self, entries: Sequence[AuditEntry]) -> None:
        if self._audit is not None:
            self._audit.write(entries)
        else:
            self._store.append_audits(entries)

    async def _write_audit_async(self, entries: Sequence[AuditEntry]) -> None:
        if self._audit is not None:
            await self._audit.commit(entries)
        else:
            self._store.append_audits(entries)

    # -- request level -----------------------------------------------------------------

    def answer(self, request: LocationRequest, context: RequestContext) -> Slia:
        """Answer one decoded SLIR; audits it once (runs in a worker thread).

        Args:
            request: The decoded request.
            context: Source address and deadline.

        Returns:
            The SLIA: a request-level result, or one position or error per target.
        """
        started = self._begin_authentication(request, context)
        if isinstance(started, PendingCheck):
            started = self._authenticator.finish(started)
        slia, entries = self._respond(request, context, started)
        self._write_audit(entries)
        return slia

    async def answer_async(self, request: LocationRequest, context: RequestContext) -> Slia:
        """:meth:`answer` for the event loop: awaits argon2 and the audit commit.

        Everything else (authorization, positioning, signing) is in memory and runs
        inline, so a cached client's request never waits for a thread.
        """
        started = self._begin_authentication(request, context)
        if isinstance(started, PendingCheck):
            await asyncio.wrap_future(started.future)
            started = self._authenticator.finish(started)
        slia, entries = self._respond(request, context, started)
        await self._write_audit_async(entries)
        return slia

    def _begin_authentication(
        self, request: LocationRequest, context: RequestContext
    ) -> AuthOutcome[ClientRecord] | PendingCheck[ClientRecord] | None:
        client = request.header.client
        if client is None or not client.id or client.pwd is None:
            return None
        return self._authenticator.begin(client.id, client.pwd, context.source, context.certificate)

    def _respond(
        self,
        request: LocationRequest,
        context: RequestContext,
        authenticated: AuthOutcome[ClientRecord] | None,
    ) -> tuple[Slia, list[AuditEntry]]:
        targets = request.targets()
        client = request.header.client
        client_id = client.id if client is not None else None
        target_texts = [f"{t.type.value.lower()}:{t.value}" for t in targets]

        record, entries = self._judge(client_id, authenticated, context)
        if record is None:
            # One add_info for every reason: the caller learns nothing about which ids exist.
            add_info = None if authenticated is not None else "client id and pwd are required"
            refusal = (ResultCode.UNAUTHORIZED_APPLICATION, add_info)
            return self._request_level(refusal, None, client_id, context, target_texts, entries)

        slir = request.slir
        asked = {"domain": slir.domain, "batch_size": slir.batch_size}
        unsupported = self._unsupported_request(request)
        if unsupported is not None:
            return self._request_level(unsupported, asked, client_id, context, target_texts)
        if slir.session_hash is not None and not self._statement_rate.take(
            record.client_id, len(targets)
        ):
            self._metrics.statement_rate_refusals.labels(record.client_id).inc()
            log_event(
                logger,
                logging.WARNING,
                "statement_rate_exceeded",
                client_id=record.client_id,
                source=context.source,
                domain=slir.domain,
            )
            return self._request_level(
                (ResultCode.CONGESTION_IN_LOCATION_SERVER, _RATE_EXCEEDED_INFO),
                asked,
                client_id,
                context,
                target_texts,
            )

        session_hash = slir.session_hash
        scope = _RequestScope()
        outcomes: list[_TargetOutcome] = []
        for target in targets:
            if self._monotonic() >= context.deadline:
                outcome = _TargetOutcome(
                    PositionError(
                        target,
                        ResultCode.CONGESTION_IN_LOCATION_SERVER,
                        "deadline exceeded",
                        self._clock(),
                    ),
                    ResultCode.CONGESTION_IN_LOCATION_SERVER,
                )
                self._metrics.overloaded.inc()
            else:
                outcome = self._answer_target(target, record, request, context, scope)
            outcomes.append(outcome)
            self._metrics.mlp_answers.labels("target", str(int(outcome.code))).inc()

        detail: dict[str, Any] = {
            "results": [int(o.code) for o in outcomes],
            "session_bound": session_hash is not None,
            "req_id": slir.req_id,
            **asked,
        }
        if any(o.refusal is not None for o in outcomes):
            # Per target, why it got the unknown target's answer (None: it did not).
            detail["refusals"] = [o.refusal for o in outcomes]
        request_entry = AuditEntry(
            "slir",
            client_id=client_id,
            source=context.source,
            targets=target_texts,
            result=int(ResultCode.OK),
            detail=detail,
        )
        entries = [*(o.audit for o in outcomes if o.audit is not None), request_entry]
        return Slia(positions=tuple(o.entry for o in outcomes)), entries

    def _request_level(
        self,
        refusal: tuple[ResultCode, str | None],
        detail: dict[str, Any] | None,
        client_id: str | None,
        context: RequestContext,
        target_texts: list[str],
        earlier: Sequence[AuditEntry] = (),
    ) -> tuple[Slia, list[AuditEntry]]:
        code, add_info = refusal
        self._metrics.mlp_answers.labels("request", str(int(code))).inc()
        entry = AuditEntry(
            "slir",
            client_id=client_id,
            source=context.source,
            targets=target_texts,
            result=int(code),
            detail={"add_info": add_info, **(detail or {})},
        )
        return Slia(result=code, add_info=add_info), [*earlier, entry]

    def authenticate_client(
        self,
        client_id: str | None,
        password: str | None,
        context: RequestContext,
        *,
        channel: str | None = None,
    ) -> ClientRecord | None:
        """Check a client's credentials, source network and certificate pin (in a thread).

        Every refusal is counted, audited (``auth_failure`` with its reason) and logged;
        the caller answers all of them alike.

        Args:
            client_id: The id sent, if any.
            password: The password sent, if any.
            context: Source address and TLS client certificate.
            channel: Where the credentials came from when not MLP (a path), for the audit.

        Returns:
            The client, or None when refused.
        """
        outcome = None
        if client_id and password is not None:
            outcome = self._authenticator.authenticate(
                client_id, password, context.source, context.certificate
            )
        record, entries = self._judge(client_id, outcome, context, channel=channel)
        if entries:
            self._write_audit(entries)
        return record

    def _judge(
        self,
        client_id: str | None,
        outcome: AuthOutcome[ClientRecord] | None,
        context: RequestContext,
        *,
        channel: str | None = None,
    ) -> tuple[ClientRecord | None, list[AuditEntry]]:
        """The authenticated client, or None with the refusal's metrics, log and audit row
        (``outcome`` None: the id or password is missing)."""
        where = {} if channel is None else {"channel": channel}
        if outcome is None:
            self._metrics.auth_failures.labels("missing_credentials").inc()
            entry = AuditEntry(
                "auth_failure",
                client_id=client_id or None,
                source=context.source,
                detail={"reason": "missing_credentials", **where},
            )
            return None, [entry]
        if outcome.record is not None:
            return outcome.record, []
        reason = outcome.reason or "bad_credentials"
        self._metrics.auth_failures.labels(reason).inc()
        detail: dict[str, Any] = {"reason": reason, **where}
        alarm = reason in ("outside_networks", "certificate_mismatch")
        if alarm:
            # The alarm: someone holding this client's id, maybe its password, from a place
            # (or without the certificate) the client never connects from.
            detail["password_valid"] = outcome.password_valid
            self._metrics.pin_refusals.labels(
                client_id, reason, "yes" if outcome.password_valid else "no"
            ).inc()
        log_event(
            logger,
            logging.WARNING,
            "client_pin_refused" if alarm else "auth_failure",
            client_id=client_id,
            source=context.source,
            **detail,
        )
        entry = AuditEntry(
            "auth_failure", client_id=client_id, source=context.source, detail=detail
        )
        return None, [entry]

    def _unsupported_request(self, request: LocationRequest) -> tuple[ResultCode, str] | None:
        slir = request.slir
        if slir.pushaddr is not None:
            return (ResultCode.PROTOCOL_ELEMENT_NOT_SUPPORTED, "pushaddr")
        if slir.res_type is ResType.ASYNC:
            return (ResultCode.PROTOCOL_ELEMENT_ATTRIBUTE_VALUE_NOT_SUPPORTED, "res_type")
        if slir.loc_type is not None and slir.loc_type not in _SUPPORTED_LOC_TYPES:
            return (ResultCode.PROTOCOL_ELEMENT_ATTRIBUTE_VALUE_NOT_SUPPORTED, "loc_type")
        if len(request.targets()) > self._settings.max_targets:
            return (ResultCode.TOO_MANY_POSITION_ITEMS, "msids")
        if slir.session_hash is not None and slir.domain is None:
            # A statement names the web service it is for (its `sub`); without a domain
            # there is nothing to sign for.
            return (ResultCode.INVALID_PROTOCOL_ELEMENT_VALUE, "salve:domain is required")
        return None

    # -- one target ---------------------------------------------------------------------

    @staticmethod
    def is_authorized(client: ClientRecord, msid: Msid, domain: str | None = None) -> bool:
        """Whether the client may locate this target (by MSISDN or by IMSI), for this domain.

        Args:
            client: The authenticated client.
            msid: The target.
            domain: The SLIR's ``salve:domain``, if any: it must be one of the client's.
        """
        if domain is not None and domain not in client.domains:
            return False
        if msid.type is MsidType.MSISDN:
            return msid.value in client.msisdns
        if msid.type is MsidType.IMSI:
            return msid.value in client.imsis
        return False

    def _error(self, target: Msid, code: ResultCode, add_info: str | None) -> _TargetOutcome:
        return _TargetOutcome(PositionError(target, code, add_info, self._clock()), code)

    def _unknown(self, target: Msid, refusal: str) -> _TargetOutcome:
        """The answer of an unknown target, whatever ``refusal`` (kept for the audit)."""
        code = ResultCode.UNKNOWN_SUBSCRIBER
        entry = PositionError(target, code, _UNKNOWN_TARGET_INFO, self._clock())
        return _TargetOutcome(entry, code, refusal=refusal)

    def _locate(self, view: TargetView, eqop: Eqop | None) -> Fix | NoFix:
        """The position of an enrolled target from its appliance's latest observation."""
        prepared = view.observation
        if prepared is None:
            return NoFix(ResultCode.POSITION_METHOD_FAILURE, "no observation of the target")
        observation = prepared.record
        return locate(
            observation.report,
            observed_at=observation.observed_at,
            find_cells=prepared.find_cells,
            find_area=prepared.find_area,
            limits=self._limits,
            now=self._clock(),
            max_loc_age_s=eqop.max_loc_age if eqop is not None else None,
            hor_acc_m=eqop.hor_acc if eqop is not None else None,
        )

    def _site_fixes(self, client: ClientRecord, eqop: Eqop | None) -> SiteFixes | str:
        """Every SIM of the client located (mode all), or why not all of them could be.

        The SIMs are the client's authorized targets; a SIM authorized by both its MSISDN
        and its IMSI counts once (by appliance).
        """
        sims = [(MsidType.MSISDN, value) for value in sorted(client.msisdns)]
        sims += [(MsidType.IMSI, value) for value in sorted(client.imsis)]
        seen: set[str] = set()
        targets: list[str] = []
        fixes: list[Fix] = []
        missing = 0
        for kind, value in sims:
            view = self._model.target(kind, value)
            if view is not None:
                if view.appliance.appliance_id in seen:
                    continue
                seen.add(view.appliance.appliance_id)
            result = self._locate(view, eqop) if view is not None else None
            if isinstance(result, Fix):
                targets.append(f"{kind.value.lower()}:{value}")
                fixes.append(result)
            else:
                missing += 1
        if missing:
            return (
                f"not every SIM of the domain has a position ({missing} of "
                f"{missing + len(fixes)} without one)"
            )
        if len(fixes) > MAX_POSITIONS:
            return f"the domain has {len(fixes)} SIMs; a statement holds {MAX_POSITIONS}"
        return SiteFixes(tuple(targets), tuple(fixes))

    def _answer_target(
        self,
        target: Msid,
        client: ClientRecord,
        request: LocationRequest,
        context: RequestContext,
        scope: _RequestScope,
    ) -> _TargetOutcome:
        if target.type not in _SUPPORTED_MSID_TYPES:
            return self._error(
                target, ResultCode.PROTOCOL_ELEMENT_ATTRIBUTE_VALUE_NOT_SUPPORTED, "msid type"
            )
        if target.enc != "ASC":
            return self._error(
                target, ResultCode.PROTOCOL_ELEMENT_ATTRIBUTE_VALUE_NOT_SUPPORTED, "msid enc"
            )
        # Authorization first, before the target is looked up: for a target the client may
        # not see (or a domain that is not the client's), neither the answer nor its timing
        # can depend on whether it exists.
        domain = request.slir.domain
        if not self.is_authorized(client, target, domain):
            refusal = (
                "domain_not_registered"
                if domain is not None and domain not in client.domains
                else "target_not_authorized"
            )
            return self._unknown(target, refusal)
        view = self._model.target(target.type, target.value)
        if view is None:
            return self._unknown(target, "unknown_target")
        result = self._locate(view, request.slir.eqop)
        if isinstance(result, NoFix):
            return self._error(target, result.result, result.add_info)
        return self._position(target, result, client, context, request.slir, scope)

    def _position(
        self,
        target: Msid,
        fix: Fix,
        client: ClientRecord,
        context: RequestContext,
        slir: Slir,
        scope: _RequestScope,
    ) -> _TargetOutcome:
        circle = coarse_circle(fix.lat, fix.lon, fix.radius_m, client.precision_m)
        shape = CircularArea(Point(circle.lat, circle.lon), float(circle.radius_m))
        statement: str | None = None
        audit: AuditEntry | None = None
        if slir.session_hash is not None and slir.domain is not None:
            site: SiteFixes | None = None
            if client.statement_mode == "all":
                if scope.site is None:
                    scope.site = self._site_fixes(client, slir.eqop)
                if isinstance(scope.site, str):
                    return self._error(target, ResultCode.POSITION_METHOD_FAILURE, scope.site)
                site = scope.site
            try:
                statement, audit = self._statements.issue(
                    client=client,
                    request=StatementRequest(slir.domain, slir.session_hash, slir.batch_size),
                    target=f"{target.type.value.lower()}:{target.value}",
                    fix=fix,
                    site=site,
                    source=context.source,
                )
            except KeyFileError as exc:
                log_event(logger, logging.ERROR, "statement_not_signed", problem=str(exc))
                return self._error(target, ResultCode.SYSTEM_FAILURE, "signing unavailable")
        position = Position(target, fix.measured_at, shape, fix.lev_conf, statement)
        return _TargetOutcome(position, ResultCode.OK, audit)
