"""The DNSSEC-validating lookups SALVE needs, for the verifier, the front and the GMLC.

::

    resolver = open_resolver(server="127.0.0.1:53")      # or None: iterative from the anchor
    policy = lookup_policy(resolver, "www.example.com")   # None only for a proven absence
    sites = resolver.loc("www.example.com")               # validated LOC records

Every answer is validated from the trust anchor (the IANA root by default) through each
delegation (:mod:`verifier.validation`); ``None`` means a *validated* denial (NXDOMAIN
or NODATA with a valid NSEC/NSEC3 proof) and nothing else. Anything that does not
validate raises :class:`DnsValidationError` (its subclass and ``reason`` say why); a
validated record whose value SALVE cannot use raises
:class:`mlp.dnsrecords.DnsRecordError`.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import dns.exception
import dns.name
import dns.rdatatype
from dns.rdtypes.ANY.LOC import LOC
from dns.rdtypes.ANY.TXT import TXT
from dns.rdtypes.IN.A import A
from dns.rdtypes.IN.AAAA import AAAA

from mlp.dnsrecords import LocSite, SalvePolicy, join_txt_strings, policy_record_name
from verifier.anchors import TrustAnchors, iana_root_anchors, load_trust_anchors
from verifier.denial import Absence
from verifier.errors import DnsDenialError, DnsValidationError, VerifierError
from verifier.sources import IterativeSource, ServerSource, ZoneFileSource, parse_server
from verifier.validation import Answer, DnsSource, ValidatedRRset, Validator

__all__ = [
    "DnsValidationError",
    "SecureResolver",
    "VerifierError",
    "lookup_policy",
    "open_resolver",
]


@functools.lru_cache(maxsize=4096)
def _name(text: str) -> dns.name.Name:
    try:
        return dns.name.from_text(text)
    except dns.exception.DNSException as exc:
        raise ValueError(f"{text[:80]!r} is not a domain name: {exc}") from None


class SecureResolver:
    """Validated lookups over one DNS source, with a cache of what was validated."""

    def __init__(self, validator: Validator) -> None:
        """Wrap a validator (see :func:`open_resolver` for the usual way to get one)."""
        self.validator = validator

    @property
    def source(self) -> str:
        """Where the answers come from, in words ("DNS server 127.0.0.1:53", ...)."""
        return self.validator.source.description

    @property
    def anchors(self) -> TrustAnchors:
        """The trust anchors validation starts from."""
        return self.validator.anchors

    def clear_cache(self) -> None:
        """Forget every validated answer (the next lookups ask the source again)."""
        self.validator.clear_cache()

    def lookup(self, name: str, rdtype: str | int) -> Answer:
        """The validated RRset at ``name`` (after CNAMEs), or its proven absence.

        Raises:
            DnsValidationError: Nothing that validates.
            ValueError: ``name`` is not a domain name.
        """
        return self.validator.lookup(_name(name), dns.rdatatype.RdataType.make(rdtype))

    def txt(self, name: str) -> list[str] | None:
        """The validated TXT RRset at ``name``, each record's strings joined.

        Returns:
            One value per record; None only for a validated denial.

        Raises:
            DnsValidationError: Nothing that validates.
            mlp.dnsrecords.DnsRecordError: A record that is not ASCII or too long.
        """
        answer = self.lookup(name, "TXT")
        if isinstance(answer, Absence):
            return None
        return [join_txt_strings(r.strings) for r in answer.rrset if isinstance(r, TXT)]

    def loc(self, name: str) -> list[LocSite] | None:
        """The validated LOC RRset at ``name`` as sites (``hp`` decoded, in metres).

        Returns:
            One site per record; None only for a validated denial.

        Raises:
            DnsValidationError: Nothing that validates.
        """
        answer = self.lookup(name, "LOC")
        if isinstance(answer, Absence):
            return None
        return [
            LocSite(r.float_latitude, r.float_longitude, r.horizontal_precision / 100)
            for r in answer.rrset
            if isinstance(r, LOC)
        ]

    def addresses(self, name: str) -> list[str]:
        """The validated IPv4 then IPv6 addresses of ``name``.

        Raises:
            DnsValidationError: Nothing validates, or the name has no address at all.
        """
        found: list[str] = []
        for rdtype in ("A", "AAAA"):
            answer = self.lookup(name, rdtype)
            if isinstance(answer, ValidatedRRset):
                found.extend(r.address for r in answer.rrset if isinstance(r, A | AAAA))
        if not found:
            raise DnsDenialError(f"{name} has no address (A or AAAA) record", code="dns.no_address")
        return found


def lookup_policy(resolver: SecureResolver, host: str) -> SalvePolicy | None:
    """The SALVE policy a service publishes at ``_salve.H``.

    Returns:
        The policy; None only when DNSSEC proves there is no ``_salve.H`` TXT record.

    Raises:
        DnsValidationError: The answer does not validate (no proven absence either).
        mlp.dnsrecords.DnsRecordError: No, several, or a malformed ``v=salve1`` record.
        mlp.names.HostNameError: ``host`` is not a canonical host name.
    """
    values = resolver.txt(policy_record_name(host))
    if values is None:
        return None
    return SalvePolicy.from_rrset(values)


def open_resolver(
    *,
    server: str | None = None,
    trust_anchor: Path | None = None,
    zone_files: Sequence[Path] = (),
    timeout: float = 5.0,
    iterative_port: int = 53,
    clock: Callable[[], float] = time.time,
) -> SecureResolver:
    """A validating resolver.

    Args:
        server: ``HOST:PORT`` of a resolver, or of an authoritative server for every
            zone involved; None resolves iteratively from the anchor's servers.
        trust_anchor: A trust anchor file (RFC 7958 XML, or DS/DNSKEY master-file
            lines); None uses the shipped IANA root anchor.
        zone_files: Validate over these signed zone files instead of the network.
        timeout: Seconds allowed for each DNS question.
        iterative_port: The port iterative resolution asks servers on (53 on the
            Internet; a lab on loopback uses another).
        clock: The current time in Unix seconds.

    Raises:
        ValueError: A malformed server address, or a zone file that cannot be loaded.
        verifier.anchors.TrustAnchorError: A trust anchor file that cannot be used.
        DnsValidationError: The server's host name cannot be resolved.
    """
    if not timeout > 0:
        raise ValueError("timeout must be positive")
    anchors = iana_root_anchors() if trust_anchor is None else load_trust_anchors(trust_anchor)
    source: DnsSource
    if zone_files:
        source = ZoneFileSource.from_files(list(zone_files))
    elif server is not None:
        host, port = parse_server(server)
        source = ServerSource(host, port, timeout=timeout)
    else:
        source = IterativeSource(anchors.hints, port=iterative_port, timeout=timeout)
    return SecureResolver(Validator(anchors, source, clock=clock))
