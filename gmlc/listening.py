"""What ``salve-gmlc serve`` checks and binds before it starts serving.

* :func:`check_tls_files` reads ``tls_cert``, ``tls_key`` and ``tls_client_ca`` the way
  the server will, and says in plain words which file is wrong and how (missing,
  unreadable, not PEM, the files swapped, a key that does not belong to the certificate,
  an encrypted key), instead of OpenSSL's ``[SSL] PEM lib (_ssl.c:3905)``.
* :func:`listening_socket` binds a listener, and says why it cannot: the port is in use,
  the address is not this machine's, the port needs privileges.

Both raise :class:`~gmlc.errors.ConfigError` (:class:`~gmlc.errors.ListenError` for
binding), so a start that cannot succeed ends before anything listens or is announced.
"""

from __future__ import annotations

import errno
import logging
import socket
import ssl
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

from gmlc.errors import ConfigError, ListenError
from gmlc.settings import Settings
from runtime.files import FileProblem, FileReadError, read_bounded
from runtime.logs import log_event

__all__ = ["check_tls_files", "listening_socket"]

logger = logging.getLogger(__name__)

_PRIVATE_KEY_MARK = b"PRIVATE KEY-----"
_CERTIFICATE_MARK = b"-----BEGIN CERTIFICATE-----"


def check_tls_files(settings: Settings, *, now: datetime | None = None) -> None:
    """Check that the TLS files can serve HTTPS, naming the file and the problem.

    An expired (or not yet valid) certificate is logged as a warning, not refused: clients
    will refuse it, but a renewal may be on its way and the node keeps answering those
    that accept it.

    Args:
        settings: The settings (nothing is checked without TLS).
        now: The current time (tests).

    Raises:
        ConfigError: a file is missing, unreadable, not what it should be, or the key does
            not belong to the certificate.
    """
    if settings.tls_cert is None or settings.tls_key is None:
        return
    cert_path, key_path = settings.tls_cert, settings.tls_key
    cert_pem = _read("tls_cert", cert_path)
    key_pem = _read("tls_key", key_path)
    if _CERTIFICATE_MARK not in cert_pem and _PRIVATE_KEY_MARK in cert_pem:
        raise ConfigError(
            f"tls_cert {cert_path} holds a private key, not a certificate "
            "(are tls_cert and tls_key swapped?)"
        )
    try:
        leaf = x509.load_pem_x509_certificates(cert_pem)[0]
    except ValueError:
        raise ConfigError(
            f"tls_cert {cert_path} is not a PEM certificate (it should start with "
            f"{_CERTIFICATE_MARK.decode()}, the site's certificate first, then its chain)"
        ) from None
    key = _private_key(key_path, key_pem)
    public = serialization.PublicFormat.SubjectPublicKeyInfo
    der = serialization.Encoding.DER
    if key.public_key().public_bytes(der, public) != leaf.public_key().public_bytes(der, public):
        raise ConfigError(
            f"tls_key {key_path} does not belong to the certificate in tls_cert {cert_path} "
            "(their public keys differ; the certificate must come first in its file)"
        )
    _check_validity(cert_path, leaf, now or datetime.now(UTC))
    # The same calls the server makes: whatever OpenSSL still refuses is said with the files.
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(cert_path, key_path)
    except ssl.SSLError as error:
        raise ConfigError(
            f"tls_cert {cert_path} and tls_key {key_path}: OpenSSL cannot use them "
            f"({error.reason or error})"
        ) from None
    if settings.tls_client_ca is not None:
        _read("tls_client_ca", settings.tls_client_ca)
        try:
            context.load_verify_locations(cafile=settings.tls_client_ca)
        except ssl.SSLError:
            raise ConfigError(
                f"tls_client_ca {settings.tls_client_ca} is not a PEM file of CA certificates"
            ) from None


def _read(name: str, path: Path) -> bytes:
    try:
        return read_bounded(path)
    except FileReadError as exc:
        raise ConfigError(
            exc.describe(
                f"{name} {path}",
                {
                    FileProblem.UNREADABLE: f"{name} {path} is not readable by this user (give "
                    "the salve-gmlc user read access)",
                    FileProblem.DIRECTORY: f"{name} {path} is a directory, not a file",
                },
            )
        ) from None


def _private_key(path: Path, pem: bytes) -> PrivateKeyTypes:
    if _PRIVATE_KEY_MARK not in pem and _CERTIFICATE_MARK in pem:
        raise ConfigError(
            f"tls_key {path} holds a certificate, not a private key "
            "(are tls_cert and tls_key swapped?)"
        )
    try:
        return serialization.load_pem_private_key(pem, password=None)
    except TypeError:
        raise ConfigError(
            f"tls_key {path} is encrypted; the GMLC needs it without a passphrase "
            "(openssl pkey -in KEY -out KEY.plain), readable only by the salve-gmlc user"
        ) from None
    except ValueError:
        raise ConfigError(
            f"tls_key {path} is not a PEM private key (it should start with "
            "-----BEGIN PRIVATE KEY----- or -----BEGIN EC/RSA PRIVATE KEY-----)"
        ) from None
    except UnsupportedAlgorithm:
        raise ConfigError(f"tls_key {path} is a key of a type this system cannot use") from None


def _check_validity(path: Path, leaf: x509.Certificate, now: datetime) -> None:
    if now > leaf.not_valid_after_utc:
        log_event(
            logger,
            logging.WARNING,
            "tls_certificate_expired",
            f"the certificate in {path} expired; clients will refuse the connection",
            tls_cert=str(path),
            not_after=leaf.not_valid_after_utc.isoformat(),
        )
    elif now < leaf.not_valid_before_utc:
        log_event(
            logger,
            logging.WARNING,
            "tls_certificate_not_yet_valid",
            f"the certificate in {path} is not valid yet; clients will refuse the connection",
            tls_cert=str(path),
            not_before=leaf.not_valid_before_utc.isoformat(),
        )


def listening_socket(host: str, port: int, what: str) -> socket.socket:
    """A bound TCP socket, inheritable by worker processes.

    Args:
        host: The address (or host name) to listen on.
        port: The port.
        what: What listens there, for the message (``MLP``, ``metrics``).

    Raises:
        ListenError: the address cannot be bound; the message says why in plain words.
    """
    try:
        sock = socket.create_server(
            (host, port),
            family=socket.AF_INET6 if ":" in host else socket.AF_INET,
            backlog=2048,
        )
    except OSError as exc:
        raise ListenError(
            f"cannot listen for {what} on {_address_text(host, port)}: {_bind_problem(exc, port)}"
        ) from None
    sock.set_inheritable(True)
    return sock


def _address_text(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _bind_problem(error: OSError, port: int) -> str:
    if isinstance(error, socket.gaierror):
        return f"the host name cannot be resolved ({error.strerror})"
    if error.errno == errno.EADDRINUSE:
        return (
            "the port is in use (another salve-gmlc, or another service: "
            f"ss -ltnp 'sport = :{port}' shows which)"
        )
    if error.errno == errno.EADDRNOTAVAIL:
        return "the address is not one of this machine's"
    if error.errno == errno.EACCES:
        return "permission denied (ports below 1024 need privileges; the GMLC uses 9210-9212)"
    # Python adds "(while attempting to bind on address …)"; the message already says it.
    return (error.strerror or str(error)).split(" (while attempting")[0]
