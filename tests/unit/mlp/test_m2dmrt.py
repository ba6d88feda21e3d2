"""M2DMRT declarations: signed bytes, record text, and verification against presented keys."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from hypothesis import given
from hypothesis import strategies as st

from mlp.dnsrecords import join_txt_strings, split_txt_value
from mlp.m2dmrt import (
    Declaration,
    M2dmrtError,
    M2dmrtMalformedError,
    M2dmrtMismatchError,
    declaration_record_name,
    sign_declaration,
    signed_bytes,
    spki_der,
    verify_declarations,
)

SITE = "www.example.com"
GMLC = "gmlc.example.net"
KEY_MAKERS: dict[str, Any] = {
    "ES256": lambda: ec.generate_private_key(ec.SECP256R1()),
    "EdDSA": ed25519.Ed25519PrivateKey.generate,
    "PS256": lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048),
}
SITE_KEY = ec.generate_private_key(ec.SECP256R1())
GMLC_KEY = ed25519.Ed25519PrivateKey.generate()


def spki(key: Any) -> bytes:
    return spki_der(key.public_key())


def test_signed_bytes_layout() -> None:
    target_spki = spki(GMLC_KEY)
    assert signed_bytes(SITE, GMLC, target_spki) == (
        b"m2dmrt-v1\x00www.example.com\x00gmlc.example.net\x00"
        + hashlib.sha256(target_spki).digest()
    )


def test_record_names_are_target_under_signer() -> None:
    assert declaration_record_name(SITE, GMLC) == "gmlc.example.net._m2dmrt.www.example.com"
    assert declaration_record_name(GMLC, SITE) == "www.example.com._m2dmrt.gmlc.example.net"


@pytest.mark.parametrize("alg", list(KEY_MAKERS))
def test_each_algorithm_signs_and_verifies(alg: str) -> None:
    signer_key = KEY_MAKERS[alg]()
    declaration = sign_declaration(
        signer=SITE, target=GMLC, target_spki_der=spki(GMLC_KEY), private_key=signer_key
    )

    assert declaration.alg == alg
    text = declaration.to_text()
    assert text.startswith(f"v=m2dmrt1; s={SITE}; t={GMLC}; a={alg}; sig=")
    assert Declaration.parse(text) == declaration
    found = verify_declarations(
        [text],
        signer=SITE,
        target=GMLC,
        signer_spki_der=spki(signer_key),
        target_spki_der=spki(GMLC_KEY),
    )
    assert found == declaration


def test_es256_signature_is_der_and_ps256_is_pss_salt_32() -> None:
    es = sign_declaration(signer=SITE, target=GMLC, target_spki_der=b"x", private_key=SITE_KEY)
    SITE_KEY.public_key().verify(
        es.signature, signed_bytes(SITE, GMLC, b"x"), ec.ECDSA(hashes.SHA256())
    )
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ps = sign_declaration(signer=SITE, target=GMLC, target_spki_der=b"x", private_key=rsa_key)
    rsa_key.public_key().verify(
        ps.signature,
        signed_bytes(SITE, GMLC, b"x"),
        padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32),
        hashes.SHA256(),
    )


def test_sig_is_padded_standard_base64() -> None:
    declaration = sign_declaration(
        signer=SITE, target=GMLC, target_spki_der=spki(GMLC_KEY), private_key=SITE_KEY
    )
    sig = declaration.to_text().rsplit("sig=", 1)[1]
    assert base64.b64decode(sig, validate=True) == declaration.signature
    assert len(sig) % 4 == 0


def _declared(**changes: Any) -> str:
    declaration = sign_declaration(
        signer=SITE, target=GMLC, target_spki_der=spki(GMLC_KEY), private_key=SITE_KEY
    )
    return (
        declaration.to_text()
        if not changes
        else Declaration(
            **{
                **{
                    "signer": SITE,
                    "target": GMLC,
                    "alg": "ES256",
                    "signature": declaration.signature,
                },
                **changes,
            }
        ).to_text()
    )


def verify(values: list[str], **changes: Any) -> Declaration:
    arguments: dict[str, Any] = {
        "signer": SITE,
        "target": GMLC,
        "signer_spki_der": spki(SITE_KEY),
        "target_spki_der": spki(GMLC_KEY),
    }
    arguments.update(changes)
    return verify_declarations(values, **arguments)


def test_a_mis_issued_certificate_with_another_key_does_not_match() -> None:
    other = ec.generate_private_key(ec.SECP256R1())
    with pytest.raises(M2dmrtMismatchError):
        verify([_declared()], signer_spki_der=spki(other))
    with pytest.raises(M2dmrtMismatchError):
        verify([_declared()], target_spki_der=spki(other))


def test_a_declaration_copied_from_another_pair_does_not_count() -> None:
    copied = _declared(target="gmlc.other.net")
    with pytest.raises(M2dmrtMismatchError):
        verify([copied])


def test_any_one_record_of_the_rrset_suffices_for_key_rollover() -> None:
    old_key = ec.generate_private_key(ec.SECP256R1())
    old = sign_declaration(
        signer=SITE, target=GMLC, target_spki_der=spki(GMLC_KEY), private_key=old_key
    ).to_text()
    assert verify([old, _declared(), "unrelated text"]).signer == SITE


def test_absence_and_malformed_records() -> None:
    with pytest.raises(M2dmrtMalformedError, match="no M2DMRT declaration"):
        verify(["v=spf1 -all"])
    with pytest.raises(M2dmrtMalformedError):
        verify(["v=m2dmrt1; s=www.example.com; t=gmlc.example.net; a=ES256; sig=!!!"])


@pytest.mark.parametrize(
    "text",
    [
        "v=m2dmrt1; s=www.example.com; t=gmlc.example.net; a=ES256",
        "v=m2dmrt1; s=WWW.example.com; t=gmlc.example.net; a=ES256; sig=AAAA",
        "v=m2dmrt1; s=www.example.com; t=gmlc.example.net; a=RS256; sig=AAAA",
        "v=m2dmrt1; s=www.example.com; t=gmlc.example.net; a=ES256; sig=AAA",
        "v=m2dmrt1; s=www.example.com; t=gmlc.example.net; a=ES256; sig=AAB=",
        "v=m2dmrt1; s=www.example.com; t=gmlc.example.net; a=ES256; sig=-_-_",
        "v=m2dmrt2; s=www.example.com; t=gmlc.example.net; a=ES256; sig=AAAA",
    ],
)
def test_malformed_declarations_are_refused(text: str) -> None:
    with pytest.raises(M2dmrtMalformedError):
        Declaration.parse(text)


def test_long_declarations_survive_txt_splitting() -> None:
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=4096)
    text = sign_declaration(
        signer=SITE, target=GMLC, target_spki_der=spki(GMLC_KEY), private_key=rsa_key
    ).to_text()
    strings = split_txt_value(text)

    assert len(strings) > 2
    assert verify([join_txt_strings(strings)], signer_spki_der=spki(rsa_key)).alg == "PS256"


def test_ec_keys_off_p256_are_refused() -> None:
    with pytest.raises(M2dmrtMalformedError):
        sign_declaration(
            signer=SITE,
            target=GMLC,
            target_spki_der=b"x",
            private_key=ec.generate_private_key(ec.SECP384R1()),
        )


@given(st.text(max_size=300))
def test_arbitrary_text_gives_a_declaration_or_an_m2dmrt_error(text: str) -> None:
    try:
        verify([text])
    except M2dmrtError:
        pass
