"""The records this GMLC publishes in its own DNSSEC-signed zone.

Two kinds, both TXT under the GMLC's host name ``G`` (DESIGN "DNS records")::

    H._m2dmrt.G     "v=m2dmrt1; s=G; t=H; a=ALG; sig=..."    one per declared site key
    _salve-keys.G   "v=salve1; kid=KID; jkt=...; alg=ALG[; until=UNIX]"   one per key

The declarations come from ``POST /v1/declarations`` (:mod:`gmlc.declarations`); the key
pins from the key ring (:meth:`gmlc.keys.KeyRing.dns_pins`). Pure: data in, records out.
Keep the zone's RRSIG lifetime at most one day, so that a pin without ``until`` cannot be
replayed for long after a key was revoked.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from gmlc.store import DeclarationRecord
from mlp.dnsrecords import KeyPin, keys_record_name, split_txt_value
from mlp.m2dmrt import declaration_record_name

__all__ = ["ZoneLine", "gmlc_zone_lines"]


@dataclass(frozen=True, slots=True, order=True)
class ZoneLine:
    """One record.

    Attributes:
        owner: The absolute owner name, without the trailing dot.
        rdtype: The record type (``TXT``).
        ttl: Seconds.
        value: The record value as clients read it (TXT strings joined).
    """

    owner: str
    rdtype: str
    ttl: int
    value: str

    def rdata(self) -> str:
        """The RDATA in presentation form: TXT values split into quoted 255-byte strings."""
        return " ".join(
            '"' + chunk.decode("ascii").replace("\\", "\\\\").replace('"', '\\"') + '"'
            for chunk in split_txt_value(self.value)
        )

    def to_text(self) -> str:
        """The master-file line (RFC 1035 §5)."""
        return f"{self.owner}. {self.ttl} IN {self.rdtype} {self.rdata()}"


def gmlc_zone_lines(
    issuer: str,
    declarations: Iterable[DeclarationRecord],
    pins: Sequence[KeyPin],
    *,
    ttl: int,
) -> list[ZoneLine]:
    """The GMLC's records: its declaration of each site key, then its key pins.

    Args:
        issuer: The GMLC's host name ``G``.
        declarations: The stored declarations (any order; equal values appear once).
        pins: The key ring's pins.
        ttl: The records' TTL in seconds.

    Raises:
        mlp.names.HostNameError: a non-canonical issuer or domain.
        mlp.dnsrecords.DnsRecordError: a value no client would read (not ASCII, too long).
    """
    lines: set[ZoneLine] = set()
    for declaration in declarations:
        owner = declaration_record_name(signer=issuer, target=declaration.domain)
        lines.add(ZoneLine(owner, "TXT", ttl, declaration.gmlc_declaration))
    ordered = sorted(lines)
    keys_owner = keys_record_name(issuer)
    ordered += [ZoneLine(keys_owner, "TXT", ttl, pin.to_text()) for pin in pins]
    for line in ordered:
        line.rdata()  # refuse now what a client could not read
    return ordered
