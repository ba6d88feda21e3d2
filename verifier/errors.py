"""Errors of the verifier, each carrying its plain-words reason and its failure class.

Every way a check can fail has its own error class and a stable reason code (``code``,
for ``--json`` and metrics); the message (``reason``) says in plain words what was wrong.
The failure class decides the verdict and the exit code of ``salve-verify``::

    VerifierError                 (refused, exit 1 unless a subclass says otherwise)
      RefusedError                the site is refused: M2DMRT, keys, statement, position,
                                  a remembered policy that is missing now
      DnsValidationError          DNS failure (exit 4): nothing validated, or no valid proof
        DnsUnsignedError            an answer without signatures
        DnsBogusSignatureError      signatures that do not verify
        DnsSignatureTimeError       signatures outside their validity period
        DnsUnknownKeyError          signed by a key the zone does not publish (key tag)
        DnsNoDsError                a zone without DS in its parent: outside the chain
        DnsDsMismatchError          a DS that matches no key of the child zone
        DnsUntrustedError           a signer outside the trust anchor's tree
        DnsUnsupportedError         an algorithm, digest or NSEC3 setting refused
        DnsDenialError              an absence without a valid NSEC/NSEC3 proof
        DnsCnameError               a CNAME loop or an overlong chain
        DnsWildcardError            an answer synthesised from a wildcard
        DnsServerError              the server answered SERVFAIL, REFUSED, ...
        DnsTransportError           no answer: timeout, refused connection, truncation
        DnsAnswerError              an answer that is not well-formed DNS
      TlsError                    TLS failure to the site (exit 5)
        TlsConnectError, TlsProtocolError, TlsCertificateError, TlsHostnameError,
        TlsHandshakeError, HttpExchangeError
      GmlcUnreachableError        the GMLC or its JWKS cannot be had (exit 6)

:class:`DnsValidationError` is the error type of :mod:`verifier.dns` that other packages
catch; a validated record whose *value* SALVE cannot use raises
:class:`mlp.dnsrecords.DnsRecordError` instead (the check reports it as ``dns.bad_record``).
"""

from __future__ import annotations

import enum
from typing import ClassVar

__all__ = [
    "DnsAnswerError",
    "DnsBogusSignatureError",
    "DnsCnameError",
    "DnsDenialError",
    "DnsDsMismatchError",
    "DnsNoDsError",
    "DnsServerError",
    "DnsSignatureTimeError",
    "DnsTransportError",
    "DnsUnknownKeyError",
    "DnsUnsignedError",
    "DnsUnsupportedError",
    "DnsUntrustedError",
    "DnsValidationError",
    "DnsWildcardError",
    "Failure",
    "GmlcUnreachableError",
    "HttpExchangeError",
    "RefusedError",
    "TlsCertificateError",
    "TlsConnectError",
    "TlsError",
    "TlsHandshakeError",
    "TlsHostnameError",
    "TlsProtocolError",
    "VerifierError",
]


class Failure(enum.Enum):
    """Why a check did not verify; the value is the exit code of ``salve-verify``."""

    REFUSED = 1
    DNS = 4
    TLS = 5
    GMLC = 6


class VerifierError(Exception):
    """A check that cannot end in VERIFIED.

    Attributes:
        reason: What went wrong, in plain words (shown to people as it is).
        code: A stable dotted reason code, such as ``dns.unsigned`` or
            ``statement.binding``, for programs (``--json``, metrics).
    """

    failure: ClassVar[Failure] = Failure.REFUSED
    default_code: ClassVar[str] = "refused"

    def __init__(self, reason: str, *, code: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code or self.default_code


class RefusedError(VerifierError):
    """The site is refused although DNS and TLS worked (see ``code`` for which check)."""


# --------------------------------------------------------------------------- DNS


class DnsValidationError(VerifierError):
    """DNS gave nothing that validates from the trust anchor (exit 4)."""

    failure = Failure.DNS
    default_code = "dns"


class DnsUnsignedError(DnsValidationError):
    """An answer came without the signatures its zone must have."""

    default_code = "dns.unsigned"


class DnsBogusSignatureError(DnsValidationError):
    """Signatures were present but none verifies."""

    default_code = "dns.bogus_signature"


class DnsSignatureTimeError(DnsValidationError):
    """The only matching signatures have expired or are not valid yet."""

    default_code = "dns.signature_expired"


class DnsUnknownKeyError(DnsValidationError):
    """The signatures name a key (tag and algorithm) that the zone does not publish."""

    default_code = "dns.unknown_key"


class DnsNoDsError(DnsValidationError):
    """The zone has no DS record in its parent, so nothing in it can be validated."""

    default_code = "dns.no_ds"


class DnsDsMismatchError(DnsValidationError):
    """The parent's DS records match none of the zone's keys, or the anchor none of its keys."""

    default_code = "dns.ds_mismatch"


class DnsUntrustedError(DnsValidationError):
    """A signer or name outside the tree below the trust anchor."""

    default_code = "dns.untrusted"


class DnsUnsupportedError(DnsValidationError):
    """Signed only with algorithms, digests or NSEC3 settings this verifier refuses."""

    default_code = "dns.unsupported"


class DnsDenialError(DnsValidationError):
    """The server says a record does not exist, without a valid NSEC/NSEC3 proof."""

    default_code = "dns.bad_denial"


class DnsCnameError(DnsValidationError):
    """A CNAME chain that loops or is too long."""

    default_code = "dns.cname"


class DnsWildcardError(DnsValidationError):
    """An answer synthesised from a wildcard, which SALVE records never are."""

    default_code = "dns.wildcard"


class DnsServerError(DnsValidationError):
    """The server answered with an error code (SERVFAIL, REFUSED, ...)."""

    default_code = "dns.server"


class DnsTransportError(DnsValidationError):
    """No usable answer arrived: timeout, connection refused, truncation without TCP."""

    default_code = "dns.unreachable"


class DnsAnswerError(DnsValidationError):
    """An answer that is not well-formed DNS, or not an answer to the question."""

    default_code = "dns.malformed_answer"


# --------------------------------------------------------------------------- TLS


class TlsError(VerifierError):
    """The TLS connection to the site failed (exit 5)."""

    failure = Failure.TLS
    default_code = "tls"


class TlsConnectError(TlsError):
    """No TCP connection could be made."""

    default_code = "tls.connect"


class TlsProtocolError(TlsError):
    """The server does not speak TLS 1.3."""

    default_code = "tls.protocol_version"


class TlsCertificateError(TlsError):
    """The certificate chain does not verify (expired, unknown issuer, ...)."""

    default_code = "tls.certificate"


class TlsHostnameError(TlsError):
    """The certificate is not for the host name being checked."""

    default_code = "tls.wrong_host"


class TlsHandshakeError(TlsError):
    """The handshake failed for another reason."""

    default_code = "tls.handshake"


class HttpExchangeError(TlsError):
    """The HTTP exchange on the verified connection failed or was malformed."""

    default_code = "tls.http"


# --------------------------------------------------------------------------- GMLC


class GmlcUnreachableError(VerifierError):
    """The GMLC's key set cannot be fetched or read (exit 6)."""

    failure = Failure.GMLC
    default_code = "gmlc.unreachable"
