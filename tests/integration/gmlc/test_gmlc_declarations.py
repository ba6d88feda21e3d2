"""POST /v1/declarations against a real GMLC over TLS 1.3 on loopback.

The site is played by the test: it holds a TLS key of its own, reads the GMLC's SPKI from
its own TLS connection, signs ``G._m2dmrt.H`` over it and checks what comes back, as the
front does. ``web-1`` owns ``www.example.com`` and is pinned to 127.0.0.1 (conftest).
"""

from __future__ import annotations

import base64
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from mlp.keys import b64url_decode, b64url_encode
from mlp.m2dmrt import SigningPrivateKey, sign_declaration, spki_der, verify_declarations

GmlcServer = Any

pytestmark = pytest.mark.slow

ISSUER = "gmlc.integration.test"
DOMAIN = "www.example.com"
PASSWORD = "integration-password-1"
OTHER_PASSWORD = "integration-password-2"


def basic(client_id: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{password}".encode()).decode()


def gmlc_spki(server: GmlcServer) -> bytes:
    """The SPKI the GMLC presents on a TLS connection (what the front sees)."""
    with (
        socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw,
        server.verify.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        assert tls.version() == "TLSv1.3"
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return spki_der(x509.load_der_x509_certificate(der))


def body(
    site_key: SigningPrivateKey,
    target_spki: bytes,
    *,
    domain: str = DOMAIN,
    signer: str = DOMAIN,
    target: str = ISSUER,
) -> dict[str, str]:
    declaration = sign_declaration(
        signer=signer, target=target, target_spki_der=target_spki, private_key=site_key
    )
    return {
        "domain": domain,
        "site_spki": b64url_encode(spki_der(site_key.public_key())),
        "declaration": declaration.to_text(),
    }


@contextmanager
def http_from(server: GmlcServer, source: str = "127.0.0.1") -> Iterator[httpx.Client]:
    transport = httpx.HTTPTransport(local_address=source, verify=server.verify)
    with httpx.Client(base_url=server.url, transport=transport, timeout=30) as client:
        yield client


def declare(
    server: GmlcServer,
    document: Any,
    *,
    client_id: str = "web-1",
    password: str = PASSWORD,
    source: str = "127.0.0.1",
) -> httpx.Response:
    with http_from(server, source) as client:
        return client.post(
            "/v1/declarations", json=document, headers={"Authorization": basic(client_id, password)}
        )


def audit_rows(server: GmlcServer, kind: str) -> list[Any]:
    with server.store() as store:
        return list(store.list_audit(kind=kind))


def test_a_declaration_is_countersigned_stored_and_idempotent(gmlc_server: GmlcServer) -> None:
    site_key = ec.generate_private_key(ec.SECP256R1())
    seen = gmlc_spki(gmlc_server)
    first = declare(gmlc_server, body(site_key, seen))
    assert first.status_code == 200, first.text
    answer = first.json()
    assert set(answer) == {"declaration", "gmlc_spki"}
    # What the front checks: the key it saw on its own TLS connection, and a declaration
    # by G of H's key that verifies with it.
    assert b64url_decode(answer["gmlc_spki"]) == seen
    site_spki = spki_der(site_key.public_key())
    verified = verify_declarations(
        [answer["declaration"]],
        signer=ISSUER,
        target=DOMAIN,
        signer_spki_der=seen,
        target_spki_der=site_spki,
    )
    assert (verified.signer, verified.target) == (ISSUER, DOMAIN)
    # Declaring the same key again changes nothing: the same published record.
    again = declare(gmlc_server, body(site_key, seen))
    assert again.status_code == 200 and again.json() == answer
    with gmlc_server.store() as store:
        stored = [d for d in store.list_declarations(DOMAIN) if d.site_spki == site_spki]
    assert len(stored) == 1 and stored[0].gmlc_declaration == answer["declaration"]
    rows = [
        r
        for r in audit_rows(gmlc_server, "declaration")
        if r.detail["site_spki_sha256"] == stored[0].site_spki_sha256
    ]
    assert [(r.client_id, r.detail["new"]) for r in rows] == [("web-1", True), ("web-1", False)]
    metrics = gmlc_server.metrics()
    assert 'salve_gmlc_declarations_total{outcome="stored"}' in metrics
    assert 'salve_gmlc_declarations_total{outcome="repeated"}' in metrics


def test_a_new_site_key_is_declared_beside_the_old_one(gmlc_server: GmlcServer) -> None:
    seen = gmlc_spki(gmlc_server)
    keys = [ec.generate_private_key(ec.SECP256R1()), ed25519.Ed25519PrivateKey.generate()]
    for key in keys:
        assert declare(gmlc_server, body(key, seen)).status_code == 200
    with gmlc_server.store() as store:
        stored = {d.site_spki for d in store.list_declarations(DOMAIN)}
    assert {spki_der(key.public_key()) for key in keys} <= stored


@pytest.mark.parametrize(
    ("client_id", "password", "source", "reason"),
    [
        ("web-1", "wrong", "127.0.0.1", "bad_credentials"),
        ("nobody", PASSWORD, "127.0.0.1", "bad_credentials"),
        # The right password from outside the client's network: stolen.
        ("web-1", PASSWORD, "127.0.0.2", "outside_networks"),
    ],
    ids=["wrong-password", "unknown-client", "outside-networks"],
)
def test_every_credential_failure_gets_one_answer(
    gmlc_server: GmlcServer, client_id: str, password: str, source: str, reason: str
) -> None:
    document = body(ec.generate_private_key(ec.SECP256R1()), gmlc_spki(gmlc_server))
    before = len(audit_rows(gmlc_server, "auth_failure"))
    refused = declare(gmlc_server, document, client_id=client_id, password=password, source=source)
    assert refused.status_code == 401
    assert refused.json() == {"error": "unauthorized"}
    assert refused.headers["www-authenticate"].startswith("Basic ")
    rows = audit_rows(gmlc_server, "auth_failure")
    assert len(rows) == before + 1
    assert (rows[-1].detail["reason"], rows[-1].detail["channel"]) == (reason, "/v1/declarations")


def test_no_credentials_at_all(gmlc_server: GmlcServer) -> None:
    with http_from(gmlc_server) as client:
        refused = client.post("/v1/declarations", json={})
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"].startswith("Basic ")


def test_a_domain_of_another_client_is_forbidden(gmlc_server: GmlcServer) -> None:
    document = body(ec.generate_private_key(ec.SECP256R1()), gmlc_spki(gmlc_server))
    refused = declare(gmlc_server, document, client_id="web-2", password=OTHER_PASSWORD)
    assert (refused.status_code, refused.json()) == (403, {"error": "domain_not_registered"})
    (row, *_) = reversed(audit_rows(gmlc_server, "declaration_refused"))
    assert (row.client_id, row.result, row.detail["error"]) == (
        "web-2",
        403,
        "domain_not_registered",
    )


def _bad_bodies(seen: bytes) -> list[tuple[str, Any, str]]:
    key = ec.generate_private_key(ec.SECP256R1())
    attacker_gmlc = spki_der(ec.generate_private_key(ec.SECP256R1()).public_key())
    return [
        ("signed by another site", body(key, seen, signer="shop.example.com"), "s=shop"),
        ("for another GMLC", body(key, seen, target="gmlc.attacker.example"), "t=gmlc.attacker"),
        ("over another GMLC key", body(key, attacker_gmlc), "does not verify"),
        (
            "with another site key",
            {**body(key, seen), "site_spki": b64url_encode(spki_der(ed25519_key()))},
            "does not verify",
        ),
        ("not canonical", {**body(key, seen), "domain": "WWW.example.com"}, "domain:"),
        ("not a declaration", {**body(key, seen), "declaration": "v=spf1 -all"}, "M2DMRT"),
        ("a missing field", {"domain": DOMAIN}, "exactly"),
        ("not an SPKI", {**body(key, seen), "site_spki": "AAAA"}, "site_spki"),
        ("a list", [1, 2], "exactly"),
    ]


def ed25519_key() -> ed25519.Ed25519PublicKey:
    return ed25519.Ed25519PrivateKey.generate().public_key()


def test_bad_declarations_are_refused_with_a_reason_and_store_nothing(
    gmlc_server: GmlcServer,
) -> None:
    with gmlc_server.store() as store:
        before = len(store.list_declarations())
    for what, document, reason in _bad_bodies(gmlc_spki(gmlc_server)):
        refused = declare(gmlc_server, document)
        assert refused.status_code == 422, what
        assert refused.json()["error"] == "bad_declaration", what
        assert reason in refused.json()["detail"], (what, refused.json())
    with http_from(gmlc_server) as client:
        not_json = client.post(
            "/v1/declarations", content=b"{", headers={"Authorization": basic("web-1", PASSWORD)}
        )
    assert not_json.status_code == 422
    with gmlc_server.store() as store:
        assert len(store.list_declarations()) == before


def test_an_oversized_body_is_refused_before_it_is_read(gmlc_server: GmlcServer) -> None:
    with http_from(gmlc_server) as client:
        refused = client.post(
            "/v1/declarations",
            content=b"x" * 20000,
            headers={"Authorization": basic("web-1", PASSWORD)},
        )
    assert refused.status_code == 413
    assert refused.json()["error"] == "too_large"
