"""M2DMRT mutual declarations: a service and its GMLC each sign the other's TLS key in DNS.

Adapted from the M2DMRT paper (mutual declaration of provider relationships in DNSSEC):
each party signs, with its own TLS private key, the other party's TLS public key, and
publishes that declaration in its own DNSSEC-signed zone::

    G._m2dmrt.H  TXT  "v=m2dmrt1; s=H; t=G; a=ALG; sig=BASE64"   (H declares G)
    H._m2dmrt.G  TXT  "v=m2dmrt1; s=G; t=H; a=ALG; sig=BASE64"   (G declares H)

The signer's TLS private key signs the bytes::

    "m2dmrt-v1" 0x00 SIGNER 0x00 TARGET 0x00 SHA-256(TARGET's SPKI DER)

with ALG one of ES256 (P-256, the DER-encoded ECDSA signature), EdDSA (Ed25519) or PS256
(RSA-PSS, SHA-256, MGF1-SHA-256, salt 32). ``sig`` is standard base64 *with* padding (the
one place SALVE does not use base64url). A client checks both records against the SPKIs it
saw on its own TLS connections to H and to G, so a certificate with another key (stolen
name, mis-issued certificate) fails even when a CA vouches for it. An RRset of declarations
verifies when any one record does: a new TLS key is declared before it is used.

Errors::

    MlpError
      M2dmrtError
        M2dmrtMalformedError   not a declaration record, or a bad field
        M2dmrtMismatchError    a declaration for another signer, target or key
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final, Literal, TypeAlias, get_args

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.x509 import Certificate

from mlp.dnsrecords import DnsRecordError, format_tags, parse_tags
from mlp.errors import MlpError
from mlp.names import HostNameError, check_host_name

__all__ = [
    "DECLARATION_VERSION",
    "Declaration",
    "DeclarationAlgorithm",
    "M2dmrtError",
    "M2dmrtMalformedError",
    "M2dmrtMismatchError",
    "declaration_record_name",
    "sign_declaration",
    "signed_bytes",
    "spki_der",
    "verify_declarations",
]

DECLARATION_VERSION: Final = "m2dmrt1"
_CONTEXT: Final = b"m2dmrt-v1"
_MAX_SIGNATURE: Final = 1024  # an RSA-8192 signature, the largest key accepted
_BASE64: Final = re.compile(r"[A-Za-z0-9+/]+={0,2}", re.ASCII)

DeclarationAlgorithm: TypeAlias = Literal["ES256", "EdDSA", "PS256"]
SigningPrivateKey: TypeAlias = (
    ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey
)


class M2dmrtError(MlpError):
    """A declaration that cannot be accepted."""


class M2dmrtMalformedError(M2dmrtError, ValueError):
    """Not an M2DMRT declaration record, or a field is malformed."""


class M2dmrtMismatchError(M2dmrtError):
    """No declaration of this signer for this target verifies against the keys seen."""


def declaration_record_name(signer: str, target: str) -> str:
    """``TARGET._m2dmrt.SIGNER``: where the signer publishes its declaration of the target."""
    return f"{check_host_name(target)}._m2dmrt.{check_host_name(signer)}"


def spki_der(key_or_certificate: Certificate | object) -> bytes:
    """The DER SubjectPublicKeyInfo of a certificate's key, or of a public key.

    Raises:
        TypeError: Not a certificate or a public key ``cryptography`` can encode.
    """
    public_key = (
        key_or_certificate.public_key()
        if isinstance(key_or_certificate, Certificate)
        else key_or_certificate
    )
    if not isinstance(
        public_key, ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey | rsa.RSAPublicKey
    ):
        raise TypeError("expected a certificate or an EC, Ed25519 or RSA public key")
    return public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def signed_bytes(signer: str, target: str, target_spki_der: bytes) -> bytes:
    """The bytes a declaration signs.

    Raises:
        HostNameError: A non-canonical signer or target.
    """
    return b"\x00".join(
        (
            _CONTEXT,
            check_host_name(signer).encode("ascii"),
            check_host_name(target).encode("ascii"),
            hashlib.sha256(target_spki_der).digest(),
        )
    )


_PSS: Final = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)


@dataclass(frozen=True, slots=True)
class Declaration:
    """One declaration record: ``signer`` vouches for ``target``'s TLS key.

    Raises:
        M2dmrtMalformedError: A non-canonical name, an unknown algorithm or an empty or
            oversized signature.
    """

    signer: str
    target: str
    alg: DeclarationAlgorithm
    signature: bytes

    def __post_init__(self) -> None:
        try:
            check_host_name(self.signer)
            check_host_name(self.target)
        except HostNameError as exc:
            raise M2dmrtMalformedError(f"declaration: {exc}") from None
        if self.alg not in get_args(DeclarationAlgorithm):
            raise M2dmrtMalformedError(f"declaration: algorithm {self.alg!r} is not supported")
        if not isinstance(self.signature, bytes) or not 1 <= len(self.signature) <= _MAX_SIGNATURE:
            raise M2dmrtMalformedError("declaration: signature is empty or too long")

    @property
    def record_name(self) -> str:
        """Where this record lives: ``TARGET._m2dmrt.SIGNER``."""
        return declaration_record_name(self.signer, self.target)

    def to_text(self) -> str:
        """The record value (split it into TXT strings with ``split_txt_value``)."""
        sig = base64.b64encode(self.signature).decode("ascii")
        return format_tags(
            ("v", DECLARATION_VERSION),
            ("s", self.signer),
            ("t", self.target),
            ("a", self.alg),
            ("sig", sig),
        )

    @classmethod
    def parse(cls, text: str) -> Declaration:
        """Read a declaration record value (TXT strings already joined).

        Raises:
            M2dmrtMalformedError: Not a ``v=m2dmrt1`` record, or a bad field.
        """
        try:
            tags = parse_tags(text, "M2DMRT declaration", "v", DECLARATION_VERSION)
        except DnsRecordError as exc:
            raise M2dmrtMalformedError(str(exc)) from None
        missing = [name for name in ("s", "t", "a", "sig") if name not in tags]
        if missing:
            raise M2dmrtMalformedError(f"M2DMRT declaration: tags {missing} are missing")
        sig = tags["sig"]
        if not _BASE64.fullmatch(sig) or len(sig) % 4:
            raise M2dmrtMalformedError("M2DMRT declaration: sig is not padded standard base64")
        try:
            signature = base64.b64decode(sig, validate=True)
        except (binascii.Error, ValueError):
            raise M2dmrtMalformedError("M2DMRT declaration: sig is not base64") from None
        if base64.b64encode(signature).decode("ascii") != sig:
            raise M2dmrtMalformedError("M2DMRT declaration: sig is not canonical base64")
        alg = next((a for a in get_args(DeclarationAlgorithm) if a == tags["a"]), None)
        if alg is None:
            raise M2dmrtMalformedError(f"M2DMRT declaration: a={tags['a'][:16]!r} is not supported")
        return cls(signer=tags["s"], target=tags["t"], alg=alg, signature=signature)

    def verify(self, signer_public_key: object, target_spki_der: bytes) -> bool:
        """Whether the signature holds over this signer, target and target key."""
        message = signed_bytes(self.signer, self.target, target_spki_der)
        try:
            if self.alg == "ES256" and isinstance(signer_public_key, ec.EllipticCurvePublicKey):
                if not isinstance(signer_public_key.curve, ec.SECP256R1):
                    return False
                signer_public_key.verify(self.signature, message, ec.ECDSA(hashes.SHA256()))
            elif self.alg == "EdDSA" and isinstance(signer_public_key, ed25519.Ed25519PublicKey):
                signer_public_key.verify(self.signature, message)
            elif self.alg == "PS256" and isinstance(signer_public_key, rsa.RSAPublicKey):
                signer_public_key.verify(self.signature, message, _PSS, hashes.SHA256())
            else:
                return False
        except InvalidSignature:
            return False
        return True


def sign_declaration(
    *, signer: str, target: str, target_spki_der: bytes, private_key: SigningPrivateKey
) -> Declaration:
    """Sign ``target``'s key with ``signer``'s TLS private key.

    The algorithm follows the key: P-256 → ES256, Ed25519 → EdDSA, RSA → PS256.

    Raises:
        M2dmrtMalformedError: A key of another type or curve.
        HostNameError: A non-canonical signer or target.
    """
    message = signed_bytes(signer, target, target_spki_der)
    if isinstance(private_key, ec.EllipticCurvePrivateKey):
        if not isinstance(private_key.curve, ec.SECP256R1):
            raise M2dmrtMalformedError("an EC key for M2DMRT must be on P-256 (ES256)")
        return Declaration(
            signer, target, "ES256", private_key.sign(message, ec.ECDSA(hashes.SHA256()))
        )
    if isinstance(private_key, ed25519.Ed25519PrivateKey):
        return Declaration(signer, target, "EdDSA", private_key.sign(message))
    if isinstance(private_key, rsa.RSAPrivateKey):
        return Declaration(
            signer, target, "PS256", private_key.sign(message, _PSS, hashes.SHA256())
        )
    raise M2dmrtMalformedError("an M2DMRT key is P-256, Ed25519 or RSA")


def verify_declarations(
    values: Iterable[str],
    *,
    signer: str,
    target: str,
    signer_spki_der: bytes,
    target_spki_der: bytes,
) -> Declaration:
    """Check the TXT values at ``TARGET._m2dmrt.SIGNER``: one must verify.

    Records that are not ``v=m2dmrt1`` records are ignored. A record for another signer
    or target (a copy from elsewhere) does not count.

    Args:
        values: The joined TXT values of the RRset.
        signer: The host whose zone holds the RRset.
        target: The host it declares.
        signer_spki_der: The signer's SPKI, as seen on the client's TLS connection to it.
        target_spki_der: The target's SPKI, as seen on the client's TLS connection to it.

    Returns:
        The declaration that verified.

    Raises:
        M2dmrtMalformedError: No declaration record at all, or only malformed ones.
        M2dmrtMismatchError: Declarations exist, but none is this signer's over this
            target's key (a different TLS key is being presented).
    """
    try:
        signer_key = serialization.load_der_public_key(signer_spki_der)
    except ValueError as exc:
        raise M2dmrtMalformedError(f"the signer's SPKI cannot be read: {exc}") from None
    found = 0
    problems: list[str] = []
    for value in values:
        if _declared_version(value) != DECLARATION_VERSION:
            continue
        found += 1
        try:
            declaration = Declaration.parse(value)
        except M2dmrtMalformedError as exc:
            problems.append(str(exc))
            continue
        if declaration.signer != signer or declaration.target != target:
            continue
        if declaration.verify(signer_key, target_spki_der):
            return declaration
    if found == 0:
        raise M2dmrtMalformedError(
            f"no M2DMRT declaration at {declaration_record_name(signer, target)}"
        )
    if problems and len(problems) == found:
        raise M2dmrtMalformedError(problems[0])
    raise M2dmrtMismatchError(
        f"no declaration by {signer} of {target} matches the TLS keys presented"
    )


def _declared_version(text: str) -> str:
    first = text.split(";", 1)[0].strip(" \t")
    name, _, version = first.partition("=")
    return version.strip(" \t") if name.strip(" \t") == "v" else ""
