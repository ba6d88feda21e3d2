"""Signing keys for location statements and their public JSON Web Key Set.

A GMLC signs statements with one or more :class:`SigningKey` objects; verifiers hold a
:class:`KeySet` of the matching public keys, usually fetched as a JWKS (RFC 7517) from
``/.well-known/salve/jwks.json``. Each key is bound to exactly one JWS algorithm (ES256,
EdDSA or PS256): the algorithm a token names in its header is compared with the key's
pinned algorithm, never trusted on its own (RFC 8725 §3.1).

The default key id is the first characters of the key's RFC 7638 thumbprint: stable for
a given key, and short, because every statement carries it in its header.

Also here: the strict base64url and compact-JWS helpers that :mod:`mlp.statement` and
:mod:`mlp.observation` share.

Errors::

    MlpError
      KeyMaterialError   (also a ValueError) bad PEM, wrong key type for the algorithm,
                         malformed JWK/JWKS, duplicate key id, unsupported algorithm
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal, Protocol, TypeAlias, cast, get_args

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from jwt.algorithms import Algorithm, ECAlgorithm, OKPAlgorithm, RSAPSSAlgorithm

from mlp.errors import MlpError

__all__ = [
    "KID_LENGTH",
    "KID_PATTERN",
    "MAX_RSA_BITS",
    "MIN_RSA_BITS",
    "SUPPORTED_ALGORITHMS",
    "CompactJws",
    "KeyAlgorithm",
    "KeyMaterialError",
    "KeySet",
    "PrivateKey",
    "PublicKey",
    "Signer",
    "SigningKey",
    "VerificationKey",
    "b64url_decode",
    "b64url_encode",
    "jwk_thumbprint",
    "loads_json_object",
    "split_compact_jws",
]

KeyAlgorithm: TypeAlias = Literal["ES256", "EdDSA", "PS256"]
PrivateKey: TypeAlias = ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey
PublicKey: TypeAlias = ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey | rsa.RSAPublicKey

SUPPORTED_ALGORITHMS: Final[tuple[KeyAlgorithm, ...]] = get_args(KeyAlgorithm)
KID_LENGTH: Final = 8
"""Characters of the RFC 7638 thumbprint used as the default key id (48 bits)."""
MIN_RSA_BITS: Final = 2048
MAX_RSA_BITS: Final = 8192
_MAX_KID_LENGTH: Final = 64
KID_PATTERN: Final = re.compile(r"[A-Za-z0-9._-]{1,64}")
"""What a key id may be: 1-64 characters of A-Z a-z 0-9 . _ -."""
_B64URL_ALPHABET: Final = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_URLSAFE_TO_STANDARD: Final = bytes.maketrans(b"-_", b"+/")
_PADDING: Final = (b"", b"", b"==", b"=")
_UNUSED_BITS: Final = (0, 0, 0x0F, 0x03)
# JWK members that carry private key material (RFC 7518 §6.2.2, §6.3.2, RFC 8037 §2).
_ES256: Final = ec.ECDSA(hashes.SHA256())
_PS256_PADDING: Final = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
_PRIVATE_MEMBERS: Final = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})


class KeyMaterialError(MlpError, ValueError):
    """Key material that cannot be used: bad PEM or JWK, wrong type, unsupported algorithm."""


# --------------------------------------------------------------------------- encodings


def b64url_encode(data: bytes) -> str:
    """Encode bytes as base64url without padding (RFC 7515 §2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Decode unpadded base64url strictly.

    Only the base64url alphabet is accepted, without padding, and the encoding must be
    canonical (unused trailing bits zero), so that one value has exactly one spelling.

    Args:
        text: The encoded text.

    Returns:
        The decoded bytes.

    Raises:
        ValueError: The text is not canonical unpadded base64url.
    """
    if not isinstance(text, str):
        raise ValueError("not unpadded base64url")
    try:
        raw = text.encode("ascii")
    except UnicodeEncodeError as exc:
        raise ValueError("not unpadded base64url") from exc
    # Deleting every alphabet byte must leave nothing: no padding, no "+" or "/".
    if raw.translate(None, _B64URL_ALPHABET):
        raise ValueError("not unpadded base64url")
    tail = len(raw) % 4
    # A 2- or 3-character final group leaves 4 or 2 bits unused; they must be zero, or
    # several spellings would decode to the same bytes.
    if tail == 1 or (tail and _B64URL_ALPHABET.index(raw[-1]) & _UNUSED_BITS[tail]):
        raise ValueError("not canonical unpadded base64url")
    try:
        return binascii.a2b_base64(
            raw.translate(_URLSAFE_TO_STANDARD) + _PADDING[tail], strict_mode=True
        )
    except binascii.Error as exc:
        raise ValueError("not unpadded base64url") from exc


def _reject_constant(name: str) -> Any:
    raise ValueError(f"JSON constant {name} is not allowed")


def _unique_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise ValueError("duplicate JSON member")
    return result


# One strict decoder, built once: it holds no state between calls (like a compiled regex).
_STRICT_JSON: Final = json.JSONDecoder(
    object_pairs_hook=_unique_object, parse_constant=_reject_constant
)


def loads_json_object(data: bytes | str) -> dict[str, Any]:
    """Parse JSON text that must be one object, refusing duplicate members and NaN/Infinity.

    Args:
        data: UTF-8 JSON text.

    Returns:
        The parsed object.

    Raises:
        ValueError: Invalid UTF-8 or JSON, a duplicate member, a non-finite constant,
            or a top-level value that is not an object.
    """
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        value = _STRICT_JSON.decode(text)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ValueError("not valid JSON") from exc
    if not isinstance(value, dict):
        raise ValueError("JSON value is not an object")
    return value


@dataclass(frozen=True, slots=True)
class CompactJws:
    """The parts of a compact JWS, decoded but not verified."""

    header: dict[str, Any]
    payload: bytes
    signing_input: bytes
    signature: bytes


def split_compact_jws(token: str, *, max_length: int) -> CompactJws:
    """Split and decode a compact JWS (RFC 7515 §7.1) without verifying it.

    Args:
        token: The compact serialization ``header.payload.signature``.
        max_length: Longest token accepted, checked before any decoding.

    Returns:
        The decoded header object, payload bytes, signing input and signature.

    Raises:
        ValueError: The token is not a string of three canonical base64url parts with a
            JSON object header, or is longer than ``max_length``.
    """
    if not isinstance(token, str):
        raise ValueError("token is not a string")
    if len(token) > max_length:
        raise ValueError(f"token longer than {max_length} characters")
    parts = token.split(".")
    if len(parts) != 3:
        raise ValueError("token does not have three parts")
    header_b64, payload_b64, signature_b64 = parts
    header = loads_json_object(b64url_decode(header_b64))
    payload = b64url_decode(payload_b64)
    signature = b64url_decode(signature_b64)
    return CompactJws(
        header=header,
        payload=payload,
        signing_input=f"{header_b64}.{payload_b64}".encode("ascii"),
        signature=signature,
    )


# --------------------------------------------------------------------------- JWK helpers


def _int_to_b64url(value: int, length: int | None = None) -> str:
    size = length if length is not None else max(1, (value.bit_length() + 7) // 8)
    return b64url_encode(value.to_bytes(size, "big"))


def _public_jwk_members(public_key: PublicKey) -> dict[str, str]:
    """The required members of a public JWK, which are also the thumbprint input."""
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        numbers = public_key.public_numbers()
        return {
            "crv": "P-256",
            "kty": "EC",
            "x": _int_to_b64url(numbers.x, 32),
            "y": _int_to_b64url(numbers.y, 32),
        }
    if isinstance(public_key, ed25519.Ed25519PublicKey):
        raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return {"crv": "Ed25519", "kty": "OKP", "x": b64url_encode(raw)}
    rsa_numbers = public_key.public_numbers()
    return {"e": _int_to_b64url(rsa_numbers.e), "kty": "RSA", "n": _int_to_b64url(rsa_numbers.n)}


def jwk_thumbprint(public_key: PublicKey) -> str:
    """The RFC 7638 JWK thumbprint (SHA-256, base64url) of a public key.

    Args:
        public_key: A P-256, Ed25519 or RSA public key.

    Returns:
        The 43-character base64url thumbprint.
    """
    members = _public_jwk_members(public_key)
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True)
    return b64url_encode(hashlib.sha256(canonical.encode("ascii")).digest())


def _check_key_for_algorithm(key: PrivateKey | PublicKey, alg: str) -> None:
    if alg == "ES256":
        if not isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
            raise KeyMaterialError("ES256 needs an EC key")
        if not isinstance(key.curve, ec.SECP256R1):
            raise KeyMaterialError(f"ES256 needs a P-256 key, not {key.curve.name}")
    elif alg == "EdDSA":
        if not isinstance(key, ed25519.Ed25519PrivateKey | ed25519.Ed25519PublicKey):
            raise KeyMaterialError("EdDSA needs an Ed25519 key")
    elif alg == "PS256":
        if not isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
            raise KeyMaterialError("PS256 needs an RSA key")
        if key.key_size < MIN_RSA_BITS:
            raise KeyMaterialError(f"PS256 needs an RSA key of at least {MIN_RSA_BITS} bits")
    else:
        raise _unsupported_algorithm(alg)


def _unsupported_algorithm(alg: object) -> KeyMaterialError:
    return KeyMaterialError(
        f"unsupported algorithm {alg!r}; expected one of {', '.join(SUPPORTED_ALGORITHMS)}"
    )


def _check_kid(kid: object) -> str:
    if not isinstance(kid, str) or not KID_PATTERN.fullmatch(kid):
        raise KeyMaterialError(
            f"key id must be 1-{_MAX_KID_LENGTH} characters of A-Z a-z 0-9 . _ -"
        )
    return kid


def _jws_algorithm(alg: KeyAlgorithm) -> Algorithm:
    if alg == "ES256":
        return ECAlgorithm(ECAlgorithm.SHA256)
    if alg == "EdDSA":
        return OKPAlgorithm()
    return RSAPSSAlgorithm(RSAPSSAlgorithm.SHA256)


# --------------------------------------------------------------------------- keys


@dataclass(frozen=True, slots=True)
class VerificationKey:
    """A public key with its id and pinned algorithm, ready to verify signatures.

    Attributes:
        kid: The key id tokens name in their header.
        alg: The only algorithm accepted with this key.
        public_key: The public key object.
        jws_algorithm: PyJWT's algorithm object for ``alg``, built once.
        until: When set, the key verifies only statements issued before this Unix time:
            the ``until`` of its DNS pin, set when the key was retired or revoked.
    """

    kid: str
    alg: KeyAlgorithm
    public_key: PublicKey
    jws_algorithm: Algorithm = field(repr=False, compare=False)
    until: int | None = None

    @classmethod
    def create(cls, kid: str, alg: str, public_key: PublicKey) -> VerificationKey:
        """Check and bind a public key to its id and algorithm.

        Raises:
            KeyMaterialError: Unsupported algorithm, a key of the wrong type or size, or
                an invalid key id.
        """
        _check_kid(kid)
        _check_key_for_algorithm(public_key, alg)
        pinned = cast(KeyAlgorithm, alg)
        return cls(kid=kid, alg=pinned, public_key=public_key, jws_algorithm=_jws_algorithm(pinned))

    def verify(self, signing_input: bytes, signature: bytes) -> bool:
        """True when ``signature`` is this key's signature over ``signing_input``."""
        return bool(self.jws_algorithm.verify(signing_input, self.public_key, signature))

    def public_jwk(self) -> dict[str, str]:
        """The public key as a JWK with ``kid``, ``use`` and ``alg``."""
        return {
            **_public_jwk_members(self.public_key),
            "kid": self.kid,
            "use": "sig",
            "alg": self.alg,
        }


class Signer(Protocol):
    """Whatever signs JWS tokens with a pinned algorithm: a key in this process
    (:class:`SigningKey`) or one held in a hardware token that never leaves it.

    ``sign`` returns the JWS signature bytes (RFC 7518: raw ``r || s`` for ES256).
    """

    @property
    def kid(self) -> str: ...

    @property
    def alg(self) -> KeyAlgorithm: ...

    def sign(self, signing_input: bytes) -> bytes: ...

    def verification_key(self) -> VerificationKey: ...


@dataclass(frozen=True, slots=True)
class SigningKey:
    """A private key with its id and the one algorithm it signs with (a :class:`Signer`).

    Attributes:
        kid: Key id written into every token's header.
        alg: ``"ES256"`` (P-256), ``"EdDSA"`` (Ed25519) or ``"PS256"`` (RSA >= 2048 bits).
        private_key: The private key object.
    """

    kid: str
    alg: KeyAlgorithm
    private_key: PrivateKey = field(repr=False)

    def __post_init__(self) -> None:
        _check_kid(self.kid)
        _check_key_for_algorithm(self.private_key, self.alg)

    def sign(self, signing_input: bytes) -> bytes:
        """The JWS signature of ``signing_input`` with this key and its algorithm."""
        key = self.private_key
        if isinstance(key, ec.EllipticCurvePrivateKey):
            # JWS wants raw r || s (RFC 7518 §3.4), cryptography gives DER.
            r, s = decode_dss_signature(key.sign(signing_input, _ES256))
            return r.to_bytes(32, "big") + s.to_bytes(32, "big")
        if isinstance(key, ed25519.Ed25519PrivateKey):
            return key.sign(signing_input)
        return key.sign(signing_input, _PS256_PADDING, hashes.SHA256())

    @classmethod
    def generate(cls, alg: str = "ES256", kid: str | None = None) -> SigningKey:
        """Generate a fresh key.

        Args:
            alg: The algorithm the key will sign with.
            kid: Key id; by default the first :data:`KID_LENGTH` characters of the RFC 7638
                thumbprint.

        Raises:
            KeyMaterialError: Unsupported algorithm or invalid key id.
        """
        private_key: PrivateKey
        if alg == "ES256":
            private_key = ec.generate_private_key(ec.SECP256R1())
        elif alg == "EdDSA":
            private_key = ed25519.Ed25519PrivateKey.generate()
        elif alg == "PS256":
            private_key = rsa.generate_private_key(public_exponent=65537, key_size=MIN_RSA_BITS)
        else:
            raise _unsupported_algorithm(alg)
        return cls.from_private_key(private_key, alg=alg, kid=kid)

    @classmethod
    def from_private_key(
        cls, private_key: PrivateKey, *, alg: str, kid: str | None = None
    ) -> SigningKey:
        """Wrap an existing private key object (for example one loaded elsewhere).

        Raises:
            KeyMaterialError: Unsupported algorithm, wrong key type or size, bad key id.
        """
        _check_key_for_algorithm(private_key, alg)
        if kid is None:
            kid = jwk_thumbprint(private_key.public_key())[:KID_LENGTH]
        return cls(kid=kid, alg=cast(KeyAlgorithm, alg), private_key=private_key)

    @classmethod
    def from_pem(cls, pem: bytes, *, kid: str | None = None, alg: str) -> SigningKey:
        """Load an unencrypted PEM private key (PKCS#8, or the traditional formats).

        Args:
            pem: The PEM text.
            kid: Key id; by default derived from the thumbprint as in :meth:`generate`.
            alg: The algorithm the key signs with.

        Raises:
            KeyMaterialError: The PEM cannot be read, is encrypted, or holds a key that
                does not fit ``alg``.
        """
        try:
            loaded = serialization.load_pem_private_key(pem, password=None)
        except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
            raise KeyMaterialError("not an unencrypted PEM private key") from exc
        if not isinstance(
            loaded, ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey
        ):
            raise KeyMaterialError(f"unsupported private key type {type(loaded).__name__}")
        return cls.from_private_key(loaded, alg=alg, kid=kid)

    def private_pem(self) -> bytes:
        """The private key as unencrypted PKCS#8 PEM; store it with restrictive permissions."""
        return self.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    @property
    def public_key(self) -> PublicKey:
        """The matching public key."""
        return self.private_key.public_key()

    def verification_key(self) -> VerificationKey:
        """The public half, bound to the same id and algorithm."""
        return VerificationKey.create(self.kid, self.alg, self.public_key)

    def public_jwk(self) -> dict[str, str]:
        """The public key as a JWK with ``kid``, ``use: sig`` and ``alg``."""
        return self.verification_key().public_jwk()


# --------------------------------------------------------------------------- JWK import


def _decode_member(jwk: Mapping[str, Any], name: str, where: str) -> bytes:
    value = jwk.get(name)
    if not isinstance(value, str):
        raise KeyMaterialError(f"{where}: member {name!r} missing or not a string")
    try:
        return b64url_decode(value)
    except ValueError as exc:
        raise KeyMaterialError(f"{where}: member {name!r} is not base64url") from exc


def _public_key_from_jwk(jwk: Mapping[str, Any], where: str) -> tuple[PublicKey, KeyAlgorithm]:
    kty = jwk.get("kty")
    public_key: PublicKey
    if kty == "EC":
        if jwk.get("crv") != "P-256":
            raise KeyMaterialError(f"{where}: only EC curve P-256 is supported")
        x = _decode_member(jwk, "x", where)
        y = _decode_member(jwk, "y", where)
        if len(x) != 32 or len(y) != 32:
            raise KeyMaterialError(f"{where}: P-256 coordinates must be 32 bytes")
        try:
            public_key = ec.EllipticCurvePublicNumbers(
                int.from_bytes(x, "big"), int.from_bytes(y, "big"), ec.SECP256R1()
            ).public_key()
        except ValueError as exc:
            raise KeyMaterialError(f"{where}: point is not on P-256") from exc
        inferred: KeyAlgorithm = "ES256"
    elif kty == "OKP":
        if jwk.get("crv") != "Ed25519":
            raise KeyMaterialError(f"{where}: only OKP curve Ed25519 is supported")
        x = _decode_member(jwk, "x", where)
        if len(x) != 32:
            raise KeyMaterialError(f"{where}: Ed25519 public keys are 32 bytes")
        try:
            public_key = ed25519.Ed25519PublicKey.from_public_bytes(x)
        except ValueError as exc:
            raise KeyMaterialError(f"{where}: invalid Ed25519 public key") from exc
        inferred = "EdDSA"
    elif kty == "RSA":
        n = _decode_member(jwk, "n", where)
        e = _decode_member(jwk, "e", where)
        if not n or not e or n[0] == 0 or e[0] == 0:
            raise KeyMaterialError(f"{where}: RSA n and e must be minimal big-endian integers")
        if len(n) * 8 > MAX_RSA_BITS or len(e) > 8:
            # Huge moduli or exponents would make every verification slow.
            raise KeyMaterialError(f"{where}: RSA keys above {MAX_RSA_BITS} bits are refused")
        try:
            public_key = rsa.RSAPublicNumbers(
                int.from_bytes(e, "big"), int.from_bytes(n, "big")
            ).public_key()
        except ValueError as exc:
            raise KeyMaterialError(f"{where}: invalid RSA public key") from exc
        inferred = "PS256"
    else:
        raise KeyMaterialError(f"{where}: unsupported key type {kty!r}")
    return public_key, inferred


def _verification_key_from_jwk(jwk: object, where: str) -> VerificationKey:
    if not isinstance(jwk, dict):
        raise KeyMaterialError(f"{where}: not a JSON object")
    private = sorted(_PRIVATE_MEMBERS.intersection(jwk))
    if private:
        raise KeyMaterialError(f"{where}: private key member(s) {', '.join(private)} in a JWKS")
    kid = jwk.get("kid")
    if kid is None:
        raise KeyMaterialError(f"{where}: member 'kid' is required")
    try:
        _check_kid(kid)
    except KeyMaterialError as exc:
        raise KeyMaterialError(f"{where}: {exc}") from None
    where = f"key {kid!r}"
    use = jwk.get("use", "sig")
    if use != "sig":
        raise KeyMaterialError(f"{where}: 'use' must be 'sig'")
    public_key, inferred = _public_key_from_jwk(jwk, where)
    alg = jwk.get("alg", inferred)
    if alg != inferred:
        raise KeyMaterialError(f"{where}: 'alg' {alg!r} does not fit a {jwk['kty']} key")
    try:
        return VerificationKey.create(kid, alg, public_key)
    except KeyMaterialError as exc:
        raise KeyMaterialError(f"{where}: {exc}") from None


class KeySet:
    """Public keys by key id, each pinned to one algorithm; immutable once built.

    Keys are parsed once, when the set is built, so verification only looks up a ready
    key object.
    """

    __slots__ = ("_keys",)

    def __init__(self, keys: Iterable[VerificationKey] = ()) -> None:
        """Build a set from verification keys.

        Raises:
            KeyMaterialError: Two keys share a key id.
        """
        by_kid: dict[str, VerificationKey] = {}
        for key in keys:
            if key.kid in by_kid:
                raise KeyMaterialError(f"duplicate key id {key.kid!r}")
            by_kid[key.kid] = key
        self._keys: Mapping[str, VerificationKey] = by_kid

    @classmethod
    def from_signing_keys(cls, keys: Iterable[Signer]) -> KeySet:
        """The public halves of signers (in-process keys or keys in a token).

        Raises:
            KeyMaterialError: Two keys share a key id.
        """
        return cls(key.verification_key() for key in keys)

    @classmethod
    def from_jwks(cls, data: Mapping[str, Any] | bytes | str) -> KeySet:
        """Import a JWKS (``{"keys": [...]}``) of public P-256, Ed25519 and RSA keys.

        Every key needs a ``kid``; ``alg``, when present, must fit the key type (an RSA
        key means PS256); ``use``, when present, must be ``sig``. Other JWK members are
        ignored, except private key members, which are refused.

        Args:
            data: The JWKS as parsed JSON or as JSON text.

        Raises:
            KeyMaterialError: Malformed JSON or JWKS, an unsupported or invalid key, a
                private key member, or a duplicate key id.
        """
        if isinstance(data, bytes | str):
            try:
                document: Mapping[str, Any] = loads_json_object(data)
            except ValueError as exc:
                raise KeyMaterialError(f"JWKS: {exc}") from exc
        else:
            document = data
        if not isinstance(document, Mapping):
            raise KeyMaterialError("JWKS: not a JSON object")
        entries = document.get("keys")
        if not isinstance(entries, list):
            raise KeyMaterialError("JWKS: member 'keys' missing or not an array")
        return cls(
            _verification_key_from_jwk(entry, f"JWKS key #{index}")
            for index, entry in enumerate(entries)
        )

    def to_jwks(self) -> dict[str, list[dict[str, str]]]:
        """The public keys as a JWKS document, in insertion order."""
        return {"keys": [key.public_jwk() for key in self._keys.values()]}

    def get(self, kid: str) -> VerificationKey | None:
        """The key with this id, or None."""
        return self._keys.get(kid)

    @property
    def kids(self) -> tuple[str, ...]:
        """All key ids, in insertion order."""
        return tuple(self._keys)

    def __contains__(self, kid: object) -> bool:
        return kid in self._keys

    def __iter__(self) -> Iterator[VerificationKey]:
        return iter(self._keys.values())

    def __len__(self) -> int:
        return len(self._keys)

    def __repr__(self) -> str:
        return f"KeySet({', '.join(f'{k.kid}:{k.alg}' for k in self)})"
