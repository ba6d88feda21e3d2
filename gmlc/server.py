"""Running the GMLC under uvicorn (``salve-gmlc serve``).

Before uvicorn starts, :func:`preflight` checks what would otherwise surface as a
traceback in a worker: the listening setup (TLS files read as the server will, named with
their problem; plain HTTP only on loopback unless allowed), the database (reachable,
schema current) and the active signing key (present, private). Problems are raised as
plain-words errors for the CLI to print.

The listening sockets are bound here, not by uvicorn: the MLP listener and, unless
``metrics_port`` is 0, the metrics listener (loopback by default), so that a port already in
use is a plain error (:class:`~gmlc.errors.ListenError`) before anything starts. Both are
served by one uvicorn server through :class:`gmlc.connections.GuardedHttpProtocol`
(header-read timeout, per-source connection cap, lingering close); the app tells the
listeners apart by the accepting socket's port.

With one worker the app object is handed to uvicorn directly. With several, uvicorn needs
an import string: the settings travel to the workers as JSON in one environment variable
and :func:`app_for_worker` rebuilds them, so every worker runs with exactly the settings
the operator started with (including command-line overrides). The workers share the
listening sockets; each counts its own connections and keeps its own metrics.

Under systemd (``Type=notify``) the main process speaks ``sd_notify``: ``READY=1`` once the
node serves, ``WATCHDOG=1`` from the serving loop (one worker: :class:`NotifyingServer`)
or from the supervisor's loop after its health check of the workers
(:class:`NotifyingSupervisor`), ``STATUS=`` lines, and ``STOPPING=1``.
"""

from __future__ import annotations

import json
import logging
import math
import os
import signal
import socket
import ssl
import time
from dataclasses import dataclass
from typing import Any

import uvicorn
from starlette.applications import Starlette
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors import Multiprocess

from gmlc.app import create_app
from gmlc.connections import GuardedHttpProtocol
from gmlc.errors import ConfigError, GmlcError, StoreError
from gmlc.keys import open_key_ring
from gmlc.listening import check_tls_files, listening_socket
from gmlc.settings import Settings
from gmlc.store import Store
from runtime.logs import configure_logging, log_event
from runtime.sdnotify import SystemdNotifier

__all__ = [
    "WORKER_SETTINGS_ENV",
    "NotifyingServer",
    "NotifyingSupervisor",
    "app_for_worker",
    "preflight",
    "serve",
]

logger = logging.getLogger(__name__)

# Not under the SALVE_GMLC_ prefix, so pydantic-settings never reads them as settings.
WORKER_SETTINGS_ENV = "SALVEGMLC_WORKER_SETTINGS"
WORKER_LOG_LEVEL_ENV = "SALVEGMLC_WORKER_LOG_LEVEL"


def preflight(settings: Settings) -> None:
    """Check that the service can start and would be safe to expose.

    Raises:
        ConfigError: unsafe or inconsistent listening settings, or TLS files that cannot
            serve (the message names the file and the problem).
        StoreError: the database is unreachable or not migrated.
        KeyFileError: no usable active signing key.
    """
    settings.check_serving()
    check_tls_files(settings)
    try:
        store = Store.open(settings.effective_database_url)
    except GmlcError as exc:
        raise StoreError(f"cannot open the database: {exc}") from None
    try:
        if not store.schema_is_current():
            raise StoreError("the database schema is not current; run: salve-gmlc db upgrade")
    finally:
        store.close()
    open_key_ring(settings).active_signing_key()


def app_for_worker() -> Starlette:
    """Factory used by uvicorn worker processes (settings from :data:`WORKER_SETTINGS_ENV`).

    Raises:
        ConfigError: the variable is missing or does not hold valid settings.
    """
    raw = os.environ.get(WORKER_SETTINGS_ENV)
    if not raw:
        raise ConfigError(f"{WORKER_SETTINGS_ENV} is not set; start workers with serve()")
    try:
        values: dict[str, Any] = json.loads(raw)
        settings = Settings(**values)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{WORKER_SETTINGS_ENV} does not hold valid settings: {exc}") from None
    level = os.environ.get(WORKER_LOG_LEVEL_ENV, "")
    configure_logging(int(level) if level.isdigit() else logging.INFO)
    return create_app(settings)


@dataclass(frozen=True, slots=True)
class _Listeners:
    """What the node serves where, in words for the log, ``STATUS=`` and the operator."""

    mlp: str
    metrics: str | None

    @classmethod
    def of(cls, sockets: list[socket.socket], *, tls: bool) -> _Listeners:
        scheme = "https" if tls else "http"
        urls = [f"{scheme}://{_address(sock)}" for sock in sockets]
        return cls(urls[0], urls[1] if len(urls) > 1 else None)

    @property
    def said(self) -> str:
        metrics = f", metrics on {self.metrics}" if self.metrics else ""
        return f"serving MLP on {self.mlp}{metrics}"

    def announce(self, notifier: SystemdNotifier, status: str) -> None:
        """Logs ``listening`` and tells the service manager the node is ready."""
        log_event(logger, logging.INFO, "listening", mlp=self.mlp, metrics=self.metrics)
        notifier.ready(status)


class _WatchdogClock:
    """When the next ``WATCHDOG=1`` is due: every half of systemd's ``WatchdogSec=``."""

    def __init__(self, notifier: SystemdNotifier) -> None:
        interval = notifier.watchdog_interval_s
        self.period_s = None if interval is None else interval / 2
        self._last = -math.inf

    def due(self) -> bool:
        """True (and restarts the period) when a ping is due."""
        if self.period_s is None:
            return False
        now = time.monotonic()
        if now - self._last < self.period_s:
            return False
        self._last = now
        return True


class NotifyingServer(uvicorn.Server):
    """uvicorn's server, telling systemd what it does (one worker: it is the main process).

    ``READY=1`` once the listeners accept connections and the app has started, then
    ``WATCHDOG=1`` from the serving loop (so a loop that hangs stops the pings) and a
    ``STATUS=`` line with the requests served; ``STOPPING=1`` when it shuts down.
    """

    #: Seconds between ``STATUS=`` updates (only when the count changed).
    STATUS_PERIOD_S = 10.0

    def __init__(
        self, config: uvicorn.Config, notifier: SystemdNotifier, listeners: _Listeners
    ) -> None:
        """Creates the server.

        Args:
            config: uvicorn's configuration.
            notifier: where notifications go (a no-op outside systemd).
            listeners: what is served where.
        """
        super().__init__(config)
        self._notifier = notifier
        self._listeners = listeners
        self._watchdog = _WatchdogClock(notifier)
        self._ticks_per_status = max(1, round(self.STATUS_PERIOD_S / _TICK_S))
        self._requests_said = 0

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        """uvicorn's start-up, then ``READY=1``."""
        await super().startup(sockets)
        if self.started:
            self._listeners.announce(self._notifier, self._listeners.said)

    async def on_tick(self, counter: int) -> bool:
        """Called by the serving loop every 0.1 s: the watchdog and the status line."""
        if self._watchdog.due():
            self._notifier.watchdog()
        total = self.server_state.total_requests
        if counter % self._ticks_per_status == 0 and total != self._requests_said:
            self._requests_said = total
            self._notifier.status(f"{self._listeners.said}; {total} requests since start")
        return await super().on_tick(counter)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        """``STOPPING=1``, then uvicorn's shutdown (open requests finish)."""
        self._notifier.stopping("stopping: finishing open requests")
        await super().shutdown(sockets)


class NotifyingSupervisor(Multiprocess):
    """uvicorn's worker supervisor, telling systemd what the workers do.

    With several workers only the supervisor (the main process, ``NotifyAccess=main``)
    notifies: ``READY=1`` once every worker has started, ``WATCHDOG=1`` from its loop
    after uvicorn's health check of the workers (a worker that stops answering is
    replaced; a supervisor that hangs stops the pings), and ``STATUS=`` with the number
    of workers serving.
    """

    def __init__(
        self,
        config: uvicorn.Config,
        sockets: list[socket.socket],
        notifier: SystemdNotifier,
        listeners: _Listeners,
    ) -> None:
        """Creates the supervisor.

        Args:
            config: uvicorn's configuration (``workers`` of them).
            sockets: the bound listeners the workers share.
            notifier: where notifications go (a no-op outside systemd).
            listeners: what is served where.
        """
        super().__init__(config, sockets)
        self._notifier = notifier
        self._listeners = listeners
        self._watchdog = _WatchdogClock(notifier)
        self._ready_sent = False
        self._ready_said = -1
        #: True when Ctrl-C (SIGINT), not a stop request (SIGTERM), ended the run.
        self.interrupted = False

    def init_processes(self) -> None:
        """Starts the workers with Ctrl-C ignored until they serve.

        A terminal's Ctrl-C reaches the whole process group, and a worker still importing
        the application would end in a traceback. An ignored SIGINT is inherited across
        fork and exec (a signal mask is not: multiprocessing resets it) and Python keeps
        it ignored, until uvicorn installs its own handler once the worker serves. The
        supervisor ignores Ctrl-C for the few milliseconds the workers take to spawn, and
        stops them itself (SIGTERM) when it is interrupted.
        """
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            super().init_processes()
        finally:
            signal.signal(signal.SIGINT, previous)

    @property
    def startup_failed(self) -> bool:
        """True when a worker failed before it started serving (uvicorn then stops)."""
        return any(p.exitcode == STARTUP_FAILURE for p in self.processes)

    def keep_subprocess_alive(self) -> None:
        """uvicorn's health check of the workers (every 0.5 s), then the notifications."""
        super().keep_subprocess_alive()
        if self.should_exit.is_set():
            return
        ready = sum(1 for process in self.processes if process.is_ready(timeout=1))
        workers = len(self.processes)
        if ready == workers and not self._ready_sent:
            self._ready_sent = True
            self._ready_said = ready
            self._listeners.announce(self._notifier, f"{self._listeners.said}; {workers} workers")
        elif ready != self._ready_said and self._ready_sent:
            self._ready_said = ready
            self._notifier.status(f"{self._listeners.said}; {ready} of {workers} workers ready")
        if self._watchdog.due():
            self._notifier.watchdog()

    def handle_int(self) -> None:
        """Ctrl-C: stop, and say so afterwards (as one worker does)."""
        self.interrupted = True
        super().handle_int()

    def terminate_all(self) -> None:
        """``STOPPING=1``, then stop the workers."""
        self._notifier.stopping("stopping: the workers finish their open requests")
        super().terminate_all()


def serve(
    settings: Settings,
    *,
    log_level: int | str = logging.INFO,
    notifier: SystemdNotifier | None = None,
) -> None:
    """Run the service until interrupted.

    Everything that could stop the start (settings, TLS files, database, signing key,
    listening addresses) is checked before anything is announced; ``listening`` is
    logged, and ``READY=1`` sent, only once the node serves.

    Args:
        settings: The service settings.
        log_level: a logging level, or a ``--log-level`` word (``info``, ``debug`` …).
        notifier: the service manager's notification socket (read from the environment
            when omitted; a no-op outside systemd).

    Raises:
        ConfigError: from :func:`preflight`; ListenError for a listener that cannot
            be bound.
        StoreError, KeyFileError: from :func:`preflight`.
        GmlcError: the service stopped while starting (the log says why).
    """
    threshold = configure_logging(log_level).threshold
    notifier = notifier if notifier is not None else SystemdNotifier()
    notifier.status("starting: checking the settings, TLS files, database and signing key")
    preflight(settings)
    options: dict[str, Any] = {
        "host": settings.host,
        "port": settings.effective_port,
        "http": GuardedHttpProtocol,
        # uvicorn's records go to the root logger, which runtime.logs formats; uvicorn's
        # own handlers and per-logger levels would bypass it.
        "log_config": None,
        "access_log": False,
        "server_header": False,
        "proxy_headers": False,
        "timeout_keep_alive": 5,
        "timeout_graceful_shutdown": 10,
        "workers": settings.workers,
    }
    if settings.tls_enabled:
        options["ssl_certfile"] = str(settings.tls_cert)
        options["ssl_keyfile"] = str(settings.tls_key)
    if settings.tls_client_ca is not None:
        # Asked for, verified against the CA when sent, but optional: clients not pinned to
        # a certificate keep working; pinned ones are refused without theirs (gmlc.auth).
        options["ssl_ca_certs"] = str(settings.tls_client_ca)
        options["ssl_cert_reqs"] = ssl.CERT_OPTIONAL
    sockets = [listening_socket(settings.host, settings.effective_port, "MLP")]
    try:
        if settings.metrics_port:
            sockets.append(
                listening_socket(settings.metrics_host, settings.metrics_port, "metrics")
            )
        listeners = _Listeners.of(sockets, tls=settings.tls_enabled)
        notifier.status(f"starting: {listeners.said.replace('serving', 'opening')}")
        if settings.workers > 1:
            os.environ[WORKER_SETTINGS_ENV] = settings.model_dump_json()
            os.environ[WORKER_LOG_LEVEL_ENV] = str(threshold)
            config = uvicorn.Config("gmlc.server:app_for_worker", factory=True, **options)
            supervisor = NotifyingSupervisor(config, sockets, notifier, listeners)
            supervisor.run()
            if supervisor.startup_failed:
                raise GmlcError(_STARTUP_FAILED)
            if supervisor.interrupted:
                raise KeyboardInterrupt
        else:
            server = NotifyingServer(
                uvicorn.Config(create_app(settings), **options), notifier, listeners
            )
            try:
                server.run(sockets=sockets)
            except SystemExit as exit_:
                # uvicorn ends a failed start with exit status 3, which means "not found"
                # to salve-gmlc; say it in words instead.
                if exit_.code == STARTUP_FAILURE:
                    raise GmlcError(_STARTUP_FAILED) from None
                raise
    finally:
        for sock in sockets:
            sock.close()


_STARTUP_FAILED = (
    "the service stopped while starting; the error logged just before says why "
    "(--log-level debug adds its traceback)"
)
#: uvicorn's serving loop calls on_tick this often (seconds).
_TICK_S = 0.1


def _address(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
