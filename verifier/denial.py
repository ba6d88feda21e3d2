"""Denial of existence: NSEC (RFC 4035 §5.4) and NSEC3 (RFC 5155 §8) proofs.

A server that says "no such name" (NXDOMAIN) or "no such record" (NODATA) proves it
with signed NSEC or NSEC3 records; this module decides whether the records prove what
is claimed. It is pure: its inputs are records whose signatures the caller has already
validated, all from one zone (the zone whose key signed them).

NSEC (RFC 4035 §5.4, RFC 6840 §4):

* NODATA: an NSEC at the name whose type bitmap has neither the type nor CNAME; or an
  NSEC covering the name whose next name lies below it (an empty non-terminal); or the
  name covered and an NSEC at the wildcard ``*.<closest encloser>`` without the type.
* NXDOMAIN: an NSEC covering the name, and one covering ``*.<closest encloser>``; the
  closest encloser is the longer of the names the name shares with the covering NSEC's
  owner and next name.

NSEC3 (RFC 5155 §8): names are hashed (SHA-1, ``iterations`` extra rounds, salt).

* closest encloser proof: the deepest ancestor whose hash an NSEC3 matches, and an NSEC3
  covering the hash of the "next closer" name one label below it;
* NXDOMAIN: that proof, plus an NSEC3 covering the hash of ``*.<closest encloser>``;
* NODATA: an NSEC3 matching the name without the type or CNAME, or (wildcard NODATA)
  the closest encloser proof and an NSEC3 matching ``*.<closest encloser>`` without it.

Refusals common to both: a record at a delegation (NS without SOA) proves nothing below
it and nothing but DS absence at it; the child apex's record (SOA) proves nothing about
DS; a DNAME owner proves nothing below it. **Opt-out never proves absence**: an NSEC3
with the opt-out flag covering the next closer name leaves room for an unsigned
delegation, so SALVE refuses it. NSEC3 with unknown flags or hash algorithms is ignored
(§8.2), and more than :data:`MAX_NSEC3_ITERATIONS` iterations is refused (RFC 9276).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

import dns.name
import dns.rdatatype
from dns.rdtypes.ANY.NSEC import NSEC
from dns.rdtypes.ANY.NSEC3 import NSEC3

from verifier.errors import DnsDenialError, DnsUnsupportedError

__all__ = [
    "MAX_NSEC3_ITERATIONS",
    "Absence",
    "Nsec3Record",
    "NsecRecord",
    "check_nsec3_denial",
    "check_nsec_denial",
    "nsec3_hash",
]

MAX_NSEC3_ITERATIONS: Final = 150
"""More extra hash rounds than this are refused (RFC 9276 §3.2 lets validators do so)."""
NSEC3_SHA1: Final = 1
OPT_OUT: Final = 0x01
_WILDCARD: Final = b"*"
_CNAME: Final = dns.rdatatype.CNAME
_NS: Final = dns.rdatatype.NS
_SOA: Final = dns.rdatatype.SOA
_DS: Final = dns.rdatatype.DS
_DNAME: Final = dns.rdatatype.DNAME


@dataclass(frozen=True, slots=True)
class Absence:
    """A proven absence.

    Attributes:
        name: The name asked about.
        rdtype: The type asked about.
        kind: ``nxdomain`` (no such name) or ``nodata`` (the name exists, not the type).
        method: ``nsec`` or ``nsec3``.
        zone: The zone whose signed records prove it.
        expires_at: Until when the proof may be cached (Unix seconds; 0: not at all).
    """

    name: dns.name.Name
    rdtype: int
    kind: Literal["nxdomain", "nodata"]
    method: Literal["nsec", "nsec3"]
    zone: dns.name.Name
    expires_at: float = 0.0


def _types(windows: Iterable[tuple[int, bytes]]) -> frozenset[int]:
    found = set()
    for window, bitmap in windows:
        for index, byte in enumerate(bitmap):
            for bit in range(8):
                if byte & (0x80 >> bit):
                    found.add(window * 256 + index * 8 + bit)
    return frozenset(found)


@dataclass(frozen=True, slots=True)
class NsecRecord:
    """One validated NSEC record: its owner, the next owner and the types at the owner."""

    owner: dns.name.Name
    next: dns.name.Name
    types: frozenset[int]

    @classmethod
    def from_rdata(cls, owner: dns.name.Name, rdata: NSEC) -> NsecRecord:
        """Read a dnspython NSEC rdata."""
        return cls(owner, rdata.next, _types(rdata.windows))


@dataclass(frozen=True, slots=True)
class Nsec3Record:
    """One validated NSEC3 record, with its owner's hash decoded."""

    owner: dns.name.Name
    zone: dns.name.Name
    owner_hash: bytes
    next_hash: bytes
    algorithm: int
    flags: int
    iterations: int
    salt: bytes
    types: frozenset[int]

    @classmethod
    def from_rdata(cls, owner: dns.name.Name, rdata: NSEC3) -> Nsec3Record | None:
        """Read a dnspython NSEC3 rdata; None when the owner is not a hash label."""
        first = owner.labels[0] if owner.labels else b""
        try:
            owner_hash = base64.b32hexdecode(first.upper())
        except ValueError:
            return None
        return cls(
            owner=owner,
            zone=owner.parent(),
            owner_hash=owner_hash,
            next_hash=rdata.next,
            algorithm=rdata.algorithm,
            flags=rdata.flags,
            iterations=rdata.iterations,
            salt=rdata.salt,
            types=_types(rdata.windows),
        )

    @property
    def opt_out(self) -> bool:
        """Whether the opt-out flag is set."""
        return bool(self.flags & OPT_OUT)


def nsec3_hash(name: dns.name.Name, salt: bytes, iterations: int) -> bytes:
    """The RFC 5155 §5 hash of a name (SHA-1), as raw bytes."""
    wire = name.canonicalize().to_wire()
    assert wire is not None
    digest = hashlib.sha1(wire + salt).digest()  # noqa: S324 - RFC 5155 fixes SHA-1
    for _ in range(iterations):
        digest = hashlib.sha1(digest + salt).digest()  # noqa: S324
    return digest


# --------------------------------------------------------------------------- helpers


def _common_ancestor(a: dns.name.Name, b: dns.name.Name) -> dns.name.Name:
    shared = a.fullcompare(b)[2]
    return dns.name.Name(a.labels[len(a.labels) - shared :])


def _wildcard(closest_encloser: dns.name.Name) -> dns.name.Name:
    return dns.name.Name((_WILDCARD, *closest_encloser.labels))


def _between(low: Any, value: Any, high: Any) -> bool:
    """Whether ``value`` lies strictly inside the ring interval (low, high).

    Works for names (canonical DNS order) and for NSEC3 hashes (byte order).
    """
    if low < high:
        return bool(low < value < high)
    # The last record of the chain points back to the first: the interval wraps.
    return bool(value > low or value < high)


def _type_text(rdtype: int) -> str:
    return dns.rdatatype.to_text(dns.rdatatype.RdataType.make(rdtype))


def _usable_at(
    types: frozenset[int], owner: dns.name.Name, qtype: int, zone: dns.name.Name
) -> str | None:
    """Why a record matching the query name cannot prove NODATA for ``qtype``; None: it can."""
    if qtype in types:
        return f"it lists {_type_text(qtype)} as present"
    if _CNAME in types:
        return "it lists a CNAME there"
    delegation = _NS in types and _SOA not in types and owner != zone
    if qtype != _DS and delegation:
        return "it comes from the parent side of a delegation"
    if qtype == _DS and _SOA in types and owner != dns.name.root:
        return "it comes from the child zone's apex, not from the parent that holds DS"
    return None


def _blocks_below(types: frozenset[int], owner: dns.name.Name, zone: dns.name.Name) -> bool:
    """Whether a record at ``owner`` says names below it belong elsewhere (cut or DNAME)."""
    return _DNAME in types or (_NS in types and _SOA not in types and owner != zone)


def _fail(qname: dns.name.Name, qtype: int, why: str) -> DnsDenialError:
    return DnsDenialError(
        f"the answer for {qname.to_text(omit_final_dot=True)} {_type_text(qtype)} claims it "
        f"does not exist, without a valid DNSSEC proof: {why}"
    )


# What NSEC and NSEC3 proofs share once their records are matched to names: the record of
# the name itself, and the wildcard of the closest encloser.

_RECORD_OF_THE_NAME: Final = {
    "nsec": "the NSEC record at the name",
    "nsec3": "the NSEC3 record of the name",
}


def _nodata_at(
    qname: dns.name.Name,
    qtype: int,
    zone: dns.name.Name,
    method: Literal["nsec", "nsec3"],
    types: frozenset[int],
    *,
    nxdomain: bool,
) -> Absence:
    """A record matches the name itself: it proves NODATA if it lacks the type, never NXDOMAIN."""
    if nxdomain:
        raise _fail(qname, qtype, f"an {method.upper()} record shows the name exists")
    why = _usable_at(types, qname, qtype, zone)
    if why is not None:
        raise _fail(qname, qtype, f"{_RECORD_OF_THE_NAME[method]} cannot prove it: {why}")
    return Absence(qname, qtype, "nodata", method, zone)


def _absent_behind_wildcard(
    qname: dns.name.Name,
    qtype: int,
    zone: dns.name.Name,
    method: Literal["nsec", "nsec3"],
    wildcard: dns.name.Name,
    wildcard_types: frozenset[int] | None,
    wildcard_denied: Callable[[], bool],
    *,
    nxdomain: bool,
) -> Absence:
    """The name does not exist: what the closest encloser's wildcard must show.

    For NXDOMAIN the wildcard must be proven absent (``wildcard_denied``, asked only then);
    for NODATA it must exist (``wildcard_types``, None when no record matches it) without
    the type.
    """
    if nxdomain:
        if wildcard_types is not None:
            raise _fail(qname, qtype, f"the wildcard {wildcard} exists")
        if not wildcard_denied():
            raise _fail(qname, qtype, f"nothing proves there is no wildcard {wildcard}")
        return Absence(qname, qtype, "nxdomain", method, zone)
    if wildcard_types is None:
        raise _fail(qname, qtype, "the name does not exist, yet the answer is NODATA")
    why = _usable_at(wildcard_types, wildcard, qtype, zone)
    if why is not None:
        raise _fail(qname, qtype, f"the wildcard's {method.upper()} record cannot prove it: {why}")
    return Absence(qname, qtype, "nodata", method, zone)


# --------------------------------------------------------------------------- NSEC


def _nsec_covering(records: Sequence[NsecRecord], name: dns.name.Name) -> NsecRecord | None:
    return next((r for r in records if _between(r.owner, name, r.next)), None)


def check_nsec_denial(
    qname: dns.name.Name,
    qtype: int,
    *,
    nxdomain: bool,
    zone: dns.name.Name,
    records: Sequence[NsecRecord],
) -> Absence:
    """Check that validated NSEC records of ``zone`` prove the claimed absence.

    Args:
        qname: The name asked about.
        qtype: The type asked about.
        nxdomain: True for an NXDOMAIN answer, False for NODATA.
        zone: The zone that signed the records.
        records: The NSEC records of the answer, signatures already validated.

    Returns:
        What was proven.

    Raises:
        DnsDenialError: The records do not prove it.
    """
    if not qname.is_subdomain(zone):
        raise _fail(qname, qtype, f"the NSEC records are from {zone}, which does not hold it")
    records = [r for r in records if r.owner.is_subdomain(zone)]
    if not records:
        raise _fail(qname, qtype, "no NSEC record")
    exact = next((r for r in records if r.owner == qname), None)
    if exact is not None:
        return _nodata_at(qname, qtype, zone, "nsec", exact.types, nxdomain=nxdomain)
    covering = _nsec_covering(records, qname)
    if covering is None:
        raise _fail(qname, qtype, "no NSEC record covers the name")
    if covering.owner.is_superdomain(qname) and _blocks_below(covering.types, covering.owner, zone):
        raise _fail(qname, qtype, f"{covering.owner} is a delegation or DNAME above the name")
    if covering.next.is_subdomain(qname):
        # The next name lies below qname: qname exists as an empty non-terminal.
        if nxdomain:
            raise _fail(qname, qtype, "the name has names below it, so it exists")
        return Absence(qname, qtype, "nodata", "nsec", zone)
    closest = max(
        _common_ancestor(qname, covering.owner), _common_ancestor(qname, covering.next), key=len
    )
    if not closest.is_subdomain(zone):
        closest = zone
    wildcard = _wildcard(closest)
    wildcard_record = next((r for r in records if r.owner == wildcard), None)
    return _absent_behind_wildcard(
        qname,
        qtype,
        zone,
        "nsec",
        wildcard,
        None if wildcard_record is None else wildcard_record.types,
        lambda: _nsec_covering(records, wildcard) is not None,
        nxdomain=nxdomain,
    )


# --------------------------------------------------------------------------- NSEC3


class _Nsec3Chain:
    """The usable NSEC3 records of one answer, with their common parameters."""

    def __init__(self, qname: dns.name.Name, qtype: int, records: Sequence[Nsec3Record]):
        usable = [r for r in records if r.algorithm == NSEC3_SHA1 and not r.flags & ~OPT_OUT]
        if not usable:
            raise _fail(qname, qtype, "no usable NSEC3 record")
        first = usable[0]
        if any((r.iterations, r.salt) != (first.iterations, first.salt) for r in usable):
            raise _fail(qname, qtype, "the NSEC3 records disagree on their parameters")
        if first.iterations > MAX_NSEC3_ITERATIONS:
            raise DnsUnsupportedError(
                f"the zone {first.zone} hashes names with {first.iterations} NSEC3 "
                f"iterations; more than {MAX_NSEC3_ITERATIONS} is refused (RFC 9276)"
            )
        self.records = usable
        self.salt = first.salt
        self.iterations = first.iterations

    def hash(self, name: dns.name.Name) -> bytes:
        return nsec3_hash(name, self.salt, self.iterations)

    def matching(self, name: dns.name.Name) -> Nsec3Record | None:
        digest = self.hash(name)
        return next((r for r in self.records if r.owner_hash == digest), None)

    def covering(self, name: dns.name.Name) -> Nsec3Record | None:
        digest = self.hash(name)
        return next((r for r in self.records if _between(r.owner_hash, digest, r.next_hash)), None)


def _closest_encloser(
    chain: _Nsec3Chain, qname: dns.name.Name, qtype: int, zone: dns.name.Name
) -> tuple[dns.name.Name, Nsec3Record]:
    """RFC 5155 §8.3: the closest encloser and the record covering the next closer name."""
    next_closer = qname
    candidate = qname.parent()
    while True:
        found = chain.matching(candidate)
        if found is not None:
            break
        if candidate == zone:
            raise _fail(qname, qtype, "no NSEC3 record matches any ancestor (closest encloser)")
        next_closer = candidate
        candidate = candidate.parent()
    if _blocks_below(found.types, candidate, zone):
        raise _fail(qname, qtype, f"{candidate} is a delegation or DNAME above the name")
    covering = chain.covering(next_closer)
    if covering is None:
        raise _fail(qname, qtype, f"no NSEC3 record covers the next closer name {next_closer}")
    if covering.opt_out:
        raise _fail(
            qname,
            qtype,
            f"the NSEC3 record covering {next_closer} is opt-out, which never proves absence",
        )
    return candidate, covering


def check_nsec3_denial(
    qname: dns.name.Name,
    qtype: int,
    *,
    nxdomain: bool,
    zone: dns.name.Name,
    records: Sequence[Nsec3Record],
) -> Absence:
    """Check that validated NSEC3 records of ``zone`` prove the claimed absence.

    Args:
        qname: The name asked about.
        qtype: The type asked about.
        nxdomain: True for an NXDOMAIN answer, False for NODATA.
        zone: The zone that signed the records.
        records: The NSEC3 records of the answer, signatures already validated.

    Returns:
        What was proven.

    Raises:
        DnsDenialError: The records do not prove it (opt-out included).
        DnsUnsupportedError: The zone uses more NSEC3 iterations than allowed.
    """
    if not qname.is_subdomain(zone):
        raise _fail(qname, qtype, f"the NSEC3 records are from {zone}, which does not hold it")
    chain = _Nsec3Chain(qname, qtype, [r for r in records if r.zone == zone])
    exact = chain.matching(qname)
    if exact is not None:
        return _nodata_at(qname, qtype, zone, "nsec3", exact.types, nxdomain=nxdomain)
    if qname == zone:
        raise _fail(qname, qtype, "no NSEC3 record matches the zone apex")
    closest, _ = _closest_encloser(chain, qname, qtype, zone)
    wildcard = _wildcard(closest)
    wildcard_record = chain.matching(wildcard)
    return _absent_behind_wildcard(
        qname,
        qtype,
        zone,
        "nsec3",
        wildcard,
        None if wildcard_record is None else wildcard_record.types,
        lambda: chain.covering(wildcard) is not None,
        nxdomain=nxdomain,
    )
