"""Signed zones in pure Python (no daemon) for the DNSSEC unit tests.

A :class:`DnsWorld` is the lab tree of ``verifier.dnslab.default_lab_zones`` signed in
process, answered by a ``ZoneFileSource``, with ways to stage what an attacker or a
careless operator does to it: re-sign a zone with other times or keys, forge an RRset
with a key of one's own, change data under its old signature, strip signatures, remove
a record while its denial chain stays as it was, drop a DS from the parent.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from datetime import UTC, datetime

import dns.dnssec
import dns.name
import dns.rdataclass
import dns.rdataset
import dns.rdatatype
import dns.rrset
import dns.zone
import pytest

from verifier.anchors import TrustAnchors, parse_trust_anchors
from verifier.dns import SecureResolver
from verifier.dnslab import (
    LabKey,
    LabRecord,
    SignedLab,
    build_zone,
    default_lab_zones,
    generate_key,
    presentation,
    sign_lab,
    sign_zone,
)
from verifier.sources import ZoneFileSource
from verifier.validation import Validator

PARENT = "salve.test"
SERVICE = "example.salve.test"
GMLC = "gmlc.salve.test"
H = f"www.{SERVICE}"
IN = dns.rdataclass.IN


class DnsWorld:
    """A signed lab tree and the means to stage changes to it."""

    def __init__(
        self,
        keys: Mapping[str, list[LabKey]],
        records: Mapping[str, Iterable[LabRecord]] | None = None,
        changes: Mapping[str, Mapping[str, object]] | None = None,
    ) -> None:
        specs = []
        for zone in default_lab_zones():
            extra = tuple((records or {}).get(zone.origin, ()))
            zone = replace(zone, records=zone.records + extra)
            zone = replace(zone, **(changes or {}).get(zone.origin, {}))  # type: ignore[arg-type]
            specs.append(zone)
        self.specs = {z.origin: z for z in specs}
        self.keys = {origin: list(keys[origin]) for origin in self.specs}
        self.signed: SignedLab = sign_lab(specs, keys=self.keys)
        self.anchors: TrustAnchors = parse_trust_anchors(
            self.signed.trust_anchor.encode(), source="the lab anchor", now=datetime.now(UTC)
        )

    def zone(self, origin: str) -> dns.zone.Zone:
        return self.signed.zones[dns.name.from_text(origin)]

    def resolver(self, clock: Callable[[], float] = time.time) -> SecureResolver:
        source = ZoneFileSource(self.signed.zones.values())
        return SecureResolver(Validator(self.anchors, source, clock=clock))

    # -- staging ---------------------------------------------------------------------------

    def resign(
        self,
        origin: str,
        *,
        keys: list[LabKey] | None = None,
        drop: Iterable[tuple[str, str]] = (),
        **signing: object,
    ) -> None:
        """Rebuild a zone from its spec (with the child DS records) and sign it again."""
        spec = self.specs[origin]
        kept = tuple(r for r in spec.records if (r.owner, r.rdtype) not in set(drop))
        ds_records = tuple(
            LabRecord(child, "DS", dns.dnssec.make_ds(child + ".", k.dnskey, "SHA256").to_text())
            for child in self.specs
            if child != origin and child.endswith("." + origin)
            for k in self.keys[child]
            if (child, "DS") not in set(drop)
        )
        zone = build_zone(replace(spec, records=kept + ds_records), name_server=f"ns.{PARENT}")
        sign_zone(
            zone,
            keys or self.keys[origin],
            denial=spec.denial,
            opt_out=spec.opt_out,
            **signing,  # type: ignore[arg-type]
        )
        self.signed.zones[dns.name.from_text(origin)] = zone

    def _zone_of(self, owner: str) -> dns.zone.Zone:
        name = dns.name.from_text(owner)
        origin = max((o for o in self.specs if name.is_subdomain(dns.name.from_text(o))), key=len)
        return self.zone(origin)

    def forge(
        self, owner: str, rdtype: str, values: list[str], key: LabKey | None = None
    ) -> LabKey:
        """Replace an RRset by ``values`` signed with ``key`` (default: a new key)."""
        zone = self._zone_of(owner)
        key = key or generate_key("ecdsap256sha256")
        name = dns.name.from_text(owner)
        rdataset = dns.rdataset.from_text_list(
            IN, rdtype, 300, [presentation(rdtype, v) for v in values]
        )
        zone.replace_rdataset(name, rdataset)
        rrset = dns.rrset.from_rdata_list(name, 300, list(rdataset))
        assert zone.origin is not None
        sig = dns.dnssec.sign(rrset, key.private_key, zone.origin, key.dnskey, lifetime=3600)
        zone.replace_rdataset(name, dns.rdataset.from_rdata(300, sig))
        return key

    def tamper(self, owner: str, rdtype: str, values: list[str]) -> None:
        """Change an RRset's data and keep its old signatures."""
        zone = self._zone_of(owner)
        rdataset = dns.rdataset.from_text_list(
            IN, rdtype, 300, [presentation(rdtype, v) for v in values]
        )
        zone.replace_rdataset(dns.name.from_text(owner), rdataset)

    def strip_signatures(self, owner: str, rdtype: str) -> None:
        zone = self._zone_of(owner)
        zone.delete_rdataset(
            dns.name.from_text(owner), dns.rdatatype.RRSIG, dns.rdatatype.from_text(rdtype)
        )

    def remove(self, owner: str, rdtype: str) -> None:
        """Delete an RRset and its signatures; the denial chain still says it exists."""
        zone = self._zone_of(owner)
        name = dns.name.from_text(owner)
        zone.delete_rdataset(name, dns.rdatatype.from_text(rdtype))
        zone.delete_rdataset(name, dns.rdatatype.RRSIG, dns.rdatatype.from_text(rdtype))


@pytest.fixture(scope="session")
def lab_keys() -> dict[str, list[LabKey]]:
    """One key per lab zone for the session (RSA key generation is slow)."""
    return {z.origin: [generate_key(z.algorithm)] for z in default_lab_zones()}


@pytest.fixture
def make_world(lab_keys: dict[str, list[LabKey]]) -> Callable[..., DnsWorld]:
    """``make_world(records={origin: [LabRecord, ...]}, changes={origin: {field: value}})``."""

    def make(
        records: Mapping[str, Iterable[LabRecord]] | None = None,
        changes: Mapping[str, Mapping[str, object]] | None = None,
    ) -> DnsWorld:
        return DnsWorld(lab_keys, records, changes)

    return make
