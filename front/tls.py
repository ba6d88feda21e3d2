"""TLS 1.3 termination: certificate/key pairs, SNI selection, reloading, the session hash.

Every served pair gets one pyOpenSSL context, TLS 1.3 only (so every handshake runs
(EC)DHE: OpenSSL never accepts ``psk_ke`` without ``SSL_OP_ALLOW_NO_DHE_KEX``, which is
never set, and it accepts no early data unless told to, which it never is). Resumption with
``psk_dhe_ke`` stays allowed: it runs a fresh (EC)DHE exchange, so a resumed session has a
new exporter and gets a new statement.

The context a connection starts with belongs to the first served pair. Its servername
callback switches to the pair whose certificate names the client's SNI (exact names first,
then a ``*.`` wildcard one label deep); a name no certificate covers ends the handshake
with an ``unrecognized_name`` alert. :class:`TlsTerminator` holds the current set and
:meth:`TlsTerminator.replace` swaps it in one assignment: connections already open keep
the context they were made with, new ones get the new set (SIGHUP reload).

:func:`session_binding` is the RFC 9266 exporter of a finished handshake and its session
hash (DESIGN "Session binding").
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from OpenSSL import SSL
from twisted.internet.interfaces import IOpenSSLServerConnectionCreator
from zope.interface import implementer

from front.config import CertificateConfig
from front.errors import CertificateError
from mlp.m2dmrt import SigningPrivateKey, spki_der
from mlp.names import HostNameError, canonical_host_name
from mlp.statement import EXPORTER_LABEL, EXPORTER_LENGTH, session_hash_from_exporter
from runtime.files import FileProblem, FileReadError, read_bounded

__all__ = [
    "ServedCertificate",
    "SessionBinding",
    "TlsSet",
    "TlsTerminator",
    "UnknownServerNameError",
    "load_certificate",
    "session_binding",
]

ALPN_HTTP11: Final = b"http/1.1"
_MAX_PEM_BYTES: Final = 1 << 20


class UnknownServerNameError(Exception):
    """Raised in the servername callback to end a handshake for a name nobody serves.

    pyOpenSSL turns an exception in that callback into a fatal ``unrecognized_name``
    alert after handing it to ``sys.excepthook``; the server's hook knows this one was
    already logged and stays silent.
    """


@dataclass(frozen=True, slots=True)
class ServedCertificate:
    """A loaded certificate chain and key, with the names it covers.

    Attributes:
        chain_path: Where the chain came from.
        names: The certificate's DNS names (lowercase; wildcards as ``*.example.com``).
        leaf: The leaf certificate.
        private_key: Its private key (it signs the site's M2DMRT declarations).
        spki: The leaf's DER SubjectPublicKeyInfo.
        upcoming: Declared but not served (the next key of a rollover).
        context: The TLS context; None for an upcoming pair.
    """

    chain_path: Path
    names: tuple[str, ...]
    leaf: x509.Certificate
    private_key: SigningPrivateKey = field(repr=False)
    spki: bytes = field(repr=False)
    upcoming: bool = False
    context: SSL.Context | None = field(default=None, repr=False, compare=False)

    @property
    def spki_sha256(self) -> str:
        """The SPKI's SHA-256, hex (how logs name a key)."""
        return hashlib.sha256(self.spki).hexdigest()

    def covers(self, host: str) -> bool:
        """Whether the certificate names ``host`` (exactly, or by a one-label wildcard)."""
        if host in self.names:
            return True
        _, dot, parent = host.partition(".")
        return bool(dot) and f"*.{parent}" in self.names


def _read(path: Path, what: str) -> bytes:
    try:
        return read_bounded(path, _MAX_PEM_BYTES)
    except FileReadError as exc:
        raise CertificateError(
            exc.describe(
                f"{what} {path}",
                {FileProblem.TOO_LARGE: f"{what} {path} is too large for a PEM file"},
            )
        ) from None


def _dns_names(leaf: x509.Certificate, path: Path) -> tuple[str, ...]:
    try:
        san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        raise CertificateError(
            f"{path}: the certificate has no subjectAltName DNS names to serve"
        ) from None
    names: list[str] = []
    for raw in san.get_values_for_type(x509.DNSName):
        wildcard = raw.startswith("*.")
        try:
            name = canonical_host_name(raw[2:] if wildcard else raw)
        except HostNameError:
            continue  # a name clients cannot ask for by SNI either
        names.append(f"*.{name}" if wildcard else name)
    if not names:
        raise CertificateError(f"{path}: the certificate names no DNS host")
    return tuple(names)


def _context(served: ServedCertificate, chain: Sequence[x509.Certificate]) -> SSL.Context:
    context = SSL.Context(SSL.TLS_SERVER_METHOD)
    context.set_min_proto_version(SSL.TLS1_3_VERSION)
    context.set_options(SSL.OP_NO_COMPRESSION | SSL.OP_CIPHER_SERVER_PREFERENCE)
    context.use_certificate(served.leaf)
    for extra in chain[1:]:
        context.add_extra_chain_cert(extra)
    context.use_privatekey(served.private_key)
    context.check_privatekey()
    context.set_alpn_select_callback(_select_alpn)
    return context


def _select_alpn(connection: SSL.Connection, offered: list[bytes]) -> bytes | Any:
    # HTTP/1.1 is all the front speaks; a client offering only h2 still gets a
    # connection (no ALPN), where it falls back to HTTP/1.1 or leaves.
    return ALPN_HTTP11 if ALPN_HTTP11 in offered else SSL.NO_OVERLAPPING_PROTOCOLS


def load_certificate(pair: CertificateConfig) -> ServedCertificate:
    """Read and check one chain/key pair, and build its context unless it is upcoming.

    Raises:
        CertificateError: A file that cannot be read or parsed, a key that does not match
            the leaf, a key type M2DMRT cannot sign with, or a leaf without DNS names.
    """
    try:
        chain = x509.load_pem_x509_certificates(_read(pair.chain, "certificate chain"))
    except ValueError as exc:
        raise CertificateError(f"{pair.chain}: not a PEM certificate chain ({exc})") from None
    try:
        key = serialization.load_pem_private_key(_read(pair.key, "private key"), password=None)
    except (ValueError, TypeError) as exc:
        raise CertificateError(f"{pair.key}: not an unencrypted PEM private key ({exc})") from None
    if isinstance(key, ec.EllipticCurvePrivateKey) and not isinstance(key.curve, ec.SECP256R1):
        raise CertificateError(f"{pair.key}: an EC key must be on P-256 (M2DMRT signs ES256)")
    if not isinstance(
        key, ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey
    ):
        raise CertificateError(f"{pair.key}: the key must be P-256, Ed25519 or RSA")
    leaf = chain[0]
    spki = spki_der(leaf)
    if spki_der(key.public_key()) != spki:
        raise CertificateError(f"{pair.key} is not the key of the certificate in {pair.chain}")
    served = ServedCertificate(
        chain_path=pair.chain,
        names=_dns_names(leaf, pair.chain),
        leaf=leaf,
        private_key=key,
        spki=spki,
        upcoming=pair.upcoming,
    )
    if pair.upcoming:
        return served
    try:
        context = _context(served, chain)
    except SSL.Error as exc:
        raise CertificateError(f"{pair.chain}: OpenSSL refuses the pair ({exc})") from None
    return ServedCertificate(
        chain_path=served.chain_path,
        names=served.names,
        leaf=served.leaf,
        private_key=served.private_key,
        spki=served.spki,
        upcoming=False,
        context=context,
    )


@dataclass(frozen=True, slots=True)
class TlsSet:
    """The pairs in use at one time: the served ones (first = default) and upcoming ones."""

    served: tuple[ServedCertificate, ...]
    upcoming: tuple[ServedCertificate, ...] = ()

    def __post_init__(self) -> None:
        if not self.served:
            raise CertificateError("no certificate to serve")

    @classmethod
    def load(cls, pairs: Sequence[CertificateConfig]) -> TlsSet:
        """Load every configured pair.

        Raises:
            CertificateError: One pair cannot be used, or none is served.
        """
        loaded = [load_certificate(pair) for pair in pairs]
        return cls(
            served=tuple(c for c in loaded if not c.upcoming),
            upcoming=tuple(c for c in loaded if c.upcoming),
        )

    @property
    def default(self) -> ServedCertificate:
        """The pair for clients that send no SNI."""
        return self.served[0]

    def lookup(self, host: str) -> ServedCertificate | None:
        """The served pair for ``host``: exact names first, then wildcards; None if none."""
        for served in self.served:
            if host in served.names:
                return served
        return next((s for s in self.served if s.covers(host)), None)

    def keys_for(self, host: str) -> tuple[ServedCertificate, ...]:
        """Every pair, served or upcoming, whose certificate covers ``host``."""
        return tuple(c for c in (*self.served, *self.upcoming) if c.covers(host))


NameRefused = Callable[[SSL.Connection, str], None]


@functools.lru_cache(maxsize=4096)
def _server_name(raw: bytes) -> str | None:
    """The canonical form of an SNI name, or None for one that is not a host name.

    Cached: IDNA mapping costs tens of microseconds, and every handshake of a site asks
    for the same few names (the bound keeps a client sending random names harmless).
    """
    try:
        return canonical_host_name(raw.decode("ascii"))
    except (UnicodeDecodeError, HostNameError):
        return None


@implementer(IOpenSSLServerConnectionCreator)
class TlsTerminator:
    """Makes each new connection's pyOpenSSL ``Connection`` from the current set.

    Args:
        tls_set: The pairs to serve.
        on_refused_name: Called with the connection and the name before a handshake for
            an unknown SNI name is ended.
    """

    def __init__(self, tls_set: TlsSet, on_refused_name: NameRefused) -> None:
        self._on_refused_name = on_refused_name
        self._set = self._armed(tls_set)

    @property
    def current(self) -> TlsSet:
        """The set new connections are made from."""
        return self._set

    def replace(self, tls_set: TlsSet) -> None:
        """Serve ``tls_set`` to new connections; open connections are not touched."""
        self._set = self._armed(tls_set)

    def _armed(self, tls_set: TlsSet) -> TlsSet:
        def select(connection: SSL.Connection) -> None:
            raw = connection.get_servername()
            if raw is None:
                return  # no SNI: the default pair
            host = _server_name(raw)
            served = tls_set.lookup(host) if host else None
            if served is None or served.context is None:
                self._on_refused_name(connection, raw.decode("ascii", "replace")[:253])
                raise UnknownServerNameError(raw)
            if served is not tls_set.default:
                connection.set_context(served.context)

        for served in tls_set.served:
            assert served.context is not None
            served.context.set_tlsext_servername_callback(select)
        return tls_set

    def serverConnectionForTLS(self, tlsProtocol: Any) -> SSL.Connection:  # noqa: N802, N803
        """A new server-side connection on the current default context (Twisted's hook)."""
        context = self._set.default.context
        assert context is not None
        connection = SSL.Connection(context, None)
        connection.set_app_data(tlsProtocol)
        return connection


@dataclass(frozen=True, slots=True)
class SessionBinding:
    """What ties a statement to one TLS session.

    Attributes:
        exporter: The RFC 9266 ``tls-exporter`` value (never leaves the front).
        session_hash: ``SHA-256("SALVE-v1/session" || exporter)``, sent to the GMLC.
        server_name: The client's SNI in canonical form; None without SNI.
    """

    exporter: bytes = field(repr=False)
    session_hash: bytes
    server_name: str | None


def session_binding(connection: SSL.Connection) -> SessionBinding:
    """The binding of a connection whose TLS 1.3 handshake has finished.

    Raises:
        SSL.Error: The handshake has not finished.
    """
    exporter = connection.export_keying_material(EXPORTER_LABEL, EXPORTER_LENGTH, b"")
    raw = connection.get_servername()
    return SessionBinding(
        exporter=exporter,
        session_hash=session_hash_from_exporter(exporter),
        server_name=None if raw is None else _server_name(raw),
    )
