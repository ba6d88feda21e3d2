"""Signing lab zones in pure Python: keys, NSEC/NSEC3 chains, whole trees, zone files."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Final

import dns.dnssec
import dns.exception
import dns.message
import dns.name
import dns.node
import dns.query
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdataset
import dns.rdatatype
import dns.rrset
import dns.tsigkeyring
import dns.xfr
import dns.zone
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from dns.rdtypes.ANY.DNSKEY import DNSKEY

from mlp.dnsrecords import (
    SalvePolicy,
    policy_record_name,
)
from verifier.denial import nsec3_hash
from verifier.dnslab.zones import (
    DEFAULT_TTL,
    IN,
    Algorithm,
    Denial,
    LabRecord,
    LabZone,
    anchor_text,
    build_zone,
    holding_origin,
    parent_origin,
    top_origin,
)

__all__ = [
    "SIGNATURE_LIFETIME_S",
    "LabKey",
    "SignedLab",
    "generate_key",
    "sign_lab",
    "sign_zone",
    "write_lab",
    "write_site_zone",
]

SIGNATURE_LIFETIME_S: Final = 14 * 86400
_DNSSEC_NUMBER: Final[Mapping[str, int]] = {"rsasha256": 8, "ecdsap256sha256": 13, "ed25519": 15}


# --------------------------------------------------------------------------- keys


@dataclass(frozen=True, slots=True)
class LabKey:
    """A zone signing key (single-type: it signs the DNSKEY RRset and everything else)."""

    private_key: ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
    dnskey: DNSKEY

    @property
    def key_tag(self) -> int:
        """The key tag signatures name."""
        return dns.dnssec.key_id(self.dnskey)


def generate_key(algorithm: Algorithm) -> LabKey:
    """A fresh key-signing and zone-signing key (flags 257)."""
    private_key: ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
    if algorithm == "ed25519":
        private_key = ed25519.Ed25519PrivateKey.generate()
    elif algorithm == "ecdsap256sha256":
        private_key = ec.generate_private_key(ec.SECP256R1())
    else:
        private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    dnskey = dns.dnssec.make_dnskey(private_key.public_key(), _DNSSEC_NUMBER[algorithm], flags=257)
    return LabKey(private_key, dnskey)


# --------------------------------------------------------------------------- signing


def _authoritative(zone: dns.zone.Zone) -> tuple[list[dns.name.Name], set[dns.name.Name]]:
    """The names the zone is authoritative for (glue left out), and its delegations."""
    assert zone.origin is not None
    origin = zone.origin
    delegations = {
        name
        for name, node in zone.nodes.items()
        if name != origin and node.get_rdataset(IN, dns.rdatatype.NS)
    }
    names = [
        name
        for name in zone.nodes
        if not any(name != cut and name.is_subdomain(cut) for cut in delegations)
    ]
    return sorted(names), delegations


def _types_at(node: dns.node.Node) -> set[int]:
    return {rds.rdtype for rds in node.rdatasets if rds.rdtype not in (dns.rdatatype.RRSIG,)}


def _types_text(types: Iterable[int]) -> str:
    return " ".join(
        dns.rdatatype.to_text(dns.rdatatype.RdataType.make(t)) for t in sorted(set(types))
    )


def _add_nsec_chain(zone: dns.zone.Zone, ttl: int) -> None:
    names, delegations = _authoritative(zone)
    for index, name in enumerate(names):
        node = zone.nodes[name]
        types = _types_at(node)
        if name in delegations:
            types &= {dns.rdatatype.NS, dns.rdatatype.DS}
        types |= {dns.rdatatype.NSEC, dns.rdatatype.RRSIG}
        following = names[(index + 1) % len(names)]
        zone.replace_rdataset(
            name, dns.rdataset.from_text(IN, "NSEC", ttl, f"{following} {_types_text(types)}")
        )


def _add_nsec3_chain(
    zone: dns.zone.Zone, ttl: int, *, salt: bytes, iterations: int, opt_out: bool
) -> None:
    assert zone.origin is not None
    origin = zone.origin
    salt_text = salt.hex() or "-"
    zone.replace_rdataset(
        origin, dns.rdataset.from_text(IN, "NSEC3PARAM", 0, f"1 0 {iterations} {salt_text}")
    )
    names, delegations = _authoritative(zone)
    entries: dict[dns.name.Name, set[int]] = {}
    for name in names:
        types = _types_at(zone.nodes[name])
        if name in delegations:
            if opt_out and dns.rdatatype.DS not in types:
                continue
            types &= {dns.rdatatype.NS, dns.rdatatype.DS}
        if name not in delegations or dns.rdatatype.DS in types:
            types.add(dns.rdatatype.RRSIG)
        entries[name] = types
        ancestor = name
        while ancestor != origin:
            # Empty non-terminals get NSEC3 records too (RFC 5155 §7.1).
            ancestor = ancestor.parent()
            entries.setdefault(ancestor, set())
    hashed = sorted((nsec3_hash(name, salt, iterations), types) for name, types in entries.items())
    for index, (digest, types) in enumerate(hashed):
        following = hashed[(index + 1) % len(hashed)][0]
        owner = dns.name.Name(
            (base64.b32hexencode(digest).decode().lower().encode(), *origin.labels)
        )
        text = (
            f"1 {1 if opt_out else 0} {iterations} {salt_text} "
            f"{base64.b32hexencode(following).decode().lower()} {_types_text(types)}"
        )
        zone.replace_rdataset(owner, dns.rdataset.from_text(IN, "NSEC3", ttl, text))


def sign_zone(
    zone: dns.zone.Zone,
    keys: Sequence[LabKey],
    *,
    publish: Sequence[LabKey] | None = None,
    denial: Denial = "nsec",
    opt_out: bool = False,
    salt: bytes = b"",
    iterations: int = 0,
    inception: float | None = None,
    expiration: float | None = None,
) -> None:
    """Sign a zone in place: DNSKEY RRset, denial chain, an RRSIG on every RRset.

    Args:
        zone: The unsigned zone (its origin set, names absolute).
        keys: The keys that sign.
        publish: The keys published in the DNSKEY RRset (default: ``keys``); staging a
            signature by an unpublished key gives another list here.
        denial: NSEC or NSEC3 chains.
        opt_out: NSEC3 opt-out (unsigned delegations left out of the chain).
        salt: NSEC3 salt.
        iterations: NSEC3 extra iterations.
        inception: Signature inception, Unix seconds (default: an hour ago).
        expiration: Signature expiration, Unix seconds (default: 14 days after inception).
    """
    assert zone.origin is not None
    origin = zone.origin
    start = time.time() - 3600 if inception is None else inception
    end = start + SIGNATURE_LIFETIME_S if expiration is None else expiration
    soa = zone.get_rdataset(origin, dns.rdatatype.SOA)
    ttl = soa.ttl if soa else DEFAULT_TTL
    dnskeys = dns.rdataset.Rdataset(IN, dns.rdatatype.DNSKEY)
    dnskeys.update_ttl(ttl)
    for key in publish if publish is not None else keys:
        dnskeys.add(key.dnskey)
    zone.replace_rdataset(origin, dnskeys)
    if denial == "nsec3":
        _add_nsec3_chain(zone, ttl, salt=salt, iterations=iterations, opt_out=opt_out)
    else:
        _add_nsec_chain(zone, ttl)
    names, delegations = _authoritative(zone)
    for name in names:
        node = zone.nodes[name]
        for rdataset in list(node.rdatasets):
            if rdataset.rdtype == dns.rdatatype.RRSIG:
                continue
            if name in delegations and rdataset.rdtype not in (
                dns.rdatatype.DS,
                dns.rdatatype.NSEC,
            ):
                continue  # the child signs its own NS; glue is never signed
            rrset = dns.rrset.from_rdata_list(name, rdataset.ttl, list(rdataset))
            sigs = dns.rdataset.Rdataset(IN, dns.rdatatype.RRSIG, rdataset.rdtype)
            sigs.update_ttl(rdataset.ttl)
            for key in keys:
                sigs.add(
                    dns.dnssec.sign(
                        rrset,
                        key.private_key,
                        origin,
                        key.dnskey,
                        inception=int(start),
                        expiration=int(end),
                    )
                )
            node.replace_rdataset(sigs)


@dataclass
class SignedLab:
    """A signed tree of lab zones.

    Attributes:
        zones: The signed zones by origin (absolute names).
        keys: The keys of each zone by origin.
        trust_anchor: The top zone's DS record in master-file form, plus NS/A hints.
    """

    zones: dict[dns.name.Name, dns.zone.Zone]
    keys: dict[dns.name.Name, list[LabKey]]
    trust_anchor: str

    def zone_text(self, origin: str) -> str:
        """A signed zone in master-file form."""
        zone = self.zones[dns.name.from_text(origin)]
        return f"$ORIGIN {zone.origin}\n" + zone.to_text(relativize=False)


def sign_lab(
    zones: Sequence[LabZone],
    *,
    keys: Mapping[str, Sequence[LabKey]] | None = None,
    address: str = "127.0.0.1",
    records: Sequence[LabRecord] = (),
    **signing: object,
) -> SignedLab:
    """Sign a tree of zones, children first, with each child's DS in its parent.

    Args:
        zones: The zones; the one with the fewest labels is the top (the anchor).
        keys: Keys to use per zone origin (default: a fresh key each).
        address: The name server address written into the anchor hints.
        records: More records, each placed in the deepest zone that holds its owner.
        signing: Extra :func:`sign_zone` arguments for every zone (times, ...).

    Raises:
        LabError: A record outside every zone.
    """
    by_origin = {z.origin: z for z in zones}
    chosen = {
        z.origin: list((keys or {}).get(z.origin, ())) or [generate_key(z.algorithm)] for z in zones
    }
    extra: dict[str, list[LabRecord]] = {z.origin: [] for z in zones}
    for record in records:
        extra[holding_origin(by_origin, record.owner, record.rdtype)].append(record)
    for origin in by_origin:
        parent = parent_origin(by_origin, origin)
        if parent is not None:
            for key in chosen[origin]:
                ds = dns.dnssec.make_ds(origin + ".", key.dnskey, "SHA256")
                extra[parent].append(LabRecord(origin, "DS", ds.to_text()))
    ns_name = f"ns.{top_origin(by_origin)}"
    signed: dict[dns.name.Name, dns.zone.Zone] = {}
    for origin, lab_zone in by_origin.items():
        full = replace(lab_zone, records=lab_zone.records + tuple(extra[origin]))
        zone = build_zone(full, name_server=ns_name)
        sign_zone(
            zone,
            chosen[origin],
            denial=lab_zone.denial,
            opt_out=lab_zone.opt_out,
            **signing,  # type: ignore[arg-type]
        )
        signed[dns.name.from_text(origin)] = zone
    top = top_origin(by_origin)
    ds = dns.dnssec.make_ds(top + ".", chosen[top][0].dnskey, "SHA256")
    return SignedLab(
        zones=signed,
        keys={dns.name.from_text(o): k for o, k in chosen.items()},
        trust_anchor=anchor_text(top, ds.to_text(), address),
    )


def write_lab(lab: SignedLab, directory: Path) -> tuple[list[Path], Path]:
    """Write the signed zone files and the trust anchor file.

    Returns:
        The zone file paths (``<origin>.zone``) and the anchor file path.
    """
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for origin in lab.zones:
        path = directory / f"{origin.to_text(omit_final_dot=True)}.zone"
        path.write_text(lab.zone_text(origin.to_text()), encoding="ascii")
        paths.append(path)
    anchor = directory / "trust-anchor.txt"
    anchor.write_text(lab.trust_anchor, encoding="ascii")
    return paths, anchor


def write_site_zone(
    directory: Path, host: str, policy: SalvePolicy, *, records: Sequence[LabRecord] = ()
) -> tuple[list[Path], Path]:
    """A site's zone (the parent of ``host``, the top of its own tree) signed into files.

    It holds ``_salve.H`` with ``policy`` and any further ``records``; the anchor file is
    the zone's DS. For offline validation: a GMLC's ``dns_zone_files`` and
    ``dns_trust_anchor`` settings (domain enrolment), or ``salve-verify --zone-file``.

    Returns:
        The zone file paths and the anchor file path (see :func:`write_lab`).
    """
    zone = LabZone(
        host.split(".", 1)[1],
        records=(LabRecord(policy_record_name(host), "TXT", policy.to_text()), *records),
    )
    return write_lab(sign_lab([zone]), directory)
