"""The site's DNS records, and the check that every served key is declared in DNS.

For each domain ``H`` of the site, with ``G`` its GMLC (DESIGN "DNS records")::

    H              LOC  one per [[site.locations]] entry (hp = its precision_m)
    _salve.H       TXT  the [policy] as "v=salve1; gmlc=G:PORT; age=...; mode=...; max-age=..."
    G._m2dmrt.H    TXT  H's declaration of G, one per TLS key whose certificate covers H
                        (served and upcoming ones: a new key is declared before it is used)

The declaration is signed with the site's TLS private key over the SHA-256 of G's SPKI.
ECDSA and RSA-PSS signatures differ each time they are made, so a declaration already
published for a key is kept as it is: publishing the same keys again changes nothing.
The other half, ``H._m2dmrt.G`` in G's zone, comes from the GMLC (``salve-front declare``,
then the GMLC operator publishes it).

:func:`check_declarations` is what ``serve`` and ``check`` run before a key is served:
both declarations must be published, DNSSEC-valid, and verify with that key and G's key.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from front.config import FrontConfig
from front.errors import DeclarationError
from front.tls import ServedCertificate, TlsSet
from mlp.dnsrecords import DnsRecordError, policy_record_name
from mlp.m2dmrt import M2dmrtError, declaration_record_name, sign_declaration, verify_declarations
from verifier.dns import DnsValidationError, SecureResolver
from verifier.dnsupdate import ZoneRecord

__all__ = ["DeclaredKey", "check_declarations", "site_records"]


Published = Callable[[str], Sequence[str]]
"""The TXT values published now at a name (empty when unknown)."""


def site_records(
    config: FrontConfig,
    tls_set: TlsSet,
    gmlc_spki: bytes,
    published: Published | None = None,
) -> list[ZoneRecord]:
    """Every record the site publishes in its own zone(s), in a stable order.

    Args:
        config: The site's configuration.
        tls_set: Its keys (served and upcoming).
        gmlc_spki: The GMLC's SPKI, which the declarations sign.
        published: What is published now; a declaration of the same key found there is
            kept instead of signing a new one.

    Raises:
        ConfigError: No GMLC URL, or a policy value out of range.
        DeclarationError: A domain no certificate (served or upcoming) covers.
    """
    policy = config.salve_policy()
    gmlc = config.gmlc.host
    ttl = config.dns.ttl
    records: list[ZoneRecord] = []
    for host in config.site.domains:
        keys = tls_set.keys_for(host)
        if not keys:
            raise DeclarationError(f"no configured certificate covers {host}")
        records += [ZoneRecord(host, "LOC", ttl, loc.loc()) for loc in config.site.locations]
        records.append(ZoneRecord(policy_record_name(host), "TXT", ttl, policy.to_text()))
        name = declaration_record_name(host, gmlc)
        current = list(published(name)) if published is not None else []
        for key in keys:
            value = _declaration(host, gmlc, gmlc_spki, key, current)
            records.append(ZoneRecord(name, "TXT", ttl, value))
    return records


def _declaration(
    host: str, gmlc: str, gmlc_spki: bytes, key: ServedCertificate, current: Sequence[str]
) -> str:
    for value in current:
        try:
            verify_declarations(
                [value],
                signer=host,
                target=gmlc,
                signer_spki_der=key.spki,
                target_spki_der=gmlc_spki,
            )
        except M2dmrtError:
            continue
        return value
    declaration = sign_declaration(
        signer=host, target=gmlc, target_spki_der=gmlc_spki, private_key=key.private_key
    )
    return declaration.to_text()


@dataclass(frozen=True, slots=True)
class DeclaredKey:
    """A served key whose declarations both verify for one domain."""

    host: str
    certificate: ServedCertificate


def check_declarations(
    config: FrontConfig, tls_set: TlsSet, gmlc_spki: bytes, resolver: SecureResolver
) -> list[DeclaredKey]:
    """Check that every served key is declared, both ways, for every domain it serves.

    Args:
        config: The site's configuration (domains, the GMLC's name).
        tls_set: The pairs about to be served.
        gmlc_spki: The GMLC's SPKI.
        resolver: A DNSSEC-validating resolver.

    Returns:
        The (domain, key) pairs found declared.

    Raises:
        DeclarationError: A declaration is missing, not DNSSEC-valid, or does not verify
            with the key (the message says which, for which domain and key).
    """
    gmlc = config.gmlc.host
    declared: list[DeclaredKey] = []
    for host in config.site.domains:
        served = [c for c in tls_set.served if c.covers(host)]
        if not served:
            raise DeclarationError(f"no served certificate covers {host}")
        by_site = _published(resolver, declaration_record_name(host, gmlc))
        by_gmlc = _published(resolver, declaration_record_name(gmlc, host))
        for certificate in served:
            key = (
                f"the key of {certificate.chain_path} "
                f"(SPKI SHA-256 {certificate.spki_sha256[:16]}…)"
            )
            try:
                verify_declarations(
                    by_site,
                    signer=host,
                    target=gmlc,
                    signer_spki_der=certificate.spki,
                    target_spki_der=gmlc_spki,
                )
            except M2dmrtError as exc:
                raise DeclarationError(
                    f"{declaration_record_name(host, gmlc)} does not declare {gmlc} with {key}: "
                    f"{exc}; run `salve-front declare` and `salve-front dns update` first"
                ) from None
            try:
                verify_declarations(
                    by_gmlc,
                    signer=gmlc,
                    target=host,
                    signer_spki_der=gmlc_spki,
                    target_spki_der=certificate.spki,
                )
            except M2dmrtError as exc:
                raise DeclarationError(
                    f"{declaration_record_name(gmlc, host)} does not declare {host} with {key}: "
                    f"{exc}; the GMLC's declaration (from `salve-front declare`) must be "
                    "published in the GMLC's zone"
                ) from None
            declared.append(DeclaredKey(host, certificate))
    return declared


def _published(resolver: SecureResolver, name: str) -> list[str]:
    try:
        values = resolver.txt(name)
    except DnsValidationError as exc:
        raise DeclarationError(f"{name}: the DNS answer cannot be trusted ({exc})") from None
    except DnsRecordError as exc:
        raise DeclarationError(f"{name}: {exc}") from None
    if values is None:
        raise DeclarationError(f"{name} is not published (DNSSEC proves there is no such record)")
    return values
