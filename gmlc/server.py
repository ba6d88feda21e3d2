"""Running the GMLC under uvicorn (``salve-gmlc serve``).

Before uvicorn starts, :func:`preflight` checks what would otherwise surface as a
traceback in a worker: the listening setup (TLS files, plain HTTP only on loopback unless
allowed), the database (reachable, schema current) and the active signing key (present,
private). Problems are raised as plain-words errors for the CLI to print.

The listening sockets are bound here, not by uvicorn: the MLP listener and, unless
``metrics_port`` is 0, the metrics listener (loopback by default), so that a port already in
use is a plain error before anything starts. Both are served by one uvicorn server through
:class:`gmlc.connections.GuardedHttpProtocol` (header-read timeout, per-source connection cap,
lingering close); the app tells the listeners apart by the accepting socket's port.

With one worker the app object is handed to uvicorn directly. With several, uvicorn needs
an import string: the settings travel to the workers as JSON in one environment variable
and :func:`app_for_worker` rebuilds them, so every worker runs with exactly the settings
the operator started with (including command-line overrides). The workers share the
listening sockets; each counts its own connections and keeps its own metrics.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import ssl
from typing import Any

import uvicorn
from starlette.applications import Starlette
from uvicorn.supervisors import Multiprocess

from gmlc.app import create_app
from gmlc.connections import GuardedHttpProtocol
from gmlc.errors import ConfigError, GmlcError, StoreError
from gmlc.keys import open_key_ring
from gmlc.settings import Settings
from gmlc.store import Store
from runtime.logs import configure_logging, log_event

__all__ = ["WORKER_SETTINGS_ENV", "app_for_worker", "listening_socket", "preflight", "serve"]

logger = logging.getLogger(__name__)

# Not under the SALVE_GMLC_ prefix, so pydantic-settings never reads them as settings.
WORKER_SETTINGS_ENV = "SALVEGMLC_WORKER_SETTINGS"
WORKER_LOG_LEVEL_ENV = "SALVEGMLC_WORKER_LOG_LEVEL"


def preflight(settings: Settings) -> None:
    """Check that the service can start and would be safe to expose.

    Raises:
        ConfigError: unsafe or inconsistent listening settings.
        StoreError: the database is unreachable or not migrated.
        KeyFileError: no usable active signing key.
    """
    settings.check_serving()
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


def listening_socket(host: str, port: int, what: str) -> socket.socket:
    """A bound TCP socket, inheritable by worker processes.

    Raises:
        ConfigError: the address cannot be bound (in use, not local, no permission).
    """
    try:
        sock = socket.create_server(
            (host, port),
            family=socket.AF_INET6 if ":" in host else socket.AF_INET,
            backlog=2048,
        )
    except OSError as exc:
        raise ConfigError(f"cannot listen for {what} on {host}:{port}: {exc.strerror}") from None
    sock.set_inheritable(True)
    return sock


def serve(settings: Settings, *, log_level: int | str = logging.INFO) -> None:
    """Run the service until interrupted.

    Args:
        settings: The service settings.
        log_level: a logging level, or a ``--log-level`` word (``info``, ``debug`` …).

    Raises:
        ConfigError, StoreError, KeyFileError: from :func:`preflight`, or a listener that
            cannot be bound.
    """
    threshold = configure_logging(log_level).threshold
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
        log_event(
            logger,
            logging.INFO,
            "listening",
            mlp=f"{'https' if settings.tls_enabled else 'http'}://{_address(sockets[0])}",
            metrics=f"{'https' if settings.tls_enabled else 'http'}://{_address(sockets[1])}"
            if len(sockets) > 1
            else None,
        )
        if settings.workers > 1:
            os.environ[WORKER_SETTINGS_ENV] = settings.model_dump_json()
            os.environ[WORKER_LOG_LEVEL_ENV] = str(threshold)
            config = uvicorn.Config("gmlc.server:app_for_worker", factory=True, **options)
            Multiprocess(config, sockets=sockets).run()
        else:
            server = uvicorn.Server(uvicorn.Config(create_app(settings), **options))
            server.run(sockets=sockets)
    finally:
        for sock in sockets:
            sock.close()


def _address(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
