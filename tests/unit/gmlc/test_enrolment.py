"""Domain enrolment over signed zone files: DNSSEC decides, nothing else.

The zones are signed in process (``verifier.dnslab``): a parent ``salve.test`` and the
service's child zone with its DS in the parent; the GMLC validates from the parent's DS
(the trust anchor file), as it would from the IANA root.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from gmlc.enrolment import EnrolmentError, open_enrolment_resolver, validate_domain
from gmlc.settings import load_settings
from verifier.dns import SecureResolver
from verifier.dnslab import LabRecord, LabZone, sign_lab, write_lab

ISSUER = "gmlc.salve.test"
SITE = "www.example.salve.test"
POLICY = f"v=salve1; gmlc={ISSUER}:9211; age=300; mode=one"
ZONES = [
    LabZone(
        "salve.test", "ed25519", records=(LabRecord("example.salve.test", "NS", "ns.salve.test."),)
    ),
    LabZone("example.salve.test", "ecdsap256sha256", "nsec3"),
]

Lab = Callable[[Sequence[LabRecord]], SecureResolver]


@pytest.fixture
def lab(tmp_path: Path) -> Lab:
    """Signed zone files holding ``records``, and the resolver the node's settings make."""

    def make(records: Sequence[LabRecord]) -> SecureResolver:
        zone_files, anchor = write_lab(sign_lab(ZONES, records=records), tmp_path / "zones")
        settings = load_settings(
            dev=True,
            state_dir=tmp_path,
            issuer=ISSUER,
            dns_zone_files=zone_files,
            dns_trust_anchor=anchor,
        )
        return open_enrolment_resolver(settings)

    return make


def test_a_policy_naming_this_gmlc_enrols_the_domain(lab: Lab) -> None:
    resolver = lab([LabRecord(f"_salve.{SITE}", "TXT", POLICY)])
    validated = validate_domain(resolver, SITE, ISSUER)
    assert validated.enrolment.domain == SITE
    assert validated.enrolment.evidence["policy"] == POLICY
    assert validated.enrolment.evidence["gmlc"] == f"{ISSUER}:9211"
    assert "signed zone files" in validated.enrolment.evidence["validated_by"]
    assert validated.policy.mode == "one"


def test_one_of_several_gmlcs_is_enough(lab: Lab) -> None:
    policy = f"v=salve1; gmlc=gmlc.other.example:443,{ISSUER}:9211; age=60; mode=all"
    validated = validate_domain(lab([LabRecord(f"_salve.{SITE}", "TXT", policy)]), SITE, ISSUER)
    assert validated.policy.mode == "all"


@pytest.mark.parametrize(
    ("records", "reason"),
    [
        (
            [
                LabRecord(
                    f"_salve.{SITE}",
                    "TXT",
                    "v=salve1; gmlc=gmlc.attacker.example:443; age=1; mode=one",
                )
            ],
            "names gmlc.attacker.example, not this GMLC (gmlc.salve.test)",
        ),
        ([], "publishes no SALVE policy: DNSSEC proves that _salve.www.example.salve.test"),
        (
            [LabRecord(f"_salve.{SITE}", "TXT", "v=salve1; age=soon")],
            "holds no usable SALVE policy",
        ),
        (
            [
                LabRecord(f"_salve.{SITE}", "TXT", POLICY),
                LabRecord(f"_salve.{SITE}", "TXT", POLICY.replace("300", "60")),
            ],
            "holds no usable SALVE policy",
        ),
    ],
    ids=["another-gmlc", "no-policy", "malformed", "two-policies"],
)
def test_what_does_not_name_this_gmlc_is_refused(
    lab: Lab, records: list[LabRecord], reason: str
) -> None:
    with pytest.raises(EnrolmentError, match=re.escape(reason)):
        validate_domain(lab(records), SITE, ISSUER)


def test_a_forged_zone_does_not_validate(tmp_path: Path) -> None:
    # The attacker signs its own copy of the zones naming this GMLC; the node's anchor is
    # the genuine parent's, so nothing of the forgery validates.
    genuine = sign_lab(ZONES)
    _, anchor = write_lab(genuine, tmp_path / "genuine")
    forged = sign_lab(ZONES, records=[LabRecord(f"_salve.{SITE}", "TXT", POLICY)])
    forged_files, _ = write_lab(forged, tmp_path / "forged")
    settings = load_settings(
        dev=True,
        state_dir=tmp_path,
        issuer=ISSUER,
        dns_zone_files=forged_files,
        dns_trust_anchor=anchor,
    )
    with pytest.raises(EnrolmentError, match="does not validate"):
        validate_domain(open_enrolment_resolver(settings), SITE, ISSUER)


def test_unusable_dns_settings_are_refused_in_plain_words(tmp_path: Path) -> None:
    anchor = tmp_path / "anchor.txt"
    anchor.write_text("not an anchor\n")
    settings = load_settings(dev=True, state_dir=tmp_path, dns_trust_anchor=anchor)
    with pytest.raises(EnrolmentError, match="trust anchor cannot be used"):
        open_enrolment_resolver(settings)
    settings = load_settings(dev=True, state_dir=tmp_path, dns_server="127.0.0.1:99999")
    with pytest.raises(EnrolmentError, match="DNS settings cannot be used"):
        open_enrolment_resolver(settings)


def test_a_non_canonical_domain_is_refused_before_any_lookup(lab: Lab) -> None:
    resolver = lab([LabRecord(f"_salve.{SITE}", "TXT", POLICY)])
    with pytest.raises(EnrolmentError, match=re.escape("domain 'WWW.example.salve.test'")):
        validate_domain(resolver, "WWW.example.salve.test", ISSUER)
