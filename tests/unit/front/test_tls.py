"""Loading certificate pairs and choosing one by name."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import trustme
from cryptography.hazmat.primitives.asymmetric import ec

from front.config import CertificateConfig
from front.errors import CertificateError
from front.tls import TlsSet, load_certificate
from tests.support.certificates import self_signed_certificate


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


def pair(directory: Path, cert: trustme.LeafCert, name: str) -> CertificateConfig:
    chain, key = directory / f"{name}.pem", directory / f"{name}.key"
    chain.write_bytes(b"".join(blob.bytes() for blob in cert.cert_chain_pems))
    key.write_bytes(cert.private_key_pem.bytes())
    return CertificateConfig(chain=chain, key=key)


def test_names_come_from_the_certificate_and_wildcards_cover_one_label(
    tmp_path: Path, ca: trustme.CA
) -> None:
    www = load_certificate(pair(tmp_path, ca.issue_cert("WWW.example.com"), "www"))
    wild = load_certificate(pair(tmp_path, ca.issue_cert("*.example.org"), "wild"))
    assert www.names == ("www.example.com",)
    assert wild.covers("shop.example.org") and not wild.covers("a.shop.example.org")
    assert not wild.covers("example.org")
    served = TlsSet((www, wild))
    assert served.lookup("www.example.com") is www
    assert served.lookup("api.example.org") is wild
    assert served.lookup("www.example.net") is None
    assert served.default is www


def test_an_upcoming_pair_is_declared_but_gets_no_context(tmp_path: Path, ca: trustme.CA) -> None:
    config = pair(tmp_path, ca.issue_cert("www.example.com"), "next")
    upcoming = load_certificate(config.model_copy(update={"upcoming": True}))
    assert upcoming.context is None and upcoming.upcoming
    current = load_certificate(pair(tmp_path, ca.issue_cert("www.example.com"), "now"))
    both = TlsSet((current,), (upcoming,))
    assert both.keys_for("www.example.com") == (current, upcoming)
    with pytest.raises(CertificateError, match="no certificate to serve"):
        TlsSet((), (upcoming,))


def _self_signed(directory: Path, key: ec.EllipticCurvePrivateKey, san: bool) -> CertificateConfig:
    chain, key_file = self_signed_certificate(
        directory,
        "www.example.com",
        key=key,
        alt_names=("www.example.com",) if san else (),
        valid_since=timedelta(0),
    )
    return CertificateConfig(chain=chain, key=key_file)


def test_pairs_that_cannot_be_served_are_refused_in_plain_words(
    tmp_path: Path, ca: trustme.CA
) -> None:
    one = pair(tmp_path, ca.issue_cert("www.example.com"), "one")
    two = pair(tmp_path, ca.issue_cert("www.example.com"), "two")
    with pytest.raises(CertificateError, match="is not the key of the certificate"):
        load_certificate(CertificateConfig(chain=one.chain, key=two.key))
    with pytest.raises(CertificateError, match="does not exist"):
        load_certificate(CertificateConfig(chain=tmp_path / "none.pem", key=one.key))
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
    with pytest.raises(CertificateError, match="not a PEM certificate chain"):
        load_certificate(CertificateConfig(chain=garbage, key=one.key))
    with pytest.raises(CertificateError, match="must be on P-256"):
        load_certificate(_self_signed(tmp_path, ec.generate_private_key(ec.SECP384R1()), True))
    with pytest.raises(CertificateError, match="no subjectAltName"):
        load_certificate(_self_signed(tmp_path, ec.generate_private_key(ec.SECP256R1()), False))
