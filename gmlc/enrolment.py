"""Enrolling a domain: only after DNSSEC proves that its ``_salve`` policy names this GMLC.

A statement tells every visitor of a site where the site's SIMs are. The GMLC therefore
signs statements for a domain only when the domain itself, in its DNSSEC-signed zone, says
that this GMLC speaks for it: ``_salve.H TXT "v=salve1; gmlc=G:PORT; ..."`` with ``G`` the
GMLC's issuer name. That is validated here, from the configured trust anchor through every
delegation, with the verifier's DNSSEC code (:mod:`verifier.dns`): the same checks a
client makes. A TLS-key signature is never enough, because the attacker SALVE defends
against may hold the site's TLS key.

Where the answers come from is set by the node's settings: ``dns_server`` (a resolver or
authoritative server that passes DNSSEC records), or iterative resolution from the trust
anchor's root servers, or ``dns_zone_files`` (signed zone files, for offline nodes and
labs); ``dns_trust_anchor`` replaces the IANA root anchor (a lab's or a private root).
"""

from __future__ import annotations

from dataclasses import dataclass

from gmlc.errors import EnrolmentError
from gmlc.settings import Settings
from gmlc.store import DomainEnrolment
from mlp.dnsrecords import DnsRecordError, SalvePolicy, policy_record_name
from mlp.names import HostNameError, check_host_name
from verifier.anchors import TrustAnchorError
from verifier.dns import DnsValidationError, SecureResolver, lookup_policy, open_resolver

__all__ = ["EnrolmentError", "ValidatedDomain", "open_enrolment_resolver", "validate_domain"]


@dataclass(frozen=True, slots=True)
class ValidatedDomain:
    """A domain whose validated policy names this GMLC.

    Attributes:
        enrolment: What the store keeps (the domain and the evidence).
        policy: The validated policy, for the operator (its mode and port).
    """

    enrolment: DomainEnrolment
    policy: SalvePolicy


def open_enrolment_resolver(settings: Settings) -> SecureResolver:
    """The validating resolver the node's DNS settings describe.

    Raises:
        EnrolmentError: an unusable trust anchor, zone file or server address.
    """
    try:
        return open_resolver(
            server=settings.dns_server,
            trust_anchor=settings.dns_trust_anchor,
            zone_files=settings.dns_zone_files,
            timeout=settings.dns_timeout_s,
        )
    except TrustAnchorError as error:
        raise EnrolmentError(f"the DNSSEC trust anchor cannot be used: {error}") from None
    except DnsValidationError as error:
        raise EnrolmentError(f"the DNS server cannot be reached: {error.reason}") from None
    except (ValueError, OSError) as error:
        raise EnrolmentError(f"the DNS settings cannot be used: {error}") from None


def validate_domain(resolver: SecureResolver, domain: str, issuer: str) -> ValidatedDomain:
    """Validate that ``domain`` publishes a SALVE policy naming ``issuer``.

    Args:
        resolver: A validating resolver (:func:`open_enrolment_resolver`).
        domain: The domain, canonical (``mlp.names.canonical_host_name`` turns operator
            input into that form).
        issuer: This GMLC's issuer name.

    Returns:
        The enrolment to store, with its evidence, and the policy.

    Raises:
        EnrolmentError: a non-canonical name, an answer that does not validate, a proven
            absence of the policy, a policy that cannot be read, or one that names other
            GMLCs only.
    """
    try:
        check_host_name(domain)
    except HostNameError as error:
        raise EnrolmentError(f"domain {domain[:80]!r}: {error}") from None
    record = policy_record_name(domain)
    try:
        policy = lookup_policy(resolver, domain)
    except DnsValidationError as error:
        raise EnrolmentError(
            f"the DNS answer for {record} does not validate ({resolver.source}): {error.reason}"
        ) from None
    except DnsRecordError as error:
        raise EnrolmentError(f"{record} holds no usable SALVE policy: {error}") from None
    if policy is None:
        raise EnrolmentError(
            f"{domain} publishes no SALVE policy: DNSSEC proves that {record} has no TXT "
            f'record. The site publishes `{record} TXT "v=salve1; gmlc={issuer}:PORT; '
            'age=SECONDS; mode=one"` first (salve-front dns records prints it)'
        )
    endpoint = policy.gmlc(issuer)
    if endpoint is None:
        raise EnrolmentError(
            f"the SALVE policy of {domain} names {', '.join(policy.issuers)}, not this GMLC "
            f"({issuer}); the site must name {issuer} in {record} first"
        )
    evidence = {
        "policy": policy.to_text(),
        "gmlc": str(endpoint),
        "validated_by": resolver.source,
    }
    return ValidatedDomain(DomainEnrolment(domain, evidence), policy)
