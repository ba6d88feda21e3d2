"""The demo's certificate authority, made at run time with ``cryptography``.

One CA signs every certificate of the demo: the site's, the GMLC's, and the attacker's.
That is the point of the attacker's mis-issued certificate: a CA every client trusts
issues a certificate for the site's name with a key the site never had, so TLS alone
cannot tell it from the real one.

Keys are ECDSA P-256 (the M2DMRT declarations then sign with ES256). Files are PEM:
``NAME.pem`` (the leaf, then the CA) and ``NAME.key`` (mode 0600).
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["CertificatePair", "DemoCa"]

VALIDITY: Final = timedelta(days=2)
_BACKDATE: Final = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class CertificatePair:
    """A certificate chain file and its private key file.

    Attributes:
        chain: PEM, the leaf first, then the CA.
        key: PEM (PKCS#8), mode 0600.
    """

    chain: Path
    key: Path


def _private_bytes(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


class DemoCa:
    """A certificate authority in a directory: ``ca.pem`` plus the pairs it issued."""

    def __init__(self, directory: Path, name: str = "SALVE demo CA") -> None:
        """Make the CA's key and self-signed certificate and write ``ca.pem``."""
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self._key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        now = datetime.now(UTC)
        self._certificate = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - _BACKDATE)
            .not_valid_after(now + VALIDITY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=False,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(self._key.public_key()), critical=False
            )
            .sign(self._key, hashes.SHA256())
        )
        self.ca_file = directory / "ca.pem"
        self.ca_file.write_bytes(self._certificate.public_bytes(serialization.Encoding.PEM))

    def issue(self, label: str, dns_name: str, *addresses: str) -> CertificatePair:
        """Issue a server certificate for ``dns_name`` (and IP addresses) with a fresh key.

        Args:
            label: The file names' stem (``label.pem``, ``label.key``).
            dns_name: The host name (subject CN and DNS SAN).
            addresses: IP addresses the certificate also covers.
        """
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.now(UTC)
        names: list[x509.GeneralName] = [x509.DNSName(dns_name)]
        names += [x509.IPAddress(ipaddress.ip_address(address)) for address in addresses]
        certificate = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, dns_name)]))
            .issuer_name(self._certificate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - _BACKDATE)
            .not_valid_after(now + VALIDITY)
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key()),
                critical=False,
            )
            .sign(self._key, hashes.SHA256())
        )
        chain = self.directory / f"{label}.pem"
        chain.write_bytes(
            certificate.public_bytes(serialization.Encoding.PEM)
            + self._certificate.public_bytes(serialization.Encoding.PEM)
        )
        key_path = self.directory / f"{label}.key"
        descriptor = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(_private_bytes(key))
        return CertificatePair(chain, key_path)
