"""The declaration desk's pure parts: Basic credentials, the TLS identity, no TLS key."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from gmlc.declarations import DeclarationDesk, TlsIdentity, TlsIdentityError, basic_credentials
from gmlc.metrics import GmlcMetrics
from gmlc.store import ANYWHERE, DomainEnrolment, Store
from tests.support.certificates import self_signed_certificate


def encoded(text: str) -> str:
    return "Basic " + base64.b64encode(text.encode()).decode()


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (encoded("web-1:secret"), ("web-1", "secret")),
        (encoded("web-1:with:colons"), ("web-1", "with:colons")),
        ("basic " + base64.b64encode(b"web-1:").decode(), ("web-1", "")),
        (None, None),
        ("Bearer abc", None),
        ("Basic", None),
        ("Basic !!!", None),
        (encoded("no-colon"), None),
        (encoded(":no-id"), None),
        ("Basic " + base64.b64encode(b"\xff:\xfe").decode(), None),
    ],
)
def test_basic_credentials(header: str | None, expected: tuple[str, str] | None) -> None:
    assert basic_credentials(header) == expected


def _write_identity(
    directory: Path, key: ec.EllipticCurvePrivateKey, signer: ec.EllipticCurvePrivateKey
) -> tuple[Path, Path]:
    """A certificate of ``signer``'s key, and ``key`` in the key file."""
    return self_signed_certificate(
        directory,
        "gmlc.example.net",
        key=signer,
        key_file_key=key,
        valid_since=timedelta(minutes=1),
    )


def test_the_tls_identity_is_the_leaf_and_its_key(tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    identity = TlsIdentity.load(*_write_identity(tmp_path, key, key))
    assert identity.spki_der == key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def test_a_key_of_another_certificate_is_refused(tmp_path: Path) -> None:
    key, other = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    with pytest.raises(TlsIdentityError, match="does not belong"):
        TlsIdentity.load(*_write_identity(tmp_path, other, key))


def test_a_key_m2dmrt_cannot_sign_with_is_refused(tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP384R1())
    with pytest.raises(TlsIdentityError, match="secp384r1"):
        TlsIdentity.load(*_write_identity(tmp_path, key, key))


def test_missing_files_are_named(tmp_path: Path) -> None:
    with pytest.raises(TlsIdentityError, match="cannot read"):
        TlsIdentity.load(tmp_path / "absent.pem", tmp_path / "absent-key.pem")


def test_without_a_tls_certificate_there_is_no_key_to_declare(tmp_path: Path) -> None:
    with Store.open(f"sqlite:///{tmp_path / 'gmlc.sqlite3'}") as store:
        store.migrate()
        client = store.add_client(
            "web-1", "h", networks=ANYWHERE, domains=[DomainEnrolment("www.example.com")]
        )
        desk = DeclarationDesk(
            store=store,
            issuer="gmlc.example.net",
            identity=None,
            metrics=GmlcMetrics(),
            write_audit=store.append_audits,
        )
        answer = desk.declare(client, json.dumps({"domain": "www.example.com"}).encode(), None)
        assert (answer.status, answer.body["error"]) == (503, "no_tls_key")
        (row,) = store.list_audit(kind="declaration_refused")
        assert (row.client_id, row.result) == ("web-1", 503)
        assert store.list_declarations() == []
