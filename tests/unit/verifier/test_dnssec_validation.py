"""DNSSEC validation over pure-Python signed zones: the chain of trust, every way it breaks."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import dns.dnssec
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import pytest

from mlp.dnsrecords import DnsRecordError, LocSite, SalvePolicy
from verifier.anchors import parse_trust_anchors
from verifier.denial import Absence
from verifier.dns import SecureResolver, lookup_policy
from verifier.dnslab import LabRecord, generate_key
from verifier.errors import (
    DnsBogusSignatureError,
    DnsCnameError,
    DnsDenialError,
    DnsDsMismatchError,
    DnsNoDsError,
    DnsServerError,
    DnsSignatureTimeError,
    DnsUnknownKeyError,
    DnsUnsignedError,
    DnsUnsupportedError,
    DnsUntrustedError,
    DnsWildcardError,
)
from verifier.sources import IterativeSource, ZoneFileSource
from verifier.validation import ValidatedRRset, Validator

SERVICE = "example.salve.test"
GMLC = "gmlc.salve.test"
H = f"www.{SERVICE}"
POLICY_NAME = f"_salve.{H}"
POLICY = "v=salve1; gmlc=gmlc.salve.test:9211; age=300; mode=one; max-age=86400"
LOC = "47 22 36.000 N 8 32 24.000 E 400.00m 1m 2000m 10m"
DAY = 86400

World = Any  # the DnsWorld of conftest


@pytest.fixture
def world(make_world: Callable[..., World]) -> World:
    return make_world(
        records={
            SERVICE: [LabRecord(POLICY_NAME, "TXT", POLICY), LabRecord(H, "LOC", LOC)],
            GMLC: [LabRecord(f"_salve-keys.{GMLC}", "TXT", "v=salve1; kid=k1; jkt=x; alg=ES256")],
        }
    )


def test_records_validate_through_three_algorithms(world: World) -> None:
    resolver = world.resolver()

    assert lookup_policy(resolver, H) == SalvePolicy.parse(POLICY)
    assert resolver.loc(H) == [LocSite(47.376666666666665, 8.54, 2000.0)]
    assert resolver.addresses(GMLC) == ["127.0.0.1"]
    signers = {name: resolver.lookup(name, "TXT") for name in (POLICY_NAME, f"_salve-keys.{GMLC}")}
    algorithms = {
        str(answer.signer): answer.rrset.name
        for answer in signers.values()  # type: ignore[union-attr]
    }
    assert set(algorithms) == {f"{SERVICE}.", f"{GMLC}."}
    # The DS of each child was validated with the parent's Ed25519 key; the children sign
    # with ECDSA P-256 and RSA/SHA-256.
    keys = resolver.validator._keys
    assert {int(next(iter(k)).algorithm) for k, _ in keys.values()} == {8, 13, 15}


def test_absences_need_and_get_valid_proofs(world: World) -> None:
    resolver = world.resolver()

    nx = resolver.lookup(f"nothing.{SERVICE}", "TXT")
    nodata = resolver.lookup(H, "TXT")
    nx_nsec = resolver.lookup(f"_salve.{GMLC}", "TXT")

    assert isinstance(nx, Absence) and (nx.kind, nx.method) == ("nxdomain", "nsec3")
    assert isinstance(nodata, Absence) and (nodata.kind, nodata.method) == ("nodata", "nsec3")
    assert isinstance(nx_nsec, Absence) and (nx_nsec.kind, nx_nsec.method) == ("nxdomain", "nsec")
    assert resolver.txt(f"nothing.{SERVICE}") is None
    assert lookup_policy(resolver, GMLC) is None


def test_an_empty_non_terminal_is_nodata(make_world: Callable[..., World]) -> None:
    for origin in (SERVICE, GMLC):  # NSEC3 and NSEC
        world = make_world(records={origin: [LabRecord(f"deep.ent.{origin}", "TXT", "x")]})
        answer = world.resolver().lookup(f"ent.{origin}", "TXT")
        assert isinstance(answer, Absence) and answer.kind == "nodata"


def test_expired_signatures_are_refused(world: World) -> None:
    now = time.time()
    world.resign(SERVICE, inception=now - 30 * DAY, expiration=now - DAY)

    with pytest.raises(DnsSignatureTimeError, match="expired at") as caught:
        world.resolver().txt(POLICY_NAME)
    assert caught.value.code == "dns.signature_expired"


def test_signatures_from_the_future_are_refused(world: World) -> None:
    now = time.time()
    world.resign(SERVICE, inception=now + DAY, expiration=now + 30 * DAY)

    with pytest.raises(DnsSignatureTimeError, match="not valid before") as caught:
        world.resolver().txt(POLICY_NAME)
    assert caught.value.code == "dns.signature_not_yet_valid"


def test_a_record_signed_by_an_unpublished_key_names_its_key_tag(world: World) -> None:
    attacker = world.forge(
        POLICY_NAME, "TXT", ["v=salve1; gmlc=evil.example:443; age=300; mode=one"]
    )

    with pytest.raises(DnsUnknownKeyError, match=f"key tag {attacker.key_tag}"):
        world.resolver().txt(POLICY_NAME)


def test_changed_data_under_an_old_signature_is_bogus(world: World) -> None:
    world.tamper(H, "LOC", ["48 51 29.000 N 2 17 40.000 E 35.00m 1m 2000m 10m"])

    with pytest.raises(DnsBogusSignatureError, match="does not verify"):
        world.resolver().loc(H)


def test_an_unsigned_answer_is_a_failure_never_a_downgrade(world: World) -> None:
    world.strip_signatures(POLICY_NAME, "TXT")

    with pytest.raises(DnsUnsignedError, match=f"the answer for {POLICY_NAME} TXT is not signed"):
        lookup_policy(world.resolver(), H)


def test_a_zone_without_ds_in_its_parent_is_not_trusted(world: World) -> None:
    world.resign("salve.test", drop=[(SERVICE, "DS")])

    with pytest.raises(DnsNoDsError, match=r"has no DS record in its parent zone salve\.test"):
        world.resolver().txt(POLICY_NAME)


def test_a_ds_for_another_key_matches_nothing(world: World) -> None:
    world.resign(SERVICE, keys=[generate_key("ecdsap256sha256")])

    with pytest.raises(DnsDsMismatchError, match=f"no DNSKEY of {SERVICE} matches"):
        world.resolver().txt(POLICY_NAME)


def test_dnskeys_signed_only_by_a_key_the_parent_does_not_vouch_for(world: World) -> None:
    genuine = world.keys[SERVICE]
    world.resign(SERVICE, keys=[generate_key("ecdsap256sha256")], publish=genuine)

    with pytest.raises(DnsUnknownKeyError):
        world.resolver().txt(POLICY_NAME)


def test_names_outside_the_anchor_tree_are_untrusted(world: World) -> None:
    # Trust only the GMLC zone: the service zone is then outside the anchor's tree.
    gmlc_key = world.keys[GMLC][0]
    ds = dns.dnssec.make_ds(GMLC + ".", gmlc_key.dnskey, "SHA256").to_text()
    anchors = parse_trust_anchors(
        f"{GMLC}. IN DS {ds}\n".encode(), source="a GMLC-only anchor", now=datetime.now(UTC)
    )
    resolver = SecureResolver(Validator(anchors, ZoneFileSource(world.signed.zones.values())))

    assert resolver.addresses(GMLC) == ["127.0.0.1"]
    with pytest.raises(DnsUntrustedError, match="outside the tree of the trust anchor"):
        resolver.txt(POLICY_NAME)


def test_cnames_are_followed_and_each_validated(make_world: Callable[..., World]) -> None:
    world = make_world(
        records={
            SERVICE: [LabRecord(POLICY_NAME, "CNAME", f"policy.{GMLC}.")],
            GMLC: [LabRecord(f"policy.{GMLC}", "TXT", POLICY)],
        }
    )
    answer = world.resolver().lookup(POLICY_NAME, "TXT")

    assert isinstance(answer, ValidatedRRset)
    assert answer.cnames == (dns.name.from_text(POLICY_NAME),)
    assert str(answer.signer) == f"{GMLC}."
    assert lookup_policy(world.resolver(), H) == SalvePolicy.parse(POLICY)


def test_a_cname_loop_is_named(make_world: Callable[..., World]) -> None:
    world = make_world(
        records={
            SERVICE: [
                LabRecord(POLICY_NAME, "CNAME", f"a.{SERVICE}."),
                LabRecord(f"a.{SERVICE}", "CNAME", f"b.{SERVICE}."),
                LabRecord(f"b.{SERVICE}", "CNAME", f"a.{SERVICE}."),
            ]
        }
    )
    with pytest.raises(DnsCnameError, match="loop") as caught:
        world.resolver().txt(POLICY_NAME)
    assert caught.value.code == "dns.cname_loop"


def test_an_overlong_cname_chain_is_refused(make_world: Callable[..., World]) -> None:
    chain = [LabRecord(f"c{i}.{SERVICE}", "CNAME", f"c{i + 1}.{SERVICE}.") for i in range(12)]
    world = make_world(records={SERVICE: chain})

    with pytest.raises(DnsCnameError, match="more than 8 CNAMEs"):
        world.resolver().txt(f"c0.{SERVICE}")


def test_wildcard_answers_are_refused(make_world: Callable[..., World]) -> None:
    world = make_world(records={GMLC: [LabRecord(f"*.{GMLC}", "TXT", POLICY)]})

    with pytest.raises(DnsWildcardError, match="wildcard"):
        world.resolver().txt(f"_salve.{GMLC}")


def test_a_removed_record_cannot_be_denied_with_the_old_chain(world: World) -> None:
    # The attacker serves NXDOMAIN for the policy and replays the zone's own NSEC3 records.
    world.remove(POLICY_NAME, "TXT")

    with pytest.raises(DnsDenialError, match="no NSEC3 record covers the next closer name"):
        world.resolver().txt(POLICY_NAME)


def test_a_removed_record_in_an_nsec_zone_cannot_be_denied(world: World) -> None:
    world.remove(f"_salve-keys.{GMLC}", "TXT")

    with pytest.raises(DnsDenialError, match="it lists TXT as present"):
        world.resolver().txt(f"_salve-keys.{GMLC}")


def test_opt_out_never_proves_absence(make_world: Callable[..., World]) -> None:
    world = make_world(
        records={SERVICE: [LabRecord(f"unsigned.{SERVICE}", "NS", "ns.elsewhere.test.")]},
        changes={SERVICE: {"opt_out": True}},
    )
    with pytest.raises(DnsDenialError, match="opt-out, which never proves absence"):
        world.resolver().txt(f"_salve.nothing.{SERVICE}")


def test_too_many_nsec3_iterations_are_refused(world: World) -> None:
    world.resign(SERVICE, iterations=151, salt=b"\x01\x02")

    with pytest.raises(DnsUnsupportedError, match="151 NSEC3 iterations"):
        world.resolver().txt(f"nothing.{SERVICE}")
    assert lookup_policy(world.resolver(), H) == SalvePolicy.parse(POLICY)


class OnPath:
    """An attacker on the path between the verifier and an honest source."""

    def __init__(self, source: ZoneFileSource, change: Callable[[dns.message.Message], None]):
        self.source = source
        self.change = change
        self.description = "a path with an attacker on it"

    def query(self, qname: dns.name.Name, rdtype: dns.rdatatype.RdataType) -> dns.message.Message:
        message = self.source.query(qname, rdtype)
        if qname == dns.name.from_text(POLICY_NAME):
            self.change(message)
            # What the verifier receives is the changed message's wire form.
            message = dns.message.from_wire(message.to_wire(max_size=65535))
        return message


def _resolver_on_path(
    world: World, change: Callable[[dns.message.Message], None]
) -> SecureResolver:
    source = OnPath(ZoneFileSource(world.signed.zones.values()), change)
    return SecureResolver(Validator(world.anchors, source))


def test_an_absence_without_any_proof_is_a_dns_failure(world: World) -> None:
    def strip(message: dns.message.Message) -> None:
        message.answer.clear()
        message.set_rcode(dns.rcode.NXDOMAIN)

    with pytest.raises(DnsDenialError, match="without any DNSSEC proof"):
        lookup_policy(_resolver_on_path(world, strip), H)


def test_an_absence_proven_with_records_of_another_name_fails(world: World) -> None:
    # NSEC3 records for another name in the same zone, validly signed, replayed.
    elsewhere = world.resolver().validator.source.query(
        dns.name.from_text(f"zzz.{SERVICE}"), dns.rdatatype.TXT
    )

    def replay(message: dns.message.Message) -> None:
        message.answer.clear()
        message.set_rcode(dns.rcode.NXDOMAIN)
        message.authority = list(elsewhere.authority)

    with pytest.raises(DnsDenialError):
        lookup_policy(_resolver_on_path(world, replay), H)


def test_server_errors_are_named(world: World) -> None:
    def fail(message: dns.message.Message) -> None:
        message.answer.clear()
        message.set_rcode(dns.rcode.SERVFAIL)

    with pytest.raises(DnsServerError, match="answered SERVFAIL"):
        lookup_policy(_resolver_on_path(world, fail), H)


def test_an_oversized_txt_value_is_refused(make_world: Callable[..., World]) -> None:
    world = make_world(
        records={SERVICE: [LabRecord(POLICY_NAME, "TXT", "v=salve1; x=" + "a" * 4100)]}
    )

    with pytest.raises(DnsRecordError, match="a SALVE record is shorter"):
        world.resolver().txt(POLICY_NAME)


def test_a_value_split_in_the_middle_of_a_field_reads_whole(
    make_world: Callable[..., World],
) -> None:
    gmlcs = ",".join(f"gmlc{i}.operator-with-a-long-name.example:9211" for i in range(6))
    long_policy = f"v=salve1; gmlc={gmlcs}; age=300; mode=all"
    assert len(long_policy) > 255
    world = make_world(records={SERVICE: [LabRecord(POLICY_NAME, "TXT", long_policy)]})
    answer = world.resolver().lookup(POLICY_NAME, "TXT")

    assert isinstance(answer, ValidatedRRset)
    strings = next(iter(answer.rrset)).strings  # type: ignore[attr-defined]
    assert len(strings) == 2 and not strings[0].endswith(b";")  # cut inside a field
    assert lookup_policy(world.resolver(), H) == SalvePolicy.parse(long_policy)


def test_a_malformed_policy_is_a_record_error(make_world: Callable[..., World]) -> None:
    world = make_world(
        records={
            SERVICE: [
                LabRecord(POLICY_NAME, "TXT", "v=salve1; gmlc=g.example:9211; age=soon; mode=one")
            ]
        }
    )
    with pytest.raises(DnsRecordError, match="age"):
        lookup_policy(world.resolver(), H)


def test_validated_answers_are_cached_until_their_ttl(world: World) -> None:
    clock = [time.time()]
    resolver = world.resolver(clock=lambda: clock[0])
    asked: list[str] = []
    source = resolver.validator.source
    original = source.query

    def counting(qname: dns.name.Name, rdtype: dns.rdatatype.RdataType) -> dns.message.Message:
        asked.append(f"{qname} {dns.rdatatype.to_text(rdtype)}")
        return original(qname, rdtype)

    source.query = counting  # type: ignore[method-assign]
    resolver.txt(POLICY_NAME)
    first = len(asked)
    resolver.txt(POLICY_NAME)
    assert len(asked) == first  # served from the cache
    clock[0] += 301  # past the 300 s TTL
    resolver.txt(POLICY_NAME)
    assert len(asked) > first


def test_iterative_resolution_reaches_each_zone_server(world: World) -> None:
    servers: dict[str, ZoneFileSource] = {}
    addresses = {"salve.test.": "192.0.2.1", f"{SERVICE}.": "192.0.2.2", f"{GMLC}.": "192.0.2.3"}
    for zone in world.signed.zones.values():
        servers[addresses[str(zone.origin)]] = ZoneFileSource([zone], referrals=True)
    # The parent's glue (ns.salve.test A 127.0.0.1) is rewritten per child, as a real
    # delegation to two servers would be: the exchange routes by zone of the question.
    asked: list[tuple[str, str]] = []

    def exchange(
        query: dns.message.Message, address: str, port: int, timeout: float
    ) -> dns.message.Message:
        qname = query.question[0].name
        if address == "127.0.0.1":
            zone = max(
                (
                    z
                    for z in addresses
                    if qname.is_subdomain(dns.name.from_text(z))
                    and not (
                        query.question[0].rdtype == dns.rdatatype.DS
                        and qname == dns.name.from_text(z)
                    )
                ),
                key=len,
            )
            address = addresses[zone]
        asked.append((address, str(qname)))
        return servers[address].respond(query)

    source = IterativeSource({dns.name.from_text("salve.test"): ["192.0.2.1"]}, exchanger=exchange)
    resolver = SecureResolver(Validator(world.anchors, source))

    assert lookup_policy(resolver, H) == SalvePolicy.parse(POLICY)
    assert resolver.addresses(GMLC) == ["127.0.0.1"]
    assert {address for address, _ in asked} == {"192.0.2.1", "192.0.2.2", "192.0.2.3"}
