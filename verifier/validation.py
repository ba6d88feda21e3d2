"""DNSSEC validation from a trust anchor through every delegation (RFC 4033-4035).

Theory of operation
-------------------
The :class:`Validator` asks a :class:`DnsSource` (a resolver, an iterative walk, or
signed zone files) for one RRset at a time and accepts nothing it cannot validate:

1. An answer RRset needs an RRSIG by a zone that holds the name (the signer is the
   owner or one of its ancestors) and lies below a trust anchor; a missing signature
   is a failure, never a downgrade to "insecure".
2. The signer's keys are its DNSKEY RRset, which must be signed by one of its own keys
   that matches a DS record in the parent zone (or the trust anchor for the anchor
   zone). That DS RRset is itself an answer signed by the parent, validated the same
   way, recursively up to the anchor: DS -> DNSKEY -> RRSIG at every zone cut.
3. Each signature is checked for the key tag and algorithm of a published key, its
   validity period (inception <= now <= expiration), and the signature itself.
   Algorithms: RSA/SHA-256 and /SHA-512, ECDSA P-256 and P-384, Ed25519, Ed448; DS
   digests SHA-256 and SHA-384 (SHA-1 and the other deprecated ones are refused).
4. An absence counts only with a validated NSEC or NSEC3 proof (:mod:`verifier.denial`).
5. CNAMEs are followed (each validated) up to :data:`MAX_CNAME_HOPS`; a name seen twice
   is a loop. An answer synthesised from a wildcard is refused: SALVE's records live at
   their own names.

Validated answers, proven absences and zone keys are cached until their TTL (at most
:data:`MAX_CACHE_TTL_S`) or their signatures' expiry, whichever comes first, so a
long-running client (``--watch``) asks again only when it must.

Failures raise the :class:`verifier.errors.DnsValidationError` subclass that says what
was wrong, with the names involved.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Final, Protocol

import dns.dnssec
import dns.exception
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdataset
import dns.rdatatype
import dns.rrset
from dns.rdtypes.ANY.DNSKEY import DNSKEY
from dns.rdtypes.ANY.DS import DS
from dns.rdtypes.ANY.NSEC import NSEC
from dns.rdtypes.ANY.NSEC3 import NSEC3
from dns.rdtypes.ANY.RRSIG import RRSIG

from verifier.anchors import TrustAnchors
from verifier.denial import (
    Absence,
    Nsec3Record,
    NsecRecord,
    check_nsec3_denial,
    check_nsec_denial,
)
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
    DnsValidationError,
    DnsWildcardError,
)

__all__ = [
    "ALGORITHMS",
    "DIGEST_TYPES",
    "MAX_CNAME_HOPS",
    "Answer",
    "DnsSource",
    "ValidatedRRset",
    "Validator",
]

MAX_CNAME_HOPS: Final = 8
MAX_CACHE_TTL_S: Final = 3600
MAX_ZONE_DEPTH: Final = 32
ALGORITHMS: Final = frozenset({8, 10, 13, 14, 15, 16})
"""DNSKEY algorithms validated: RSA/SHA-256, RSA/SHA-512, ECDSA P-256/P-384, Ed25519/448."""
DIGEST_TYPES: Final = {2: "SHA256", 4: "SHA384"}
"""DS digest types accepted (SHA-1 is not)."""
ZONE_KEY_FLAG: Final = 0x0100
REVOKE_FLAG: Final = 0x0080
_IN: Final = dns.rdataclass.IN
_RRSIG: Final = dns.rdatatype.RRSIG
_DNSKEY: Final = dns.rdatatype.DNSKEY
_DS: Final = dns.rdatatype.DS
_CNAME: Final = dns.rdatatype.CNAME
_NSEC: Final = dns.rdatatype.NSEC
_NSEC3: Final = dns.rdatatype.NSEC3


class DnsSource(Protocol):
    """Where DNS answers come from (a server, an iterative walk, zone files)."""

    @property
    def description(self) -> str:
        """The source in words, for reports ("server 127.0.0.1:53", ...)."""
        ...

    def query(self, qname: dns.name.Name, rdtype: dns.rdatatype.RdataType) -> dns.message.Message:
        """One question, answered with DNSSEC records (DO bit) and nothing validated.

        Raises:
            DnsValidationError: No usable answer (timeout, transport, malformed).
        """
        ...


@dataclass(frozen=True, slots=True)
class ValidatedRRset:
    """An RRset whose signature was validated from the trust anchor.

    Attributes:
        rrset: The records (at the end of any CNAME chain).
        signer: The zone whose key signed them.
        cnames: The names passed through, the query name first (empty without CNAMEs).
        expires_at: When the answer must be asked again (Unix seconds).
    """

    rrset: dns.rrset.RRset
    signer: dns.name.Name
    cnames: tuple[dns.name.Name, ...]
    expires_at: float


Answer = ValidatedRRset | Absence


def _show(name: dns.name.Name) -> str:
    return name.to_text(omit_final_dot=True) if name != dns.name.root else "."


def _what(name: dns.name.Name, rdtype: int) -> str:
    return f"{_show(name)} {dns.rdatatype.to_text(dns.rdatatype.RdataType.make(rdtype))}"


def _when(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _rank(error: DnsValidationError) -> int:
    # When no signature validates, report the most telling failure.
    order = (
        DnsBogusSignatureError,
        DnsSignatureTimeError,
        DnsWildcardError,
        DnsUnsupportedError,
        DnsUnknownKeyError,
        DnsUntrustedError,
    )
    return next((i for i, kind in enumerate(order) if isinstance(error, kind)), len(order))


class Validator:
    """Validates RRsets and denials from a trust anchor, caching what it validated.

    Thread-safe: lookups hold one lock (a check asks a handful of questions, and the
    cache must not validate the same zone twice in parallel).
    """

    def __init__(
        self,
        anchors: TrustAnchors,
        source: DnsSource,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """Set up a validator.

        Args:
            anchors: Where validation starts.
            source: Where answers come from.
            clock: The current time in Unix seconds (signature validity, cache expiry).
        """
        self.anchors = anchors
        self.source = source
        self._clock = clock
        self._lock = threading.RLock()
        self._answers: dict[tuple[dns.name.Name, int], Answer] = {}
        self._keys: dict[dns.name.Name, tuple[dns.rdataset.Rdataset, float]] = {}
        self._in_progress: set[dns.name.Name] = set()

    def clear_cache(self) -> None:
        """Forget every validated answer and key."""
        with self._lock:
            self._answers.clear()
            self._keys.clear()

    def lookup(self, qname: dns.name.Name, rdtype: dns.rdatatype.RdataType) -> Answer:
        """The validated RRset at ``qname`` (after CNAMEs), or its proven absence.

        Raises:
            DnsValidationError: Nothing that validates (the subclass says why).
        """
        with self._lock:
            return self._lookup(qname, rdtype, follow_cname=rdtype not in (_DS, _DNSKEY))

    # -- answers ---------------------------------------------------------------------------

    def _lookup(
        self, qname: dns.name.Name, rdtype: dns.rdatatype.RdataType, *, follow_cname: bool
    ) -> Answer:
        now = self._clock()
        cached = self._answers.get((qname, rdtype))
        if cached is not None and _expiry(cached) > now:
            return cached
        answer = self._resolve(qname, rdtype, follow_cname=follow_cname)
        self._answers[(qname, rdtype)] = answer
        return answer

    def _resolve(
        self, qname: dns.name.Name, rdtype: dns.rdatatype.RdataType, *, follow_cname: bool
    ) -> Answer:
        chain: list[dns.name.Name] = []
        current = qname
        message = self.source.query(current, rdtype)
        for _ in range(MAX_CNAME_HOPS + 1):
            self._check_rcode(message, current, rdtype)
            rrset = message.get_rrset(message.answer, current, _IN, rdtype)
            if rrset is not None:
                sigs = message.get_rrset(message.answer, current, _IN, _RRSIG, rdtype)
                signer, expires_at = self._validate_rrset(rrset, sigs)
                if rdtype == _DS and signer == current:
                    raise DnsBogusSignatureError(
                        f"the DS records of {_show(current)} are signed by the zone itself, "
                        "not by its parent"
                    )
                return ValidatedRRset(rrset, signer, tuple(chain), expires_at)
            cname = None
            if follow_cname:
                cname = message.get_rrset(message.answer, current, _IN, _CNAME)
            if cname is None:
                nxdomain = message.rcode() == dns.rcode.NXDOMAIN
                return self._denial(message, current, rdtype, nxdomain=nxdomain)
            sigs = message.get_rrset(message.answer, current, _IN, _RRSIG, _CNAME)
            self._validate_rrset(cname, sigs)
            chain.append(current)
            target = cname[0].target
            if target in chain or target == qname:
                path = " -> ".join(_show(n) for n in (*chain, target))
                raise DnsCnameError(f"the CNAME records loop: {path}", code="dns.cname_loop")
            current = target
            if not any(r.name == current for r in message.answer):
                message = self.source.query(current, rdtype)
        raise DnsCnameError(
            f"the answer for {_what(qname, rdtype)} follows more than {MAX_CNAME_HOPS} CNAMEs"
        )

    @staticmethod
    def _check_rcode(message: dns.message.Message, qname: dns.name.Name, rdtype: int) -> None:
        rcode = message.rcode()
        if rcode not in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
            raise DnsServerError(
                f"the DNS server answered {dns.rcode.to_text(rcode)} for {_what(qname, rdtype)}"
            )

    def _denial(
        self,
        message: dns.message.Message,
        qname: dns.name.Name,
        rdtype: dns.rdatatype.RdataType,
        *,
        nxdomain: bool,
    ) -> Absence:
        proofs = [r for r in message.authority if r.rdtype in (_NSEC, _NSEC3)]
        if not proofs:
            raise DnsDenialError(
                f"the answer for {_what(qname, rdtype)} claims it does not exist, without "
                "any DNSSEC proof (no NSEC or NSEC3 record)"
            )
        zone: dns.name.Name | None = None
        expires_at = float("inf")
        nsec: list[NsecRecord] = []
        nsec3: list[Nsec3Record] = []
        for rrset in proofs:
            sigs = message.get_rrset(message.authority, rrset.name, _IN, _RRSIG, rrset.rdtype)
            signer, valid_until = self._validate_rrset(rrset, sigs)
            expires_at = min(expires_at, valid_until)
            if zone is None:
                zone = signer
            elif signer != zone:
                raise DnsDenialError(
                    f"the denial for {_what(qname, rdtype)} mixes records of {_show(zone)} "
                    f"and {_show(signer)}"
                )
            for rdata in rrset:
                if isinstance(rdata, NSEC):
                    nsec.append(NsecRecord.from_rdata(rrset.name, rdata))
                elif isinstance(rdata, NSEC3):
                    record = Nsec3Record.from_rdata(rrset.name, rdata)
                    if record is not None:
                        nsec3.append(record)
        assert zone is not None
        if nsec3:
            proof = check_nsec3_denial(qname, rdtype, nxdomain=nxdomain, zone=zone, records=nsec3)
        else:
            proof = check_nsec_denial(qname, rdtype, nxdomain=nxdomain, zone=zone, records=nsec)
        # Negative answers are cached like positive ones (RFC 2308): for the TTL of the
        # proving records (the zone's SOA minimum), never past their signatures.
        return replace(proof, expires_at=expires_at)

    # -- signatures ------------------------------------------------------------------------

    def _validate_rrset(
        self, rrset: dns.rrset.RRset, sigs: dns.rrset.RRset | None
    ) -> tuple[dns.name.Name, float]:
        """Validate an RRset against the keys of its signer; returns signer and expiry."""
        what = _what(rrset.name, rrset.rdtype)
        if sigs is None or len(sigs) == 0:
            raise DnsUnsignedError(f"the answer for {what} is not signed")
        rrsigs = [s for s in sigs if isinstance(s, RRSIG)]
        signers = list(dict.fromkeys(s.signer for s in rrsigs))
        problems: list[DnsValidationError] = []
        for signer in signers:
            if not rrset.name.is_subdomain(signer):
                problems.append(
                    DnsUntrustedError(
                        f"{what} is signed by {_show(signer)}, which does not hold it"
                    )
                )
                continue
            if self.anchors.anchor_for(signer) is None:
                problems.append(
                    DnsUntrustedError(
                        f"{what} is signed by {_show(signer)}, outside the tree of the trust "
                        f"anchor ({self.anchors.source})"
                    )
                )
                continue
            keys = self._zone_keys(signer)
            outcome = self._try_signatures(rrset, [s for s in rrsigs if s.signer == signer], keys)
            if isinstance(outcome, float):
                return signer, outcome
            problems.extend(outcome)
        problems.sort(key=_rank)
        raise problems[0]

    def _try_signatures(
        self, rrset: dns.rrset.RRset, rrsigs: Iterable[RRSIG], keys: dns.rdataset.Rdataset
    ) -> float | list[DnsValidationError]:
        """The expiry of the first signature that validates, or why none did."""
        what = _what(rrset.name, rrset.rdtype)
        now = self._clock()
        owner_labels = len(rrset.name) - 1 - (1 if rrset.name.is_wild() else 0)
        problems: list[DnsValidationError] = []
        for rrsig in rrsigs:
            signer = _show(rrsig.signer)
            if rrsig.labels < owner_labels:
                problems.append(
                    DnsWildcardError(
                        f"the answer for {what} was synthesised from a wildcard; SALVE records "
                        "must be published at their own names"
                    )
                )
                continue
            if rrsig.algorithm not in ALGORITHMS:
                problems.append(
                    DnsUnsupportedError(
                        f"{what} is signed with DNSSEC algorithm {int(rrsig.algorithm)}, which "
                        "this verifier does not accept"
                    )
                )
                continue
            candidates = [k for k in keys if _key_matches(k, rrsig)]
            if not candidates:
                problems.append(
                    DnsUnknownKeyError(
                        f"{what} is signed with key tag {rrsig.key_tag} (algorithm "
                        f"{int(rrsig.algorithm)}), which {signer} does not publish"
                    )
                )
                continue
            if rrsig.expiration < now:
                problems.append(
                    DnsSignatureTimeError(
                        f"the signature on {what} expired at {_when(rrsig.expiration)}"
                    )
                )
                continue
            if rrsig.inception > now:
                problems.append(
                    DnsSignatureTimeError(
                        f"the signature on {what} is not valid before {_when(rrsig.inception)}",
                        code="dns.signature_not_yet_valid",
                    )
                )
                continue
            try:
                dns.dnssec.validate_rrsig(
                    rrset, rrsig, {rrsig.signer: _rdataset(candidates)}, now=now
                )
            except dns.exception.DNSException:
                problems.append(
                    DnsBogusSignatureError(
                        f"the signature on {what} (key tag {rrsig.key_tag} of {signer}) does "
                        "not verify"
                    )
                )
                continue
            ttl = min(rrset.ttl, rrsig.original_ttl, MAX_CACHE_TTL_S)
            return float(min(now + ttl, rrsig.expiration))
        return problems

    # -- zone keys -------------------------------------------------------------------------

    def _zone_keys(self, zone: dns.name.Name) -> dns.rdataset.Rdataset:
        """The validated DNSKEY RRset of ``zone`` (DS at the parent, or the anchor)."""
        now = self._clock()
        cached = self._keys.get(zone)
        if cached is not None and cached[1] > now:
            return cached[0]
        if zone in self._in_progress or len(self._in_progress) >= MAX_ZONE_DEPTH:
            raise DnsUntrustedError(f"the chain of trust for {_show(zone)} loops back on itself")
        self._in_progress.add(zone)
        try:
            keys, expires_at = self._fetch_zone_keys(zone)
        finally:
            self._in_progress.discard(zone)
        self._keys[zone] = (keys, expires_at)
        return keys

    def _fetch_zone_keys(self, zone: dns.name.Name) -> tuple[dns.rdataset.Rdataset, float]:
        anchor = self.anchors.anchors.get(zone)
        if anchor is not None:
            digests: tuple[DS, ...] = anchor.ds
            anchored_keys = anchor.dnskeys
            origin = f"the trust anchor ({self.anchors.source})"
        else:
            found = self._lookup(zone, _DS, follow_cname=False)
            if isinstance(found, Absence):
                raise DnsNoDsError(
                    f"the zone {_show(zone)} has no DS record in its parent zone "
                    f"{_show(found.zone)}: nothing in it can be validated from the trust anchor"
                )
            digests = tuple(r for r in found.rrset if isinstance(r, DS))
            anchored_keys = ()
            origin = f"its parent zone {_show(found.signer)}"
        message = self.source.query(zone, _DNSKEY)
        self._check_rcode(message, zone, _DNSKEY)
        dnskeys = message.get_rrset(message.answer, zone, _IN, _DNSKEY)
        if dnskeys is None or len(dnskeys) == 0:
            raise DnsDsMismatchError(f"the zone {_show(zone)} publishes no DNSKEY record")
        usable_digests = [
            d for d in digests if d.digest_type in DIGEST_TYPES and d.algorithm in ALGORITHMS
        ]
        if digests and not usable_digests:
            raise DnsUnsupportedError(
                f"the DS records of {_show(zone)} use only digest types or algorithms this "
                "verifier refuses"
            )
        trusted = [
            k
            for k in dnskeys
            if isinstance(k, DNSKEY)
            and k.flags & ZONE_KEY_FLAG
            and not k.flags & REVOKE_FLAG
            and (k in anchored_keys or any(_ds_matches(zone, k, d) for d in usable_digests))
        ]
        if not trusted:
            tags = ", ".join(str(d.key_tag) for d in digests) or "none"
            raise DnsDsMismatchError(
                f"no DNSKEY of {_show(zone)} matches the DS records in {origin} (key tags {tags})"
            )
        sigs = message.get_rrset(message.answer, zone, _IN, _RRSIG, _DNSKEY)
        if sigs is None or len(sigs) == 0:
            raise DnsUnsignedError(f"the answer for {_what(zone, _DNSKEY)} is not signed")
        own = [s for s in sigs if isinstance(s, RRSIG) and s.signer == zone]
        outcome = self._try_signatures(dnskeys, own, _rdataset(trusted))
        if isinstance(outcome, float):
            return dnskeys, outcome
        if not outcome:
            raise DnsUnknownKeyError(
                f"the DNSKEY records of {_show(zone)} are not signed by the zone's own keys"
            )
        outcome.sort(key=_rank)
        raise outcome[0]


def _expiry(answer: Answer) -> float:
    return answer.expires_at


def _key_matches(key: object, rrsig: RRSIG) -> bool:
    return (
        isinstance(key, DNSKEY)
        and key.algorithm == rrsig.algorithm
        and dns.dnssec.key_id(key) == rrsig.key_tag
        and bool(key.flags & ZONE_KEY_FLAG)
        and key.protocol == 3
        and (not key.flags & REVOKE_FLAG or rrsig.type_covered == _DNSKEY)
    )


def _ds_matches(zone: dns.name.Name, key: DNSKEY, digest: DS) -> bool:
    if digest.key_tag != dns.dnssec.key_id(key) or digest.algorithm != key.algorithm:
        return False
    made = dns.dnssec.make_ds(zone, key, DIGEST_TYPES[digest.digest_type])
    return made.digest == digest.digest


def _rdataset(keys: Iterable[DNSKEY]) -> dns.rdataset.Rdataset:
    keys = list(keys)
    rdataset = dns.rdataset.Rdataset(_IN, _DNSKEY)
    for key in keys:
        rdataset.add(key)
    return rdataset
