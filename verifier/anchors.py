"""Trust anchors: where DNSSEC validation starts.

By default the verifier trusts the IANA root zone keys, shipped as the RFC 7958 XML file
``data/root-anchors.xml``; a ``KeyDigest`` counts from its ``validFrom`` until its
``validUntil`` (RFC 7958 §2.3). A private tree (a lab, a company's internal zones) gives
its own anchor file instead, in either of two forms:

* RFC 7958 XML, as IANA publishes it;
* master-file lines (RFC 1035 §5): ``DS`` or ``DNSKEY`` records of the anchor zone, and,
  for iterative resolution, the zone's ``NS`` records with ``A``/``AAAA`` records of
  those servers, like a hints file::

      lab.test.      IN DS     12345 15 2 4F3A...
      lab.test.      IN NS     ns1.lab.test.
      ns1.lab.test.  IN A      192.0.2.53

Only the anchor's own keys are trusted; everything else is validated through DS
records from the anchor down. The root servers' addresses (IPv4, from the IANA root
hints) come with the shipped anchor.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Final

import dns.exception
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import dns.zonefile
from dns.rdtypes.ANY.DNSKEY import DNSKEY
from dns.rdtypes.ANY.DS import DS
from lxml import etree

__all__ = [
    "ROOT_SERVERS",
    "TrustAnchor",
    "TrustAnchorError",
    "TrustAnchors",
    "iana_root_anchors",
    "load_trust_anchors",
    "parse_rfc7958",
    "parse_trust_anchors",
]

MAX_ANCHOR_FILE_BYTES: Final = 1 << 20
ROOT_SERVERS: Final[Mapping[str, str]] = {
    # IANA root hints (named.root), IPv4 addresses; iterative resolution starts here.
    "a.root-servers.net.": "198.41.0.4",
    "b.root-servers.net.": "170.247.170.2",
    "c.root-servers.net.": "192.33.4.12",
    "d.root-servers.net.": "199.7.91.13",
    "e.root-servers.net.": "192.203.230.10",
    "f.root-servers.net.": "192.5.5.241",
    "g.root-servers.net.": "192.112.36.4",
    "h.root-servers.net.": "198.97.190.53",
    "i.root-servers.net.": "192.36.148.17",
    "j.root-servers.net.": "192.58.128.30",
    "k.root-servers.net.": "193.0.14.129",
    "l.root-servers.net.": "199.7.83.42",
    "m.root-servers.net.": "202.12.27.33",
}


class TrustAnchorError(ValueError):
    """A trust anchor file that cannot be used; the message says why."""


@dataclass(frozen=True, slots=True)
class TrustAnchor:
    """The keys trusted for one zone without a parent's DS.

    Attributes:
        zone: The anchor zone (absolute name).
        ds: Trusted digests of the zone's keys.
        dnskeys: Trusted keys of the zone.
    """

    zone: dns.name.Name
    ds: tuple[DS, ...] = ()
    dnskeys: tuple[DNSKEY, ...] = ()


@dataclass(frozen=True, slots=True)
class TrustAnchors:
    """Every trust anchor the verifier starts from, and where iterative resolution begins.

    Attributes:
        anchors: The anchors by zone.
        hints: Server addresses by zone, for iterative resolution (the root servers for
            the IANA anchor; the file's NS and address records for a private one).
        source: Where the anchors came from, in words.
    """

    anchors: Mapping[dns.name.Name, TrustAnchor]
    hints: Mapping[dns.name.Name, tuple[str, ...]] = field(default_factory=dict)
    source: str = ""

    def anchor_for(self, name: dns.name.Name) -> TrustAnchor | None:
        """The deepest anchor whose zone is ``name`` or one of its ancestors."""
        for candidate in _self_and_ancestors(name):
            anchor = self.anchors.get(candidate)
            if anchor is not None:
                return anchor
        return None


def _self_and_ancestors(name: dns.name.Name) -> Iterable[dns.name.Name]:
    while True:
        yield name
        if name == dns.name.root:
            return
        name = name.parent()


# --------------------------------------------------------------------------- RFC 7958


def _xml_parser() -> etree.XMLParser:
    # Nothing is resolved, loaded or fetched: an anchor file is plain data.
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


def _xml_time(value: str | None, what: str) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise TrustAnchorError(f"{what} {value[:40]!r} is not an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise TrustAnchorError(f"{what} {value[:40]!r} has no time zone")
    return moment


def _child_text(element: etree._Element, tag: str, where: str) -> str:
    child = element.find(tag)
    if child is None or not (child.text or "").strip():
        raise TrustAnchorError(f"{where}: element <{tag}> is missing")
    return "".join((child.text or "").split())


def parse_rfc7958(document: bytes, *, now: datetime) -> TrustAnchor:
    """Read an RFC 7958 trust anchor document, keeping the digests valid at ``now``.

    Raises:
        TrustAnchorError: Not such a document, a malformed digest, or no digest valid
            at ``now``.
    """
    if len(document) > MAX_ANCHOR_FILE_BYTES:
        raise TrustAnchorError("the trust anchor document is too large")
    if b"<!ENTITY" in document:
        raise TrustAnchorError("a trust anchor document declares no entities")
    try:
        root = etree.fromstring(document, _xml_parser())
    except etree.XMLSyntaxError as exc:
        raise TrustAnchorError(f"not well-formed XML: {exc}") from None
    if root.tag != "TrustAnchor":
        raise TrustAnchorError("the document's root element is not <TrustAnchor>")
    try:
        zone = dns.name.from_text(_child_text(root, "Zone", "TrustAnchor"))
    except dns.exception.DNSException:
        raise TrustAnchorError("<Zone> is not a domain name") from None
    digests = []
    for index, element in enumerate(root.iterfind("KeyDigest")):
        where = f"KeyDigest #{index + 1}"
        valid_from = _xml_time(element.get("validFrom"), f"{where} validFrom")
        valid_until = _xml_time(element.get("validUntil"), f"{where} validUntil")
        text = " ".join(
            _child_text(element, tag, where)
            for tag in ("KeyTag", "Algorithm", "DigestType", "Digest")
        )
        try:
            ds = dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.DS, text)
        except dns.exception.DNSException as exc:
            raise TrustAnchorError(f"{where}: {exc}") from None
        if valid_from is not None and now < valid_from:
            continue
        if valid_until is not None and now >= valid_until:
            continue
        assert isinstance(ds, DS)
        digests.append(ds)
    if not digests:
        raise TrustAnchorError(f"no key digest of {zone} is valid at {now:%Y-%m-%d}")
    return TrustAnchor(zone=zone, ds=tuple(digests))


# --------------------------------------------------------------------------- master file


def _parse_master_file(text: str) -> TrustAnchors:
    try:
        rrsets = dns.zonefile.read_rrsets(
            text, name=None, rdclass=None, default_ttl=0, origin=dns.name.root
        )
    except dns.exception.DNSException as exc:
        raise TrustAnchorError(f"not DS/DNSKEY records in master-file form: {exc}") from None
    ds: dict[dns.name.Name, list[DS]] = {}
    keys: dict[dns.name.Name, list[DNSKEY]] = {}
    servers: dict[dns.name.Name, list[dns.name.Name]] = {}
    addresses: dict[dns.name.Name, list[str]] = {}
    for rrset in rrsets:
        for rdata in rrset:
            if isinstance(rdata, DS):
                ds.setdefault(rrset.name, []).append(rdata)
            elif isinstance(rdata, DNSKEY):
                keys.setdefault(rrset.name, []).append(rdata)
            elif rrset.rdtype == dns.rdatatype.NS:
                servers.setdefault(rrset.name, []).append(rdata.target)
            elif rrset.rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA):
                addresses.setdefault(rrset.name, []).append(rdata.address)
            else:
                raise TrustAnchorError(
                    f"{rrset.name} {dns.rdatatype.to_text(rrset.rdtype)}: an anchor file "
                    "holds DS, DNSKEY, NS, A and AAAA records only"
                )
    zones = set(ds) | set(keys)
    if not zones:
        raise TrustAnchorError("the file holds no DS or DNSKEY record")
    anchors = {
        zone: TrustAnchor(zone, tuple(ds.get(zone, ())), tuple(keys.get(zone, ())))
        for zone in zones
    }
    hints: dict[dns.name.Name, tuple[str, ...]] = {}
    for zone, names in servers.items():
        if zone not in anchors:
            raise TrustAnchorError(f"NS records for {zone}, which is not an anchor zone")
        found = [address for name in names for address in addresses.get(name, ())]
        if not found:
            raise TrustAnchorError(f"the servers of {zone} have no A or AAAA record in the file")
        hints[zone] = tuple(found)
    return TrustAnchors(anchors=anchors, hints=hints)


def parse_trust_anchors(data: bytes, *, source: str, now: datetime) -> TrustAnchors:
    """Read a trust anchor file in RFC 7958 XML or master-file form.

    Raises:
        TrustAnchorError: Neither form, or no usable anchor in it.
    """
    if len(data) > MAX_ANCHOR_FILE_BYTES:
        raise TrustAnchorError(f"{source} is larger than {MAX_ANCHOR_FILE_BYTES} bytes")
    if data.lstrip().startswith(b"<"):
        anchor = parse_rfc7958(data, now=now)
        hints = _root_hints() if anchor.zone == dns.name.root else {}
        return TrustAnchors({anchor.zone: anchor}, hints, source)
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        raise TrustAnchorError(f"{source} is neither XML nor ASCII master-file text") from None
    parsed = _parse_master_file(text)
    hints = dict(parsed.hints)
    if dns.name.root in parsed.anchors and dns.name.root not in hints:
        hints.update(_root_hints())
    return TrustAnchors(parsed.anchors, hints, source)


def load_trust_anchors(path: Path, *, now: datetime | None = None) -> TrustAnchors:
    """Read a trust anchor file (``--trust-anchor FILE``).

    Raises:
        TrustAnchorError: The file cannot be read or used.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise TrustAnchorError(f"cannot read {path}: {exc.strerror}") from None
    return parse_trust_anchors(data, source=str(path), now=now or datetime.now(UTC))


def _root_hints() -> dict[dns.name.Name, tuple[str, ...]]:
    return {dns.name.root: tuple(ROOT_SERVERS.values())}


def iana_root_anchors(*, now: datetime | None = None) -> TrustAnchors:
    """The shipped IANA root anchor, with the root servers as hints."""
    data = resources.files("verifier").joinpath("data").joinpath("root-anchors.xml").read_bytes()
    anchor = parse_rfc7958(data, now=now or datetime.now(UTC))
    return TrustAnchors({anchor.zone: anchor}, _root_hints(), "the IANA root trust anchor")
