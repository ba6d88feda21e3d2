"""TLS client certificates: how a certificate is named in a client's pins.

A client pinned to certificates (``salve-gmlc client certificates ID --add FILE``) must
present one of them on the TLS connection its request arrives on (mutual TLS, enabled by
``tls_client_ca``). A certificate is named by the SHA-256 of its public key
(SubjectPublicKeyInfo, DER, lower-case hex), as DANE's "1 1 1" does, so renewing the
certificate for the same key keeps the pin valid.

Pure functions: bytes in, names out.
"""

from __future__ import annotations

import hashlib
import re
from typing import Final

from cryptography import x509
from cryptography.hazmat.primitives import serialization

__all__ = [
    "PEER_CERTIFICATE_KEY",
    "canonical_fingerprint",
    "spki_sha256",
    "spki_sha256_of_der",
    "spki_sha256_of_pem",
]

PEER_CERTIFICATE_KEY: Final = "salve_peer_certificate"
"""Key, in a request's ASGI state, of the SPKI SHA-256 of the client's TLS certificate."""

_HEX64: Final = re.compile(r"[0-9a-f]{64}")


def spki_sha256(certificate: x509.Certificate) -> str:
    """The pin name of a certificate: SHA-256 of its SubjectPublicKeyInfo, hex."""
    spki = certificate.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(spki).hexdigest()


def spki_sha256_of_der(der: bytes) -> str:
    """The pin name of a DER certificate (as a TLS peer presents it).

    Raises:
        ValueError: not a DER certificate.
    """
    return spki_sha256(x509.load_der_x509_certificate(der))


def spki_sha256_of_pem(pem: bytes) -> str:
    """The pin name of the first certificate of a PEM file.

    Raises:
        ValueError: no PEM certificate in the data.
    """
    try:
        return spki_sha256(x509.load_pem_x509_certificate(pem))
    except ValueError:
        raise ValueError("not a PEM certificate (-----BEGIN CERTIFICATE-----)") from None


def canonical_fingerprint(text: str) -> str:
    """A pin name as given by an operator: 64 hex digits, any case, colons allowed.

    Raises:
        ValueError: not a SHA-256 in hex.
    """
    cleaned = text.strip().lower().replace(":", "") if isinstance(text, str) else ""
    if not _HEX64.fullmatch(cleaned):
        raise ValueError(f"{text!r} is not a SHA-256 fingerprint (64 hex digits)")
    return cleaned
