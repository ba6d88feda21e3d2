"""Where DNS answers come from: a server, an iterative walk, or signed zone files.

Every source answers one question at a time with the DNSSEC records a validator needs
(the DO bit), and validates nothing: :mod:`verifier.validation` trusts none of them.

* :class:`ServerSource` asks one server: a recursive resolver (``RD``, and ``CD`` so
  that a validating resolver hands over bogus data instead of a bare SERVFAIL, and the
  verifier can say what was wrong) or an authoritative server for every zone involved.
  UDP with EDNS (1232 bytes) first; a truncated answer is asked again over TCP.
* :class:`IterativeSource` starts at the trust anchor's servers (the root servers for
  the IANA anchor) and follows referrals, as a resolver does, without recursion.
* :class:`ZoneFileSource` answers from signed zone files as an authoritative server
  would, with NSEC or NSEC3 proofs for absent names, for validation without a network.
"""

from __future__ import annotations

import base64
import bisect
import socket
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Final

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdataclass
import dns.rdataset
import dns.rdatatype
import dns.rrset
import dns.zone
from dns.rdtypes.ANY.NSEC3 import NSEC3
from dns.rdtypes.ANY.NSEC3PARAM import NSEC3PARAM

from verifier.denial import nsec3_hash
from verifier.errors import DnsAnswerError, DnsTransportError, DnsValidationError

__all__ = [
    "EDNS_PAYLOAD",
    "Exchange",
    "IterativeSource",
    "ServerSource",
    "ZoneFileSource",
    "exchange",
    "parse_server",
]

EDNS_PAYLOAD: Final = 1232
MAX_REFERRALS: Final = 24
_IN: Final = dns.rdataclass.IN
_RRSIG: Final = dns.rdatatype.RRSIG


def _what(qname: dns.name.Name, rdtype: int) -> str:
    type_text = dns.rdatatype.to_text(dns.rdatatype.RdataType.make(rdtype))
    return f"{qname.to_text(omit_final_dot=True) or '.'} {type_text}"


def parse_server(text: str, *, default_port: int = 53) -> tuple[str, int]:
    """Read ``HOST``, ``HOST:PORT``, ``[V6]`` or ``[V6]:PORT``.

    Raises:
        ValueError: Not an address with an optional port.
    """
    host, port = text, default_port
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise ValueError(f"{text!r}: unclosed [")
        host, rest = text[1:end], text[end + 1 :]
        if rest:
            if not rest.startswith(":"):
                raise ValueError(f"{text!r} is not [ADDRESS]:PORT")
            port = _port(rest[1:], text)
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
        port = _port(port_text, text)
    if not host:
        raise ValueError(f"{text!r} has no host")
    return host, port


def _port(text: str, whole: str) -> int:
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= 65535:
        raise ValueError(f"{whole!r}: the port must be 1-65535")
    return int(text)


def _make_query(
    qname: dns.name.Name, rdtype: dns.rdatatype.RdataType, *, recursion: bool
) -> dns.message.Message:
    query = dns.message.make_query(qname, rdtype, want_dnssec=True, payload=EDNS_PAYLOAD)
    if recursion:
        query.flags |= dns.flags.CD
    else:
        query.flags &= ~dns.flags.RD
    return query


Exchange = Callable[[dns.message.Message, str, int, float], dns.message.Message]
"""Send one query to ``(address, port)`` within a timeout and return the answer."""


def exchange(
    query: dns.message.Message, address: str, port: int, timeout: float
) -> dns.message.Message:
    """Ask over UDP, and again over TCP when the UDP answer is truncated.

    Raises:
        DnsTransportError: Timeout, refused connection, or truncated even over TCP.
        DnsAnswerError: An answer that is not well-formed DNS.
    """
    question = query.question[0]
    what = _what(question.name, question.rdtype)
    where = f"{address}:{port}" if ":" not in address else f"[{address}]:{port}"
    deadline = time.monotonic() + timeout
    try:
        response = dns.query.udp(query, address, timeout=timeout, port=port)
        if response.flags & dns.flags.TC:
            remaining = max(0.05, deadline - time.monotonic())
            try:
                response = dns.query.tcp(query, address, timeout=remaining, port=port)
            except (OSError, dns.exception.Timeout) as exc:
                raise DnsTransportError(
                    f"the answer for {what} from {where} was truncated, and asking again over "
                    f"TCP failed: {_transport_words(exc)}",
                    code="dns.truncated",
                ) from None
    except dns.exception.Timeout:
        raise DnsTransportError(f"no answer from {where} for {what} within {timeout:g} s") from None
    except OSError as exc:
        raise DnsTransportError(f"cannot ask {where} for {what}: {_transport_words(exc)}") from None
    except DnsValidationError:
        raise
    except dns.exception.DNSException as exc:
        raise DnsAnswerError(
            f"the answer for {what} from {where} is not well-formed DNS: {exc}"
        ) from None
    if response.flags & dns.flags.TC:
        raise DnsTransportError(
            f"the answer for {what} from {where} is truncated even over TCP", code="dns.truncated"
        )
    return response


def _transport_words(exc: BaseException) -> str:
    if isinstance(exc, dns.exception.Timeout):
        return "timed out"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return type(exc).__name__


class ServerSource:
    """Answers from one server (a recursive resolver or an authoritative server)."""

    def __init__(
        self, address: str, port: int = 53, *, timeout: float = 5.0, exchanger: Exchange = exchange
    ) -> None:
        """Ask ``address:port`` (resolve a host name once, here).

        Raises:
            DnsTransportError: The server's host name cannot be resolved.
        """
        try:
            self.address = str(socket.getaddrinfo(address, port, type=socket.SOCK_DGRAM)[0][4][0])
        except (OSError, UnicodeError):
            raise DnsTransportError(f"cannot resolve the DNS server {address}") from None
        self.port = port
        self.timeout = timeout
        self._exchange = exchanger

    @property
    def description(self) -> str:
        """The server, in words."""
        return f"DNS server {self.address}:{self.port}"

    def query(self, qname: dns.name.Name, rdtype: dns.rdatatype.RdataType) -> dns.message.Message:
        """Ask the server with RD, CD and DO set.

        Raises:
            DnsTransportError: No answer.
            DnsAnswerError: A malformed answer.
        """
        return self._exchange(
            _make_query(qname, rdtype, recursion=True), self.address, self.port, self.timeout
        )


class IterativeSource:
    """Follows referrals from the trust anchor's servers, like a resolver (RD off)."""

    def __init__(
        self,
        hints: Mapping[dns.name.Name, Sequence[str]],
        *,
        port: int = 53,
        timeout: float = 5.0,
        exchanger: Exchange = exchange,
    ) -> None:
        """Start from ``hints`` (server addresses by zone).

        Args:
            hints: Server addresses of the anchor zones.
            port: The port every server is asked on (53; a lab on loopback uses another).
            timeout: Seconds allowed for each question to each server.
            exchanger: How one query is sent (UDP, then TCP on truncation).

        Raises:
            ValueError: No hints.
        """
        if not hints:
            raise ValueError("iterative resolution needs the anchor zone's server addresses")
        self.port = port
        self.timeout = timeout
        self._exchange = exchanger
        self._servers: dict[dns.name.Name, tuple[str, ...]] = {
            zone: tuple(addresses) for zone, addresses in hints.items()
        }

    @property
    def description(self) -> str:
        """The source, in words."""
        return "iterative resolution from the trust anchor's servers"

    def _closest_servers(
        self, qname: dns.name.Name, rdtype: int
    ) -> tuple[dns.name.Name, tuple[str, ...]]:
        # DS lives on the parent side of a cut: start from a zone strictly above the name.
        candidates = [
            zone
            for zone in self._servers
            if qname.is_subdomain(zone) and not (rdtype == dns.rdatatype.DS and zone == qname)
        ]
        if not candidates:
            raise DnsTransportError(
                f"no server is known for {_what(qname, rdtype)}: it is outside the trust anchor"
            )
        zone = max(candidates, key=len)
        return zone, self._servers[zone]

    def _ask(
        self, addresses: Iterable[str], qname: dns.name.Name, rdtype: dns.rdatatype.RdataType
    ) -> dns.message.Message:
        failure: DnsValidationError | None = None
        for address in addresses:
            try:
                return self._exchange(
                    _make_query(qname, rdtype, recursion=False), address, self.port, self.timeout
                )
            except DnsValidationError as exc:
                failure = exc
        assert failure is not None
        raise failure

    def query(self, qname: dns.name.Name, rdtype: dns.rdatatype.RdataType) -> dns.message.Message:
        """Walk down from the closest known servers to an authoritative answer.

        Raises:
            DnsTransportError: No server answered, or the referrals do not lead anywhere.
        """
        zone, addresses = self._closest_servers(qname, rdtype)
        for _ in range(MAX_REFERRALS):
            response = self._ask(addresses, qname, rdtype)
            if (
                response.answer
                or response.flags & dns.flags.AA
                or response.rcode() != dns.rcode.NOERROR
            ):
                return response
            referral = next((r for r in response.authority if r.rdtype == dns.rdatatype.NS), None)
            if (
                referral is None
                or not referral.name.is_subdomain(zone)
                or referral.name == zone
                or not qname.is_subdomain(referral.name)
                or (rdtype == dns.rdatatype.DS and referral.name == qname)
            ):
                return response
            found = self._referral_addresses(response, referral)
            if not found:
                raise DnsTransportError(
                    f"the servers of {referral.name} cannot be found (no usable addresses)"
                )
            zone, addresses = referral.name, found
            self._servers[zone] = found
        raise DnsTransportError(f"more than {MAX_REFERRALS} referrals for {_what(qname, rdtype)}")

    def _referral_addresses(
        self, response: dns.message.Message, referral: dns.rrset.RRset
    ) -> tuple[str, ...]:
        found: list[str] = []
        for server in referral:
            for rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA):
                glue = response.get_rrset(response.additional, server.target, _IN, rdtype)
                found.extend(r.address for r in glue or ())
        if found:
            return tuple(found)
        # No glue: look the servers' addresses up; they need no validation, since every
        # answer from them is validated anyway.
        for server in referral:
            if server.target.is_subdomain(referral.name):
                continue
            answer = self.query(server.target, dns.rdatatype.A)
            rrset = answer.get_rrset(answer.answer, server.target, _IN, dns.rdatatype.A)
            found.extend(r.address for r in rrset or ())
        return tuple(found)


# --------------------------------------------------------------------------- zone files


class _Zone:
    """One loaded zone with its denial chain indexed."""

    def __init__(self, zone: dns.zone.Zone) -> None:
        assert zone.origin is not None
        self.zone = zone
        self.origin: dns.name.Name = zone.origin
        self.names = sorted(zone.nodes)
        self.nsec_owners = sorted(
            name for name, node in zone.nodes.items() if node.get_rdataset(_IN, dns.rdatatype.NSEC)
        )
        param = zone.get_rdataset(self.origin, dns.rdatatype.NSEC3PARAM)
        self.nsec3: NSEC3PARAM | None = None
        self.nsec3_index: list[tuple[bytes, dns.name.Name]] = []
        if param:
            first = param[0]
            assert isinstance(first, NSEC3PARAM)
            self.nsec3 = first
            for name, node in zone.nodes.items():
                rdataset = node.get_rdataset(_IN, dns.rdatatype.NSEC3)
                if rdataset:
                    nsec3 = rdataset[0]
                    assert isinstance(nsec3, NSEC3)
                    label = name.labels[0].upper()
                    self.nsec3_index.append((base64.b32hexdecode(label), name))
            self.nsec3_index.sort()

    def exists(self, name: dns.name.Name) -> bool:
        """Whether the name owns records or has names below it (empty non-terminal)."""
        if name in self.zone.nodes:
            return True
        index = bisect.bisect_right(self.names, name)
        return index < len(self.names) and self.names[index].is_subdomain(name)

    def cut_above(self, qname: dns.name.Name, rdtype: int) -> dns.name.Name | None:
        """The delegation point at or above ``qname`` inside this zone, if any."""
        name = qname
        while name != self.origin:
            node = self.zone.get_node(name)
            if node is not None and node.get_rdataset(_IN, dns.rdatatype.NS):
                if not (name == qname and rdtype == dns.rdatatype.DS):
                    return name
            name = name.parent()
        return None

    def closest_encloser(self, qname: dns.name.Name) -> dns.name.Name:
        name = qname.parent()
        while name != self.origin and not self.exists(name):
            name = name.parent()
        return name

    def rrset_with_sigs(
        self,
        name: dns.name.Name,
        rdtype: dns.rdatatype.RdataType,
        owner: dns.name.Name | None = None,
    ) -> list[dns.rrset.RRset]:
        node = self.zone.get_node(name)
        if node is None:
            return []
        owner = owner or name
        found = []
        rdataset = node.get_rdataset(_IN, rdtype)
        if rdataset:
            found.append(dns.rrset.from_rdata_list(owner, rdataset.ttl, list(rdataset)))
        sigs = node.get_rdataset(_IN, _RRSIG, rdtype)
        if sigs:
            found.append(dns.rrset.from_rdata_list(owner, sigs.ttl, list(sigs)))
        return found

    def nsec_covering(self, name: dns.name.Name) -> dns.name.Name | None:
        if not self.nsec_owners:
            return None
        index = bisect.bisect_left(self.nsec_owners, name) - 1
        return self.nsec_owners[index]  # index -1: the last record wraps around

    def nsec3_for(self, name: dns.name.Name, *, covering: bool) -> dns.name.Name | None:
        if self.nsec3 is None or not self.nsec3_index:
            return None
        digest = nsec3_hash(name, self.nsec3.salt, self.nsec3.iterations)
        index = bisect.bisect_left(self.nsec3_index, (digest, dns.name.empty))
        if not covering:
            hit = index < len(self.nsec3_index) and self.nsec3_index[index][0] == digest
            return self.nsec3_index[index][1] if hit else None
        return self.nsec3_index[index - 1][1]

    def referral(self, response: dns.message.Message, cut: dns.name.Name) -> None:
        """Fill a referral to the delegation at ``cut``: NS, DS or its absence, glue."""
        response.authority.extend(self.rrset_with_sigs(cut, dns.rdatatype.NS)[:1])
        ds = self.rrset_with_sigs(cut, dns.rdatatype.DS)
        if ds:
            response.authority.extend(ds)
        else:
            proof = dns.rdatatype.NSEC3 if self.nsec3 is not None else dns.rdatatype.NSEC
            for owner in self.denial(cut, "nodata"):
                response.authority.extend(self.rrset_with_sigs(owner, proof))
        node = self.zone.get_node(cut)
        servers = node.get_rdataset(_IN, dns.rdatatype.NS) if node is not None else None
        for server in servers or ():
            for rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA):
                response.additional.extend(self.rrset_with_sigs(server.target, rdtype)[:1])

    def denial(self, qname: dns.name.Name, kind: str) -> list[dns.name.Name]:
        """The owners of the NSEC/NSEC3 records that prove an absence of ``kind``."""
        closest = self.closest_encloser(qname)
        wildcard = dns.name.Name((b"*", *closest.labels))
        if self.nsec3 is not None:
            matching = self.nsec3_for(qname, covering=False)
            if kind == "nodata" and matching is not None:
                return [matching]
            next_closer = dns.name.Name(qname.labels[-(len(closest) + 1) :])
            owners = [
                self.nsec3_for(closest, covering=False),
                self.nsec3_for(next_closer, covering=True),
                self.nsec3_for(wildcard, covering=kind == "nxdomain"),
            ]
            return [o for o in owners if o is not None]
        if kind == "nodata" and self.zone.get_node(qname) is not None:
            return [qname]
        owners = [self.nsec_covering(qname)]
        if kind == "nxdomain":
            owners.append(self.nsec_covering(wildcard))
        elif self.zone.get_node(wildcard) is not None:
            owners.append(wildcard)
        return [o for o in owners if o is not None]


class ZoneFileSource:
    """Answers like an authoritative server for a set of signed zones."""

    def __init__(
        self, zones: Iterable[dns.zone.Zone], *, description: str = "", referrals: bool = False
    ) -> None:
        """Serve these zones (each with its origin set).

        Args:
            zones: The signed zones.
            description: The source in words.
            referrals: Answer a name delegated to a zone not held here with a referral, as
                an authoritative server does; otherwise that is an error (for zone-file
                validation, where every zone must be given).

        Raises:
            ValueError: No zone, or two zones with one origin.
        """
        self._zones: dict[dns.name.Name, _Zone] = {}
        for zone in zones:
            loaded = _Zone(zone)
            if loaded.origin in self._zones:
                raise ValueError(f"two zone files for {loaded.origin}")
            self._zones[loaded.origin] = loaded
        if not self._zones:
            raise ValueError("no zone file")
        self._description = description or "signed zone files"
        self._referrals = referrals

    @classmethod
    def from_files(cls, paths: Sequence[Path]) -> ZoneFileSource:
        """Load signed zone files in master-file form (each with its ``$ORIGIN`` or SOA).

        Raises:
            ValueError: A file that cannot be read or parsed.
        """
        zones = []
        for path in paths:
            try:
                zones.append(dns.zone.from_file(str(path), origin=None, relativize=False))
            except (OSError, dns.exception.DNSException) as exc:
                raise ValueError(f"cannot load the zone file {path}: {exc}") from None
        names = ", ".join(str(p) for p in paths)
        return cls(zones, description=f"signed zone files ({names})")

    @property
    def description(self) -> str:
        """The source, in words."""
        return self._description

    def _zone_for(self, qname: dns.name.Name, rdtype: int) -> _Zone | None:
        candidates = [
            zone
            for origin, zone in self._zones.items()
            if qname.is_subdomain(origin)
            and not (rdtype == dns.rdatatype.DS and origin == qname and qname != dns.name.root)
        ]
        return max(candidates, key=lambda z: len(z.origin), default=None)

    def query(self, qname: dns.name.Name, rdtype: dns.rdatatype.RdataType) -> dns.message.Message:
        """Answer from the deepest zone that holds the name.

        Raises:
            DnsTransportError: No zone file holds the name (or, without referrals, the zone
                it is delegated to).
        """
        return self.respond(dns.message.make_query(qname, rdtype, want_dnssec=True))

    def respond(self, query: dns.message.Message) -> dns.message.Message:
        """Answer one query message, as an authoritative server would.

        Raises:
            DnsTransportError: As :meth:`query`.
        """
        question = query.question[0]
        qname, rdtype = question.name, question.rdtype
        response = dns.message.make_response(query)
        zone = self._zone_for(qname, rdtype)
        if zone is None:
            raise DnsTransportError(f"no zone file holds {_what(qname, rdtype)}")
        cut = zone.cut_above(qname, rdtype)
        if cut is not None:
            if not self._referrals:
                raise DnsTransportError(
                    f"{_what(qname, rdtype)} is delegated to {cut}, and no zone file holds "
                    "that zone"
                )
            zone.referral(response, cut)
        else:
            response.flags |= dns.flags.AA
            self._answer(zone, response, qname, rdtype)
        # Through the wire form and back, as from a server: the reader indexes the
        # sections, and whatever would not survive the wire does not survive here.
        return dns.message.from_wire(response.to_wire(max_size=65535))

    @staticmethod
    def _answer(
        zone: _Zone,
        response: dns.message.Message,
        qname: dns.name.Name,
        rdtype: dns.rdatatype.RdataType,
    ) -> None:
        node = zone.zone.get_node(qname)
        if node is not None and node.get_rdataset(_IN, rdtype):
            response.answer.extend(zone.rrset_with_sigs(qname, rdtype))
            return
        if (
            node is not None
            and rdtype != dns.rdatatype.CNAME
            and node.get_rdataset(_IN, dns.rdatatype.CNAME)
        ):
            response.answer.extend(zone.rrset_with_sigs(qname, dns.rdatatype.CNAME))
            return
        kind = "nodata" if zone.exists(qname) else "nxdomain"
        if kind == "nxdomain":
            closest = zone.closest_encloser(qname)
            wildcard = dns.name.Name((b"*", *closest.labels))
            synthesised = zone.rrset_with_sigs(wildcard, rdtype, owner=qname)
            if synthesised:
                response.answer.extend(synthesised)
                return
            if zone.zone.get_node(wildcard) is not None:
                kind = "wildcard-nodata"
        if kind == "nxdomain":
            response.set_rcode(dns.rcode.NXDOMAIN)
        response.authority.extend(zone.rrset_with_sigs(zone.origin, dns.rdatatype.SOA))
        proof_type = dns.rdatatype.NSEC3 if zone.nsec3 is not None else dns.rdatatype.NSEC
        proof_kind = "nxdomain" if kind == "nxdomain" else "nodata"
        seen: set[dns.name.Name] = set()
        for owner in zone.denial(qname, proof_kind):
            if owner not in seen:
                seen.add(owner)
                response.authority.extend(zone.rrset_with_sigs(owner, proof_type))
