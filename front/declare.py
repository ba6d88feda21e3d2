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

import base64
import http.client
import json
import ssl
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

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


class _GmlcConnection:
    """One verified HTTPS connection to the GMLC, kept for all the exchanges.

    The standard library's client keeps the TLS socket at hand, so the SPKI checked is the
    one of the connection the request travels on.
    """

    def __init__(self, config: FrontConfig, password: str) -> None:
        gmlc = config.gmlc
        parts = urlsplit(gmlc.require("url"))
        if parts.scheme != "https":
            raise GmlcExchangeError(
                "the GMLC URL is not https://: without TLS there is no GMLC key to declare"
            )
        self._prefix = parts.path.rstrip("/")
        credentials = f"{gmlc.require('client_id')}:{password}".encode()
        self._authorization = "Basic " + base64.b64encode(credentials).decode("ascii")
        self._http = http.client.HTTPSConnection(
            parts.hostname or "",
            parts.port or 443,
            timeout=gmlc.timeout_s,
            context=tls_context(gmlc),
        )

    def exchange(
        self, method: str, path: str, body: bytes | None = None
    ) -> tuple[int, bytes, bytes]:
        """One request: the status, the body, and the SPKI of the GMLC's certificate."""
        headers = {"Authorization": self._authorization, "Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        try:
            self._http.request(method, self._prefix + path, body=body, headers=headers)
            # Taken before the answer is read: a GMLC that closes after answering (a
            # refusal) takes the socket with it.
            sock = self._http.sock
            der = sock.getpeercert(binary_form=True) if isinstance(sock, ssl.SSLSocket) else None
            response = self._http.getresponse()
            content = response.read(_MAX_ANSWER + 1)
        except ssl.SSLCertVerificationError as exc:
            raise GmlcExchangeError(
                f"the GMLC presented a certificate that does not verify: {exc.verify_message}"
            ) from None
        except (OSError, http.client.HTTPException) as exc:
            raise GmlcExchangeError(f"cannot reach the GMLC: {exc}") from None
        if der is None:
            raise GmlcExchangeError("the GMLC presented no certificate")
        return response.status, content, spki_der(x509.load_der_x509_certificate(der))

    def close(self) -> None:
        """Close the connection."""
        self._http.close()


def _refusal(status: int, content: bytes, host: str) -> GmlcExchangeError:
    try:
        document = json.loads(content[:_MAX_ANSWER])
    except ValueError:
        document = {}
    error = document.get("error") if isinstance(document, dict) else None
    detail = document.get("detail") if isinstance(document, dict) else None
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
    connection: _GmlcConnection,
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
    status, content, seen_spki = connection.exchange(
        "POST", DECLARATIONS_PATH, json.dumps(body).encode()
    )
    if status != 200:
        raise _refusal(status, content, host)
    if seen_spki != gmlc_spki:
        raise GmlcExchangeError("the GMLC's TLS key changed during the exchange; run it again")
    try:
        document = json.loads(content[:_MAX_ANSWER])
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
    exchanges: list[DeclarationExchange] = []
    connection = _GmlcConnection(config, password)
    try:
        # The key the site signs over is the one this very connection presents.
        _, _, gmlc_spki = connection.exchange("GET", _PROBE_PATH)
        for host in config.site.domains:
            keys = tls_set.keys_for(host)
            if not keys:
                raise DeclarationError(f"no configured certificate covers {host}")
            for certificate in keys:
                exchanges.append(_exchange(connection, config, host, certificate, gmlc_spki))
    finally:
        connection.close()
    remember_gmlc_spki(config.site.state_dir, gmlc_spki)
    return exchanges
