"""Statement keys in a PKCS#11 token (an HSM; SoftHSM2 in tests), via python-pkcs11.

Keys are generated inside the token as sensitive and non-extractable: the private half
never exists outside it, and :class:`Pkcs11Signer` signs through the token (the same
:class:`mlp.keys.Signer` interface the in-process :class:`mlp.keys.SigningKey` has, so
statements are built the same way). The public half is read from the token once, when the
key is generated, and kept in the key ring's metadata for the JWKS and the DNS pins.

Mechanisms: ES256 hashes with SHA-256 here and signs the digest with ``CKM_ECDSA`` (SoftHSM
has no ``CKM_ECDSA_SHA256``; the result is raw ``r || s``, which is what JWS wants); EdDSA
signs with ``CKM_EDDSA``; PS256 with ``CKM_SHA256_RSA_PKCS_PSS`` (MGF1-SHA-256, salt 32).

python-pkcs11 is an optional dependency (``pip install salve[hsm]``); it is imported when
a token is opened. The PIN comes from a file or the environment, never from code.
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from gmlc.errors import KeyFileError
from mlp.keys import KeyAlgorithm, PublicKey, VerificationKey

__all__ = ["Pkcs11Signer", "Pkcs11Token"]

_P256_OID = "secp256r1"
_ED25519_OID = "1.3.101.112"


def _octet_string(value: bytes) -> bytes:
    """The content of a DER OCTET STRING (how tokens hand out EC points)."""
    if len(value) >= 2 and value[0] == 0x04 and value[1] == len(value) - 2:
        return value[2:]
    if len(value) >= 3 and value[0] == 0x04 and value[1] == 0x81 and value[2] == len(value) - 3:
        return value[3:]
    return value


class Pkcs11Token:
    """One token of a PKCS#11 module, opened with the user PIN.

    Args:
        module: The PKCS#11 library (``/usr/lib/softhsm/libsofthsm2.so``).
        token_label: The token's label.
        pin: The user PIN.

    Raises:
        KeyFileError: python-pkcs11 is not installed, or the module, token or PIN is wrong.
    """

    def __init__(self, module: Path, token_label: str, pin: str) -> None:
        try:
            import pkcs11
        except ImportError:
            raise KeyFileError(
                "keys in a PKCS#11 token need python-pkcs11: pip install 'salve[hsm]'"
            ) from None
        self._pkcs11: Any = pkcs11
        self.module = module
        self.token_label = token_label
        try:
            lib = pkcs11.lib(str(module))
            token = lib.get_token(token_label=token_label)
            try:
                self._session: Any = token.open(user_pin=pin, rw=True)
            except pkcs11.UserAlreadyLoggedIn:
                # PKCS#11 logs in per process: another session of this process already did.
                self._session = token.open(rw=True)
        except (pkcs11.PKCS11Error, RuntimeError, OSError) as exc:
            raise KeyFileError(
                f"cannot open PKCS#11 token {token_label!r} with {module}: {type(exc).__name__}"
            ) from None
        # A PKCS#11 session serves one call at a time.
        self._lock = threading.Lock()

    def close(self) -> None:
        """Close the session."""
        with self._lock:
            self._session.close()

    def generate(self, alg: KeyAlgorithm, label: str) -> PublicKey:
        """Generate a key pair in the token: private half sensitive and non-extractable.

        Args:
            alg: The algorithm the key will sign with.
            label: Label (and id) of both halves in the token.

        Returns:
            The public key, read from the token.

        Raises:
            KeyFileError: the token refused.
        """
        p11 = self._pkcs11
        from pkcs11.util.ec import encode_named_curve_parameters

        private_template = {
            p11.Attribute.SENSITIVE: True,
            p11.Attribute.EXTRACTABLE: False,
            p11.Attribute.SIGN: True,
        }
        common: dict[str, Any] = {
            "id": label.encode(),
            "label": label,
            "store": True,
            "private_template": private_template,
        }
        try:
            with self._lock:
                if alg == "PS256":
                    public, _ = self._session.generate_keypair(
                        p11.KeyType.RSA,
                        2048,
                        **common,
                        public_template={p11.Attribute.VERIFY: True},
                    )
                else:
                    curve = _P256_OID if alg == "ES256" else _ED25519_OID
                    key_type = p11.KeyType.EC if alg == "ES256" else p11.KeyType.EC_EDWARDS
                    parameters = self._session.create_domain_parameters(
                        key_type,
                        {p11.Attribute.EC_PARAMS: encode_named_curve_parameters(curve)},
                        local=True,
                    )
                    mechanism = None if alg == "ES256" else p11.Mechanism.EC_EDWARDS_KEY_PAIR_GEN
                    public, _ = parameters.generate_keypair(mechanism=mechanism, **common)
                return self._public_key(alg, public)
        except p11.PKCS11Error as exc:
            raise KeyFileError(
                f"the PKCS#11 token refused to generate a {alg} key: {type(exc).__name__}"
            ) from None

    def _public_key(self, alg: KeyAlgorithm, public: Any) -> PublicKey:
        attribute = self._pkcs11.Attribute
        if alg == "PS256":
            modulus = int.from_bytes(public[attribute.MODULUS], "big")
            exponent = int.from_bytes(public[attribute.PUBLIC_EXPONENT], "big")
            return rsa.RSAPublicNumbers(exponent, modulus).public_key()
        point = _octet_string(bytes(public[attribute.EC_POINT]))
        if alg == "ES256":
            return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
        return ed25519.Ed25519PublicKey.from_public_bytes(point)

    def private_attributes(self, label: str) -> dict[str, bool]:
        """Whether the private half is sensitive and extractable (for checks and tests).

        Raises:
            KeyFileError: no private key with that label.
        """
        key = self._private(label)
        attribute = self._pkcs11.Attribute
        with self._lock:
            return {
                "sensitive": bool(key[attribute.SENSITIVE]),
                "extractable": bool(key[attribute.EXTRACTABLE]),
            }

    def _private(self, label: str) -> Any:
        p11 = self._pkcs11
        try:
            with self._lock:
                return self._session.get_key(object_class=p11.ObjectClass.PRIVATE_KEY, label=label)
        except (p11.NoSuchKey, p11.MultipleObjectsReturned):
            raise KeyFileError(
                f"PKCS#11 token {self.token_label!r} has no single private key {label!r}"
            ) from None

    def signer(
        self, label: str, *, kid: str, alg: KeyAlgorithm, public_key: PublicKey
    ) -> Pkcs11Signer:
        """The signer for a key pair in the token.

        Raises:
            KeyFileError: the token has no such private key.
        """
        return Pkcs11Signer(self, self._private(label), kid, alg, public_key)

    def sign(self, private: Any, alg: KeyAlgorithm, signing_input: bytes) -> bytes:
        """Sign through the token (see :class:`Pkcs11Signer`).

        Raises:
            KeyFileError: the token refused.
        """
        p11 = self._pkcs11
        try:
            with self._lock:
                if alg == "ES256":
                    digest = hashlib.sha256(signing_input).digest()
                    return bytes(private.sign(digest, mechanism=p11.Mechanism.ECDSA))
                if alg == "EdDSA":
                    return bytes(private.sign(signing_input, mechanism=p11.Mechanism.EDDSA))
                return bytes(
                    private.sign(
                        signing_input,
                        mechanism=p11.Mechanism.SHA256_RSA_PKCS_PSS,
                        mechanism_param=(p11.Mechanism.SHA256, p11.MGF.SHA256, 32),
                    )
                )
        except p11.PKCS11Error as exc:
            raise KeyFileError(f"the PKCS#11 token refused to sign: {type(exc).__name__}") from None


class Pkcs11Signer:
    """A :class:`mlp.keys.Signer` whose private key stays in a PKCS#11 token.

    Args:
        token: The open token.
        private: The token's private key object.
        kid: Key id for the JWS header.
        alg: The key's pinned algorithm.
        public_key: The public half (from the key ring's metadata).
    """

    def __init__(
        self, token: Pkcs11Token, private: Any, kid: str, alg: KeyAlgorithm, public_key: PublicKey
    ) -> None:
        self._token = token
        self._private = private
        self.kid = kid
        self.alg: KeyAlgorithm = alg
        self.public_key = public_key

    def sign(self, signing_input: bytes) -> bytes:
        """The JWS signature of ``signing_input``, made inside the token."""
        return self._token.sign(self._private, self.alg, signing_input)

    def verification_key(self) -> VerificationKey:
        """The public half, bound to the same id and algorithm."""
        return VerificationKey.create(self.kid, self.alg, self.public_key)
