"""The front's dealings with its GMLC: statement requests (MLP) and the GMLC's TLS key.

Statement requests go through :class:`mlp.client.MlpClient` (one httpx pool: persistent
HTTPS connections, explicit timeouts), called from a thread pool of
``max_concurrent_requests`` threads, so at most that many requests are in flight and the
reactor never blocks. Each SLIR carries the session hash (or Merkle root), the domain
(``salve:domain``), the batch size and the policy's ``age`` as ``max_loc_age``.

The GMLC's TLS key (its SPKI) is what the site's M2DMRT declaration signs and what the
GMLC's declaration is checked with. :func:`gmlc_spki` takes it from a verified TLS
connection to the GMLC, and remembers it in the state directory for a later start while
the GMLC cannot be reached.
"""

from __future__ import annotations

import logging
import socket
import ssl
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

from cryptography import x509
from twisted.internet.defer import Deferred
from twisted.internet.threads import deferToThreadPool
from twisted.python.threadpool import ThreadPool

from front.config import FrontConfig, GmlcConfig
from front.errors import ConfigError, GmlcExchangeError
from mlp.client import MlpClient
from mlp.m2dmrt import spki_der
from runtime.logs import log_event

__all__ = [
    "SPKI_FILE",
    "GmlcStatements",
    "fetch_gmlc_spki",
    "gmlc_spki",
    "remember_gmlc_spki",
    "tls_context",
]

_log = logging.getLogger(__name__)
SPKI_FILE: Final = "gmlc-spki.der"


def tls_context(config: GmlcConfig) -> ssl.SSLContext:
    """The TLS client context for the GMLC: its CA file, or the system's CAs.

    Raises:
        ConfigError: The CA file cannot be loaded.
    """
    try:
        return ssl.create_default_context(
            cafile=str(config.ca_file) if config.ca_file is not None else None
        )
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"gmlc.ca_file {config.ca_file}: cannot load it ({exc})") from None


class GmlcStatements:
    """Asks the GMLC for statements, a bounded number at a time.

    Args:
        config: The front's configuration (``[gmlc]`` and ``[policy]``).
        password: The MLP client password (read from ``gmlc.password_file``).
        reactor: The reactor the answers are delivered on.
    """

    def __init__(self, config: FrontConfig, password: str, reactor: Any) -> None:
        gmlc = config.gmlc
        self._reactor = reactor
        self._msisdn = gmlc.require("msisdn")
        self._age = config.policy.age
        self._client = MlpClient(
            gmlc.require("url"),
            client_id=gmlc.require("client_id"),
            password=password,
            timeout=gmlc.timeout_s,
            verify=tls_context(gmlc),
        )
        self._pool = ThreadPool(minthreads=0, maxthreads=gmlc.max_concurrent_requests, name="gmlc")

    def start(self) -> None:
        """Start the request threads."""
        self._pool.start()

    def stop(self) -> None:
        """Stop the threads (waiting for requests in flight) and close the connections."""
        self._pool.stop()
        self._client.close()

    def fetch(self, session_hash: bytes, domain: str, batch_size: int | None) -> Deferred[str]:
        """One statement request; fails with ``MlpError`` subclasses."""
        deferred: Deferred[str] = deferToThreadPool(
            self._reactor, self._pool, self._request, session_hash, domain, batch_size
        )
        return deferred

    def _request(self, session_hash: bytes, domain: str, batch_size: int | None) -> str:
        result = self._client.request_location(
            self._msisdn,
            session_hash,
            domain=domain,
            batch_size=batch_size,
            max_loc_age=self._age,
        )
        assert result.statement is not None  # request_location refuses an answer without one
        return result.statement


def fetch_gmlc_spki(config: GmlcConfig) -> bytes:
    """The SPKI of the GMLC's TLS certificate, from a verified connection to it.

    Raises:
        GmlcExchangeError: No verified TLS connection could be made.
        ConfigError: No GMLC URL, or a CA file that cannot be loaded.
    """
    parts = urlsplit(config.require("url"))
    host = parts.hostname or ""
    port = parts.port or 443
    if parts.scheme != "https":
        raise GmlcExchangeError(f"the GMLC at {config.url} does not use TLS: it has no TLS key")
    context = tls_context(config)
    try:
        with (
            socket.create_connection((host, port), timeout=config.timeout_s) as raw,
            context.wrap_socket(raw, server_hostname=host) as tls,
        ):
            der = tls.getpeercert(binary_form=True)
    except ssl.SSLCertVerificationError as exc:
        raise GmlcExchangeError(
            f"the GMLC at {host}:{port} presented a certificate that does not verify: "
            f"{exc.verify_message}"
        ) from None
    except (OSError, ssl.SSLError) as exc:
        raise GmlcExchangeError(f"cannot reach the GMLC at {host}:{port}: {exc}") from None
    if der is None:
        raise GmlcExchangeError(f"the GMLC at {host}:{port} presented no certificate")
    return spki_der(x509.load_der_x509_certificate(der))


def remember_gmlc_spki(state_dir: Path, spki: bytes) -> None:
    """Keep the GMLC's SPKI for a start while the GMLC is down (best effort)."""
    try:
        state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        target = state_dir / SPKI_FILE
        temporary = target.with_suffix(".tmp")
        temporary.write_bytes(spki)
        temporary.replace(target)
    except OSError as exc:
        log_event(
            _log,
            logging.WARNING,
            "gmlc_key_not_remembered",
            path=str(state_dir / SPKI_FILE),
            detail=exc.strerror or str(exc),
        )


def gmlc_spki(config: FrontConfig) -> tuple[bytes, str]:
    """The GMLC's SPKI, and where it came from (``the GMLC`` or the remembered file).

    Raises:
        GmlcExchangeError: The GMLC cannot be reached and no SPKI was remembered.
    """
    try:
        spki = fetch_gmlc_spki(config.gmlc)
    except GmlcExchangeError as exc:
        remembered = config.site.state_dir / SPKI_FILE
        try:
            return remembered.read_bytes(), f"{remembered} (the GMLC is unreachable: {exc})"
        except OSError:
            raise exc from None
    remember_gmlc_spki(config.site.state_dir, spki)
    return spki, "the GMLC's TLS connection"
