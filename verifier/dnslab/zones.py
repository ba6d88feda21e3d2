"""Lab zones in presentation form: records, zones, the default tree and SALVE's records.

Also where a name lives in a tree of zones (the deepest holder; DS in the parent) and the
trust anchor text, which the signer and the Knot lab share.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final, Literal, TypeAlias

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

from mlp.dnsrecords import (
    MAX_TXT_STRING,
    GmlcEndpoint,
    KeyPin,
    PolicyMode,
    SalvePolicy,
    keys_record_name,
    policy_record_name,
)
from mlp.m2dmrt import SigningPrivateKey, sign_declaration

__all__ = [
    "DEFAULT_TTL",
    "IN",
    "Algorithm",
    "Denial",
    "LabError",
    "LabRecord",
    "LabZone",
    "anchor_text",
    "build_zone",
    "default_lab_zones",
    "holding_origin",
    "parent_origin",
    "presentation",
    "salve_records",
    "top_origin",
    "zone_file_text",
]

Algorithm: TypeAlias = Literal["ed25519", "ecdsap256sha256", "rsasha256"]
Denial: TypeAlias = Literal["nsec", "nsec3"]

DEFAULT_TTL: Final = 300
IN: Final = dns.rdataclass.IN


class LabError(Exception):
    """The lab could not be built or started; the message says why."""


@dataclass(frozen=True, slots=True)
class LabRecord:
    """One record in presentation form.

    Attributes:
        owner: The absolute owner name, without the trailing dot.
        rdtype: The type (``TXT``, ``LOC``, ``A``, ...).
        value: The RDATA in presentation form (see :func:`presentation` for TXT).
        ttl: Seconds.
    """

    owner: str
    rdtype: str
    value: str
    ttl: int = DEFAULT_TTL


def presentation(rdtype: str, value: str) -> str:
    """The RDATA text of a record: TXT values are split into quoted 255-byte strings."""
    if rdtype.upper() != "TXT":
        return value
    # Split like split_txt_value, without its size cap: a lab may stage oversized values.
    raw = value.encode("ascii")
    strings = [raw[i : i + MAX_TXT_STRING] for i in range(0, len(raw), MAX_TXT_STRING)] or [b""]
    return " ".join(
        '"' + s.decode("ascii").replace("\\", "\\\\").replace('"', '\\"') + '"' for s in strings
    )


@dataclass(frozen=True, slots=True)
class LabZone:
    """A zone of the lab.

    Attributes:
        origin: The zone's name, without the trailing dot.
        algorithm: Its DNSSEC algorithm.
        denial: NSEC or NSEC3 chains.
        opt_out: With NSEC3, leave unsigned delegations out of the chain.
        records: Its records (the SOA and NS are added).
    """

    origin: str
    algorithm: Algorithm = "ed25519"
    denial: Denial = "nsec"
    opt_out: bool = False
    records: tuple[LabRecord, ...] = ()


def default_lab_zones(
    *,
    parent: str = "salve.test",
    service: str = "example.salve.test",
    gmlc: str = "gmlc.salve.test",
    gmlc_host: str | None = None,
    address: str = "127.0.0.1",
) -> list[LabZone]:
    """A parent zone with two delegated children, the service's and the GMLC's.

    Each zone uses another algorithm (Ed25519 above, ECDSA P-256 with NSEC3 for the
    service, RSA/SHA-256 for the GMLC), so a walk down the tree meets all three. The
    name server is ``ns.<parent>`` at ``address``; ``www.<service>`` and the GMLC's host
    ``gmlc_host`` (default: the apex of ``<gmlc>``) have A records at ``address``.
    """
    ns = f"ns.{parent}"
    return [
        LabZone(
            parent,
            "ed25519",
            "nsec",
            records=(
                LabRecord(ns, "A", address),
                LabRecord(service, "NS", ns + "."),
                LabRecord(gmlc, "NS", ns + "."),
            ),
        ),
        LabZone(
            service,
            "ecdsap256sha256",
            "nsec3",
            records=(LabRecord(f"www.{service}", "A", address),),
        ),
        LabZone(gmlc, "rsasha256", "nsec", records=(LabRecord(gmlc_host or gmlc, "A", address),)),
    ]


def zone_file_text(zone: LabZone, ns_name: str) -> str:
    """The unsigned master-file text of a lab zone, its SOA and NS naming ``ns_name``."""
    lines = [
        f"$ORIGIN {zone.origin}.",
        f"$TTL {DEFAULT_TTL}",
        f"@ IN SOA {ns_name}. hostmaster.{zone.origin}. 1 3600 600 86400 {DEFAULT_TTL}",
        f"@ IN NS {ns_name}.",
    ]
    lines += [
        f"{r.owner}. {r.ttl} IN {r.rdtype} {presentation(r.rdtype, r.value)}" for r in zone.records
    ]
    return "\n".join(lines) + "\n"


def top_origin(origins: Iterable[str]) -> str:
    """The top of a tree of zone origins: the one with the fewest labels."""
    return min(origins, key=lambda o: len(o.split(".")))


def build_zone(zone: LabZone, *, name_server: str | None = None) -> dns.zone.Zone:
    """The unsigned dnspython zone of a lab zone.

    Raises:
        LabError: A record that does not parse.
    """
    try:
        return dns.zone.from_text(
            zone_file_text(zone, name_server or f"ns.{zone.origin}"),
            origin=zone.origin + ".",
            relativize=False,
        )
    except dns.exception.DNSException as exc:
        raise LabError(f"zone {zone.origin}: {exc}") from None


def parent_origin(zones: Iterable[str], origin: str) -> str | None:
    """The deepest of ``zones`` above ``origin`` (its parent in the lab), or None."""
    name = dns.name.from_text(origin)
    candidates = [
        z
        for z in zones
        if name != dns.name.from_text(z) and name.is_subdomain(dns.name.from_text(z))
    ]
    return max(candidates, key=len, default=None)


def holding_origin(origins: Iterable[str], owner: str, rdtype: str) -> str:
    """The deepest of ``origins`` that holds ``owner rdtype`` (DS lives in the parent)."""
    name = dns.name.from_text(owner)
    holders = [
        origin
        for origin in origins
        if name.is_subdomain(dns.name.from_text(origin))
        and not (rdtype.upper() == "DS" and name == dns.name.from_text(origin))
    ]
    if not holders:
        raise LabError(f"{owner} is in none of the lab's zones")
    return max(holders, key=len)


def salve_records(
    *,
    host: str,
    gmlc: GmlcEndpoint,
    sites: Sequence[str],
    site_key: SigningPrivateKey,
    site_spki: bytes,
    gmlc_key: SigningPrivateKey,
    gmlc_spki: bytes,
    pins: Sequence[KeyPin],
    mode: PolicyMode = "one",
    age: int = 300,
    max_age: int | None = None,
) -> list[LabRecord]:
    """The records a SALVE site and its GMLC publish (DESIGN "DNS records").

    Args:
        host: The site's host name ``H``.
        gmlc: Its GMLC ``G`` and the port of G's HTTPS endpoint.
        sites: The LOC RDATA of each legitimate site (see :func:`mlp.dnsrecords.format_loc`).
        site_key: H's TLS private key (it signs ``G._m2dmrt.H`` over G's SPKI).
        site_spki: H's DER SPKI.
        gmlc_key: G's TLS private key (it signs ``H._m2dmrt.G`` over H's SPKI).
        gmlc_spki: G's DER SPKI.
        pins: G's statement key pins.
        mode: The policy's mode.
        age: The policy's position age.
        max_age: The policy's ``max-age``.
    """
    policy = SalvePolicy((gmlc,), age, mode, max_age)
    by_site = sign_declaration(
        signer=host, target=gmlc.host, target_spki_der=gmlc_spki, private_key=site_key
    )
    by_gmlc = sign_declaration(
        signer=gmlc.host, target=host, target_spki_der=site_spki, private_key=gmlc_key
    )
    return [
        LabRecord(policy_record_name(host), "TXT", policy.to_text()),
        *(LabRecord(host, "LOC", site) for site in sites),
        LabRecord(by_site.record_name, "TXT", by_site.to_text()),
        LabRecord(by_gmlc.record_name, "TXT", by_gmlc.to_text()),
        *(LabRecord(keys_record_name(gmlc.host), "TXT", pin.to_text()) for pin in pins),
    ]


def anchor_text(top: str, ds_text: str, ns_address: str) -> str:
    """The trust anchor file: the top zone's DS, and NS/A hints for iterative lookups."""
    return f"{top}. IN DS {ds_text}\n{top}. IN NS ns.{top}.\nns.{top}. IN A {ns_address}\n"
