"""What `serve` checks before it listens: TLS files named with their problem, bind errors.

The certificates are real (trustme), the files real files, the sockets real sockets.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import trustme

from gmlc.errors import ConfigError, ListenError
from gmlc.listening import check_tls_files, listening_socket
from gmlc.settings import Settings, load_settings

Files = Callable[..., Settings]


@pytest.fixture
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def tls(tmp_path: Path, ca: trustme.CA, monkeypatch: pytest.MonkeyPatch) -> Files:
    """Settings whose tls_cert and tls_key files hold the given bytes (a good pair by default)."""
    for name in ("SALVE_GMLC_TLS_CERT", "SALVE_GMLC_TLS_KEY", "SALVE_GMLC_TLS_CLIENT_CA"):
        monkeypatch.delenv(name, raising=False)
    leaf = ca.issue_cert("gmlc.example.net")

    def settings(
        cert: bytes | None = None, key: bytes | None = None, client_ca: bytes | None = None
    ) -> Settings:
        cert_file, key_file = tmp_path / "gmlc.crt", tmp_path / "gmlc.key"
        cert_file.write_bytes(
            b"".join(p.bytes() for p in leaf.cert_chain_pems) if cert is None else cert
        )
        key_file.write_bytes(leaf.private_key_pem.bytes() if key is None else key)
        extra = {}
        if client_ca is not None:
            (tmp_path / "clients.pem").write_bytes(client_ca)
            extra["tls_client_ca"] = tmp_path / "clients.pem"
        return load_settings(
            None,
            issuer="gmlc.example.net",
            state_dir=tmp_path / "state",
            tls_cert=cert_file,
            tls_key=key_file,
            **extra,
        )

    return settings


def test_a_good_pair_with_its_chain_and_a_client_ca_passes(tls: Files, ca: trustme.CA) -> None:
    check_tls_files(tls(client_ca=ca.cert_pem.bytes()))


def test_garbage_in_the_certificate_file_names_the_file(tls: Files) -> None:
    settings = tls(cert=b"junk\n")
    with pytest.raises(ConfigError, match="not a PEM certificate") as raised:
        check_tls_files(settings)
    assert str(settings.tls_cert) in str(raised.value)
    assert "_ssl.c" not in str(raised.value)


def test_swapped_files_are_called_swapped(tls: Files, ca: trustme.CA) -> None:
    leaf = ca.issue_cert("gmlc.example.net")
    swapped = tls(cert=leaf.private_key_pem.bytes(), key=leaf.cert_chain_pems[0].bytes())
    with pytest.raises(ConfigError, match="swapped") as raised:
        check_tls_files(swapped)
    assert f"tls_cert {swapped.tls_cert} holds a private key" in str(raised.value)


def test_a_certificate_as_the_key_is_called_swapped(tls: Files, ca: trustme.CA) -> None:
    leaf = ca.issue_cert("gmlc.example.net")
    with pytest.raises(ConfigError, match=r"tls_key .* holds a certificate, not a private key"):
        check_tls_files(tls(key=leaf.cert_chain_pems[0].bytes()))


def test_a_key_of_another_certificate_is_refused(tls: Files, ca: trustme.CA) -> None:
    other = ca.issue_cert("other.example.net").private_key_pem.bytes()
    settings = tls(key=other)
    with pytest.raises(ConfigError, match="does not belong to the certificate") as raised:
        check_tls_files(settings)
    assert str(settings.tls_key) in str(raised.value)


def test_the_chain_in_the_wrong_order_is_a_mismatch(tls: Files, ca: trustme.CA) -> None:
    leaf = ca.issue_cert("gmlc.example.net")
    backwards = ca.cert_pem.bytes() + leaf.cert_chain_pems[0].bytes()
    with pytest.raises(ConfigError, match="certificate must come first"):
        check_tls_files(tls(cert=backwards, key=leaf.private_key_pem.bytes()))


def test_an_encrypted_key_says_so(tls: Files, ca: trustme.CA) -> None:
    from cryptography.hazmat.primitives import serialization

    leaf = ca.issue_cert("gmlc.example.net")
    key = serialization.load_pem_private_key(leaf.private_key_pem.bytes(), password=None)
    locked = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"secret"),
    )
    settings = tls(cert=leaf.cert_chain_pems[0].bytes(), key=locked)
    with pytest.raises(ConfigError, match="is encrypted"):
        check_tls_files(settings)


def test_garbage_as_the_key_and_as_the_client_ca(tls: Files) -> None:
    with pytest.raises(ConfigError, match=r"tls_key .* is not a PEM private key"):
        check_tls_files(tls(key=b"junk\n"))
    with pytest.raises(ConfigError, match=r"tls_client_ca .* is not a PEM file of CA"):
        check_tls_files(tls(client_ca=b"junk\n"))


def test_a_missing_or_unreadable_file_is_named(tls: Files) -> None:
    settings = tls()
    assert settings.tls_key is not None
    settings.tls_key.unlink()
    with pytest.raises(ConfigError, match=f"tls_key {settings.tls_key} does not exist"):
        check_tls_files(settings)


def test_an_expired_certificate_is_a_warning_not_a_refusal(
    tls: Files, ca: trustme.CA, caplog: pytest.LogCaptureFixture
) -> None:
    now = datetime.now(UTC)
    leaf = ca.issue_cert(
        "gmlc.example.net", not_before=now - timedelta(days=60), not_after=now - timedelta(days=1)
    )
    settings = tls(cert=leaf.cert_chain_pems[0].bytes(), key=leaf.private_key_pem.bytes())
    with caplog.at_level(logging.WARNING, logger="gmlc.listening"):
        check_tls_files(settings)
    assert [r.getMessage() for r in caplog.records] == ["tls_certificate_expired"]


def test_a_port_in_use_is_a_listen_error_in_words() -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        with pytest.raises(ListenError) as raised:
            listening_socket("127.0.0.1", port, "MLP")
    said = str(raised.value)
    assert said.startswith(f"cannot listen for MLP on 127.0.0.1:{port}: the port is in use")
    assert "while attempting" not in said


def test_an_address_of_another_machine_is_a_listen_error() -> None:
    # 192.0.2.1 (TEST-NET-1) is no address of this machine.
    with pytest.raises(ListenError, match="not one of this machine's"):
        listening_socket("192.0.2.1", 0, "metrics")


def test_a_bound_listener_is_inheritable_by_workers() -> None:
    with listening_socket("127.0.0.1", 0, "MLP") as sock:
        assert sock.get_inheritable()
