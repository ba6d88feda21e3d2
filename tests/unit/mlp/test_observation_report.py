"""Observation reports: round trip, strict schema, header rules, signatures, garbage."""

from __future__ import annotations

import copy
import json
import math
import re
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st
from jwt import api_jws

from mlp.errors import MlpError
from mlp.keys import b64url_encode
from mlp.observation import (
    CLAIM_RANGES,
    MAX_NEIGHBOURS,
    OBSERVATION_TYP,
    ObservationError,
    ObservationMalformedError,
    ObservationRangeError,
    ObservationReport,
    ObservationSignatureError,
    ReportCell,
    ReportDomain,
    ReportModem,
    ReportRegistration,
    ReportSignal,
    ReportSim,
    decode_public_key,
    encode_public_key,
    peek_appliance_id,
    registration_state,
    sign_observation,
    verify_observation,
)

APPLIANCE_KEY = Ed25519PrivateKey.generate()
OTHER_KEY = Ed25519PrivateKey.generate()


def make_report(**changes: Any) -> ObservationReport:
    values: dict[str, Any] = {
        "appliance": "dc1-rack7.app_01",
        "seq": 42,
        "observed_at": 1_795_435_200,
        "sim": ReportSim(imsi="228011234567890", iccid="89410112345678901234", msisdn=None),
        "modem": ReportModem(manufacturer="Quectel", model="EC25", revision="EC25EFAR06A06M4G"),
        "registration": ReportRegistration.from_domains(
            [
                ReportDomain("CREG", stat=1, lac=0x1A2B, ci=0x00C3_5F01, act=7),
                ReportDomain("CEREG", stat=1, tac=0x1A2B, ci=0x00C3_5F01, act=7),
            ],
            rat="LTE",
        ),
        "serving": ReportCell(
            rat="LTE",
            mcc="228",
            mnc="01",
            tac=6699,
            ci=12803841,
            pci=301,
            earfcn=1300,
            band=3,
            rsrp=-95.0,
            rsrq=-11,
            rssi=-65.5,
            sinr=12.4,
        ),
        "neighbours": (
            ReportCell(rat="LTE", pci=12, earfcn=1300, rsrp=-101.0, rsrq=-14.5),
            ReportCell(rat="GSM", arfcn=62, rssi=-80),
        ),
        "signal": ReportSignal(rssi=-65.5, rsrp=-95.0, rsrq=-11.0, sinr=12.4),
    }
    values.update(changes)
    return ObservationReport(**values)


def sign_claims(claims: object, *, header: dict[str, Any] | None = None) -> str:
    """A token with arbitrary claims and header, signed by hand with the appliance key."""
    if header is None:
        header = {"alg": "EdDSA", "kid": "dc1-rack7.app_01", "typ": OBSERVATION_TYP}
    return sign_raw(json.dumps(header).encode(), json.dumps(claims).encode())


def sign_raw(header: bytes, payload: bytes, key: Ed25519PrivateKey = APPLIANCE_KEY) -> str:
    signing_input = f"{b64url_encode(header)}.{b64url_encode(payload)}"
    return f"{signing_input}.{b64url_encode(key.sign(signing_input.encode()))}"


GOOD_HEADER = json.dumps({"alg": "EdDSA", "kid": "dc1-rack7.app_01", "typ": OBSERVATION_TYP})


def test_round_trip_preserves_every_field() -> None:
    report = make_report()
    token = sign_observation(report, APPLIANCE_KEY)

    assert peek_appliance_id(token) == "dc1-rack7.app_01"
    assert verify_observation(token, APPLIANCE_KEY.public_key()) == report
    assert ObservationReport.from_claims(report.to_claims()) == report


def test_header_is_exactly_alg_typ_kid() -> None:
    token = sign_observation(make_report(), APPLIANCE_KEY)

    assert api_jws.get_unverified_header(token) == {
        "alg": "EdDSA",
        "typ": "salve-observation+jwt",
        "kid": "dc1-rack7.app_01",
    }


def test_claims_carry_every_member_with_nulls() -> None:
    claims = make_report(serving=None, neighbours=()).to_claims()

    assert claims["serving"] is None
    assert claims["neighbours"] == []
    assert claims["sim"] == {
        "imsi": "228011234567890",
        "iccid": "89410112345678901234",
        "msisdn": None,
    }
    assert set(claims["signal"]) == {"rssi", "rsrp", "rsrq", "sinr", "rscp", "ecno"}
    assert claims["registration"]["domains"][1] == {
        "domain": "CEREG",
        "stat": 1,
        "lac": None,
        "tac": 0x1A2B,
        "ci": 0x00C3_5F01,
        "act": 7,
    }


@pytest.mark.parametrize(
    ("stats", "state"),
    [
        ((1,), "home"),
        ((6,), "home"),
        ((9,), "home"),
        ((5,), "roaming"),
        ((7,), "roaming"),
        ((10,), "roaming"),
        ((2,), "searching"),
        ((3,), "denied"),
        ((0,), "not_registered"),
        ((8,), "emergency_only"),
        ((4,), "unknown"),
        ((11,), "unknown"),
        ((None,), "unknown"),
        ((), "unknown"),
        ((0, 2, 5), "roaming"),
        ((3, 1), "home"),
        ((0, 8), "emergency_only"),
    ],
)
def test_registration_state_comes_from_the_best_record(
    stats: tuple[int | None, ...], state: str
) -> None:
    domains = [ReportDomain("CEREG", stat=stat) for stat in stats]

    assert registration_state(domains) == state


# --------------------------------------------------------------------------- strictness


def _claims() -> dict[str, Any]:
    return copy.deepcopy(make_report().to_claims())


def _set(claims: dict[str, Any], path: tuple[Any, ...], value: Any) -> None:
    target: Any = claims
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value


def _delete(claims: dict[str, Any], path: tuple[Any, ...]) -> None:
    target: Any = claims
    for step in path[:-1]:
        target = target[step]
    del target[path[-1]]


OBJECT_PATHS = [
    (),
    ("sim",),
    ("modem",),
    ("registration",),
    ("registration", "domains", 0),
    ("serving",),
    ("neighbours", 1),
    ("signal",),
]


@pytest.mark.parametrize("path", OBJECT_PATHS, ids=lambda p: ".".join(map(str, p)) or "top")
def test_unknown_member_is_rejected_at_every_level(path: tuple[Any, ...]) -> None:
    claims = _claims()
    _set(claims, (*path, "extra"), None)
    token = sign_claims(claims)

    with pytest.raises(ObservationMalformedError, match="unknown members \\['extra'\\]"):
        verify_observation(token, APPLIANCE_KEY.public_key())


@pytest.mark.parametrize(
    "path",
    [
        ("seq",),
        ("sim", "msisdn"),
        ("modem", "imei"),
        ("registration", "rat"),
        ("registration", "domains", 0, "act"),
        ("serving", "ecio"),
        ("neighbours", 0, "rat"),
        ("signal", "ecno"),
        ("neighbours",),
    ],
)
def test_missing_member_is_rejected(path: tuple[Any, ...]) -> None:
    claims = _claims()
    _delete(claims, path)

    with pytest.raises(ObservationMalformedError, match="missing members"):
        ObservationReport.from_claims(claims)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("seq",), True),
        (("seq",), 0),
        (("seq",), -3),
        (("seq",), 1.0),
        (("seq",), "5"),
        (("observed_at",), False),
        (("observed_at",), -1),
        (("observed_at",), 1.5),
        (("appliance",), ""),
        (("appliance",), "a" * 65),
        (("appliance",), "rack 7"),
        (("appliance",), "rack/7"),
        (("appliance",), 7),
        (("sim",), None),
        (("sim",), []),
        (("sim", "imsi"), "22801"),
        (("sim", "imsi"), "2280112345678901"),
        (("sim", "imsi"), 228011234567890),
        (("sim", "iccid"), "8941011234567890123F"),
        (("sim", "iccid"), "89410112345678901"),
        (("sim", "msisdn"), ""),
        (("sim", "msisdn"), 41791234567),
        (("modem", "model"), "\x00EC25"),
        (("modem", "imei"), 356938035643809),
        (("registration", "state"), "registered"),
        (("registration", "state"), None),
        (("registration", "rat"), "LTE-A"),
        (("registration", "rat"), "lte"),
        (("registration", "domains"), {}),
        (("registration", "domains"), [{"domain": "CREG"}]),
        (("registration", "domains", 0, "domain"), "COPS"),
        (("registration", "domains", 0, "stat"), True),
        (("registration", "domains", 0, "stat"), "1"),
        (("registration", "domains", 0, "lac"), 1.0),
        (("serving",), []),
        (("serving",), "none"),
        (("serving", "mcc"), "22"),
        (("serving", "mcc"), 228),
        (("serving", "mnc"), "1"),
        (("serving", "mnc"), "0001"),
        (("serving", "pci"), True),
        (("serving", "pci"), -1),
        (("serving", "ci"), 2**53),
        (("serving", "rsrp"), True),
        (("serving", "rsrp"), "-95"),
        (("serving", "rat"), "5G"),
        (("neighbours",), None),
        (("neighbours",), {}),
        (("neighbours", 0), None),
        (("neighbours", 0, "earfcn"), 1300.5),
        (("signal",), None),
        (("signal", "rssi"), False),
        (("signal", "sinr"), [1]),
    ],
    ids=lambda v: repr(v)[:40],
)
def test_wrong_type_or_value_is_rejected(path: tuple[Any, ...], value: Any) -> None:
    claims = _claims()
    _set(claims, path, value)

    with pytest.raises(ObservationMalformedError):
        ObservationReport.from_claims(claims)
    with pytest.raises(ObservationMalformedError):
        verify_observation(sign_claims(claims), APPLIANCE_KEY.public_key())


def test_at_most_32_neighbours() -> None:
    cell = ReportCell(rat="LTE", pci=1, earfcn=1300)
    assert len(make_report(neighbours=(cell,) * MAX_NEIGHBOURS).neighbours) == MAX_NEIGHBOURS

    with pytest.raises(ObservationMalformedError, match="more than 32"):
        make_report(neighbours=(cell,) * (MAX_NEIGHBOURS + 1))
    claims = _claims()
    claims["neighbours"] = [claims["neighbours"][0]] * (MAX_NEIGHBOURS + 1)
    with pytest.raises(ObservationMalformedError, match="more than 32"):
        verify_observation(sign_claims(claims), APPLIANCE_KEY.public_key())


def test_constructors_refuse_non_sequences() -> None:
    with pytest.raises(ObservationMalformedError, match="neighbours"):
        make_report(neighbours=None)
    with pytest.raises(ObservationMalformedError, match="domains"):
        ReportRegistration(state="home", domains=None)  # type: ignore[arg-type]
    with pytest.raises(ObservationMalformedError, match="serving"):
        make_report(serving={"rat": "LTE"})


def test_non_finite_numbers_are_rejected() -> None:
    with pytest.raises(ObservationMalformedError, match="finite"):
        ReportSignal(rsrp=float("nan"))
    claims_text = json.dumps(_claims()).replace('"rsrp": -95.0', '"rsrp": NaN', 1)
    token = sign_raw(GOOD_HEADER.encode(), claims_text.encode())

    with pytest.raises(ObservationMalformedError, match="NaN"):
        verify_observation(token, APPLIANCE_KEY.public_key())


def test_duplicate_json_member_is_rejected() -> None:
    text = json.dumps(_claims())
    text = text.replace('"seq": 42', '"seq": 42, "seq": 43', 1)
    token = sign_raw(GOOD_HEADER.encode(), text.encode())

    with pytest.raises(ObservationMalformedError, match="duplicate"):
        verify_observation(token, APPLIANCE_KEY.public_key())


def test_claims_that_are_not_an_object_are_rejected() -> None:
    with pytest.raises(ObservationMalformedError, match="not an object"):
        verify_observation(sign_claims([1, 2]), APPLIANCE_KEY.public_key())


# --------------------------------------------------------------------------- header


@pytest.mark.parametrize(
    ("header", "match"),
    [
        ({"alg": "EdDSA", "kid": "dc1-rack7.app_01", "typ": "JWT"}, "typ"),
        ({"alg": "EdDSA", "kid": "dc1-rack7.app_01", "typ": "salve-statement+jwt"}, "typ"),
        ({"alg": "EdDSA", "kid": "dc1-rack7.app_01"}, "exactly"),
        ({"alg": "EdDSA", "kid": "dc1-rack7.app_01", "typ": OBSERVATION_TYP, "jwk": {}}, "exactly"),
        ({"alg": "EdDSA", "typ": OBSERVATION_TYP}, "exactly"),
        ({"alg": "EdDSA", "kid": "dc1 rack7", "typ": OBSERVATION_TYP}, "kid"),
        ({"alg": "EdDSA", "kid": "", "typ": OBSERVATION_TYP}, "kid"),
        ({"alg": "EdDSA", "kid": 7, "typ": OBSERVATION_TYP}, "kid"),
        ({"alg": "Ed25519", "kid": "dc1-rack7.app_01", "typ": OBSERVATION_TYP}, "alg"),
    ],
)
def test_bad_header_is_rejected(header: dict[str, Any], match: str) -> None:
    token = sign_claims(_claims(), header=header)

    with pytest.raises(ObservationMalformedError, match=match):
        peek_appliance_id(token)
    with pytest.raises(ObservationMalformedError, match=match):
        verify_observation(token, APPLIANCE_KEY.public_key())


@pytest.mark.parametrize("alg", ["ES256", "HS256", "none"])
def test_other_algorithms_are_rejected(alg: str) -> None:
    header = b64url_encode(
        json.dumps({"alg": alg, "kid": "dc1-rack7.app_01", "typ": OBSERVATION_TYP}).encode()
    )
    payload = b64url_encode(json.dumps(_claims()).encode())
    token = f"{header}.{payload}.{b64url_encode(b'x' * 64)}"

    with pytest.raises(ObservationMalformedError, match="alg"):
        verify_observation(token, APPLIANCE_KEY.public_key())


def test_kid_must_equal_appliance_claim() -> None:
    header = {"alg": "EdDSA", "kid": "another-box", "typ": OBSERVATION_TYP}
    token = sign_claims(_claims(), header=header)

    assert peek_appliance_id(token) == "another-box"
    with pytest.raises(ObservationMalformedError, match="differs from the header kid"):
        verify_observation(token, APPLIANCE_KEY.public_key())


# --------------------------------------------------------------------------- signatures


def test_token_signed_by_another_key_is_rejected() -> None:
    token = sign_observation(make_report(), OTHER_KEY)

    with pytest.raises(ObservationSignatureError):
        verify_observation(token, APPLIANCE_KEY.public_key())


def test_altered_payload_breaks_the_signature() -> None:
    token = sign_observation(make_report(), APPLIANCE_KEY)
    header, _, signature = token.split(".")
    forged_claims = make_report(seq=43).to_claims()
    forged = f"{header}.{b64url_encode(json.dumps(forged_claims).encode())}.{signature}"

    with pytest.raises(ObservationSignatureError):
        verify_observation(forged, APPLIANCE_KEY.public_key())


def test_truncated_signature_is_rejected() -> None:
    token = sign_observation(make_report(), APPLIANCE_KEY)
    header, payload, _ = token.split(".")
    shorter = b64url_encode(b"\x00" * 63)

    with pytest.raises(ObservationSignatureError):
        verify_observation(f"{header}.{payload}.{shorter}", APPLIANCE_KEY.public_key())


def test_verify_refuses_a_key_of_another_type() -> None:
    token = sign_observation(make_report(), APPLIANCE_KEY)

    with pytest.raises(TypeError):
        verify_observation(token, APPLIANCE_KEY)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- public keys


def test_public_key_encoding_round_trips() -> None:
    text = encode_public_key(APPLIANCE_KEY.public_key())

    assert len(text) == 43
    assert "=" not in text
    assert encode_public_key(decode_public_key(text)) == text


@pytest.mark.parametrize(
    "text", ["", "abc", b64url_encode(b"\x01" * 31), b64url_encode(b"\x01" * 33), "A" * 42 + "=", 5]
)
def test_bad_public_key_text_is_rejected(text: Any) -> None:
    with pytest.raises(ObservationMalformedError):
        decode_public_key(text)


# --------------------------------------------------------------------------- garbage


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.text(max_size=200),
        st.lists(st.text(alphabet="AZaz09-_=.", max_size=60), min_size=1, max_size=4).map(".".join),
        st.binary(max_size=120).map(
            lambda raw: f"{b64url_encode(raw)}.{b64url_encode(raw[::-1])}.{b64url_encode(raw)}"
        ),
    )
)
def test_garbage_raises_only_observation_errors(token: str) -> None:
    with pytest.raises(ObservationError):
        peek_appliance_id(token)
    with pytest.raises(ObservationError):
        verify_observation(token, APPLIANCE_KEY.public_key())


@settings(max_examples=200, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
        lambda children: (
            st.lists(children, max_size=4)
            | st.dictionaries(st.text(max_size=8), children, max_size=4)
        ),
        max_leaves=20,
    )
)
def test_arbitrary_signed_json_raises_only_observation_errors(claims: object) -> None:
    token = sign_claims(claims)

    with pytest.raises(ObservationError):
        verify_observation(token, APPLIANCE_KEY.public_key())


def test_errors_belong_to_the_mlp_tree() -> None:
    assert issubclass(ObservationMalformedError, ObservationError)
    assert issubclass(ObservationSignatureError, ObservationError)
    assert issubclass(ObservationError, MlpError)


# --------------------------------------------------------------------------- property


def _optional(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | strategy


def _claim(path: str) -> st.SearchStrategy[Any]:
    """Any value inside the claim's range (the whole range, bounds included)."""
    low, high = CLAIM_RANGES[path]
    integers = st.integers(math.ceil(low), math.floor(high))
    if isinstance(low, int) and isinstance(high, int):
        return integers
    return st.floats(low, high, allow_nan=False) | integers


_RAT = st.sampled_from(["GSM", "UMTS", "LTE", "LTE-M", "NB-IoT", "NR"])
_TEXT = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1)
_CELL_CLAIMS = ("lac", "tac", "ci", "pci", "arfcn", "earfcn", "uarfcn", "psc", "band")
_CELL_LEVELS = ("rsrp", "rsrq", "rssi", "sinr", "rscp", "ecio")

_CELLS = st.builds(
    ReportCell,
    rat=_optional(_RAT),
    mcc=_optional(st.from_regex(r"[0-9]{3}", fullmatch=True)),
    mnc=_optional(st.from_regex(r"[0-9]{2,3}", fullmatch=True)),
    **{name: _optional(_claim(f"cell.{name}")) for name in _CELL_CLAIMS + _CELL_LEVELS},
)
_REPORTS = st.builds(
    ObservationReport,
    appliance=st.from_regex(r"[A-Za-z0-9._-]{1,64}", fullmatch=True),
    seq=_claim("seq"),
    observed_at=_claim("observed_at"),
    sim=st.builds(
        ReportSim,
        imsi=st.from_regex(r"[0-9]{6,15}", fullmatch=True),
        iccid=st.from_regex(r"[0-9]{18,22}", fullmatch=True),
        msisdn=_optional(_TEXT.map(lambda text: text[:128])),
    ),
    modem=st.builds(ReportModem, model=_optional(_TEXT.map(lambda text: text[:128]))),
    registration=st.builds(
        ReportRegistration.from_domains,
        st.lists(
            st.builds(
                ReportDomain,
                domain=st.sampled_from(["CREG", "CGREG", "CEREG", "C5GREG"]),
                **{
                    name: _optional(_claim(f"registration.domains.{name}"))
                    for name in ("stat", "lac", "tac", "ci", "act")
                },
            ),
            max_size=4,
        ),
        rat=_optional(_RAT),
    ),
    serving=_optional(_CELLS),
    neighbours=st.lists(_CELLS, max_size=MAX_NEIGHBOURS).map(tuple),
    signal=st.builds(
        ReportSignal,
        **{
            name: _optional(_claim(f"signal.{name}"))
            for name in ("rssi", "rsrp", "rsrq", "sinr", "rscp", "ecno")
        },
    ),
)


@settings(max_examples=60, deadline=None)
@given(_REPORTS)
def test_any_valid_report_survives_signing_and_verification(report: ObservationReport) -> None:
    token = sign_observation(report, APPLIANCE_KEY)

    assert peek_appliance_id(token) == report.appliance
    assert verify_observation(token, APPLIANCE_KEY.public_key()) == report


# --------------------------------------------------------------------------- ranges


def _claim_path(path: str) -> tuple[Any, ...]:
    """The claims-object path of a CLAIM_RANGES key, in the report built by make_report."""
    parts = path.split(".")
    if parts[0] == "cell":
        return ("serving", parts[1])
    if parts[0] == "registration":
        return ("registration", "domains", 0, parts[2])
    return tuple(parts)


@pytest.mark.parametrize("path", sorted(CLAIM_RANGES))
@pytest.mark.parametrize("side", ["below", "above"])
def test_a_signed_claim_outside_its_range_is_refused(path: str, side: str) -> None:
    low, high = CLAIM_RANGES[path]
    step = 1 if isinstance(low, int) and isinstance(high, int) else 0.5
    value = low - step if side == "below" else high + step
    claims = _claims()
    _set(claims, _claim_path(path), value)

    with pytest.raises(ObservationRangeError, match=re.escape(path)):
        verify_observation(sign_claims(claims), APPLIANCE_KEY.public_key())


@pytest.mark.parametrize("path", sorted(CLAIM_RANGES))
def test_a_claim_at_either_bound_is_accepted(path: str) -> None:
    for bound in CLAIM_RANGES[path]:
        claims = _claims()
        _set(claims, _claim_path(path), bound)
        report = verify_observation(sign_claims(claims), APPLIANCE_KEY.public_key())
        assert report.to_claims() == claims


def test_observed_at_beyond_any_date_is_a_range_error() -> None:
    # 2^53 - 1 is a valid JSON integer but no datetime: a reader converting it would crash.
    claims = _claims()
    claims["observed_at"] = 2**53 - 1
    with pytest.raises(ObservationRangeError, match="observed_at"):
        verify_observation(sign_claims(claims), APPLIANCE_KEY.public_key())
    report = make_report()
    latest = CLAIM_RANGES["observed_at"][1]
    assert datetime.fromtimestamp(latest, UTC).year == 9999
    assert replace(report, observed_at=latest).observed_at == latest
