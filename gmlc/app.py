"""The GMLC web application: thin routes over the service, intake and key holder.

:func:`create_app` is the only place that builds the app; nothing is created at
import time. The lifespan opens the store and loads the active signing key; routes read
the body under a size cap and a deadline, hand the bytes to the pure-ish core in a worker
thread, and write the answer.

Routes:

- ``POST /mlp``, ``POST /LocationQueryService/``: one MLP document, any Content-Type.
  MLP errors are HTTP 200 with ``slia/result``; an unknown service is a ``gem`` 108 in
  HTTP 404. More than ``max_concurrent_requests`` at once, or a request whose deadline
  passes before it is answered, gets 101 CONGESTION IN LOCATION SERVER at once.
- ``POST /v1/observations``: one signed observation report (see :mod:`gmlc.intake`).
- ``POST /v1/declarations``: a site's M2DMRT declaration of this GMLC, answered with this
  GMLC's declaration of the site (see :mod:`gmlc.declarations`); HTTP Basic
  authentication by the MLP client's id and password, checked like MLP credentials.
- ``GET /.well-known/salve/jwks.json``: the statement verification keys.
- ``GET /healthz`` (process alive), ``GET /readyz`` (database reachable and migrated,
  signing key loaded).
- ``GET /metrics`` (Prometheus text, this worker's counters) only on the metrics listener
  (``metrics_host``/``metrics_port``), and nothing else there: the metrics name appliances
  and keys, so they never share a port with MLP clients.

Bodies are read under a size cap and a deadline. An answer given before the whole body was
read (a body over the cap gets HTTP 413 with an MLP body, at once, without ``100 Continue``;
a body too slow gets 101; too many requests in flight get 101) carries ``Connection: close``,
and :mod:`gmlc.connections` closes lingering, so the client can finish sending and read the
answer. A client that disconnects in the middle of its body leaves one WARNING log line and
one audit row (``request_abandoned``).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio.to_thread
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from gmlc.auditlog import AuditWriter
from gmlc.auth import Authenticator, FailureThrottle, HashPool
from gmlc.changefeed import ChangeFeed
from gmlc.connections import GUARD_STATE_KEY, ConnectionGuard, ConnectionLimits
from gmlc.declarations import (
    DECLARATIONS_PATH,
    MAX_DECLARATION_BYTES,
    WWW_AUTHENTICATE,
    DeclarationDesk,
    TlsIdentity,
    TlsIdentityError,
    basic_credentials,
)
from gmlc.errors import GmlcError, KeyFileError
from gmlc.intake import ObservationIntake
from gmlc.keys import open_key_ring
from gmlc.metrics import CONTENT_TYPE_LATEST, GmlcMetrics
from gmlc.peers import PEER_CERTIFICATE_KEY
from gmlc.readmodel import ReadModel
from gmlc.service import KeyHolder, LocationService, RequestContext, positioning_limits
from gmlc.settings import Settings, load_settings
from gmlc.store import AuditEntry, ClientRecord, Store
from mlp import (
    Gem,
    MlpDecodeError,
    MlpUnknownServiceError,
    ResultCode,
    Slia,
    decode_request,
    encode_gem,
    encode_slia,
)
from runtime.logs import log_event

__all__ = ["GmlcState", "create_app"]

logger = logging.getLogger(__name__)

MLP_MEDIA_TYPE = "application/xml; charset=utf-8"
_THREADS_MAX = 64


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class GmlcState:
    """Everything the routes use, created by the lifespan."""

    settings: Settings
    store: Store
    keys: KeyHolder
    service: LocationService
    intake: ObservationIntake
    metrics: GmlcMetrics
    clock: Callable[[], datetime]
    owns_store: bool
    audit: AuditWriter
    declarations: DeclarationDesk
    read_model: ReadModel
    feed: ChangeFeed
    hash_pool: HashPool
    inflight: int = 0
    key_problems: list[str] = field(default_factory=list)


class _BodyTooLargeError(Exception):
    pass


class _ClientGoneError(Exception):
    """The client disconnected before its body was complete."""

    def __init__(self, received: int) -> None:
        super().__init__(received)
        self.received = received


# An answer given before the whole body was read must end the connection: the rest of the
# body is then read and dropped by the lingering close, never taken for a next request.
_CLOSE = {"Connection": "close"}


def _declared_length(request: Request) -> int | None:
    declared = request.headers.get("content-length")
    if declared is not None and declared.strip().isdigit():
        return int(declared)
    return None


async def _read_body(request: Request, cap: int, deadline: float) -> bytes:
    """Read the request body, refusing more than ``cap`` bytes without buffering them.

    A declared length over the cap is refused before the first body byte is asked for, so
    a client that sent ``Expect: 100-continue`` gets the refusal instead of ``100 Continue``
    and never sends the body.

    Raises:
        _BodyTooLargeError: the declared or received length exceeds ``cap``.
        TimeoutError: the body did not arrive before ``deadline``.
        _ClientGoneError: the client disconnected before the body was complete.
    """
    declared = _declared_length(request)
    if declared is not None and declared > cap:
        raise _BodyTooLargeError
    received = bytearray()
    try:
        async with asyncio.timeout(max(deadline - time.monotonic(), 0.0)):
            async for chunk in request.stream():
                received += chunk
                if len(received) > cap:
                    raise _BodyTooLargeError
    except ClientDisconnect:
        raise _ClientGoneError(len(received)) from None
    return bytes(received)


def _source(request: Request) -> str | None:
    """The client's address: the peer's, or behind a configured load balancer the one it
    forwarded (see ``trusted_proxies`` in :func:`create_app`)."""
    return request.client.host if request.client is not None else None


def _mlp_response(
    body: bytes,
    status: int = 200,
    background: BackgroundTask | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    return Response(
        body, status_code=status, media_type=MLP_MEDIA_TYPE, background=background, headers=headers
    )


class _ListenerSplit:
    """Serves ``/metrics`` on the metrics listener only, and nothing else there.

    The listener is told apart by the port the connection was accepted on (the ASGI
    ``server`` of the scope, taken from the socket itself, so no client can choose it);
    :func:`gmlc.server.serve` binds both listeners and refuses equal ports.
    """

    def __init__(self, app: ASGIApp, *, metrics_port: int) -> None:
        self.app = app
        self.metrics_port = metrics_port

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            server = scope.get("server")
            port = server[1] if server else None
            on_metrics = bool(self.metrics_port) and port == self.metrics_port
            if on_metrics != (scope["path"] == "/metrics"):
                await Response(status_code=404)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _build_state(
    settings: Settings, store: Store | None, clock: Callable[[], datetime]
) -> GmlcState:
    owns_store = store is None
    opened = store if store is not None else Store.open(settings.effective_database_url)
    metrics = GmlcMetrics()
    ring = open_key_ring(settings)
    keys = KeyHolder(ring, grace_period_s=settings.key_grace_period_s, clock=clock)
    read_model = ReadModel(opened, positioning_limits(settings))
    throttle = FailureThrottle(settings.auth_failure_limit, settings.auth_failure_window_s)
    feed = ChangeFeed(
        opened,
        read_model,
        interval_s=settings.change_interval_s,
        on_failures=throttle.record_remote,
    )
    throttle.on_failure = feed.publish_failure
    hash_pool = HashPool(settings.argon2_workers, settings.argon2_queue)
    authenticator: Authenticator[ClientRecord] = Authenticator(
        read_model.client,
        throttle=throttle,
        prefix_v4=settings.auth_failure_prefix_v4,
        prefix_v6=settings.auth_failure_prefix_v6,
        pool=hash_pool,
    )
    audit = AuditWriter(opened)
    service = LocationService(
        store=opened,
        settings=settings,
        authenticator=authenticator,
        keys=keys,
        metrics=metrics,
        clock=clock,
        read_model=read_model,
        audit=audit,
    )
    intake = ObservationIntake(
        store=opened,
        settings=settings,
        metrics=metrics,
        clock=clock,
        on_stored=read_model.reload_observation,
    )
    identity: TlsIdentity | None = None
    if settings.tls_cert is not None and settings.tls_key is not None:
        try:
            identity = TlsIdentity.load(settings.tls_cert, settings.tls_key)
        except TlsIdentityError as exc:
            # MLP still works; declarations answer 503 until the certificate is fixed.
            log_event(logger, logging.ERROR, "tls_identity_unusable", problem=str(exc))
    declarations = DeclarationDesk(
        store=opened,
        issuer=settings.issuer,
        identity=identity,
        metrics=metrics,
        write_audit=audit.write,
    )
    return GmlcState(
        settings,
        opened,
        keys,
        service,
        intake,
        metrics,
        clock,
        owns_store,
        audit,
        declarations,
        read_model,
        feed,
        hash_pool,
    )


class _MlpEndpoint:
    """The MLP route's work, split between the event loop and a worker thread."""

    def __init__(self, state: GmlcState) -> None:
        self.state = state

    def _audit_request_level(
        self, code: ResultCode, add_info: str | None, source: str | None
    ) -> None:
        try:
            self.state.audit.write(
                [AuditEntry("slir", source=source, result=int(code), detail={"add_info": add_info})]
            )
        except GmlcError as exc:
            log_event(logger, logging.ERROR, "audit_failed", problem=str(exc))

    def request_level(
        self, code: ResultCode, add_info: str | None, context: RequestContext
    ) -> tuple[bytes, int]:
        """Audit and encode a request-level answer (runs in a worker thread)."""
        self.state.metrics.mlp_answers.labels("request", str(int(code))).inc()
        self._audit_request_level(code, add_info, context.source)
        return encode_slia(Slia(result=code, add_info=add_info)), 200

    async def process(self, body: bytes, context: RequestContext) -> tuple[bytes, int]:
        """Decode, answer and encode one MLP request.

        Runs on the event loop: decoding, authorization, positioning and signing are in
        memory and short; only an uncached password check (on the argon2 pool) and the
        audit commit are awaited. Request-level answers that are audited alone go to a
        thread, as before.
        """
        settings = self.state.settings
        if time.monotonic() >= context.deadline:
            self.state.metrics.overloaded.inc()
            return await run_in_threadpool(
                self.request_level,
                ResultCode.CONGESTION_IN_LOCATION_SERVER,
                "deadline exceeded",
                context,
            )
        try:
            request = decode_request(
                body, max_body_bytes=settings.max_body_bytes, max_targets=settings.max_targets
            )
        except MlpUnknownServiceError as exc:
            self.state.metrics.mlp_answers.labels("gem", str(int(exc.result_code))).inc()
            await run_in_threadpool(
                self._audit_request_level, exc.result_code, exc.add_info, context.source
            )
            return encode_gem(Gem(exc.result_code, exc.add_info)), 404
        except MlpDecodeError as exc:
            return await run_in_threadpool(
                self.request_level, exc.result_code, exc.add_info, context
            )
        try:
            slia = await self.state.service.answer_async(request, context)
        except GmlcError as exc:
            log_event(logger, logging.ERROR, "slir_failed", problem=str(exc))
            return await run_in_threadpool(
                self.request_level, ResultCode.SYSTEM_FAILURE, None, context
            )
        except Exception as exc:
            # A bug, not a client error: answer in MLP and log the class only (the text
            # could quote request data); never let a traceback reach the client.
            log_event(logger, logging.ERROR, "slir_crashed", exception=type(exc).__name__)
            return await run_in_threadpool(
                self.request_level, ResultCode.SYSTEM_FAILURE, None, context
            )
        return encode_slia(slia), 200


def create_app(
    settings: Settings,
    *,
    store: Store | None = None,
    clock: Callable[[], datetime] | None = None,
) -> Starlette:
    """Build the GMLC application.

    Args:
        settings: The service settings.
        store: An open store to use (tests); None opens ``settings.effective_database_url``
            in the lifespan and closes it on shutdown.
        clock: Wall clock returning tz-aware UTC times; the system clock when None.

    Returns:
        The ASGI application (Starlette: every route reads and writes raw requests and
        responses, and FastAPI's layer cost about 140 µs per request, measured by
        ``make bench``).
    """
    wall_clock = clock or _utc_now

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
        limiter = anyio.to_thread.current_default_thread_limiter()
        limiter.total_tokens = max(
            limiter.total_tokens, min(settings.max_concurrent_requests, _THREADS_MAX)
        )
        state = await run_in_threadpool(_build_state, settings, store, wall_clock)
        await run_in_threadpool(state.feed.start)
        try:
            key = await run_in_threadpool(state.keys.load)
            log_event(logger, logging.INFO, "signing_key_loaded", kid=key.kid, alg=key.alg)
        except KeyFileError as exc:
            state.key_problems.append(str(exc))
            log_event(logger, logging.ERROR, "signing_key_unavailable", problem=str(exc))
        app.state.gmlc = state
        guard = ConnectionGuard(
            ConnectionLimits(
                header_timeout_s=settings.header_timeout_s,
                max_per_source=settings.max_connections_per_source,
                uncapped=settings.trusted_proxy_networks,
            ),
            metrics=state.metrics,
        )
        log_event(
            logger,
            logging.INFO,
            "gmlc_started",
            database=state.store.display_url,
            issuer=settings.issuer,
            dev=settings.dev,
        )
        flusher = asyncio.create_task(_flush_refusals_periodically(state))
        try:
            # The lifespan state reaches every connection's protocol (gmlc.connections).
            yield {GUARD_STATE_KEY: guard}
        finally:
            flusher.cancel()
            try:
                await run_in_threadpool(state.intake.flush_refusals, everything=True)
            except GmlcError as exc:
                log_event(logger, logging.ERROR, "audit_failed", problem=str(exc))
            await run_in_threadpool(state.feed.close)
            await run_in_threadpool(state.hash_pool.close)
            await run_in_threadpool(state.audit.close)
            if state.owns_store:
                await run_in_threadpool(state.store.close)

    def state_of(request: Request) -> GmlcState:
        state: GmlcState = request.app.state.gmlc
        return state

    async def mlp_route(request: Request) -> Response:
        state = state_of(request)
        metrics = state.metrics
        started = time.monotonic()
        context = RequestContext(
            _source(request),
            started + state.settings.request_deadline_s,
            request.scope.get("state", {}).get(PEER_CERTIFICATE_KEY),
        )
        endpoint = _MlpEndpoint(state)
        if state.inflight >= state.settings.max_concurrent_requests:
            # Answer at once; the audit entry is written after the answer has gone out.
            metrics.overloaded.inc()
            code = ResultCode.CONGESTION_IN_LOCATION_SERVER
            metrics.mlp_answers.labels("request", str(int(code))).inc()
            body = encode_slia(Slia(result=code, add_info="too many concurrent requests"))
            task = BackgroundTask(
                endpoint._audit_request_level, code, "too many concurrent requests", context.source
            )
            return _mlp_response(body, background=task, headers=_CLOSE)
        state.inflight += 1
        metrics.inflight.inc()
        try:
            try:
                body = await _read_body(request, state.settings.max_body_bytes, context.deadline)
            except _BodyTooLargeError:
                answer, _ = await run_in_threadpool(
                    endpoint.request_level,
                    ResultCode.SYNTAX_ERROR,
                    f"document larger than {state.settings.max_body_bytes} bytes",
                    context,
                )
                return _mlp_response(answer, 413, headers=_CLOSE)
            except TimeoutError:
                metrics.overloaded.inc()
                answer, status = await run_in_threadpool(
                    endpoint.request_level,
                    ResultCode.CONGESTION_IN_LOCATION_SERVER,
                    "request not received in time",
                    context,
                )
                return _mlp_response(answer, status, headers=_CLOSE)
            except _ClientGoneError as gone:
                await run_in_threadpool(_abandoned, state, request, context.source, gone.received)
                return Response(status_code=400, headers=_CLOSE)  # nobody is left to read it
            answer, status = await endpoint.process(body, context)
            return _mlp_response(answer, status)
        finally:
            state.inflight -= 1
            metrics.inflight.dec()
            metrics.mlp_latency.observe(time.monotonic() - started)

    async def observations_route(request: Request) -> Response:
        state = state_of(request)
        source = _source(request)
        cap = state.settings.max_observation_bytes
        deadline = time.monotonic() + state.settings.request_deadline_s
        refused = await run_in_threadpool(state.intake.admit, source)
        if refused is not None:
            return JSONResponse(
                refused.body,
                status_code=refused.status,
                headers={**_CLOSE, "Retry-After": str(refused.retry_after_s)},
            )
        try:
            body = await _read_body(request, cap, deadline)
        except _BodyTooLargeError:
            answer = await run_in_threadpool(
                state.intake.reject,
                413,
                "too_large",
                f"observation larger than {cap} bytes",
                source=source,
            )
            return JSONResponse(answer.body, status_code=answer.status, headers=_CLOSE)
        except TimeoutError:
            answer = await run_in_threadpool(
                state.intake.reject, 408, "timeout", "body not received in time", source=source
            )
            return JSONResponse(answer.body, status_code=answer.status, headers=_CLOSE)
        except _ClientGoneError as gone:
            await run_in_threadpool(_abandoned, state, request, source, gone.received)
            return Response(status_code=400, headers=_CLOSE)
        try:
            answer = await run_in_threadpool(state.intake.submit, body, source=source)
        except GmlcError as exc:
            log_event(logger, logging.ERROR, "observation_intake_failed", problem=str(exc))
            return JSONResponse(
                {"error": "unavailable", "detail": "the observation could not be stored"},
                status_code=503,
            )
        except Exception as exc:
            log_event(
                logger, logging.ERROR, "observation_intake_crashed", exception=type(exc).__name__
            )
            return JSONResponse(
                {"error": "internal", "detail": "the observation could not be processed"},
                status_code=500,
            )
        return JSONResponse(answer.body, status_code=answer.status)

    async def declarations_route(request: Request) -> Response:
        state = state_of(request)
        source = _source(request)
        context = RequestContext(
            source,
            time.monotonic() + state.settings.request_deadline_s,
            request.scope.get("state", {}).get(PEER_CERTIFICATE_KEY),
        )
        too_large = JSONResponse(
            {"error": "too_large", "detail": f"body larger than {MAX_DECLARATION_BYTES} bytes"},
            status_code=413,
            headers=_CLOSE,
        )
        declared = _declared_length(request)
        if declared is not None and declared > MAX_DECLARATION_BYTES:
            return too_large
        client_id, password = basic_credentials(request.headers.get("authorization")) or (
            None,
            None,
        )
        record = await run_in_threadpool(
            functools.partial(
                state.service.authenticate_client,
                client_id,
                password,
                context,
                channel=DECLARATIONS_PATH,
            )
        )
        if record is None:
            # One answer for every credential failure, as for MLP.
            return JSONResponse(
                {"error": "unauthorized"},
                status_code=401,
                headers={**_CLOSE, "WWW-Authenticate": WWW_AUTHENTICATE},
            )
        try:
            body = await _read_body(request, MAX_DECLARATION_BYTES, context.deadline)
        except _BodyTooLargeError:
            return too_large
        except TimeoutError:
            return JSONResponse(
                {"error": "timeout", "detail": "body not received in time"},
                status_code=408,
                headers=_CLOSE,
            )
        except _ClientGoneError as gone:
            await run_in_threadpool(_abandoned, state, request, source, gone.received)
            return Response(status_code=400, headers=_CLOSE)
        try:
            answer = await run_in_threadpool(state.declarations.declare, record, body, source)
        except GmlcError as exc:
            log_event(logger, logging.ERROR, "declaration_failed", problem=str(exc))
            return JSONResponse(
                {"error": "unavailable", "detail": "the declaration could not be stored"},
                status_code=503,
            )
        return JSONResponse(answer.body, status_code=answer.status)

    async def jwks_route(request: Request) -> Response:
        state = state_of(request)
        try:
            document = await run_in_threadpool(state.keys.jwks)
        except KeyFileError as exc:
            log_event(logger, logging.ERROR, "jwks_unavailable", problem=str(exc))
            return JSONResponse(
                {"error": "unavailable", "detail": "no signing keys"}, status_code=503
            )
        return JSONResponse(document, headers={"Cache-Control": "public, max-age=60"})

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "alive"})

    async def readyz(request: Request) -> Response:
        state = state_of(request)

        def check() -> list[str]:
            problems = []
            try:
                if not state.store.schema_is_current():
                    problems.append("database schema is not current; run salve-gmlc db upgrade")
            except GmlcError as exc:
                problems.append(f"database unreachable: {exc}")
            if state.read_model.loaded_at is None:
                problems.append("clients and appliances are not loaded yet")
            if not state.keys.loaded:
                problems.append("no signing key loaded")
                problems.extend(state.key_problems)
            return problems

        problems = await run_in_threadpool(check)
        if problems:
            return JSONResponse({"status": "not_ready", "problems": problems}, status_code=503)
        return JSONResponse({"status": "ready"})

    async def metrics_route(request: Request) -> Response:
        return Response(state_of(request).metrics.render(), media_type=CONTENT_TYPE_LATEST)

    routes = [
        *(
            Route(path, mlp_route, methods=["POST"])
            for path in ("/mlp", "/LocationQueryService/", "/LocationQueryService")
        ),
        Route("/v1/observations", observations_route, methods=["POST"]),
        Route(DECLARATIONS_PATH, declarations_route, methods=["POST"]),
        Route("/.well-known/salve/jwks.json", jwks_route, methods=["GET"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics_route, methods=["GET"]),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.add_middleware(_ListenerSplit, metrics_port=settings.metrics_port)
    if settings.trusted_proxies:
        # Behind load balancers: the client's address comes from X-Forwarded-For, and only
        # on connections from the configured balancers (uvicorn's middleware takes the
        # rightmost address no balancer added), so source-network pinning, throttling and
        # the audit log see the client, not the balancer.
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=list(settings.trusted_proxies))
    return app


async def _flush_refusals_periodically(state: GmlcState) -> None:
    """Write folded refusal counts soon after their window ends, even if no refusal follows."""
    interval = min(5.0, state.settings.audit_fold_window_s)
    while True:
        await asyncio.sleep(interval)
        try:
            await run_in_threadpool(state.intake.flush_refusals)
        except GmlcError as exc:
            log_event(logger, logging.ERROR, "audit_failed", problem=str(exc))


def _abandoned(state: GmlcState, request: Request, source: str | None, received: int) -> None:
    """Record a request whose client left before sending its whole body (worker thread)."""
    declared = _declared_length(request)
    log_event(
        logger,
        logging.WARNING,
        "request_abandoned",
        path=request.url.path,
        source=source,
        received_bytes=received,
        declared_bytes=declared,
    )
    try:
        state.audit.write(
            [
                AuditEntry(
                    "request_abandoned",
                    source=source,
                    detail={
                        "path": request.url.path,
                        "received_bytes": received,
                        "declared_bytes": declared,
                    },
                )
            ]
        )
    except GmlcError as exc:
        log_event(logger, logging.ERROR, "audit_failed", problem=str(exc))


def app_from_environment() -> Starlette:
    """Factory for ``uvicorn --factory gmlc.app:app_from_environment``.

    Reads the settings file named by ``SALVE_GMLC_CONFIG`` (if set) plus the environment.

    Raises:
        ConfigError: invalid settings.
    """
    config = os.environ.get("SALVE_GMLC_CONFIG")
    return create_app(load_settings(Path(config) if config else None))
