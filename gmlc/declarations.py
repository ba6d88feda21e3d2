"""The M2DMRT declaration exchange: a site's front and this GMLC sign each other's TLS key.

``POST /v1/declarations`` on the GMLC's HTTPS port, with HTTP Basic authentication by the
MLP client's id and password (the same authenticator as MLP: throttling, source networks,
TLS client certificates). The body::

    {"domain": H, "site_spki": base64url(DER SPKI of H's TLS key),
     "declaration": "v=m2dmrt1; s=H; t=G; a=...; sig=..."}      (the value of G._m2dmrt.H)

The GMLC checks that the domain is the client's, that the declaration is H's (``s=H``) of
this GMLC (``t=G``, G = the issuer) and that its signature verifies with ``site_spki``
over the SHA-256 of the GMLC's own TLS SPKI (the key it serves HTTPS with). It then signs
H's SPKI with its own TLS private key, keeps both declarations (several per domain, for key
rollovers; declaring the same key again returns the stored answer), and answers::

    200 {"declaration": "v=m2dmrt1; s=G; t=H; ...", "gmlc_spki": base64url(DER)}

``salve-gmlc dns records`` then publishes the answer as ``H._m2dmrt.G TXT``. Refusals:
401 (any credential failure, one answer, with ``WWW-Authenticate``), 403
``domain_not_registered``, 422 ``bad_declaration`` with a detail, 503 ``no_tls_key`` when
the GMLC serves no TLS certificate (there is no key to declare), 413 for an oversized body.

This replaces the M2DMRT paper's agent channel (CHAP-like nonces, DHE, AES) with the TLS
connection both sides already have: the front authenticates as the MLP client, and checks
that ``gmlc_spki`` is the key it saw on its own verified TLS connection.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from gmlc.errors import GmlcError, NotFoundError
from gmlc.metrics import GmlcMetrics
from gmlc.store import AuditEntry, ClientRecord, Store
from mlp.keys import b64url_decode, b64url_encode
from mlp.m2dmrt import (
    Declaration,
    M2dmrtMalformedError,
    SigningPrivateKey,
    sign_declaration,
    spki_der,
)
from mlp.names import HostNameError, check_host_name
from runtime.logs import log_event

__all__ = [
    "DECLARATIONS_PATH",
    "MAX_DECLARATION_BYTES",
    "DeclarationAnswer",
    "DeclarationDesk",
    "TlsIdentity",
    "TlsIdentityError",
    "basic_credentials",
]

logger = logging.getLogger(__name__)

DECLARATIONS_PATH: Final = "/v1/declarations"
MAX_DECLARATION_BYTES: Final = 16384
"""Largest request body: a declaration (at most 4 KB) and an SPKI (RSA-8192: about 1.4 KB)."""
WWW_AUTHENTICATE: Final = 'Basic realm="salve-gmlc", charset="UTF-8"'
_FIELDS: Final = frozenset({"domain", "site_spki", "declaration"})
_MAX_TEXT: Final = 4096


class TlsIdentityError(GmlcError):
    """The GMLC's TLS certificate or key cannot be used for M2DMRT; the message says why."""


@dataclass(frozen=True, slots=True)
class TlsIdentity:
    """The key this GMLC serves HTTPS with: what sites declare, and what signs for them.

    Attributes:
        spki_der: The DER SPKI exactly as in the leaf certificate.
        private_key: The matching private key.
    """

    spki_der: bytes
    private_key: SigningPrivateKey

    @property
    def spki_sha256(self) -> str:
        """SHA-256 of the SPKI, lower-case hex."""
        return hashlib.sha256(self.spki_der).hexdigest()

    @classmethod
    def load(cls, certificate_file: Path, key_file: Path) -> TlsIdentity:
        """Read the leaf certificate (the first of the chain file) and the private key.

        Raises:
            TlsIdentityError: an unreadable file, a key that does not match the
                certificate, or a key type M2DMRT does not sign with (P-256, Ed25519, RSA).
        """
        try:
            leaf = x509.load_pem_x509_certificate(certificate_file.read_bytes())
            key = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
        except OSError as error:
            raise TlsIdentityError(f"cannot read {error.filename}: {error.strerror}") from None
        except (ValueError, TypeError) as error:
            raise TlsIdentityError(f"the TLS certificate or key cannot be read: {error}") from None
        if not isinstance(
            key, ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey
        ):
            raise TlsIdentityError(f"a {type(key).__name__} cannot sign M2DMRT declarations")
        if isinstance(key, ec.EllipticCurvePrivateKey) and not isinstance(key.curve, ec.SECP256R1):
            raise TlsIdentityError(
                f"the TLS key is on {key.curve.name}; M2DMRT signs with P-256, Ed25519 or RSA"
            )
        spki = spki_der(leaf)
        if spki != spki_der(key.public_key()):
            raise TlsIdentityError("the TLS key does not belong to the certificate's leaf")
        return cls(spki, key)


def basic_credentials(header: str | None) -> tuple[str, str] | None:
    """The (id, password) of an HTTP Basic ``Authorization`` header (RFC 7617), or None."""
    if header is None:
        return None
    scheme, _, encoded = header.strip().partition(" ")
    if scheme.lower() != "basic" or not encoded.strip():
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    client_id, colon, password = decoded.partition(":")
    if not colon or not client_id:
        return None
    return client_id, password


@dataclass(frozen=True, slots=True)
class DeclarationAnswer:
    """An HTTP answer of the endpoint: status and JSON body."""

    status: int
    body: dict[str, Any]


class _RefusedError(Exception):
    def __init__(self, status: int, error: str, detail: str | None = None) -> None:
        super().__init__(error)
        self.status = status
        self.error = error
        self.detail = detail

    def answer(self) -> DeclarationAnswer:
        body: dict[str, Any] = {"error": self.error}
        if self.detail is not None:
            body["detail"] = self.detail
        return DeclarationAnswer(self.status, body)


def _bad(detail: str) -> _RefusedError:
    return _RefusedError(422, "bad_declaration", detail)


@dataclass(frozen=True, slots=True)
class _Request:
    domain: str
    site_spki: bytes
    site_key: object
    declaration: Declaration
    text: str


def _parse(body: bytes) -> _Request:
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        raise _bad("the body is not JSON") from None
    if not isinstance(document, dict) or set(document) != _FIELDS:
        raise _bad(f"the body must be a JSON object with exactly {sorted(_FIELDS)}")
    domain, spki_text, text = (document[name] for name in ("domain", "site_spki", "declaration"))
    if not all(isinstance(value, str) for value in (domain, spki_text, text)):
        raise _bad("domain, site_spki and declaration must be strings")
    try:
        check_host_name(domain)
    except HostNameError as error:
        raise _bad(f"domain: {error}") from None
    try:
        site_spki = b64url_decode(spki_text)
        if b64url_encode(site_spki) != spki_text:
            raise ValueError("not canonical")
        site_key = serialization.load_der_public_key(site_spki)
    except (ValueError, TypeError):
        raise _bad("site_spki is not the base64url of a DER SubjectPublicKeyInfo") from None
    if len(text) > _MAX_TEXT or not text.isascii():
        raise _bad(f"the declaration is not 1-{_MAX_TEXT} ASCII characters")
    try:
        declaration = Declaration.parse(text)
    except M2dmrtMalformedError as error:
        raise _bad(str(error)) from None
    return _Request(domain, site_spki, site_key, declaration, text)


class DeclarationDesk:
    """Checks, countersigns, stores and audits declarations (runs in a worker thread).

    Args:
        store: Where declarations are kept.
        issuer: This GMLC's host name (``G``).
        identity: The GMLC's TLS identity; None when it serves no TLS certificate.
        metrics: Counts outcomes.
        write_audit: The audit writer (rows committed before the answer leaves).
    """

    def __init__(
        self,
        *,
        store: Store,
        issuer: str,
        identity: TlsIdentity | None,
        metrics: GmlcMetrics,
        write_audit: Callable[[Sequence[AuditEntry]], None],
    ) -> None:
        self._store = store
        self._issuer = issuer
        self._identity = identity
        self._metrics = metrics
        self._write_audit = write_audit

    def declare(self, client: ClientRecord, body: bytes, source: str | None) -> DeclarationAnswer:
        """Answer one authenticated declaration request; audits it, whatever the outcome."""
        domain: str | None = None
        try:
            if self._identity is None:
                raise _RefusedError(503, "no_tls_key", "this GMLC serves no TLS certificate")
            request = _parse(body)
            domain = request.domain
            answer, detail = self._countersign(client, request, self._identity)
        except _RefusedError as refusal:
            self._metrics.declarations.labels(refusal.error).inc()
            self._write_audit(
                [
                    AuditEntry(
                        "declaration_refused",
                        client_id=client.client_id,
                        source=source,
                        result=refusal.status,
                        detail={"domain": domain, "error": refusal.error, "reason": refusal.detail},
                    )
                ]
            )
            log_event(
                logger,
                logging.WARNING,
                "declaration_refused",
                client_id=client.client_id,
                source=source,
                domain=domain,
                error=refusal.error,
                reason=refusal.detail,
            )
            return refusal.answer()
        self._metrics.declarations.labels("stored" if detail["new"] else "repeated").inc()
        self._write_audit(
            [
                AuditEntry(
                    "declaration",
                    client_id=client.client_id,
                    source=source,
                    result=200,
                    detail=detail,
                )
            ]
        )
        log_event(logger, logging.INFO, "declaration", client_id=client.client_id, **detail)
        return answer

    def _countersign(
        self, client: ClientRecord, request: _Request, identity: TlsIdentity
    ) -> tuple[DeclarationAnswer, dict[str, Any]]:
        declaration = request.declaration
        if request.domain not in client.domains:
            raise _RefusedError(403, "domain_not_registered")
        if declaration.signer != request.domain:
            raise _bad(f"s={declaration.signer} is not the domain {request.domain}")
        if declaration.target != self._issuer:
            raise _bad(f"t={declaration.target} is not this GMLC ({self._issuer})")
        if not declaration.verify(request.site_key, identity.spki_der):
            raise _bad(
                "the signature does not verify with site_spki over this GMLC's TLS key "
                "(the key this HTTPS connection presents)"
            )
        ours = sign_declaration(
            signer=self._issuer,
            target=request.domain,
            target_spki_der=request.site_spki,
            private_key=identity.private_key,
        )
        try:
            record, new = self._store.record_declaration(
                client_id=client.client_id,
                domain=request.domain,
                site_spki=request.site_spki,
                site_declaration=request.text,
                gmlc_spki_sha256=identity.spki_sha256,
                gmlc_declaration=ours.to_text(),
            )
        except NotFoundError:
            # The domain was taken from the client since it authenticated.
            raise _RefusedError(403, "domain_not_registered") from None
        detail = {
            "domain": request.domain,
            "site_spki_sha256": record.site_spki_sha256,
            "gmlc_spki_sha256": record.gmlc_spki_sha256,
            "new": new,
        }
        body = {
            "declaration": record.gmlc_declaration,
            "gmlc_spki": b64url_encode(identity.spki_der),
        }
        return DeclarationAnswer(200, body), detail
