"""The running front: listeners, the pieces wired together, signals and systemd.

:meth:`FrontServer.prepare` does everything that can fail before a port is opened: it
loads the certificates, reads the GMLC password, and (unless ``[dns]
require_declaration = false``) refuses to go on when a served key has no published,
verifying M2DMRT declaration. :meth:`FrontServer.run` then listens (TLS on ``[tls]
listen``, Prometheus on ``[metrics] listen``), tells systemd ``READY=1`` and pings its
watchdog from the reactor loop, so a stuck loop is noticed.

SIGHUP reloads the certificates (the ``[tls]`` pairs of the configuration file, read
again) off the reactor thread, with the same checks as at start; new connections get the
new set, connections already open keep theirs, and a set that fails a check is not used
(the old one stays, and the failure is logged and counted). SIGTERM stops accepting,
lets the GMLC requests in flight end, and exits.
"""

from __future__ import annotations

import logging
import signal
import sys
from types import FrameType, TracebackType
from typing import Any

from OpenSSL import SSL
from prometheus_client import generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from twisted.internet.task import LoopingCall
from twisted.internet.threads import deferToThread
from twisted.logger import STDLibLogObserver, globalLogBeginner
from twisted.protocols.tls import TLSMemoryBIOFactory
from twisted.web.resource import Resource
from twisted.web.server import Request, Site

from front.config import FrontConfig, load_config, parse_listen, read_secret_file
from front.errors import CertificateError, ConfigError, FrontError
from front.gmlc import GmlcStatements, gmlc_spki
from front.http import FrontConnection, FrontFactory, SiteState
from front.metrics import FrontMetrics
from front.proxy import Upstream
from front.records import check_declarations
from front.statements import StatementBroker
from front.tls import TlsSet, TlsTerminator, UnknownServerNameError
from runtime.logs import log_event
from runtime.sdnotify import SystemdNotifier
from verifier.dns import DnsValidationError, SecureResolver, open_resolver

__all__ = ["FrontServer", "load_checked_set", "resolver_for"]

_log = logging.getLogger(__name__)
_BACKLOG = 1024


def resolver_for(config: FrontConfig) -> SecureResolver:
    """The validating resolver of ``[dns]`` (iterative from the IANA root by default, or
    over signed zone files).

    Raises:
        ConfigError: A resolver address or trust anchor that cannot be used.
    """
    try:
        return open_resolver(
            server=config.dns.resolver,
            trust_anchor=config.dns.trust_anchor,
            zone_files=config.dns.zone_files,
            timeout=config.dns.timeout_s,
        )
    except (ValueError, OSError, DnsValidationError) as exc:
        # A bad address, an unusable anchor file (TrustAnchorError is a ValueError), or a
        # resolver name that does not resolve.
        raise ConfigError(
            f"[dns] resolver / trust_anchor / zone_files: {exc}", "dns.resolver"
        ) from None


def load_checked_set(config: FrontConfig) -> tuple[TlsSet, list[str]]:
    """Load the certificate pairs and run every check a served key must pass.

    Returns:
        The set, and one line per check passed (for ``salve-front check``).

    Raises:
        CertificateError: A pair cannot be used, or a domain no served certificate covers.
        DeclarationError: A served key without verifying declarations (when required).
        GmlcExchangeError: The GMLC's key cannot be had (when declarations are required).
        ConfigError: Settings the checks need are missing.
    """
    tls_set = TlsSet.load(config.tls.certificates)
    lines = [
        f"certificate {c.chain_path} serves {', '.join(c.names)}"
        + (" (upcoming: declared, not served)" if c.upcoming else "")
        for c in (*tls_set.served, *tls_set.upcoming)
    ]
    for host in config.site.domains:
        if tls_set.lookup(host) is None:
            raise CertificateError(f"no served certificate covers the site's domain {host}")
    if not config.site.statements:
        lines.append("declarations not checked: statements are off ([site] statements = false)")
        return tls_set, lines
    if not config.dns.require_declaration:
        lines.append("declarations not checked ([dns] require_declaration = false)")
        return tls_set, lines
    spki, source = gmlc_spki(config)
    lines.append(f"the GMLC's TLS key from {source}")
    for declared in check_declarations(config, tls_set, spki, resolver_for(config)):
        lines.append(
            f"{declared.host}: both declarations verify with the key of "
            f"{declared.certificate.chain_path}"
        )
    return tls_set, lines


class _MetricsPage(Resource):
    isLeaf = True  # noqa: N815 - Twisted's name

    def __init__(self, metrics: FrontMetrics) -> None:
        super().__init__()
        self._metrics = metrics

    def render_GET(self, request: Request) -> bytes:  # noqa: N802
        request.setHeader(b"Content-Type", CONTENT_TYPE_LATEST.encode("ascii"))
        return generate_latest(self._metrics.registry)


class _QuietSite(Site):
    noisy = False

    def log(self, request: object) -> None:
        """Scrapes are not worth a log line each."""


class FrontServer:
    """One front process.

    Args:
        config: The validated configuration.
        reactor: The Twisted reactor.
        notifier: The systemd notifier (from the environment by default).
    """

    def __init__(
        self, config: FrontConfig, reactor: Any, notifier: SystemdNotifier | None = None
    ) -> None:
        self.config = config
        self.reactor = reactor
        self.notifier = notifier or SystemdNotifier()
        self.metrics = FrontMetrics()
        self.terminator: TlsTerminator | None = None
        self.gmlc: GmlcStatements | None = None
        self.site: SiteState | None = None
        self._ports: list[Any] = []

    def prepare(self) -> list[str]:
        """Load and check everything before listening.

        Returns:
            One line per check passed.

        Raises:
            FrontError: What makes serving impossible (see :func:`load_checked_set`).
        """
        config = self.config
        config.require_serving()
        tls_set, lines = load_checked_set(config)
        self.terminator = TlsTerminator(tls_set, self._refused_name)
        broker: StatementBroker | None = None
        if config.site.statements:
            password_file = config.gmlc.password_file
            assert password_file is not None  # require_serving checked it
            password = read_secret_file(password_file, "gmlc.password_file")
            self.gmlc = GmlcStatements(config, password, self.reactor)
            batching = config.batching
            broker = StatementBroker(
                clock=self.reactor,
                fetch=self.gmlc.fetch,
                metrics=self.metrics,
                wait_s=config.gmlc.delivery_wait_s,
                retry_after_s=config.gmlc.retry_after_s,
                batch_window_s=batching.window_ms / 1000 if batching.enabled else None,
                batch_max=batching.max_sessions,
                max_pending=config.gmlc.max_pending_requests,
            )
        default_domain = next((h for h in config.site.domains if tls_set.default.covers(h)), None)
        self.site = SiteState(
            limits=config.http,
            handshake_timeout_s=config.tls.handshake_timeout_s,
            domains=frozenset(config.site.domains),
            default_domain=default_domain,
            broker=broker,
            upstream=Upstream(config.upstream, self.reactor, self.metrics),
            metrics=self.metrics,
            clock=self.reactor,
        )
        return lines

    @staticmethod
    def _refused_name(connection: SSL.Connection, name: str) -> None:
        wrapper = connection.get_app_data()
        protocol = getattr(wrapper, "wrappedProtocol", None)
        if isinstance(protocol, FrontConnection):
            protocol.refuse_name(name)

    # -- running ---------------------------------------------------------------------------

    def listen(self) -> tuple[int, int | None]:
        """Open the TLS and metrics listeners; returns their ports."""
        assert self.terminator is not None and self.site is not None
        host, port = parse_listen(self.config.tls.listen)
        factory = FrontFactory(self.site)
        factory.noisy = False
        # Both provide Twisted's zope interfaces, which mypy cannot see.
        creator: Any = self.terminator
        wrapped: Any = factory
        tls_factory = TLSMemoryBIOFactory(creator, False, wrapped)
        tls_port = self.reactor.listenTCP(port, tls_factory, backlog=_BACKLOG, interface=host)
        self._ports.append(tls_port)
        metrics_port: int | None = None
        if self.config.metrics.listen is not None:
            metrics_host, wanted = parse_listen(self.config.metrics.listen)
            listener = self.reactor.listenTCP(
                wanted, _QuietSite(_MetricsPage(self.metrics)), interface=metrics_host
            )
            self._ports.append(listener)
            metrics_port = listener.getHost().port
        if self.gmlc is not None:
            self.gmlc.start()
        return tls_port.getHost().port, metrics_port

    def run(self) -> None:
        """Serve until SIGTERM/SIGINT (the reactor's own handlers stop it)."""
        sys.excepthook = _excepthook
        observer: Any = STDLibLogObserver(name="twisted")  # an ILogObserver (zope)
        globalLogBeginner.beginLoggingTo([observer], redirectStandardIO=False)
        tls_port, metrics_port = self.listen()
        signal.signal(signal.SIGHUP, self._on_sighup)
        self.reactor.addSystemEventTrigger("before", "shutdown", self._shutdown)
        interval = self.notifier.watchdog_interval_s
        if interval is not None:
            LoopingCall(self.notifier.watchdog).start(interval / 3, now=True)
        log_event(
            _log,
            logging.INFO,
            "front_listening",
            port=tls_port,
            metrics_port=metrics_port,
            domains=list(self.config.site.domains),
            statements=self.config.site.statements,
            batching=self.config.batching.enabled,
        )
        self.reactor.callWhenRunning(self.notifier.ready, f"serving on port {tls_port}")
        self.reactor.run()

    def _shutdown(self) -> Any:
        self.notifier.stopping("stopping")
        log_event(_log, logging.INFO, "front_stopping")
        for port in self._ports:
            port.stopListening()
        assert self.site is not None
        closed = self.site.upstream.close()
        gmlc = self.gmlc
        if gmlc is not None:
            closed.addBoth(lambda _: deferToThread(gmlc.stop))
        return closed

    # -- reload ------------------------------------------------------------------------------

    def _on_sighup(self, signum: int, frame: FrameType | None) -> None:
        self.reactor.callFromThread(self.reload)

    def reload(self) -> Any:
        """Load the certificates again and serve them to new connections (SIGHUP)."""
        self.notifier.reloading()
        source = self.config.source

        def load() -> TlsSet:
            # Only [tls] is taken from the file: other changes need a restart.
            fresh = load_config(source) if source is not None else self.config
            tls_set, _ = load_checked_set(self.config.model_copy(update={"tls": fresh.tls}))
            return tls_set

        def done(tls_set: TlsSet) -> None:
            assert self.terminator is not None
            self.terminator.replace(tls_set)
            self.metrics.reloads.labels("ok").inc()
            log_event(
                _log,
                logging.INFO,
                "certificates_reloaded",
                served=[str(c.chain_path) for c in tls_set.served],
                upcoming=[str(c.chain_path) for c in tls_set.upcoming],
            )
            self.notifier.ready("certificates reloaded")

        def failed(reason: Any) -> None:
            error = reason.value
            words = (
                str(error) if isinstance(error, FrontError) else f"{type(error).__name__}: {error}"
            )
            self.metrics.reloads.labels("failed").inc()
            log_event(_log, logging.ERROR, "certificate_reload_failed", detail=words)
            self.notifier.ready("certificate reload failed; still serving the previous set")

        return deferToThread(load).addCallbacks(done, failed)


def _excepthook(
    kind: type[BaseException], value: BaseException, traceback: TracebackType | None
) -> None:
    # pyOpenSSL reports an exception raised in a TLS callback here; the refusal of an
    # unknown server name is deliberate and already logged by its connection.
    if issubclass(kind, UnknownServerNameError):
        return
    log_event(_log, logging.ERROR, "uncaught_exception", kind=kind.__name__, detail=str(value))
