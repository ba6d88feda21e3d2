"""RFC 2136 publishing: put a SALVE party's records into its zone with one signed update.

The site's front publishes its LOC records, its ``_salve`` policy and its M2DMRT
declaration; the GMLC publishes its declarations of its sites and its key pins. Both send
them the same way::

    key = load_tsig_key(Path("/etc/salve/tsig.key"))
    result = publish("ns1.example.com:53", key, "example.com", [
        ZoneRecord("_salve.www.example.com", "TXT", 300, "v=salve1; gmlc=...; age=300; mode=one"),
        ZoneRecord("www.example.com", "LOC", 300, "47 22 36.000 N 8 32 30.000 E 0m 1m 2000m 10m"),
    ])
    print("changed" if result.changed else "already published")

:func:`publish` first reads what the server serves for each (owner, type) RRset, then
sends *one* RFC 2136 update (TCP, signed with TSIG) that replaces each RRset that differs
by exactly the given records, and nothing when everything is already in place: calling it
twice with the same records changes the zone once and reports the second call as
unchanged. A TXT record's ``value`` is its whole text (unquoted); values longer than 255
bytes are split into strings with :func:`mlp.dnsrecords.split_txt_value`, as clients join
them back. Other types take their RDATA in presentation form.

The TSIG key comes from a file, never from a command line: BIND's ``key "NAME" { ... };``
clause (``tsig-keygen``, ``ddns-confgen``) or Knot's ``key:`` YAML block (``keymgr -t``).

Errors (each with a plain-words ``reason``)::

    DnsUpdateError
      TsigKeyError                the key file cannot be used
      DnsUpdateRecordError        a record that cannot be published in this zone
      DnsUpdateTransportError     no exchange with the server (refused connection, ...)
        DnsUpdateTimeoutError       the server did not answer in time
      DnsUpdateRejectedError      the server answered, but did not apply the update
        DnsUpdateRefusedError       REFUSED: updates are not allowed for this key or zone
        DnsUpdateNotAuthError       NOTAUTH or a TSIG failure: the key is not accepted,
                                    or the server is not authoritative for the zone
"""

from __future__ import annotations

import base64
import binascii
import re
import socket
import stat
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdataset
import dns.rdatatype
import dns.tsig
import dns.update
from dns.rdtypes.ANY.TXT import TXT

from mlp.dnsrecords import DnsRecordError, split_txt_value
from runtime.files import FileProblem, FileReadError, read_bounded
from verifier.sources import parse_server

__all__ = [
    "DnsUpdateError",
    "DnsUpdateNotAuthError",
    "DnsUpdateRecordError",
    "DnsUpdateRefusedError",
    "DnsUpdateRejectedError",
    "DnsUpdateTimeoutError",
    "DnsUpdateTransportError",
    "PublishResult",
    "TsigKey",
    "TsigKeyError",
    "ZoneRecord",
    "find_zone",
    "load_tsig_key",
    "publish",
    "published_values",
    "zone_lines",
]

MAX_TTL: Final = 2**31 - 1
_MAX_KEY_FILE: Final = 65536
_IN: Final = dns.rdataclass.IN
_ALGORITHMS: Final = {
    "hmac-sha1": dns.tsig.HMAC_SHA1,
    "hmac-sha224": dns.tsig.HMAC_SHA224,
    "hmac-sha256": dns.tsig.HMAC_SHA256,
    "hmac-sha384": dns.tsig.HMAC_SHA384,
    "hmac-sha512": dns.tsig.HMAC_SHA512,
}
# BIND: key "name" { algorithm hmac-sha256; secret "base64"; };  (the name may be unquoted)
_BIND_KEY: Final = re.compile(
    r'key\s+"?(?P<name>[A-Za-z0-9._-]+)\.?"?\s*\{(?P<body>[^}]*)\}\s*;', re.ASCII
)
_BIND_FIELD: Final = re.compile(r'(?P<field>algorithm|secret)\s+"?(?P<value>[^";\s]+)"?\s*;')
# Knot: key:\n  - id: name\n    algorithm: hmac-sha256\n    secret: base64
_KNOT_ITEM: Final = re.compile(r"^\s*(?:-\s+)?(?P<field>id|algorithm|secret)\s*:\s*(?P<value>\S+)")


class DnsUpdateError(Exception):
    """A DNS update that could not be made; ``reason`` says why in plain words."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TsigKeyError(DnsUpdateError):
    """A TSIG key file that cannot be read or used."""


class DnsUpdateRecordError(DnsUpdateError):
    """A record that cannot be published: a bad name, type, TTL or value, or another zone."""


class DnsUpdateTransportError(DnsUpdateError):
    """No exchange with the server: it could not be reached or the connection broke."""


class DnsUpdateTimeoutError(DnsUpdateTransportError):
    """The server did not answer in time."""


class DnsUpdateRejectedError(DnsUpdateError):
    """The server answered the update with an error and changed nothing.

    Attributes:
        rcode: The DNS response code's name (``REFUSED``, ``NOTAUTH``, ``SERVFAIL``, ...).
    """

    def __init__(self, reason: str, rcode: str) -> None:
        super().__init__(reason)
        self.rcode = rcode


class DnsUpdateRefusedError(DnsUpdateRejectedError):
    """REFUSED: the server does not allow this key (or this address) to update the zone."""


class DnsUpdateNotAuthError(DnsUpdateRejectedError):
    """NOTAUTH or a TSIG failure: the key is unknown or wrong, or the zone is not the server's."""


# --------------------------------------------------------------------------- TSIG keys


@dataclass(frozen=True, slots=True)
class TsigKey:
    """A TSIG key: its name, HMAC algorithm and secret.

    Attributes:
        name: The key's name, as the server knows it.
        algorithm: ``hmac-sha256`` and the like.
        secret: The shared secret (never shown in ``repr``).
    """

    name: str
    algorithm: str
    secret: bytes = field(repr=False)

    def dnspython_key(self) -> dns.tsig.Key:
        """The key as dnspython signs messages with it."""
        return dns.tsig.Key(self.name, self.secret, _ALGORITHMS[self.algorithm])


def _key_from_fields(
    name: str | None, algorithm: str | None, secret: str | None, path: Path
) -> TsigKey:
    if not name or not algorithm or not secret:
        missing = [
            n for n, v in (("name", name), ("algorithm", algorithm), ("secret", secret)) if not v
        ]
        raise TsigKeyError(f"{path}: the TSIG key has no {' or '.join(missing)}")
    algorithm = algorithm.lower().rstrip(".")
    if algorithm not in _ALGORITHMS:
        raise TsigKeyError(
            f"{path}: TSIG algorithm {algorithm[:32]!r} is not accepted "
            f"(use one of {', '.join(_ALGORITHMS)})"
        )
    try:
        raw = base64.b64decode(secret, validate=True)
    except (binascii.Error, ValueError):
        raise TsigKeyError(f"{path}: the TSIG secret is not base64") from None
    if not raw:
        raise TsigKeyError(f"{path}: the TSIG secret is empty")
    try:
        dns.name.from_text(name)
    except dns.exception.DNSException:
        raise TsigKeyError(f"{path}: {name[:64]!r} is not a usable key name") from None
    return TsigKey(name=name.rstrip("."), algorithm=algorithm, secret=raw)


def _bind_keys(text: str, path: Path) -> list[TsigKey]:
    keys = []
    for match in _BIND_KEY.finditer(text):
        fields = {m["field"]: m["value"] for m in _BIND_FIELD.finditer(match["body"])}
        keys.append(
            _key_from_fields(match["name"], fields.get("algorithm"), fields.get("secret"), path)
        )
    return keys


def _knot_keys(text: str, path: Path) -> list[TsigKey]:
    keys = []
    current: dict[str, str] | None = None
    in_section = False
    for line in text.splitlines():
        stripped = line.split("#", 1)[0].rstrip()
        if not stripped:
            continue
        if not line[0].isspace():
            in_section = stripped == "key:"
            continue
        if not in_section:
            continue
        match = _KNOT_ITEM.match(stripped)
        if match is None:
            continue
        if stripped.lstrip().startswith("-"):
            if current is not None:
                keys.append(current)
            current = {}
        if current is not None:
            current[match["field"]] = match["value"].strip("\"'")
    if current is not None:
        keys.append(current)
    return [_key_from_fields(k.get("id"), k.get("algorithm"), k.get("secret"), path) for k in keys]


def load_tsig_key(path: Path) -> TsigKey:
    """Read the one TSIG key of a BIND ``key`` clause or a Knot ``key:`` YAML block.

    The file must not be readable by every user of the machine: it is a secret.

    Raises:
        TsigKeyError: A missing, unreadable, world-readable or malformed file, no key or
            several keys in it, an algorithm other than HMAC-SHA1/-SHA2, or a bad secret.
    """
    try:
        raw = read_bounded(path, _MAX_KEY_FILE, private_mask=stat.S_IROTH)
    except FileReadError as exc:
        raise TsigKeyError(
            exc.describe(
                f"TSIG key file {path}",
                {
                    FileProblem.SHARED: f"{path} is readable by every user; a TSIG key is a "
                    f"secret (chmod 600 {path})",
                    FileProblem.TOO_LARGE: f"{path} is too large to be a TSIG key file",
                    FileProblem.UNUSABLE: f"TSIG key file {path}: {exc.detail}",
                },
            )
        ) from None
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        raise TsigKeyError(f"{path} is not a text file") from None
    keys = _bind_keys(text, path) or _knot_keys(text, path)
    if not keys:
        raise TsigKeyError(
            f'{path} holds no TSIG key (expected BIND\'s key "NAME" {{ algorithm ...; '
            "secret ...; }; or Knot's key: block)"
        )
    if len(keys) > 1:
        raise TsigKeyError(f"{path} holds {len(keys)} TSIG keys; give a file with exactly one")
    return keys[0]


# --------------------------------------------------------------------------- records


@dataclass(frozen=True, slots=True, order=True)
class ZoneRecord:
    """One record to publish or print (ordered by owner, type, TTL, value).

    Attributes:
        owner: The absolute owner name (a trailing dot is optional).
        rdtype: The record type (``TXT``, ``LOC``, ...).
        ttl: Seconds.
        value: For TXT the whole value, unquoted (split into 255-byte strings when
            published); for other types the RDATA in presentation form.
    """

    owner: str
    rdtype: str
    ttl: int
    value: str


@dataclass(frozen=True, slots=True)
class PublishResult:
    """What an update did.

    Attributes:
        zone: The zone updated.
        replaced: The (owner, type) RRsets the update replaced, in the given order.
        unchanged: The RRsets that were already exactly as given.
    """

    zone: str
    replaced: tuple[tuple[str, str], ...]
    unchanged: tuple[tuple[str, str], ...]

    @property
    def changed(self) -> bool:
        """Whether an update was sent and applied."""
        return bool(self.replaced)


def _owner_name(owner: str, zone: dns.name.Name) -> dns.name.Name:
    try:
        name = dns.name.from_text(owner.rstrip(".") + ".")
    except dns.exception.DNSException as exc:
        raise DnsUpdateRecordError(f"{owner[:80]!r} is not a domain name: {exc}") from None
    if not name.is_subdomain(zone):
        raise DnsUpdateRecordError(f"{owner} is outside the zone {zone.to_text(True)}")
    return name


def _rdata(record: ZoneRecord) -> dns.rdata.Rdata:
    try:
        rdtype = dns.rdatatype.from_text(record.rdtype)
    except dns.exception.DNSException:
        raise DnsUpdateRecordError(f"{record.rdtype[:16]!r} is not a record type") from None
    if rdtype == dns.rdatatype.TXT:
        try:
            return TXT(_IN, rdtype, split_txt_value(record.value))
        except DnsRecordError as exc:
            raise DnsUpdateRecordError(f"{record.owner} TXT: {exc}") from None
    try:
        return dns.rdata.from_text(_IN, rdtype, record.value)
    except (dns.exception.DNSException, ValueError) as exc:
        raise DnsUpdateRecordError(
            f"{record.owner} {record.rdtype}: {record.value[:80]!r} is not valid RDATA ({exc})"
        ) from None


def _rdatasets(
    records: Sequence[ZoneRecord], zone: dns.name.Name
) -> dict[tuple[dns.name.Name, dns.rdatatype.RdataType], dns.rdataset.Rdataset]:
    wanted: dict[tuple[dns.name.Name, dns.rdatatype.RdataType], dns.rdataset.Rdataset] = {}
    for record in records:
        if isinstance(record.ttl, bool) or not isinstance(record.ttl, int):
            raise DnsUpdateRecordError(f"{record.owner}: the TTL must be a whole number")
        if not 0 <= record.ttl <= MAX_TTL:
            raise DnsUpdateRecordError(f"{record.owner}: TTL {record.ttl} is out of range")
        name = _owner_name(record.owner, zone)
        rdata = _rdata(record)
        rdataset = wanted.setdefault((name, rdata.rdtype), dns.rdataset.Rdataset(_IN, rdata.rdtype))
        if len(rdataset) and rdataset.ttl != record.ttl:
            raise DnsUpdateRecordError(
                f"{record.owner} {record.rdtype}: one RRset has one TTL, not {rdataset.ttl} and "
                f"{record.ttl}"
            )
        rdataset.add(rdata, record.ttl)
    return wanted


def zone_lines(records: Sequence[ZoneRecord]) -> list[str]:
    """The records as master-file lines (absolute owners, TXT values split and quoted).

    Raises:
        DnsUpdateRecordError: A record that cannot be written.
    """
    lines = []
    for record in records:
        rdata = _rdata(record)
        try:
            owner = dns.name.from_text(record.owner.rstrip(".") + ".")
        except dns.exception.DNSException as exc:
            raise DnsUpdateRecordError(
                f"{record.owner[:80]!r} is not a domain name: {exc}"
            ) from None
        rdtype = dns.rdatatype.to_text(rdata.rdtype)
        lines.append(f"{owner.to_text()} {record.ttl} IN {rdtype} {rdata.to_text()}")
    return lines


# --------------------------------------------------------------------------- the exchange


def _address(server: str) -> tuple[str, int]:
    try:
        host, port = parse_server(server)
    except ValueError as exc:
        raise DnsUpdateTransportError(f"{server!r} is not HOST:PORT ({exc})") from None
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise DnsUpdateTransportError(f"cannot resolve the DNS server {host!r}: {exc}") from None
    address = str(infos[0][4][0])
    return address, port


def _exchange(
    message: dns.message.Message, address: str, port: int, timeout: float, what: str
) -> dns.message.Message:
    try:
        return dns.query.tcp(message, address, timeout=timeout, port=port)
    except dns.exception.Timeout:
        raise DnsUpdateTimeoutError(
            f"the DNS server {address}:{port} did not answer {what} within {timeout:g} s"
        ) from None
    except (
        dns.tsig.PeerBadKey,
        dns.tsig.PeerBadSignature,
        dns.tsig.PeerBadTime,
        dns.tsig.PeerBadTruncation,
        dns.tsig.BadSignature,
        dns.tsig.BadTime,
    ) as exc:
        raise DnsUpdateNotAuthError(
            f"the DNS server {address}:{port} does not accept the TSIG key "
            f"({type(exc).__name__}: {exc})",
            "NOTAUTH",
        ) from None
    except dns.exception.DNSException as exc:
        raise DnsUpdateTransportError(
            f"no usable answer from the DNS server {address}:{port} to {what}: {exc}"
        ) from None
    except OSError as exc:
        raise DnsUpdateTransportError(
            f"cannot reach the DNS server {address}:{port}: {exc.strerror or exc}"
        ) from None


def _served(
    name: dns.name.Name, rdtype: dns.rdatatype.RdataType, address: str, port: int, timeout: float
) -> dns.rdataset.Rdataset | None:
    query = dns.message.make_query(name, rdtype)
    query.flags &= ~dns.flags.RD
    answer = _exchange(
        query, address, port, timeout, f"the query for {name} {dns.rdatatype.to_text(rdtype)}"
    )
    rcode = answer.rcode()
    if rcode == dns.rcode.NXDOMAIN:
        return None
    if rcode != dns.rcode.NOERROR:
        raise DnsUpdateRejectedError(
            f"the DNS server answered {dns.rcode.to_text(rcode)} to the query for {name}",
            dns.rcode.to_text(rcode),
        )
    rrset = answer.get_rrset(answer.answer, name, _IN, rdtype)
    return None if rrset is None else rrset


def published_values(server: str, owner: str, rdtype: str, *, timeout: float = 5.0) -> list[str]:
    """What ``server`` serves at ``owner rdtype`` now, as :class:`ZoneRecord` values.

    A publisher uses it to keep a record whose value may be written in several equally
    good ways (a randomized signature), so that publishing again changes nothing.

    Raises:
        DnsUpdateRecordError: A bad name or type.
        DnsUpdateTransportError: The server could not be reached or did not answer.
        DnsUpdateRejectedError: The server answered with an error.
    """
    try:
        name = dns.name.from_text(owner.rstrip(".") + ".")
        kind = dns.rdatatype.from_text(rdtype)
    except dns.exception.DNSException as exc:
        raise DnsUpdateRecordError(f"{owner[:80]!r} {rdtype[:16]}: {exc}") from None
    address, port = _address(server)
    current = _served(name, kind, address, port, timeout)
    if current is None:
        return []
    if kind == dns.rdatatype.TXT:
        return [
            b"".join(r.strings).decode("ascii", "replace") for r in current if isinstance(r, TXT)
        ]
    return [r.to_text() for r in current]


def find_zone(server: str, name: str, *, timeout: float = 5.0) -> str:
    """The zone that holds ``name`` on ``server`` (an authoritative server), from its SOA.

    Raises:
        DnsUpdateRecordError: ``name`` is not a domain name.
        DnsUpdateTransportError: The server could not be reached or did not answer.
        DnsUpdateRejectedError: The server holds no zone for ``name``.
    """
    try:
        qname = dns.name.from_text(name.rstrip(".") + ".")
    except dns.exception.DNSException as exc:
        raise DnsUpdateRecordError(f"{name[:80]!r} is not a domain name: {exc}") from None
    address, port = _address(server)
    query = dns.message.make_query(qname, dns.rdatatype.SOA)
    query.flags &= ~dns.flags.RD
    answer = _exchange(query, address, port, timeout, f"the SOA query for {qname}")
    if answer.rcode() in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
        for section in (answer.answer, answer.authority):
            for rrset in section:
                if rrset.rdtype == dns.rdatatype.SOA and qname.is_subdomain(rrset.name):
                    return str(rrset.name.to_text(omit_final_dot=True))
    raise DnsUpdateRejectedError(
        f"the DNS server {server} holds no zone for {qname.to_text(omit_final_dot=True)}",
        dns.rcode.to_text(answer.rcode()),
    )


def _same(
    current: dns.rdataset.Rdataset | None, wanted: dns.rdataset.Rdataset, replace: bool
) -> bool:
    if current is None or current.ttl != wanted.ttl:
        return False
    if replace:
        return set(current) == set(wanted)
    return set(wanted) <= set(current)


def _rejected(rcode: dns.rcode.Rcode, zone: str, key: TsigKey) -> DnsUpdateRejectedError:
    name = dns.rcode.to_text(rcode)
    if rcode == dns.rcode.REFUSED:
        return DnsUpdateRefusedError(
            f"the DNS server refused the update of {zone} (REFUSED): it does not allow the "
            f"TSIG key {key.name!r} to update this zone",
            name,
        )
    if rcode == dns.rcode.NOTAUTH:
        return DnsUpdateNotAuthError(
            f"the DNS server did not accept the update of {zone} (NOTAUTH): the TSIG key "
            f"{key.name!r} is unknown or wrong, or the server is not authoritative for {zone}",
            name,
        )
    if rcode == dns.rcode.NOTZONE:
        return DnsUpdateRejectedError(f"a record is outside the zone {zone} (NOTZONE)", name)
    return DnsUpdateRejectedError(f"the DNS server answered {name} to the update of {zone}", name)


def publish(
    server: str,
    tsig: TsigKey,
    zone: str,
    records: Sequence[ZoneRecord],
    *,
    replace_owned: bool = True,
    timeout: float = 5.0,
) -> PublishResult:
    """Publish ``records`` in ``zone`` with one RFC 2136 update signed with ``tsig``.

    Args:
        server: ``HOST:PORT`` of the zone's primary server (it must accept updates).
        tsig: The TSIG key the server accepts updates with.
        zone: The zone's name.
        records: What to publish; records with the same owner and type form one RRset.
        replace_owned: Replace each given RRset by exactly the given records (True), or
            only add the given records to what is there (False).
        timeout: Seconds allowed for each exchange.

    Returns:
        Which RRsets were replaced and which were already in place; when all were, no
        update is sent.

    Raises:
        DnsUpdateRecordError: A record outside the zone or that cannot be written.
        DnsUpdateTransportError: The server could not be reached or did not answer.
        DnsUpdateRejectedError: The server answered with an error (the subclass says
            whether it was REFUSED or NOTAUTH / a TSIG failure).
    """
    try:
        origin = dns.name.from_text(zone.rstrip(".") + ".")
    except dns.exception.DNSException as exc:
        raise DnsUpdateRecordError(f"{zone[:80]!r} is not a zone name: {exc}") from None
    zone_text = origin.to_text(omit_final_dot=True)
    wanted = _rdatasets(records, origin)
    address, port = _address(server)
    replaced: list[tuple[str, str]] = []
    unchanged: list[tuple[str, str]] = []
    update = dns.update.UpdateMessage(
        origin,
        keyring=tsig.dnspython_key(),
        keyname=dns.name.from_text(tsig.name),
        keyalgorithm=_ALGORITHMS[tsig.algorithm],
    )
    for (name, rdtype), rdataset in wanted.items():
        label = (name.to_text(omit_final_dot=True), dns.rdatatype.to_text(rdtype))
        if _same(_served(name, rdtype, address, port, timeout), rdataset, replace_owned):
            unchanged.append(label)
            continue
        replaced.append(label)
        if replace_owned:
            update.replace(name, rdataset)
        else:
            update.add(name, rdataset)
    if replaced:
        answer = _exchange(update, address, port, timeout, f"the update of {zone_text}")
        if answer.rcode() != dns.rcode.NOERROR:
            raise _rejected(answer.rcode(), zone_text, tsig)
    return PublishResult(zone=zone_text, replaced=tuple(replaced), unchanged=tuple(unchanged))
