"""Location statements: issue, verify, each refusal, geometry, size and speed."""

from __future__ import annotations

import hashlib
import hmac
import json
import timeit
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jwt import api_jws

from mlp.errors import MlpError
from mlp.keys import SUPPORTED_ALGORITHMS, KeySet, SigningKey, b64url_encode
from mlp.statement import (
    STATEMENT_TYP,
    StatementAlgorithmError,
    StatementBindingError,
    StatementClaims,
    StatementError,
    StatementExpiredError,
    StatementIssuerError,
    StatementMalformedError,
    StatementNotYetValidError,
    StatementPolygon,
    StatementPosition,
    StatementSignatureError,
    StatementStalePositionError,
    StatementUnknownKeyError,
    great_circle_distance_m,
    issue_statement,
    session_hash_from_exporter,
    verify_statement,
)

KEYS: dict[str, SigningKey] = {alg: SigningKey.generate(alg) for alg in SUPPORTED_ALGORITHMS}
KEY_SET = KeySet.from_signing_keys(KEYS.values())
NOW = datetime(2026, 11, 23, 12, 0, 0, tzinfo=UTC)
SESSION_HASH = session_hash_from_exporter(bytes(range(32)))
OTHER_SESSION_HASH = session_hash_from_exporter(bytes(range(1, 33)))
ZURICH_HB = (47.378177, 8.540192)
BERN = (46.948833, 7.439122)
POSITION = StatementPosition(47.376888, 8.541694, 500)


def issue(alg: str = "ES256", **changes: Any) -> tuple[str, StatementClaims]:
    arguments: dict[str, Any] = {
        "key": KEYS[alg],
        "issuer": "gmlc.example.net",
        "subject": "msisdn:41791234567",
        "session_hash": SESSION_HASH,
        "position": POSITION,
        "position_time": NOW - timedelta(seconds=20),
        "now": NOW,
        "validity_s": 60,
    }
    arguments.update(changes)
    return issue_statement(**arguments)


def verify(token: str, **changes: Any) -> Any:
    arguments: dict[str, Any] = {
        "session_hash": SESSION_HASH,
        "now": NOW + timedelta(seconds=1),
        "max_position_age_s": 120,
    }
    arguments.update(changes)
    return verify_statement(token, KEY_SET, **arguments)


def resign(claims: object, *, alg: str = "ES256", header: dict[str, Any] | None = None) -> str:
    """A token with arbitrary claims, signed with a real key of the set."""
    key = KEYS[alg]
    headers = {"kid": key.kid, "typ": STATEMENT_TYP} if header is None else header
    return api_jws.encode(
        json.dumps(claims).encode(), key.private_key, algorithm=alg, headers=headers
    )


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

    verified = verify(token, issuer="gmlc.example.net")

    assert verified.claims == claims
    assert verified.kid == KEYS[alg].kid
    assert verified.alg == alg
    assert verified.position == POSITION
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
        "sub": "msisdn:41791234567",
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


def test_polygon_statement_round_trips() -> None:
    polygon = StatementPolygon(((47.0, 8.0), (47.0, 8.01), (47.01, 8.01), (47.01, 8.0)))
    token, claims = issue(position=polygon)

    assert verify(token).position == polygon
    assert claims.to_claims()["pos"] == {
        "poly": [[47.0, 8.0], [47.0, 8.01], [47.01, 8.01], [47.01, 8.0]]
    }


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


@pytest.mark.parametrize("count", [0, 2, 16])
def test_polygon_needs_3_to_15_points(count: int) -> None:
    with pytest.raises(ValueError, match="3-15 points"):
        StatementPolygon(tuple((47.0, 8.0 + i / 100) for i in range(count)))


@pytest.mark.parametrize(
    "changes",
    [
        {"session_hash": bytes(31)},
        {"validity_s": 0},
        {"validity_s": True},
        {"now": datetime(2026, 11, 23, 12, 0)},
        {"issuer": ""},
        {"method": "CELL ID"},
        {"position": (47.0, 8.0)},
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
    secret = json.dumps(KEYS["ES256"].public_jwk()).encode()
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


def test_issuer_mismatch_is_refused() -> None:
    token, _ = issue()

    with pytest.raises(StatementIssuerError):
        verify(token, issuer="gmlc.example.org")


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
        _claims_with(pos={"poly": [[47.0, 8.0], [47.1, 8.0]]}),
        _claims_with(pos={"poly": [[47.0, 8.0, 1], [47.1, 8.0], [47.1, 8.1]]}),
        _claims_with(pos=[47.0, 8.0, 500]),
        _claims_with(pm=""),
        _claims_with(pm=5),
        _claims_with(iss=""),
        _claims_with(sub=None),
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
    ):
        assert issubclass(error, StatementError)
    assert issubclass(StatementError, MlpError)


# --------------------------------------------------------------------------- geometry


def test_great_circle_distance_zurich_to_bern() -> None:
    # About 95.5 km between Zürich HB and Bern station.
    assert 95_000 < great_circle_distance_m(*ZURICH_HB, *BERN) < 96_000
    assert great_circle_distance_m(*ZURICH_HB, *ZURICH_HB) == 0
    assert 20_015_000 < great_circle_distance_m(0.0, 0.0, 0.0, 180.0) < 20_016_000


def test_distance_counts_the_radius_against_the_statement() -> None:
    token, _ = issue(position=StatementPosition(*ZURICH_HB, 500))
    verified = verify(token)

    assert verified.distance_to(*ZURICH_HB) == 500
    assert verified.within(*ZURICH_HB, 500)
    assert not verified.within(*ZURICH_HB, 499)
    to_bern = great_circle_distance_m(*ZURICH_HB, *BERN)
    assert verified.distance_to(*BERN) == pytest.approx(to_bern + 500)
    assert verified.within(*BERN, to_bern + 501)
    assert not verified.within(*BERN, to_bern + 499)


def test_polygon_distance_is_to_the_farthest_vertex() -> None:
    polygon = StatementPolygon(((47.0, 8.0), (47.0, 8.01), (47.01, 8.0)))
    token, _ = issue(position=polygon)
    verified = verify(token)
    farthest = great_circle_distance_m(47.0, 8.0, 47.01, 8.0)
    assert farthest > great_circle_distance_m(47.0, 8.0, 47.0, 8.01)

    assert verified.distance_to(47.0, 8.0) == pytest.approx(farthest)
    assert verified.within(47.0, 8.0, farthest + 1)
    assert not verified.within(47.0, 8.0, farthest - 1)


def test_within_refuses_bad_arguments() -> None:
    verified = verify(issue()[0])

    with pytest.raises(ValueError):
        verified.within(100.0, 8.0, 10)
    with pytest.raises(ValueError):
        verified.within(47.0, 8.0, -1)


# --------------------------------------------------------------------------- size and speed


def _realistic(alg: str) -> str:
    return issue(alg, position=StatementPosition(47.376888, 8.541694, 750))[0]


@pytest.mark.parametrize("alg", SUPPORTED_ALGORITHMS)
def test_statement_size(alg: str) -> None:
    token = _realistic(alg)
    print(f"{alg} statement: {len(token)} bytes")  # shown with pytest -rP

    if alg in ("ES256", "EdDSA"):
        # The published SALVE prototype's statement is 490 bytes.
        assert len(token) < 490
    else:
        assert len(token) < 800


@pytest.mark.parametrize("alg", SUPPORTED_ALGORITHMS)
def test_sign_and_verify_speed(alg: str) -> None:
    token = _realistic(alg)
    rounds = 50
    verify_us = min(timeit.repeat(lambda: verify(token), number=rounds, repeat=3)) / rounds * 1e6
    sign_us = min(timeit.repeat(lambda: _realistic(alg), number=10, repeat=3)) / 10 * 1e6
    print(f"{alg}: sign {sign_us:.0f} us, verify {verify_us:.0f} us")  # shown with pytest -rP

    # Generous bound: a regression such as re-parsing keys per call would still be
    # far below it; the point is that the figures get measured and recorded.
    assert verify_us < 20_000


# --------------------------------------------------------------------------- interoperability


@pytest.mark.parametrize("alg", SUPPORTED_ALGORITHMS)
def test_statement_verifies_with_plain_pyjwt_and_the_published_jwk(alg: str) -> None:
    token, claims = issue(alg)
    jwk = KeySet.from_jwks(KEY_SET.to_jwks()).to_jwks()["keys"][list(KEYS).index(alg)]

    decoded = jwt.decode(
        token,
        key=jwt.PyJWK(jwk),
        algorithms=[alg],
        issuer="gmlc.example.net",
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
