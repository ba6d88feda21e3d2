"""DNS record texts: policy, key pins, TXT strings and LOC values, strictly read."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlp.dnsrecords import (
    DnsRecordError,
    GmlcEndpoint,
    KeyPin,
    LocSite,
    SalvePolicy,
    apply_key_pins,
    format_loc,
    join_txt_strings,
    keys_record_name,
    loc_precision_representable,
    policy_record_name,
    split_txt_value,
)
from mlp.keys import KeySet, SigningKey, jwk_thumbprint
from mlp.statement import great_circle_distance_m

POLICY = (
    "v=salve1; gmlc=gmlc.example.net:9211,gmlc2.example.net:443; age=300; mode=one; max-age=86400"
)


def test_policy_round_trip() -> None:
    policy = SalvePolicy.parse(POLICY)

    assert policy.gmlcs == (
        GmlcEndpoint("gmlc.example.net", 9211),
        GmlcEndpoint("gmlc2.example.net", 443),
    )
    assert policy.issuers == ("gmlc.example.net", "gmlc2.example.net")
    assert (policy.age, policy.mode, policy.max_age) == (300, "one", 86400)
    assert policy.to_text() == POLICY
    assert SalvePolicy.parse(policy.to_text()) == policy
    assert policy.gmlc("gmlc2.example.net") == GmlcEndpoint("gmlc2.example.net", 443)
    assert policy.gmlc("other.example") is None


def test_policy_tolerates_spacing_trailing_semicolon_and_unknown_tags() -> None:
    text = "v=salve1;gmlc=gmlc.example.net:9211 ;\tage = 60;mode=all; future=1;"

    policy = SalvePolicy.parse(text)

    assert (policy.age, policy.mode, policy.max_age) == (60, "all", None)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "gmlc=gmlc.example.net:9211; v=salve1; age=60; mode=one",
        "v=salve2; gmlc=gmlc.example.net:9211; age=60; mode=one",
        "v=salve1; age=60; mode=one",
        "v=salve1; gmlc=gmlc.example.net; age=60; mode=one",
        "v=salve1; gmlc=gmlc.example.net:0; age=60; mode=one",
        "v=salve1; gmlc=gmlc.example.net:65536; age=60; mode=one",
        "v=salve1; gmlc=GMLC.example.net:9211; age=60; mode=one",
        "v=salve1; gmlc=gmlc.example.net:9211,gmlc.example.net:443; age=60; mode=one",
        "v=salve1; gmlc=gmlc.example.net:9211; age=0; mode=one",
        "v=salve1; gmlc=gmlc.example.net:9211; age=-5; mode=one",
        "v=salve1; gmlc=gmlc.example.net:9211; age=1e3; mode=one",
        "v=salve1; gmlc=gmlc.example.net:9211; age=60; mode=some",
        "v=salve1; gmlc=gmlc.example.net:9211; age=60",
        "v=salve1; gmlc=gmlc.example.net:9211; age=60; age=70; mode=one",
        "v=salve1; gmlc=gmlc.example.net:9211; age=60; mode=one; max-age=forever",
        "v=salve1; gmlc=gmlc.example.net:9211; age=60; mode=one; junk",
    ],
)
def test_malformed_policies_are_refused(text: str) -> None:
    with pytest.raises(DnsRecordError):
        SalvePolicy.parse(text)


def test_policy_rrset_needs_exactly_one_salve_record() -> None:
    other = "google-site-verification=abc"
    assert SalvePolicy.from_rrset([other, POLICY]).age == 300
    with pytest.raises(DnsRecordError, match="no v=salve1"):
        SalvePolicy.from_rrset([other])
    with pytest.raises(DnsRecordError, match="exactly one"):
        SalvePolicy.from_rrset([POLICY, POLICY.replace("age=300", "age=60")])


def test_record_names() -> None:
    assert policy_record_name("www.example.com") == "_salve.www.example.com"
    assert keys_record_name("gmlc.example.net") == "_salve-keys.gmlc.example.net"


def test_txt_strings_split_and_join_back_even_in_the_middle_of_a_field() -> None:
    value = "v=m2dmrt1; sig=" + "A" * 600
    strings = split_txt_value(value)

    assert [len(s) for s in strings] == [255, 255, 105]
    assert join_txt_strings(strings) == value


def test_txt_values_are_ascii_and_bounded() -> None:
    with pytest.raises(DnsRecordError):
        split_txt_value("v=salve1; gmlc=bücher.example:1")
    with pytest.raises(DnsRecordError):
        join_txt_strings([b"v=salve1; \xff"])
    with pytest.raises(DnsRecordError):
        join_txt_strings([b"a" * 255] * 20)


def test_key_pin_round_trip() -> None:
    key = SigningKey.generate("ES256")
    pin = KeyPin(kid=key.kid, jkt=jwk_thumbprint(key.public_key), alg="ES256", until=1_800_000_000)

    assert KeyPin.parse(pin.to_text()) == pin
    assert pin.to_text().endswith("; until=1800000000")


@pytest.mark.parametrize(
    "text",
    [
        "v=salve1; kid=k1; alg=ES256",
        "v=salve1; kid=k1; jkt=short; alg=ES256",
        "v=salve1; kid=k 1; jkt=" + "A" * 43 + "; alg=ES256",
        "v=salve1; kid=k1; jkt=" + "A" * 43 + "; alg=HS256",
        "v=salve1; kid=k1; jkt=" + "A" * 43 + "; alg=ES256; until=soon",
    ],
)
def test_malformed_key_pins_are_refused(text: str) -> None:
    with pytest.raises(DnsRecordError):
        KeyPin.parse(text)


def test_only_pinned_keys_survive_with_their_until() -> None:
    pinned = SigningKey.generate("ES256")
    unpinned = SigningKey.generate("EdDSA")
    wrong_alg = SigningKey.generate("ES256")
    impostor = SigningKey.generate("ES256", kid="same-kid")
    jwks = KeySet.from_signing_keys([pinned, unpinned, wrong_alg, impostor])
    pins = [
        KeyPin(pinned.kid, jwk_thumbprint(pinned.public_key), "ES256", until=123),
        KeyPin(wrong_alg.kid, jwk_thumbprint(wrong_alg.public_key), "EdDSA"),
        KeyPin("same-kid", jwk_thumbprint(SigningKey.generate("ES256").public_key), "ES256"),
    ]

    kept = apply_key_pins(jwks, pins)

    assert kept.kids == (pinned.kid,)
    key = kept.get(pinned.kid)
    assert key is not None and key.until == 123


def test_a_kid_pinned_twice_is_refused() -> None:
    key = SigningKey.generate("ES256")
    pin = KeyPin(key.kid, jwk_thumbprint(key.public_key), "ES256")
    with pytest.raises(DnsRecordError, match="twice"):
        apply_key_pins(KeySet.from_signing_keys([key]), [pin, pin])


@pytest.mark.parametrize(
    ("metres", "ok"),
    [
        (2000, True),
        (1, True),
        (0.3, True),
        (0, True),
        (90_000_000, True),
        (2500, False),
        (0.25, False),
        (100_000_000, False),
        (15, False),
    ],
)
def test_loc_precision_must_survive_the_one_digit_encoding(metres: float, ok: bool) -> None:
    assert loc_precision_representable(metres) is ok


def test_loc_text() -> None:
    assert (
        format_loc(47.376888, 8.541694, hp_m=2000, altitude_m=408)
        == "47 22 36.797 N 8 32 30.098 E 408.00m 1m 2000m 10m"
    )
    assert format_loc(-33.8568, -151.2153, hp_m=500).startswith("33 51 24.480 S 151 12 55.080 W")
    with pytest.raises(DnsRecordError, match="one significant"):
        format_loc(47.0, 8.0, hp_m=2500)
    with pytest.raises(DnsRecordError):
        format_loc(91.0, 8.0, hp_m=2000)


def test_loc_text_is_what_dnspython_reads_back() -> None:
    import dns.rdata

    text = format_loc(47.376888, 8.541694, hp_m=2000, altitude_m=408)
    loc = dns.rdata.from_text("IN", "LOC", text)

    assert loc.float_latitude == pytest.approx(47.376888, abs=1e-6)
    assert loc.float_longitude == pytest.approx(8.541694, abs=1e-6)
    assert loc.horizontal_precision == 200_000  # centimetres


def test_site_covers_a_circle_only_when_it_fits_in_half_the_precision() -> None:
    site = LocSite(47.376888, 8.541694, hp_m=2000)
    east = (47.376888, 8.541694 + 0.005)
    distance = great_circle_distance_m(site.lat, site.lon, *east)

    assert site.covers(site.lat, site.lon, 1000)
    assert not site.covers(site.lat, site.lon, 1001)
    assert site.covers(*east, int(1000 - distance))
    assert not site.covers(*east, int(1000 - distance) + 1)
    assert site.margin_m(site.lat, site.lon, 400) == pytest.approx(600)


@given(st.text(max_size=200))
def test_arbitrary_text_gives_a_policy_or_a_record_error(text: str) -> None:
    for parse in (SalvePolicy.parse, KeyPin.parse):
        try:
            parse(text)
        except DnsRecordError:
            pass
