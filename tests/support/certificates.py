"""Self-signed certificates written as PEM files (for the places a test CA does not fit:
a certificate that is its own issuer, or one whose key file does not match it)."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from mlp.m2dmrt import spki_der


def self_signed_certificate(
    directory: Path,
    common_name: str = "127.0.0.1",
    *,
    key: ec.EllipticCurvePrivateKey | None = None,
    key_file_key: ec.EllipticCurvePrivateKey | None = None,
    alt_names: tuple[str, ...] = (),
    authority: bool = False,
    valid_since: timedelta = timedelta(minutes=5),
    stem: str = "",
) -> tuple[Path, Path]:
    """Writes a certificate for ``common_name`` signed by its own ``key`` and a key file.

    Args:
        directory: where ``{stem}cert.pem`` and ``{stem}key.pem`` (mode 0600) go.
        common_name: the subject's (and issuer's) CN.
        key: the certificate's key (a new P-256 key if None).
        key_file_key: what the key file holds, when it is not ``key`` (a mismatched pair).
        alt_names: subjectAltName entries: IP addresses as IPAddress, the rest as DNSName.
        authority: marks it a CA with key identifiers, as a trust anchor of its own.
        valid_since: how long before now it became valid (valid for a day from now).
        stem: a prefix for the file names, to write several pairs in one directory.

    Returns:
        The certificate file and the key file.
    """
    key = key or ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - valid_since)
        .not_valid_after(now + timedelta(days=1))
    )
    if alt_names:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([_general_name(entry) for entry in alt_names]),
            critical=False,
        )
    if authority:
        public = key.public_key()
        builder = (
            builder.add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(public), critical=False
            )
        )
    certificate = builder.sign(key, hashes.SHA256())
    cert_path, key_path = directory / f"{stem}cert.pem", directory / f"{stem}key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        (key_file_key or key).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    os.chmod(key_path, 0o600)
    return cert_path, key_path


def _general_name(entry: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(entry))
    except ValueError:
        return x509.DNSName(entry)


@dataclass
class TestCa:
    """A test CA (trustme) whose CA certificate is in ``ca_file``; the leaf certificates a
    world needs are fields of its subclasses."""

    __test__ = False  # a helper, not a test class

    ca: trustme.CA
    ca_file: Path
    directory: Path

    def pair(self, cert: trustme.LeafCert, name: str) -> tuple[Path, Path]:
        """The chain and key files of ``cert`` (key mode 0600), written once per ``name``."""
        return write_leaf(cert, self.directory, name)

    @staticmethod
    def private_key(cert: trustme.LeafCert) -> Any:
        return serialization.load_pem_private_key(cert.private_key_pem.bytes(), None)

    @staticmethod
    def spki(cert: trustme.LeafCert) -> bytes:
        return spki_der(x509.load_pem_x509_certificate(cert.cert_chain_pems[0].bytes()))


def new_test_ca(directory: Path) -> tuple[trustme.CA, Path]:
    """A new test CA and its certificate written to ``directory/ca.pem``."""
    ca = trustme.CA()
    ca_file = directory / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    return ca, ca_file


def write_leaf(cert: trustme.LeafCert, directory: Path, name: str) -> tuple[Path, Path]:
    """``directory/{name}-chain.pem`` and ``{name}-key.pem`` (mode 0600) of ``cert``,
    unless they exist already."""
    chain, key = directory / f"{name}-chain.pem", directory / f"{name}-key.pem"
    if not chain.exists():
        chain.write_bytes(b"".join(blob.bytes() for blob in cert.cert_chain_pems))
        key.write_bytes(cert.private_key_pem.bytes())
        key.chmod(0o600)
    return chain, key
