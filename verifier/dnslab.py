"""A DNSSEC lab: signed zones in pure Python, and a Knot DNS server on loopback.

Tests and the demo share this module, so they stage the same trees.

Pure signing (no daemon): :func:`build_zone` turns a :class:`LabZone` into a dnspython
zone, :func:`sign_zone` signs it with NSEC or NSEC3 (opt-out optional) chains, and
:func:`sign_lab` signs a whole tree, children first, with each child's DS in its
parent, and returns the trust anchor text for the top zone. :func:`write_lab` writes the
signed zone files and the anchor file for ``salve-verify --zone-file``.

Knot (:class:`KnotLab`): ``knotd`` on a free loopback port, signing the same zones
itself (each zone with its own algorithm), accepting RFC 2136 updates signed with a TSIG
key, and answering zone transfers to holders of that key. :meth:`KnotLab.start` waits
until every zone answers, publishes each child's DS in its parent, and writes the trust
anchor file (the top zone's DS, plus NS/A hints for iterative resolution).
"""

from __future__ import annotations

import base64
import contextlib
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
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
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from dns.rdtypes.ANY.DNSKEY import DNSKEY

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
from verifier.denial import nsec3_hash

__all__ = [
    "KnotLab",
    "LabError",
    "LabKey",
    "LabRecord",
    "LabZone",
    "SignedLab",
    "build_zone",
    "default_lab_zones",
    "generate_key",
    "knotd_path",
    "presentation",
    "salve_records",
    "sign_lab",
    "sign_zone",
    "write_lab",
    "write_site_zone",
]

Algorithm: TypeAlias = Literal["ed25519", "ecdsap256sha256", "rsasha256"]
Denial: TypeAlias = Literal["nsec", "nsec3"]

DEFAULT_TTL: Final = 300
SIGNATURE_LIFETIME_S: Final = 14 * 86400
_IN: Final = dns.rdataclass.IN
_DNSSEC_NUMBER: Final[Mapping[str, int]] = {"rsasha256": 8, "ecdsap256sha256": 13, "ed25519": 15}
_TSIG_NAME: Final = "salve-lab"


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
    address: str = "127.0.0.1",
) -> list[LabZone]:
    """A parent zone with two delegated children, the service's and the GMLC's.

    Each zone uses another algorithm (Ed25519 above, ECDSA P-256 with NSEC3 for the
    service, RSA/SHA-256 for the GMLC), so a walk down the tree meets all three. The
    name server is ``ns.<parent>`` at ``address``; ``www.<service>`` and ``<gmlc>`` have
    A records at ``address``.
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
        LabZone(gmlc, "rsasha256", "nsec", records=(LabRecord(gmlc, "A", address),)),
    ]


def _zone_text(zone: LabZone, ns_name: str) -> str:
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


def _top(origins: Iterable[str]) -> str:
    return min(origins, key=lambda o: len(o.split(".")))


def build_zone(zone: LabZone, *, name_server: str | None = None) -> dns.zone.Zone:
    """The unsigned dnspython zone of a lab zone.

    Raises:
        LabError: A record that does not parse.
    """
    try:
        return dns.zone.from_text(
            _zone_text(zone, name_server or f"ns.{zone.origin}"),
            origin=zone.origin + ".",
            relativize=False,
        )
    except dns.exception.DNSException as exc:
        raise LabError(f"zone {zone.origin}: {exc}") from None


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
        if name != origin and node.get_rdataset(_IN, dns.rdatatype.NS)
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
            name, dns.rdataset.from_text(_IN, "NSEC", ttl, f"{following} {_types_text(types)}")
        )


def _add_nsec3_chain(
    zone: dns.zone.Zone, ttl: int, *, salt: bytes, iterations: int, opt_out: bool
) -> None:
    assert zone.origin is not None
    origin = zone.origin
    salt_text = salt.hex() or "-"
    zone.replace_rdataset(
        origin, dns.rdataset.from_text(_IN, "NSEC3PARAM", 0, f"1 0 {iterations} {salt_text}")
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
        zone.replace_rdataset(owner, dns.rdataset.from_text(_IN, "NSEC3", ttl, text))


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
    dnskeys = dns.rdataset.Rdataset(_IN, dns.rdatatype.DNSKEY)
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
            sigs = dns.rdataset.Rdataset(_IN, dns.rdatatype.RRSIG, rdataset.rdtype)
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


def _parent_in(zones: Iterable[str], origin: str) -> str | None:
    name = dns.name.from_text(origin)
    candidates = [
        z
        for z in zones
        if name != dns.name.from_text(z) and name.is_subdomain(dns.name.from_text(z))
    ]
    return max(candidates, key=len, default=None)


def _holder(origins: Iterable[str], owner: str, rdtype: str) -> str:
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


def _anchor_text(top: str, ds_text: str, ns_address: str) -> str:
    return f"{top}. IN DS {ds_text}\n{top}. IN NS ns.{top}.\nns.{top}. IN A {ns_address}\n"


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
        extra[_holder(by_origin, record.owner, record.rdtype)].append(record)
    for origin in by_origin:
        parent = _parent_in(by_origin, origin)
        if parent is not None:
            for key in chosen[origin]:
                ds = dns.dnssec.make_ds(origin + ".", key.dnskey, "SHA256")
                extra[parent].append(LabRecord(origin, "DS", ds.to_text()))
    ns_name = f"ns.{_top(by_origin)}"
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
    top = _top(by_origin)
    ds = dns.dnssec.make_ds(top + ".", chosen[top][0].dnskey, "SHA256")
    return SignedLab(
        zones=signed,
        keys={dns.name.from_text(o): k for o, k in chosen.items()},
        trust_anchor=_anchor_text(top, ds.to_text(), address),
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


# --------------------------------------------------------------------------- Knot


def knotd_path() -> str | None:
    """Where ``knotd`` is installed (PATH, then /usr/sbin), or None."""
    return shutil.which("knotd") or shutil.which("knotd", path="/usr/sbin:/usr/local/sbin")


def _knotc_path() -> str:
    found = shutil.which("knotc") or shutil.which("knotc", path="/usr/sbin:/usr/local/sbin")
    if found is None:
        raise LabError("knotc is not installed (Debian package knot)")
    return found


def _free_port(address: str) -> int:
    # UDP and TCP must both be free; ask for a TCP port and check UDP binds too.
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            tcp.bind((address, 0))
            port: int = tcp.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind((address, port))
                except OSError:
                    continue
            return port
    raise LabError("no free port for knotd")


@dataclass
class KnotLab:
    """``knotd`` serving signed lab zones on loopback.

    Attributes:
        directory: Where zones, keys, configuration and logs live.
        zones: The zones served.
        address: The loopback address knotd listens on.
        port: Its port (free, chosen at start).
        presigned: Serve these zones as they are signed (knotd signs nothing): for
            staging what a server without the keys can serve, such as replayed or
            expired signatures. ``zones`` then only names the zones.
    """

    directory: Path
    zones: Sequence[LabZone]
    address: str = "127.0.0.1"
    port: int = 0
    presigned: SignedLab | None = None
    _process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    _control_dir: str = field(default="", repr=False)
    _tsig_secret: str = field(default="", repr=False)

    @property
    def server(self) -> str:
        """``ADDRESS:PORT``, for ``--dns`` and ``open_resolver(server=...)``."""
        return f"{self.address}:{self.port}"

    @property
    def trust_anchor(self) -> Path:
        """The trust anchor file: the top zone's DS, and NS/A hints for iterative lookups."""
        return self.directory / "trust-anchor.txt"

    @property
    def tsig_key(self) -> Path:
        """The TSIG key (BIND ``key`` clause) that may send RFC 2136 updates and transfers."""
        return self.directory / "tsig.key"

    @property
    def log_path(self) -> Path:
        """knotd's log."""
        return self.directory / "knotd.log"

    @property
    def top(self) -> str:
        """The top zone (the trust anchor's zone)."""
        return _top(z.origin for z in self.zones)

    def _config(self) -> str:
        zones_dir = self.directory / "zones"
        policies = []
        zone_entries = []
        for zone in self.zones:
            policy_id = f"p-{zone.origin.replace('.', '-')}"
            policy = [
                f"  - id: {policy_id}",
                f"    algorithm: {zone.algorithm}",
                "    single-type-signing: on",
                f"    nsec3: {'on' if zone.denial == 'nsec3' else 'off'}",
                "    cds-cdnskey-publish: none",
                "    ksk-lifetime: 0",
                "    zsk-lifetime: 0",
            ]
            if zone.denial == "nsec3":
                policy += [
                    "    nsec3-iterations: 0",
                    f"    nsec3-opt-out: {'on' if zone.opt_out else 'off'}",
                ]
            if zone.algorithm == "rsasha256":
                policy.append("    ksk-size: 2048")
            policies += policy
            zone_entries += [f"  - domain: {zone.origin}", f"    dnssec-policy: {policy_id}"]
        return "\n".join(
            [
                "server:",
                f'    rundir: "{self._control_dir}"',
                f"    listen: {self.address}@{self.port}",
                "control:",
                f'    listen: "{self._control_dir}/knot.sock"',
                "log:",
                "  - target: stderr",
                "    any: info",
                "database:",
                f'    storage: "{self.directory / "db"}"',
                "key:",
                f"  - id: {_TSIG_NAME}",
                "    algorithm: hmac-sha256",
                f"    secret: {self._tsig_secret}",
                "acl:",
                "  - id: lab-update",
                f"    key: {_TSIG_NAME}",
                "    action: [update, transfer]",
                "policy:",
                *policies,
                "template:",
                "  - id: default",
                f'    storage: "{zones_dir}"',
                '    file: "%s.zone"',
                f"    dnssec-signing: {'off' if self.presigned else 'on'}",
                "    acl: lab-update",
                "    zonefile-sync: -1",
                "    zonefile-load: difference-no-serial",
                "    journal-content: all",
                "    semantic-checks: off",
                "zone:",
                *zone_entries,
                "",
            ]
        )

    def start(self, *, timeout: float = 20.0) -> KnotLab:
        """Write the zones and configuration, start knotd, link the tree with DS records.

        Raises:
            LabError: knotd is missing or did not serve every zone in time.
        """
        knotd = knotd_path()
        if knotd is None:
            raise LabError("knotd is not installed (Debian package knot)")
        self.directory.mkdir(parents=True, exist_ok=True)
        # The control socket path must stay under 108 bytes, whatever the directory.
        self._control_dir = tempfile.mkdtemp(prefix="knot-")
        self._tsig_secret = base64.b64encode(secrets.token_bytes(32)).decode()
        self.port = self.port or _free_port(self.address)
        zones_dir = self.directory / "zones"
        zones_dir.mkdir(exist_ok=True)
        (self.directory / "db").mkdir(exist_ok=True)
        ns_name = f"ns.{self.top}"
        for zone in self.zones:
            text = (
                self.presigned.zone_text(zone.origin)
                if self.presigned is not None
                else _zone_text(zone, ns_name)
            )
            (zones_dir / f"{zone.origin}.zone").write_text(text, "ascii")
        (self.directory / "knot.conf").write_text(self._config(), "ascii")
        self.tsig_key.write_text(
            f'key "{_TSIG_NAME}" {{\n\talgorithm hmac-sha256;\n'
            f'\tsecret "{self._tsig_secret}";\n}};\n',
            "ascii",
        )
        self.tsig_key.chmod(0o600)
        with self.log_path.open("wb") as log:
            self._process = subprocess.Popen(
                [knotd, "-c", str(self.directory / "knot.conf")], stdout=log, stderr=log
            )
        try:
            deadline = time.monotonic() + timeout
            for zone in self.zones:
                self._wait_signed(zone.origin, deadline)
            if self.presigned is not None:
                self.trust_anchor.write_text(self.presigned.trust_anchor, "ascii")
                return self
            for zone in self.zones:
                parent = _parent_in([z.origin for z in self.zones], zone.origin)
                if parent is not None:
                    self.set_records(zone.origin, "DS", self.ds_texts(zone.origin))
            top_ds = self.ds_texts(self.top)[0]
            self.trust_anchor.write_text(_anchor_text(self.top, top_ds, self.address), "ascii")
        except BaseException:
            self.stop()
            raise
        return self

    def _query(self, name: str, rdtype: str) -> dns.message.Message:
        query = dns.message.make_query(name, rdtype, want_dnssec=True)
        return dns.query.tcp(query, self.address, timeout=5, port=self.port)

    def _wait_signed(self, origin: str, deadline: float) -> None:
        while True:
            if self._process is not None and self._process.poll() is not None:
                raise LabError(f"knotd exited with {self._process.returncode}: {self.log()}")
            with contextlib.suppress(OSError, dns.exception.DNSException):
                answer = self._query(origin, "DNSKEY")
                if answer.rcode() == dns.rcode.NOERROR and any(
                    r.rdtype == dns.rdatatype.RRSIG for r in answer.answer
                ):
                    return
            if time.monotonic() > deadline:
                raise LabError(f"knotd did not serve {origin} signed in time: {self.log()}")
            time.sleep(0.02)  # polling interval while knotd loads and signs

    def log(self) -> str:
        """knotd's log so far."""
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def ds_texts(self, origin: str) -> list[str]:
        """The SHA-256 DS RDATA of the zone's current keys."""
        answer = self._query(origin, "DNSKEY")
        keys = answer.get_rrset(
            answer.answer, dns.name.from_text(origin), _IN, dns.rdatatype.DNSKEY
        )
        if keys is None:
            raise LabError(f"{origin} has no DNSKEY")
        return [
            dns.dnssec.make_ds(origin + ".", key, "SHA256").to_text()
            for key in keys
            if isinstance(key, DNSKEY) and key.flags & 0x0001
        ]

    def zone_of(self, owner: str, rdtype: str = "TXT") -> str:
        """The lab zone that holds ``owner rdtype`` (the deepest; DS lives in the parent).

        Raises:
            LabError: The owner is in none of the lab's zones.
        """
        return _holder((z.origin for z in self.zones), owner, rdtype)

    def _knotc(self, *args: str) -> str:
        result = subprocess.run(
            [_knotc_path(), "-c", str(self.directory / "knot.conf"), *args],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        if result.returncode != 0:
            raise LabError(f"knotc {' '.join(args[:3])}: {result.stdout}{result.stderr}".strip())
        return result.stdout

    def _transaction(self, zone: str, changes: Sequence[tuple[str, ...]]) -> None:
        self._knotc("zone-begin", zone)
        try:
            for change in changes:
                self._knotc(*change)
            self._knotc("zone-commit", zone)
        except BaseException:
            with contextlib.suppress(LabError):
                self._knotc("zone-abort", zone)
            raise

    def set_records(
        self, owner: str, rdtype: str, values: Sequence[str], *, ttl: int = DEFAULT_TTL
    ) -> None:
        """Replace the RRset ``owner rdtype`` by ``values`` (empty: delete it); Knot re-signs.

        TXT values are given unquoted and split into 255-byte strings here.
        """
        zone = self.zone_of(owner, rdtype)
        fqdn = owner.rstrip(".") + "."
        changes: list[tuple[str, ...]] = []
        if self._has(fqdn, rdtype):
            changes.append(("zone-unset", zone, fqdn, rdtype))
        changes += [
            ("zone-set", zone, fqdn, str(ttl), rdtype, presentation(rdtype, v)) for v in values
        ]
        if changes:
            self._transaction(zone, changes)

    def delete_records(self, owner: str, rdtype: str) -> None:
        """Remove the RRset ``owner rdtype``, if present."""
        self.set_records(owner, rdtype, ())

    def _current(self, fqdn: str, rdtype: str) -> dns.rrset.RRset | None:
        answer = self._query(fqdn, rdtype)
        return answer.get_rrset(
            answer.answer, dns.name.from_text(fqdn), _IN, dns.rdatatype.from_text(rdtype)
        )

    def _has(self, fqdn: str, rdtype: str) -> bool:
        try:
            return self._current(fqdn, rdtype) is not None
        except dns.exception.FormError:
            return True  # a record dnspython cannot read (a staged malformed one) is there

    def transfer(self, origin: str) -> dns.zone.Zone:
        """The zone as Knot serves it, signatures included (AXFR with the TSIG key)."""
        keyring = dns.tsigkeyring.from_text({_TSIG_NAME: ("hmac-sha256", self._tsig_secret)})
        zone = dns.zone.Zone(origin + ".", relativize=False)
        query, _ = dns.xfr.make_query(
            zone, serial=None, keyring=keyring, keyname=dns.name.from_text(_TSIG_NAME)
        )
        dns.query.inbound_xfr(self.address, zone, query, port=self.port, timeout=10)
        return zone

    def stop(self) -> None:
        """Stop knotd and remove the control directory."""
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=5)
        self._process = None
        if self._control_dir:
            shutil.rmtree(self._control_dir, ignore_errors=True)

    def __enter__(self) -> KnotLab:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @contextlib.contextmanager
    def records(self, owner: str, rdtype: str, values: Sequence[str]) -> Iterator[None]:
        """Publish an RRset for the duration of a ``with`` block, then restore what was there."""
        before = self._current(owner.rstrip(".") + ".", rdtype)
        self.set_records(owner, rdtype, values)
        try:
            yield
        finally:
            self._restore(owner, rdtype, before)

    def _restore(self, owner: str, rdtype: str, before: dns.rrset.RRset | None) -> None:
        zone = self.zone_of(owner, rdtype)
        fqdn = owner.rstrip(".") + "."
        changes: list[tuple[str, ...]] = []
        if self._has(fqdn, rdtype):
            changes.append(("zone-unset", zone, fqdn, rdtype))
        if before is not None:
            changes += [
                ("zone-set", zone, fqdn, str(before.ttl), rdtype, r.to_text()) for r in before
            ]
        if changes:
            self._transaction(zone, changes)
