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

from gmlc.store import DeclarationRecord
from mlp.dnsrecords import KeyPin, keys_record_name, split_txt_value
from mlp.m2dmrt import declaration_record_name
from verifier.dnsupdate import ZoneRecord

__all__ = ["gmlc_zone_records"]


def gmlc_zone_records(
    issuer: str,
    declarations: Iterable[DeclarationRecord],
    pins: Sequence[KeyPin],
    *,
    ttl: int,
) -> list[ZoneRecord]:
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
    records: set[ZoneRecord] = set()
    for declaration in declarations:
        owner = declaration_record_name(signer=issuer, target=declaration.domain)
        records.add(ZoneRecord(owner, "TXT", ttl, declaration.gmlc_declaration))
    ordered = sorted(records)
    keys_owner = keys_record_name(issuer)
    ordered += [ZoneRecord(keys_owner, "TXT", ttl, pin.to_text()) for pin in pins]
    for record in ordered:
        split_txt_value(record.value)  # refuse now what a client could not read
    return ordered
