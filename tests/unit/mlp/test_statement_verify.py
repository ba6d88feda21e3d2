"""Location statements (v2): issue, verify, each refusal in check order, batches, size."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from hypothesis import given, settings
from hypothesis import strategies as st
from jwt import api_jws

from mlp.errors import MlpError
from mlp.keys import (
    SUPPORTED_ALGORITHMS,
    KeySet,
    Signer,
    SigningKey,
    b64url_decode,
    b64url_encode,
)
from mlp.merkle import MerkleTree
from mlp.statement import (
    STATEMENT_TYP,
    StatementAlgorithmError,
    StatementBindingError,
    StatementClaims,
    StatementError,
    StatementExpiredError,
    StatementIssuerError,
    StatementKeyRetiredError,
    StatementMalformedError,
    StatementNotYetValidError,
    StatementPosition,
    StatementSignatureError,
    StatementStalePositionError,
    StatementSubjectError,
    StatementUnknownKeyError,
    great_circle_distance_m,
    issue_statement,
    session_hash_from_exporter,
    verify_statement,
)

# The statements are signed by in-process keys, and then the same tests run again with keys
# held in a PKCS#11 token (SoftHSM2); see the ``signers`` fixture.
SOFTWARE_KEYS: dict[str, Signer] = {alg: SigningKey.generate(alg) for alg in SUPPORTED_ALGORITHMS}
KEYS: dict[str, Signer] = SOFTWARE_KEYS
KEY_SET = KeySet.from_signing_keys(KEYS.values())
NOW = datetime(2026, 11, 23, 12, 0, 0, tzinfo=UTC)
SESSION_HASH = session_hash_from_exporter(bytes(range(32)))
OTHER_SESSION_HASH = session_hash_from_exporter(bytes(range(1, 33)))
ZURICH_HB = (47.378177, 8.540192)
BERN = (46.948833, 7.439122)
POSITION = StatementPosition(47.376888, 8.541694, 500)
ISSUER = "gmlc.example.net"
SUBJECT = "www.example.com"
# secp256r1 group order: (r, n - s) is as valid an ECDSA signature as (r, s).
P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def issue(alg: str = "ES256", **changes: Any) -> tuple[str, StatementClaims]:
    arguments: dict[str, Any] = {
        "key": KEYS[alg],
        "issuer": ISSUER,
        "subject": SUBJECT,
        "session_hash": SESSION_HASH,
        "positions": POSITION,
        "position_time": NOW - timedelta(seconds=20),
        "now": NOW,
        "validity_s": 60,
    }
    arguments.update(changes)
    return issue_statement(**arguments)


def verify(token: str, **changes: Any) -> Any:
    arguments: dict[str, Any] = {
        "issuers": [ISSUER],
        "subject": SUBJECT,
        "session_hash": SESSION_HASH,
        "proof": None,
        "now": NOW + timedelta(seconds=1),
        "max_position_age_s": 120,
    }
    arguments.update(changes)
    keys = arguments.pop("keys", KEY_SET)
    return verify_statement(token, keys, **arguments)


@pytest.fixture(autouse=True, scope="module", params=["software", "pkcs11"])
def signers(request: pytest.FixtureRequest) -> Iterator[str]:
    """Every test of this module once with in-process keys, once with keys in a token."""
    global KEYS, KEY_SET
    token = None
    if request.param == "pkcs11":
        from gmlc.hsm import Pkcs11Token

        hsm = request.getfixturevalue("softhsm")
        token = Pkcs11Token(hsm.module, hsm.token_label, hsm.pin)
        keys: dict[str, Signer] = {}
        for alg in SUPPORTED_ALGORITHMS:
            label = f"statement-{alg.lower()}"
            public = token.generate(alg, label)
            software_kid = SOFTWARE_KEYS[alg].kid
            keys[alg] = token.signer(label, kid=f"hsm-{software_kid}", alg=alg, public_key=public)
        KEYS, KEY_SET = keys, KeySet.from_signing_keys(keys.values())
    try:
        yield request.param
    finally:
        KEYS, KEY_SET = SOFTWARE_KEYS, KeySet.from_signing_keys(SOFTWARE_KEYS.values())
        if token is not None:
            token.close()


def resign(claims: object, *, alg: str = "ES256", header: dict[str, Any] | None = None) -> str:
    """A token with arbitrary claims, signed with a real key of the set."""
    key = KEYS[alg]
    headers = {"kid": key.kid, "typ": STATEMENT_TYP} if header is None else header
    protected = json.dumps({**headers, "alg": alg}, separators=(",", ":"), sort_keys=True)
    signing_input = (
        f"{b64url_encode(protected.encode())}.{b64url_encode(json.dumps(claims).encode())}"
    )
    return f"{signing_input}.{b64url_encode(key.sign(signing_input.encode()))}"


# --------------------------------------------------------------------------- session hash


def test_session_hash_is_sha256_of_prefix_and_exporter() -> None:
    exporter = bytes(range(32))

    assert (
        session_hash_from_exporter(exporter)
        == hashlib.sha256(b"SALVE-v1/session" + exporter).digest()
    )
    assert len(SESSION_HASH) == 32


@pytest.mark.parametrize("exporter", [b"", bytes(31), bytes(33), bytes(48)])
def test_session_hash_needs_a_32_byte_exporter(exporter: bytes) -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        session_hash_from_exporter(exporter)


def test_session_hash_refuses_text() -> None:
    with pytest.raises(TypeError):
        session_hash_from_exporter("0" * 32)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- round trip


@pytest.mark.parametrize("alg", SUPPORTED_ALGORITHMS)
def test_issue_and_verify_round_trip(alg: str) -> None:
    token, claims = issue(alg)

    verified = verify(token)

    assert verified.claims == claims
    assert verified.kid == KEYS[alg].kid
    assert verified.alg == alg
    assert verified.circles == (POSITION,)
    assert verified.proof is None
    assert verified.issued_at == NOW
    assert verified.expires_at == NOW + timedelta(seconds=60)
    assert verified.position_time == NOW - timedelta(seconds=20)
    assert verified.token == token


def test_header_and_claims_on_the_wire() -> None:
    token, claims = issue()

    assert api_jws.get_unverified_header(token) == {
        "alg": "ES256",
        "kid": KEYS["ES256"].kid,
        "typ": "salve-statement+jwt",
    }
    payload = json.loads(
        api_jws.decode_complete(token, options={"verify_signature": False})["payload"]
    )
    assert payload == {
        "iss": "gmlc.example.net",
        "sub": "www.example.com",
        "iat": int(NOW.timestamp()),
        "exp": int(NOW.timestamp()) + 60,
        "jti": claims.jti,
        "sbh": b64url_encode(SESSION_HASH),
        "pos": {"lat": 47.376888, "lon": 8.541694, "r": 500},
        "lt": int(NOW.timestamp()) - 20,
        "pm": "CELL",
    }
    assert len(claims.jti) == 16


def test_each_statement_has_a_fresh_jti() -> None:
    assert issue()[1].jti != issue()[1].jti


def test_mode_all_statement_lists_every_circle() -> None:
    circles = (POSITION, StatementPosition(46.948833, 7.439122, 1200))
    token, claims = issue(positions=circles)

    assert verify(token).circles == circles
    assert claims.to_claims()["pos"] == [
        {"lat": 47.376888, "lon": 8.541694, "r": 500},
        {"lat": 46.948833, "lon": 7.439122, "r": 1200},
    ]


def test_mode_all_with_one_sim_is_still_a_list() -> None:
    token, claims = issue(positions=[POSITION])

    assert claims.to_claims()["pos"] == [{"lat": 47.376888, "lon": 8.541694, "r": 500}]
    assert verify(token).circles == (POSITION,)


@pytest.mark.parametrize("subject", ["msisdn:41791234567", "imsi:228011234567890", "41791234567"])
def test_no_sim_identity_can_be_a_subject(subject: str) -> None:
    # The statement goes to every visitor of the site: its subject is a host name only.
    with pytest.raises(ValueError):
        issue(subject=subject)


def test_coordinates_are_rounded_to_six_decimals_and_radius_rounded_up() -> None:
    position = StatementPosition.from_circle(47.123456789, -8.987654321, 499.2)

    assert position == StatementPosition(47.123457, -8.987654, 500)


@pytest.mark.parametrize(
    "arguments",
    [(91.0, 0.0, 1), (0.0, 180.5, 1), (0.0, 0.0, -1), (0.0, 0.0, 1.5), (True, 0.0, 1)],
)
def test_position_out_of_range_is_refused(arguments: tuple[Any, Any, Any]) -> None:
    with pytest.raises(ValueError):
        StatementPosition(*arguments)


@pytest.mark.parametrize("count", [0, 65])
def test_mode_all_lists_1_to_64_circles(count: int) -> None:
    with pytest.raises(ValueError, match="positions"):
        issue(positions=[POSITION] * count)


@pytest.mark.parametrize(
    "changes",
    [
        {"session_hash": bytes(31)},
        {"validity_s": 0},
        {"validity_s": True},
        {"now": datetime(2026, 11, 23, 12, 0)},
        {"issuer": ""},
        {"issuer": "GMLC.example.net"},
        {"subject": "www.example.com."},
        {"subject": "www.example.com:443"},
        {"method": "CELL ID"},
        {"positions": (47.0, 8.0)},
        {"batch_size": 0},
        {"batch_size": 65537},
        {"batch_size": True},
    ],
    ids=repr,
)
def test_issue_refuses_bad_arguments(changes: dict[str, Any]) -> None:
    with pytest.raises((ValueError, TypeError)):
        issue(**changes)


# --------------------------------------------------------------------------- refusals


@pytest.mark.parametrize("alg", SUPPORTED_ALGORITHMS)
def test_tampered_payload_fails_the_signature(alg: str) -> None:
    token, claims = issue(alg)
    header, _, signature = token.split(".")
    tampered = claims.to_claims() | {"pos": {"lat": 46.948833, "lon": 7.439122, "r": 500}}
    payload = b64url_encode(json.dumps(tampered, separators=(",", ":")).encode())

    with pytest.raises(StatementSignatureError):
        verify(f"{header}.{payload}.{signature}")


def test_signature_of_another_key_with_the_same_kid_fails() -> None:
    impostor = SigningKey.generate("ES256", kid=KEYS["ES256"].kid)
    token, _ = issue(key=impostor)

    with pytest.raises(StatementSignatureError):
        verify(token)


def test_unknown_kid_is_refused() -> None:
    token, _ = issue(key=SigningKey.generate("ES256"))

    with pytest.raises(StatementUnknownKeyError):
        verify(token)


def _unsigned(header: dict[str, Any], claims: dict[str, Any], signature: bytes = b"") -> str:
    return ".".join(
        (
            b64url_encode(json.dumps(header).encode()),
            b64url_encode(json.dumps(claims).encode()),
            b64url_encode(signature),
        )
    )


@pytest.mark.parametrize("alg", ["none", "None", "HS256", "HS512", "RS256", "ES384", 5, None])
def test_refused_algorithms(alg: object) -> None:
    _, claims = issue()
    header = {"alg": alg, "kid": KEYS["ES256"].kid, "typ": STATEMENT_TYP}

    with pytest.raises((StatementAlgorithmError, StatementMalformedError)):
        verify(_unsigned(header, claims.to_claims()))


def test_none_and_hmac_are_algorithm_errors_even_for_a_known_kid() -> None:
    _, claims = issue()
    for alg in ("none", "HS256"):
        header = {"alg": alg, "kid": KEYS["ES256"].kid, "typ": STATEMENT_TYP}
        with pytest.raises(StatementAlgorithmError):
            verify(_unsigned(header, claims.to_claims()))


def test_hmac_forged_with_the_public_key_as_secret_is_refused() -> None:
    _, claims = issue()
    header = {"alg": "HS256", "kid": KEYS["ES256"].kid, "typ": STATEMENT_TYP}
    signing_input = ".".join(
        (
            b64url_encode(json.dumps(header).encode()),
            b64url_encode(json.dumps(claims.to_claims()).encode()),
        )
    )
    secret = json.dumps(KEYS["ES256"].verification_key().public_jwk()).encode()
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()

    with pytest.raises(StatementAlgorithmError):
        verify(f"{signing_input}.{b64url_encode(mac)}")


def test_algorithm_must_be_the_keys_own() -> None:
    # An EdDSA signature presented under the ES256 key's kid.
    _, claims = issue()
    token = resign(
        claims.to_claims(),
        alg="EdDSA",
        header={"kid": KEYS["ES256"].kid, "typ": STATEMENT_TYP},
    )

    with pytest.raises(StatementAlgorithmError, match="signs with ES256"):
        verify(token)


def test_binding_to_another_session_is_refused() -> None:
    token, _ = issue()

    with pytest.raises(StatementBindingError):
        verify(token, session_hash=OTHER_SESSION_HASH)


def test_issuer_not_named_by_the_policy_is_refused() -> None:
    token, _ = issue()

    with pytest.raises(StatementIssuerError):
        verify(token, issuers=["gmlc.example.org"])
    assert verify(token, issuers=["gmlc.example.org", ISSUER])


def test_subject_must_be_the_site_being_verified() -> None:
    token, _ = issue(subject="shop.example.com")

    with pytest.raises(StatementSubjectError):
        verify(token)


@pytest.mark.parametrize(
    "changes",
    [
        {"issuers": []},
        {"issuers": ISSUER},
        {"issuers": ["GMLC.example.net"]},
        {"subject": "WWW.example.com"},
        {"subject": "www.example.com."},
    ],
    ids=repr,
)
def test_expected_names_must_be_given_in_canonical_form(changes: dict[str, Any]) -> None:
    token, _ = issue()

    with pytest.raises(ValueError):
        verify(token, **changes)


def test_issuer_and_subject_cannot_be_left_out() -> None:
    token, _ = issue()

    with pytest.raises(TypeError):
        verify_statement(  # type: ignore[call-arg]
            token,
            KEY_SET,
            session_hash=SESSION_HASH,
            proof=None,
            now=NOW,
            max_position_age_s=60,
        )


def test_a_retired_key_verifies_only_statements_issued_before_its_until() -> None:
    token, claims = issue()
    key = KEY_SET.get(KEYS["ES256"].kid)
    assert key is not None
    before = KeySet([replace(key, until=claims.iat + 1)])
    at = KeySet([replace(key, until=claims.iat)])

    assert verify(token, keys=before)
    with pytest.raises(StatementKeyRetiredError):
        verify(token, keys=at)


def test_check_order_stale_before_binding() -> None:
    # A replayed old statement from another session is refused as stale first: each of
    # an attacker's moves meets its own reason, in the order of the client check.
    token, _ = issue(position_time=NOW - timedelta(seconds=600), validity_s=3600)

    with pytest.raises(StatementStalePositionError):
        verify(token, session_hash=OTHER_SESSION_HASH, max_position_age_s=60)


def test_check_order_issuer_before_expiry() -> None:
    token, _ = issue(validity_s=1)

    with pytest.raises(StatementIssuerError):
        verify(token, issuers=["gmlc.example.org"], now=NOW + timedelta(hours=1))


def test_es256_signature_malleability_does_not_change_the_statement_identity() -> None:
    # JWS allows (r, n - s) as well as (r, s): a second, valid byte string for the same
    # statement. A statement is identified by its jti, never by its signature bytes.
    token, claims = issue("ES256")
    header, payload, signature = token.split(".")
    raw = b64url_decode(signature)
    r, s_value = int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")
    flipped = r.to_bytes(32, "big") + (P256_ORDER - s_value).to_bytes(32, "big")
    assert decode_dss_signature(encode_dss_signature(r, P256_ORDER - s_value)) == (
        r,
        P256_ORDER - s_value,
    )
    twin = f"{header}.{payload}.{b64url_encode(flipped)}"

    assert twin != token
    assert verify(twin).claims.jti == verify(token).claims.jti == claims.jti


# --------------------------------------------------------------------------- batches


def test_batch_statement_verifies_with_each_clients_proof() -> None:
    hashes = [session_hash_from_exporter(bytes([i]) * 32) for i in range(7)]
    tree = MerkleTree(hashes)
    token, claims = issue(session_hash=tree.root, batch_size=tree.size)

    assert claims.to_claims()["bsz"] == 7
    for index, own in enumerate(hashes):
        verified = verify(token, session_hash=own, proof=tree.proof(index))
        assert verified.proof == tree.proof(index)


def test_batch_proof_of_another_leaf_is_a_binding_error() -> None:
    hashes = [session_hash_from_exporter(bytes([i]) * 32) for i in range(4)]
    tree = MerkleTree(hashes)
    token, _ = issue(session_hash=tree.root, batch_size=tree.size)

    with pytest.raises(StatementBindingError):
        verify(token, session_hash=hashes[0], proof=tree.proof(1))
    with pytest.raises(StatementBindingError):
        verify(token, session_hash=OTHER_SESSION_HASH, proof=tree.proof(0))


def test_batch_proof_must_carry_the_signed_size() -> None:
    # A front cannot claim a different tree shape than the one the GMLC signed.
    hashes = [session_hash_from_exporter(bytes([i]) * 32) for i in range(5)]
    tree = MerkleTree(hashes)
    token, _ = issue(session_hash=tree.root, batch_size=6)

    with pytest.raises(StatementBindingError, match="batch of 5"):
        verify(token, session_hash=hashes[4], proof=tree.proof(4))


def test_a_proof_comes_exactly_with_a_batch_statement() -> None:
    tree = MerkleTree([SESSION_HASH])
    single, _ = issue()
    batch, _ = issue(session_hash=tree.root, batch_size=1)

    with pytest.raises(StatementBindingError, match="came with a batch proof"):
        verify(single, proof=tree.proof(0))
    with pytest.raises(StatementBindingError, match="without its inclusion proof"):
        verify(batch)
    assert verify(batch, proof=tree.proof(0))


def test_expiry_with_leeway() -> None:
    token, _ = issue(validity_s=60)
    expiry = NOW + timedelta(seconds=60)

    assert verify(token, now=expiry + timedelta(seconds=4.9), leeway_s=5)
    with pytest.raises(StatementExpiredError):
        verify(token, now=expiry + timedelta(seconds=5), leeway_s=5)
    with pytest.raises(StatementExpiredError):
        verify(token, now=expiry, leeway_s=0)


def test_issued_in_the_future_beyond_skew_is_refused() -> None:
    token, _ = issue()

    assert verify(token, now=NOW - timedelta(seconds=5), leeway_s=5)
    with pytest.raises(StatementNotYetValidError, match="issued"):
        verify(token, now=NOW - timedelta(seconds=6), leeway_s=5)


def test_position_time_in_the_future_is_refused() -> None:
    _, claims = issue(validity_s=300)
    token = resign(claims.to_claims() | {"lt": claims.iat + 30})

    with pytest.raises(StatementNotYetValidError, match="position time"):
        verify(token)


def test_issuer_caps_a_position_time_after_the_issue_time() -> None:
    _, claims = issue(position_time=NOW + timedelta(seconds=30))

    assert claims.lt == claims.iat


def test_stale_position_is_refused() -> None:
    token, _ = issue(position_time=NOW - timedelta(seconds=100))

    assert verify(token, now=NOW, max_position_age_s=100, leeway_s=0)
    with pytest.raises(StatementStalePositionError):
        verify(token, now=NOW, max_position_age_s=99, leeway_s=0)


@pytest.mark.parametrize(
    "header",
    [
        {"typ": "JWT"},
        {"typ": "salve-observation+jwt"},
        {"typ": STATEMENT_TYP, "jku": "https://attacker.example/jwks.json"},
        {"typ": None},
    ],
    ids=repr,
)
def test_header_must_be_exactly_alg_kid_typ(header: dict[str, Any]) -> None:
    _, claims = issue()
    token = resign(claims.to_claims(), header={"kid": KEYS["ES256"].kid, **header})

    with pytest.raises(StatementMalformedError):
        verify(token)


def _claims_with(**changes: Any) -> dict[str, Any]:
    claims = issue()[1].to_claims()
    for name, value in changes.items():
        if value is ...:
            del claims[name]
        else:
            claims[name] = value
    return claims


@pytest.mark.parametrize(
    "claims",
    [
        _claims_with(extra=1),
        _claims_with(jti=...),
        _claims_with(sbh=...),
        _claims_with(iat="1795435200"),
        _claims_with(iat=True),
        _claims_with(exp=1.5),
        _claims_with(exp=0),
        _claims_with(lt=-1),
        _claims_with(sbh=b64url_encode(bytes(31))),
        _claims_with(sbh="not base64!"),
        _claims_with(sbh=b64url_encode(bytes(32)) + "="),
        _claims_with(pos={"lat": 47.0, "lon": 8.0}),
        _claims_with(pos={"lat": 47.0, "lon": 8.0, "r": 1.5}),
        _claims_with(pos={"lat": 47.0, "lon": 8.0, "r": True}),
        _claims_with(pos={"lat": "47", "lon": 8.0, "r": 1}),
        _claims_with(pos={"lat": 95.0, "lon": 8.0, "r": 1}),
        _claims_with(pos={"lat": 47.0, "lon": 8.0, "r": 1, "alt": 400}),
        _claims_with(pos={"poly": [[47.0, 8.0], [47.1, 8.0], [47.1, 8.1]]}),
        _claims_with(pos=[47.0, 8.0, 500]),
        _claims_with(pos=[]),
        _claims_with(pos=[{"lat": 47.0, "lon": 8.0, "r": 1}] * 65),
        _claims_with(bsz=0),
        _claims_with(bsz=65537),
        _claims_with(bsz=None),
        _claims_with(bsz="3"),
        _claims_with(jti="short"),
        _claims_with(pm=""),
        _claims_with(pm=5),
        _claims_with(iss=""),
        _claims_with(iss="GMLC.example.net"),
        _claims_with(sub=None),
        _claims_with(sub="msisdn:41791234567"),
        _claims_with(sub="www.example.com."),
    ],
    ids=lambda claims: repr(claims)[:60],
)
def test_malformed_claims_are_refused(claims: dict[str, Any]) -> None:
    with pytest.raises(StatementMalformedError):
        verify(resign(claims))


@pytest.mark.parametrize(
    "token",
    ["", "a.b", "a.b.c", "....", "x" * 9000, "eyJ9.e30.AA", 12],
    ids=lambda t: repr(t)[:20],
)
def test_malformed_tokens_are_refused(token: Any) -> None:
    with pytest.raises(StatementMalformedError):
        verify(token)


@pytest.mark.parametrize(
    "changes",
    [
        {"session_hash": b"short"},
        {"now": datetime(2026, 11, 23, 12, 0)},
        {"max_position_age_s": -1},
        {"leeway_s": float("nan")},
    ],
    ids=repr,
)
def test_verify_refuses_bad_arguments(changes: dict[str, Any]) -> None:
    token, _ = issue()

    with pytest.raises(ValueError):
        verify(token, **changes)


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.text(max_size=300),
        st.lists(st.text(alphabet="AZaz09-_=", max_size=80), min_size=3, max_size=3).map(".".join),
        st.tuples(st.binary(max_size=80), st.binary(max_size=200), st.binary(max_size=80)).map(
            lambda parts: ".".join(b64url_encode(part) for part in parts)
        ),
    )
)
def test_garbage_raises_only_statement_errors(token: str) -> None:
    with pytest.raises(StatementError):
        verify(token)


def test_errors_belong_to_the_mlp_tree() -> None:
    for error in (
        StatementMalformedError,
        StatementAlgorithmError,
        StatementUnknownKeyError,
        StatementSignatureError,
        StatementExpiredError,
        StatementNotYetValidError,
        StatementStalePositionError,
        StatementBindingError,
        StatementIssuerError,
        StatementSubjectError,
        StatementKeyRetiredError,
    ):
        assert issubclass(error, StatementError)
    assert issubclass(StatementError, MlpError)


# --------------------------------------------------------------------------- geometry


def test_great_circle_distance_zurich_to_bern() -> None:
    # About 95.5 km between Zürich HB and Bern station.
    assert 95_000 < great_circle_distance_m(*ZURICH_HB, *BERN) < 96_000
    assert great_circle_distance_m(*ZURICH_HB, *ZURICH_HB) == 0
    assert 20_015_000 < great_circle_distance_m(0.0, 0.0, 0.0, 180.0) < 20_016_000


def test_max_distance_counts_the_radius() -> None:
    circle = StatementPosition(*ZURICH_HB, 500)

    assert circle.max_distance_m(*ZURICH_HB) == 500
    to_bern = great_circle_distance_m(*ZURICH_HB, *BERN)
    assert circle.max_distance_m(*BERN) == pytest.approx(to_bern + 500)


# --------------------------------------------------------------------------- size


def _realistic(alg: str) -> str:
    return issue(alg, positions=StatementPosition(47.376888, 8.541694, 750))[0]


@pytest.mark.parametrize("alg", SUPPORTED_ALGORITHMS)
def test_statement_size(alg: str) -> None:
    token = _realistic(alg)
    print(f"{alg} statement: {len(token)} bytes")  # shown with pytest -rP

    if alg in ("ES256", "EdDSA"):
        # The published SALVE prototype's statement is 490 bytes.
        assert len(token) < 490
    else:
        assert len(token) < 800


# --------------------------------------------------------------------------- interoperability


@pytest.mark.parametrize("alg", SUPPORTED_ALGORITHMS)
def test_statement_verifies_with_plain_pyjwt_and_the_published_jwk(alg: str) -> None:
    token, claims = issue(alg)
    jwk = KeySet.from_jwks(KEY_SET.to_jwks()).to_jwks()["keys"][list(KEYS).index(alg)]

    decoded = jwt.decode(
        token,
        key=jwt.PyJWK(jwk),
        algorithms=[alg],
        issuer=ISSUER,
        options={"verify_exp": False, "verify_iat": False},
    )

    assert decoded == claims.to_claims()


@settings(max_examples=150, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
        lambda children: (
            st.lists(children, max_size=4)
            | st.dictionaries(st.text(max_size=5), children, max_size=4)
        ),
        max_leaves=16,
    )
)
def test_arbitrary_signed_json_raises_only_statement_errors(claims: object) -> None:
    with pytest.raises(StatementError):
        verify(resign(claims))
