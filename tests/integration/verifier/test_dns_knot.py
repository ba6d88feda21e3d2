"""DNSSEC validation against a real Knot DNS server: its signing, its NSEC3, its wire.

The shared ``knot_lab`` signs with three algorithms down a real delegation; a second
``knotd`` started here serves zones as an attacker without the keys can: replayed
denial records, expired signatures, records signed with a key of its own.
"""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype
import dns.tsig
import dns.tsigkeyring
import dns.update
import pytest

from mlp.dnsrecords import LocSite, SalvePolicy
from verifier.denial import Absence
from verifier.dns import lookup_policy, open_resolver
from verifier.dnslab import KnotLab, LabRecord, default_lab_zones, generate_key, sign_lab
from verifier.errors import (
    DnsAnswerError,
    DnsDenialError,
    DnsSignatureTimeError,
    DnsTransportError,
    DnsUnknownKeyError,
)
from verifier.validation import ValidatedRRset

SERVICE = "example.salve.test"
GMLC = "gmlc.salve.test"
POLICY = "v=salve1; gmlc=gmlc.salve.test:9211; age=300; mode=one; max-age=3600"
DAY = 86400


def test_knot_signed_tree_validates_with_three_algorithms(knot_lab: KnotLab) -> None:
    host = f"dnsok.{SERVICE}"
    with (
        knot_lab.records(f"_salve.{host}", "TXT", [POLICY]),
        knot_lab.records(host, "LOC", ["47 22 36.000 N 8 32 24.000 E 400.00m 1m 2000m 10m"]),
    ):
        resolver = open_resolver(server=knot_lab.server, trust_anchor=knot_lab.trust_anchor)
        assert lookup_policy(resolver, host) == SalvePolicy.parse(POLICY)
        assert resolver.loc(host) == [LocSite(47.376666666666665, 8.54, 2000.0)]
        assert resolver.addresses(GMLC) == ["127.0.0.1"]
        absent = resolver.lookup(f"nothing.{SERVICE}", "TXT")
        assert isinstance(absent, Absence) and absent.method == "nsec3"
        absent = resolver.lookup(f"nothing.{GMLC}", "TXT")
        assert isinstance(absent, Absence) and absent.method == "nsec"
        algorithms = {int(next(iter(k)).algorithm) for k, _ in resolver.validator._keys.values()}
        assert algorithms == {8, 13, 15}


def test_iterative_resolution_from_the_anchor_hints(knot_lab: KnotLab) -> None:
    host = f"iterative.{SERVICE}"
    with knot_lab.records(f"_salve.{host}", "TXT", [POLICY]):
        resolver = open_resolver(trust_anchor=knot_lab.trust_anchor, iterative_port=knot_lab.port)
        assert lookup_policy(resolver, host) == SalvePolicy.parse(POLICY)
        assert lookup_policy(resolver, f"nothing.{SERVICE}") is None


def test_a_truncated_udp_answer_is_asked_again_over_tcp(knot_lab: KnotLab) -> None:
    name = f"big.{SERVICE}"
    values = ["a" * 1500, "b" * 1500]
    with knot_lab.records(name, "TXT", values):
        udp = dns.message.make_query(name, "TXT", want_dnssec=True, payload=1232)
        assert dns.query.udp(udp, "127.0.0.1", port=knot_lab.port, timeout=5).flags & dns.flags.TC
        resolver = open_resolver(server=knot_lab.server, trust_anchor=knot_lab.trust_anchor)
        assert sorted(resolver.txt(name) or []) == values


@pytest.fixture
def udp_only_truncating_server() -> Iterator[int]:
    """A UDP server that answers every query truncated and has no TCP listener."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    port: int = sock.getsockname()[1]

    def serve() -> None:
        while True:
            try:
                data, peer = sock.recvfrom(4096)
            except OSError:
                return
            response = dns.message.make_response(dns.message.from_wire(data))
            response.flags |= dns.flags.TC
            sock.sendto(response.to_wire(), peer)

    threading.Thread(target=serve, daemon=True).start()
    yield port
    sock.close()


def test_truncation_without_tcp_is_a_dns_failure(
    knot_lab: KnotLab, udp_only_truncating_server: int
) -> None:
    resolver = open_resolver(
        server=f"127.0.0.1:{udp_only_truncating_server}",
        trust_anchor=knot_lab.trust_anchor,
        timeout=2,
    )
    with pytest.raises(
        DnsTransportError, match="truncated, and asking again over TCP failed"
    ) as caught:
        lookup_policy(resolver, f"www.{SERVICE}")
    assert caught.value.code == "dns.truncated"


def test_a_server_that_does_not_answer_is_a_dns_failure(knot_lab: KnotLab) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        port = silent.getsockname()[1]
        resolver = open_resolver(
            server=f"127.0.0.1:{port}", trust_anchor=knot_lab.trust_anchor, timeout=0.3
        )
        with pytest.raises(DnsTransportError, match=r"no answer from 127\.0\.0\.1"):
            lookup_policy(resolver, f"www.{SERVICE}")


def test_a_malformed_loc_record_is_a_dns_failure(knot_lab: KnotLab) -> None:
    host = f"badloc.{SERVICE}"
    # RFC 1876 version 1 does not exist: the wire form is refused as LOC.
    bad = "\\# 16 0112163c89cb5f2080f5f4e000989680"
    with knot_lab.records(host, "LOC", [bad]):
        resolver = open_resolver(server=knot_lab.server, trust_anchor=knot_lab.trust_anchor)
        with pytest.raises(DnsAnswerError, match="not well-formed DNS"):
            resolver.loc(host)


# --------------------------------------------------------------------------- an attacker's knotd


def _attacker(directory: Path, **signing: object) -> tuple[KnotLab, object]:
    zones = default_lab_zones()
    service = next(z for z in zones if z.origin == SERVICE)
    zones[zones.index(service)] = replace(
        service,
        records=(*service.records, LabRecord(f"_salve.www.{SERVICE}", "TXT", POLICY)),
    )
    signed = sign_lab(zones, **signing)
    return KnotLab(directory, zones, presigned=signed), signed


@pytest.fixture
def attacker_lab(tmp_path: Path) -> Iterator[tuple[KnotLab, object]]:
    labs: list[KnotLab] = []

    def start(changes: object = None, **signing: object) -> tuple[KnotLab, object]:
        lab, signed = _attacker(tmp_path / f"attacker-{len(labs)}", **signing)
        if callable(changes):
            changes(signed)
        labs.append(lab.start())
        return lab, signed

    yield start  # type: ignore[misc]
    for lab in labs:
        lab.stop()


def _policy_of(lab: KnotLab) -> SalvePolicy | None:
    resolver = open_resolver(server=lab.server, trust_anchor=lab.trust_anchor)
    return lookup_policy(resolver, f"www.{SERVICE}")


def test_knot_serving_presigned_zones_validates(attacker_lab) -> None:  # type: ignore[no-untyped-def]
    lab, _ = attacker_lab()
    assert _policy_of(lab) == SalvePolicy.parse(POLICY)


def test_expired_signatures_served_by_knot_are_refused(attacker_lab) -> None:  # type: ignore[no-untyped-def]
    now = time.time()
    lab, _ = attacker_lab(inception=now - 30 * DAY, expiration=now - DAY)
    with pytest.raises(DnsSignatureTimeError, match="expired"):
        _policy_of(lab)


def test_a_removed_policy_with_the_old_denial_chain_is_refused(attacker_lab) -> None:  # type: ignore[no-untyped-def]
    def remove_policy(signed: object) -> None:
        zone = signed.zones[dns.name.from_text(SERVICE)]  # type: ignore[attr-defined]
        name = dns.name.from_text(f"_salve.www.{SERVICE}")
        zone.delete_rdataset(name, dns.rdatatype.TXT)
        zone.delete_rdataset(name, dns.rdatatype.RRSIG, dns.rdatatype.TXT)

    lab, _ = attacker_lab(remove_policy)
    with pytest.raises(DnsDenialError, match="claims it does not exist, without"):
        _policy_of(lab)


def test_a_policy_signed_with_the_attackers_key_is_refused(attacker_lab) -> None:  # type: ignore[no-untyped-def]
    attacker = generate_key("ecdsap256sha256")

    def forge(signed: object) -> None:
        import dns.dnssec
        import dns.rdataset
        import dns.rrset

        zone = signed.zones[dns.name.from_text(SERVICE)]  # type: ignore[attr-defined]
        name = dns.name.from_text(f"_salve.www.{SERVICE}")
        rrset = dns.rrset.from_text(
            name, 300, "IN", "TXT", '"v=salve1; gmlc=evil.example:443; age=300; mode=one"'
        )
        zone.replace_rdataset(name, rrset.to_rdataset())
        sig = dns.dnssec.sign(
            rrset, attacker.private_key, zone.origin, attacker.dnskey, lifetime=3600
        )
        zone.replace_rdataset(name, dns.rdataset.from_rdata(300, sig))

    lab, _ = attacker_lab(forge)
    with pytest.raises(DnsUnknownKeyError, match=f"key tag {attacker.key_tag}"):
        _policy_of(lab)


def test_answers_validated_from_knot_are_rrsets(knot_lab: KnotLab) -> None:
    resolver = open_resolver(server=knot_lab.server, trust_anchor=knot_lab.trust_anchor)
    answer = resolver.lookup(f"www.{SERVICE}", "A")
    assert isinstance(answer, ValidatedRRset) and str(answer.signer) == f"{SERVICE}."


def test_the_lab_tsig_key_allows_rfc2136_updates_that_knot_signs(knot_lab: KnotLab) -> None:
    text = knot_lab.tsig_key.read_text()
    name = re.search(r'key "([^"]+)"', text).group(1)  # type: ignore[union-attr]
    secret = re.search(r'secret "([^"]+)"', text).group(1)  # type: ignore[union-attr]
    keyring = dns.tsigkeyring.from_text({name: ("hmac-sha256", secret)})
    owner = f"_salve.updated.{SERVICE}."

    unsigned = dns.update.UpdateMessage(SERVICE)
    unsigned.replace(owner, 300, "TXT", f'"{POLICY}"')
    refused = dns.query.tcp(unsigned, "127.0.0.1", port=knot_lab.port, timeout=5)
    assert refused.rcode() in (dns.rcode.NOTAUTH, dns.rcode.REFUSED)

    update = dns.update.UpdateMessage(
        SERVICE, keyring=keyring, keyname=name, keyalgorithm=dns.tsig.HMAC_SHA256
    )
    update.replace(owner, 300, "TXT", f'"{POLICY}"')
    try:
        answer = dns.query.tcp(update, "127.0.0.1", port=knot_lab.port, timeout=5)
        assert answer.rcode() == dns.rcode.NOERROR
        resolver = open_resolver(server=knot_lab.server, trust_anchor=knot_lab.trust_anchor)
        assert resolver.txt(owner) == [POLICY]  # signed by Knot at once, validated
    finally:
        knot_lab.delete_records(owner, "TXT")
