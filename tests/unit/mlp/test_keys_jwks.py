"""Signing keys, key ids and JWKS export/import."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from hypothesis import given
from hypothesis import strategies as st

from mlp.errors import MlpError
from mlp.keys import (
    KID_LENGTH,
    SUPPORTED_ALGORITHMS,
    KeyMaterialError,
    KeySet,
    SigningKey,
    b64url_decode,
    b64url_encode,
    jwk_thumbprint,
    split_compact_jws,
)

KEYS: dict[str, SigningKey] = {alg: SigningKey.generate(alg) for alg in SUPPORTED_ALGORITHMS}


def test_rfc7638_thumbprint_example() -> None:
    # RFC 7638 §3.1: the RSA key and its SHA-256 thumbprint.
    n = (
        "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_"
        "BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_"
        "FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI"
        "4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
    )
    public_key = rsa.RSAPublicNumbers(65537, int.from_bytes(b64url_decode(n), "big")).public_key()

    assert jwk_thumbprint(public_key) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


@pytest.mark.parametrize("alg", SUPPORTED_ALGORITHMS)
def test_default_kid_is_a_short_stable_thumbprint_prefix(alg: str) -> None:
    key = KEYS[alg]

    assert len(key.kid) == KID_LENGTH
    assert key.kid == jwk_thumbprint(key.public_key)[:KID_LENGTH]
    reloaded = SigningKey.from_pem(key.private_pem(), alg=alg)
    assert reloaded.kid == key.kid


@pytest.mark.parametrize("alg", SUPPORTED_ALGORITHMS)
def test_pem_round_trip_keeps_the_key(alg: str) -> None:
    key = KEYS[alg]
    reloaded = SigningKey.from_pem(key.private_pem(), kid="gmlc-2026", alg=alg)

    assert reloaded.kid == "gmlc-2026"
    assert reloaded.alg == alg
    assert reloaded.public_jwk() | {"kid": key.kid} == key.public_jwk()


@pytest.mark.parametrize("alg", SUPPORTED_ALGORITHMS)
def test_jwks_round_trip(alg: str) -> None:
    key_set = KeySet.from_signing_keys([KEYS[alg]])
    document = key_set.to_jwks()
    restored = KeySet.from_jwks(json.dumps(document))
    restored_key = restored.get(KEYS[alg].kid)

    assert restored.to_jwks() == document
    assert restored_key is not None
    assert restored_key.alg == alg
    assert "d" not in document["keys"][0]
    assert document["keys"][0]["use"] == "sig"


def test_public_jwk_members_per_key_type() -> None:
    assert set(KEYS["ES256"].public_jwk()) == {"kty", "crv", "x", "y", "kid", "use", "alg"}
    assert set(KEYS["EdDSA"].public_jwk()) == {"kty", "crv", "x", "kid", "use", "alg"}
    assert set(KEYS["PS256"].public_jwk()) == {"kty", "n", "e", "kid", "use", "alg"}
    assert KEYS["ES256"].public_jwk()["crv"] == "P-256"
    assert KEYS["EdDSA"].public_jwk()["crv"] == "Ed25519"


def test_key_set_holds_several_keys_in_order() -> None:
    key_set = KeySet.from_signing_keys(KEYS.values())

    assert key_set.kids == tuple(key.kid for key in KEYS.values())
    assert len(key_set) == 3
    assert KEYS["EdDSA"].kid in key_set
    assert key_set.get("missing") is None


def test_duplicate_kid_is_refused() -> None:
    first = SigningKey.generate("ES256", kid="same")
    second = SigningKey.generate("EdDSA", kid="same")

    with pytest.raises(KeyMaterialError, match="duplicate key id"):
        KeySet.from_signing_keys([first, second])


def test_jwks_alg_is_inferred_when_absent() -> None:
    document = KeySet.from_signing_keys(KEYS.values()).to_jwks()
    for jwk in document["keys"]:
        del jwk["alg"]
        del jwk["use"]

    restored = KeySet.from_jwks(document)

    assert [key.alg for key in restored] == list(SUPPORTED_ALGORITHMS)


def test_jwks_ignores_unknown_public_members() -> None:
    document: dict[str, Any] = KeySet.from_signing_keys([KEYS["ES256"]]).to_jwks()
    document["keys"][0]["key_ops"] = ["verify"]

    assert len(KeySet.from_jwks(document)) == 1


def _es256_jwk() -> dict[str, Any]:
    return copy.deepcopy(KEYS["ES256"].public_jwk())


def _with(**changes: Any) -> dict[str, Any]:
    jwk = _es256_jwk()
    for name, value in changes.items():
        if value is None:
            jwk.pop(name, None)
        else:
            jwk[name] = value
    return {"keys": [jwk]}


def _p384_jwk() -> dict[str, Any]:
    numbers = ec.generate_private_key(ec.SECP384R1()).public_key().public_numbers()
    return {
        "kty": "EC",
        "crv": "P-384",
        "x": b64url_encode(numbers.x.to_bytes(48, "big")),
        "y": b64url_encode(numbers.y.to_bytes(48, "big")),
        "kid": "p384",
    }


def _small_rsa_jwk() -> dict[str, Any]:
    numbers = rsa.generate_private_key(65537, 1024).public_key().public_numbers()
    return {
        "kty": "RSA",
        "n": b64url_encode(numbers.n.to_bytes(128, "big")),
        "e": "AQAB",
        "kid": "small",
    }


@pytest.mark.parametrize(
    ("document", "match"),
    [
        ("not json", "not valid JSON"),
        ("[]", "not an object"),
        ('{"keys": 5}', "'keys'"),
        ({}, "'keys'"),
        ({"keys": ["x"]}, "not a JSON object"),
        (_with(kid=None), "'kid' is required"),
        (_with(kid="has space"), "key id"),
        (_with(kid=12), "key id"),
        (_with(use="enc"), "'use'"),
        (_with(alg="ES384"), "'alg'"),
        (_with(alg="HS256"), "'alg'"),
        (_with(alg="none"), "'alg'"),
        (_with(kty="oct", k="c2VjcmV0"), "private key member"),
        (_with(d="AAAA"), "private key member"),
        (_with(kty="XYZ"), "unsupported key type"),
        (_with(crv="P-521"), "P-256"),
        (_with(x="AAAA"), "32 bytes"),
        (_with(x="***"), "base64url"),
        (_with(y=None), "'y' missing"),
        (_with(y=b64url_encode(b"\x01" * 32)), "not on P-256"),
        ({"keys": [_p384_jwk()]}, "P-256"),
        ({"keys": [_small_rsa_jwk()]}, "at least 2048 bits"),
        (
            {"keys": [{"kty": "OKP", "crv": "X25519", "x": "A" * 43, "kid": "x"}]},
            "Ed25519",
        ),
        ({"keys": [{"kty": "OKP", "crv": "Ed25519", "x": "AAAA", "kid": "x"}]}, "32 bytes"),
        ({"keys": [{"kty": "RSA", "n": "AAEB", "e": "AQAB", "kid": "x"}]}, "minimal"),
        (
            {"keys": [{"kty": "RSA", "n": b64url_encode(b"\xff" * 1025), "e": "AQAB", "kid": "x"}]},
            "above 8192 bits",
        ),
        ('{"keys": [], "keys": []}', "duplicate"),
    ],
    # Documents hold freshly generated keys: their text would make ids differ between runs.
    ids=lambda value: repr(value)[:50] if isinstance(value, str) else type(value).__name__,
)
def test_bad_jwks_is_refused_with_a_typed_error(document: Any, match: str) -> None:
    with pytest.raises(KeyMaterialError, match=match):
        KeySet.from_jwks(document)


@pytest.mark.parametrize(
    ("alg", "private_key"),
    [
        ("ES256", ed25519.Ed25519PrivateKey.generate()),
        ("ES256", ec.generate_private_key(ec.SECP384R1())),
        ("EdDSA", ec.generate_private_key(ec.SECP256R1())),
        ("PS256", ec.generate_private_key(ec.SECP256R1())),
        ("PS256", rsa.generate_private_key(65537, 1024)),
        ("RS256", rsa.generate_private_key(65537, 2048)),
        ("HS256", ed25519.Ed25519PrivateKey.generate()),
    ],
)
def test_key_must_fit_its_algorithm(alg: str, private_key: Any) -> None:
    pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )

    with pytest.raises(KeyMaterialError):
        SigningKey.from_pem(pem, alg=alg)
    with pytest.raises(KeyMaterialError):
        SigningKey(kid="k", alg=alg, private_key=private_key)  # type: ignore[arg-type]


def test_unreadable_or_encrypted_pem_is_refused() -> None:
    encrypted = KEYS["ES256"].private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"secret"),
    )

    with pytest.raises(KeyMaterialError, match="PEM"):
        SigningKey.from_pem(b"-----BEGIN PRIVATE KEY-----\nAAAA\n", alg="ES256")
    with pytest.raises(KeyMaterialError, match="PEM"):
        SigningKey.from_pem(encrypted, alg="ES256")


def test_generate_refuses_unsupported_algorithm() -> None:
    with pytest.raises(KeyMaterialError, match="unsupported algorithm"):
        SigningKey.generate("HS256")


def test_key_material_error_is_an_mlp_error_and_a_value_error() -> None:
    assert issubclass(KeyMaterialError, MlpError)
    assert issubclass(KeyMaterialError, ValueError)


# --------------------------------------------------------------------------- encodings


@given(st.binary(max_size=80))
def test_b64url_round_trip_matches_the_standard_library(data: bytes) -> None:
    text = b64url_encode(data)

    assert text == base64.urlsafe_b64encode(data).decode().rstrip("=")
    assert b64url_decode(text) == data


@pytest.mark.parametrize("text", ["A", "AB", "ABC", "AQ==", "AQ=", "a+b/", "ab.c", "ä", "AAAAA"])
def test_b64url_decode_refuses_padding_other_alphabets_and_non_canonical_text(
    text: str,
) -> None:
    with pytest.raises(ValueError):
        b64url_decode(text)


def test_split_compact_jws_decodes_parts() -> None:
    header = b64url_encode(b'{"alg":"EdDSA"}')
    payload = b64url_encode(b"{}")
    signature = b64url_encode(hashlib.sha256(b"x").digest())

    parts = split_compact_jws(f"{header}.{payload}.{signature}", max_length=1000)

    assert parts.header == {"alg": "EdDSA"}
    assert parts.payload == b"{}"
    assert parts.signing_input == f"{header}.{payload}".encode()
    assert parts.signature == hashlib.sha256(b"x").digest()


@pytest.mark.parametrize(
    "token",
    ["", "a.b", "a.b.c.d", "..", f"{b64url_encode(b'[1]')}..", "x" * 2000],
)
def test_split_compact_jws_refuses_malformed_tokens(token: str) -> None:
    with pytest.raises(ValueError):
        split_compact_jws(token, max_length=1000)
