"""The M2DMRT declaration exchange with the GMLC (``salve-front declare``).

The SALVE paper's agent channel (CHAP-like nonces, a Diffie-Hellman exchange, AES) is
replaced by the authenticated TLS channel the site already has with its GMLC: one HTTPS
request per (domain, key), with the MLP client's credentials::

    POST /v1/declarations   (HTTP Basic: the MLP client id and password)
    {"domain": H, "site_spki": base64url(DER SPKI of H's TLS key),
     "declaration": "v=m2dmrt1; s=H; t=G; a=...; sig=..."}        (G._m2dmrt.H)
    200 {"declaration": "v=m2dmrt1; s=G; t=H; a=...; sig=...",     (H._m2dmrt.G)
         "gmlc_spki": base64url(DER SPKI of G's TLS key)}

The site signs G's SPKI as seen on this very connection; the GMLC's answer is accepted only
when its ``gmlc_spki`` is that same SPKI and its declaration verifies with it over the
site's key. Every configured key is declared, upcoming ones included, so a new key is
declared before it is served.
"""

from __future__ import annotations

import json
import ssl
from dataclasses import dataclass
from typing import Any, Final

import httpx
from cryptography import x509

from front.config import FrontConfig
from front.errors import DeclarationError, GmlcExchangeError
from front.gmlc import remember_gmlc_spki, tls_context
from front.tls import ServedCertificate, TlsSet
from mlp.keys import b64url_decode, b64url_encode
from mlp.m2dmrt import M2dmrtError, sign_declaration, spki_der, verify_declarations

__all__ = ["DECLARATIONS_PATH", "DeclarationExchange", "declare_keys"]

DECLARATIONS_PATH: Final = "/v1/declarations"
_PROBE_PATH: Final = "/.well-known/salve/jwks.json"
_MAX_ANSWER: Final = 65536


@dataclass(frozen=True, slots=True)
class DeclarationExchange:
    """One declared (domain, key): both records' values.

    Attributes:
        host: The domain H.
        certificate: The key's certificate pair.
        site_declaration: The value of ``G._m2dmrt.H`` (for the site's zone).
        gmlc_declaration: The value of ``H._m2dmrt.G`` (for the GMLC's zone).
    """

    host: str
    certificate: ServedCertificate
    site_declaration: str
    gmlc_declaration: str


def _peer_spki(response: httpx.Response) -> bytes:
    stream = response.extensions.get("network_stream")
    ssl_object: Any = stream.get_extra_info("ssl_object") if stream is not None else None
    if not isinstance(ssl_object, ssl.SSLSocket | ssl.SSLObject):
        raise GmlcExchangeError("the GMLC connection is not TLS: there is no GMLC key to declare")
    der = ssl_object.getpeercert(binary_form=True)
    if der is None:
        raise GmlcExchangeError("the GMLC presented no certificate")
    return spki_der(x509.load_der_x509_certificate(der))


def _refusal(response: httpx.Response, host: str) -> GmlcExchangeError:
    try:
        document = json.loads(response.content[:_MAX_ANSWER])
    except ValueError:
        document = {}
    error = document.get("error") if isinstance(document, dict) else None
    detail = document.get("detail") if isinstance(document, dict) else None
    status = response.status_code
    if status == 401:
        return GmlcExchangeError("the GMLC refused the client id or password (HTTP 401)")
    if status == 403 and error == "domain_not_registered":
        return GmlcExchangeError(
            f"the GMLC says {host} is not registered to this client (ask the GMLC operator "
            "to add the domain to the client)"
        )
    if status == 422:
        return GmlcExchangeError(f"the GMLC refused the declaration of {host}: {detail or error}")
    if status == 503 and error == "no_tls_key":
        return GmlcExchangeError("the GMLC serves no TLS certificate, so it has no key to declare")
    if status == 404:
        return GmlcExchangeError(
            f"the GMLC has no declaration endpoint ({DECLARATIONS_PATH} answered HTTP 404)"
        )
    return GmlcExchangeError(
        f"the GMLC answered HTTP {status} to the declaration of {host}"
        + (f" ({error})" if error else "")
    )


def _exchange(
    http: httpx.Client,
    config: FrontConfig,
    host: str,
    certificate: ServedCertificate,
    gmlc_spki: bytes,
) -> DeclarationExchange:
    gmlc = config.gmlc.host
    ours = sign_declaration(
        signer=host, target=gmlc, target_spki_der=gmlc_spki, private_key=certificate.private_key
    )
    body = {
        "domain": host,
        "site_spki": b64url_encode(certificate.spki),
        "declaration": ours.to_text(),
    }
    try:
        response = http.post(DECLARATIONS_PATH, json=body)
    except httpx.HTTPError as exc:
        raise GmlcExchangeError(f"cannot reach the GMLC: {exc}") from None
    if response.status_code != 200:
        raise _refusal(response, host)
    if _peer_spki(response) != gmlc_spki:
        raise GmlcExchangeError("the GMLC's TLS key changed during the exchange; run it again")
    try:
        document = json.loads(response.content[:_MAX_ANSWER])
        theirs, their_spki = document["declaration"], b64url_decode(document["gmlc_spki"])
        if not isinstance(theirs, str):
            raise TypeError("declaration is not a string")
    except (ValueError, KeyError, TypeError) as exc:
        raise GmlcExchangeError(
            f"the GMLC's answer is not a declaration document ({exc})"
        ) from None
    if their_spki != gmlc_spki:
        raise GmlcExchangeError(
            "the GMLC names a TLS key (gmlc_spki) other than the one its connection presented"
        )
    try:
        verify_declarations(
            [theirs],
            signer=gmlc,
            target=host,
            signer_spki_der=gmlc_spki,
            target_spki_der=certificate.spki,
        )
    except M2dmrtError as exc:
        raise GmlcExchangeError(
            f"the GMLC's declaration of {host} does not verify: {exc}"
        ) from None
    return DeclarationExchange(host, certificate, ours.to_text(), theirs)


def declare_keys(config: FrontConfig, tls_set: TlsSet, password: str) -> list[DeclarationExchange]:
    """Declare every configured key of every domain to the GMLC, and check its answers.

    Raises:
        GmlcExchangeError: The GMLC could not be reached, refused, or answered wrongly.
        DeclarationError: A domain no certificate covers.
        ConfigError: A GMLC setting is missing.
    """
    gmlc = config.gmlc
    exchanges: list[DeclarationExchange] = []
    with httpx.Client(
        base_url=gmlc.require("url"),
        verify=tls_context(gmlc),
        timeout=gmlc.timeout_s,
        auth=(gmlc.require("client_id"), password),
        follow_redirects=False,
    ) as http:
        try:
            probe = http.get(_PROBE_PATH)
        except httpx.HTTPError as exc:
            raise GmlcExchangeError(f"cannot reach the GMLC: {exc}") from None
        gmlc_spki = _peer_spki(probe)
        for host in config.site.domains:
            keys = tls_set.keys_for(host)
            if not keys:
                raise DeclarationError(f"no configured certificate covers {host}")
            for certificate in keys:
                exchanges.append(_exchange(http, config, host, certificate, gmlc_spki))
    remember_gmlc_spki(config.site.state_dir, gmlc_spki)
    return exchanges
