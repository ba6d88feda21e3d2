"""SALVE location statements (v2): compact JWS tokens saying where a site's SIMs were,
bound to one TLS session or to a Merkle batch of sessions.

Theory of operation
-------------------
A site's front derives a session hash from each client's TLS 1.3 exporter
(:func:`session_hash_from_exporter`) and sends it, or the Merkle root of a batch of them
(:mod:`mlp.merkle`), to the GMLC in its location request. The GMLC answers with a
statement (:func:`issue_statement`), a compact JWS (RFC 7515)::

    header  {"alg": "ES256"|"EdDSA"|"PS256", "kid": "...", "typ": "salve-statement+jwt"}
    claims  {"iss": GMLC host name, "sub": the web service's host name,
             "iat": s, "exp": s, "jti": 12 random bytes (base64url),
             "sbh": session hash or Merkle root (base64url),
             ["bsz": leaves of the batch, only for a batch,]
             "pos": {"lat": deg, "lon": deg, "r": metres}        (mode one)
                  | [{"lat": .., "lon": .., "r": ..}, ...]       (mode all: one per SIM),
             "lt": when the position was measured (s; in mode all the oldest),
             "pm": positioning method}

``iss`` and ``sub`` are canonical host names (:mod:`mlp.names`): no SIM identity (MSISDN,
IMSI, ICCID) ever appears, because the statement goes to every visitor of the site.
Times are integer Unix seconds (UTC); latitude and longitude WGS84 degrees rounded to 6
decimals (about 0.1 m); radii whole metres; JSON without spaces, since every byte travels
to every client.

The client verifies it (:func:`verify_statement`) in the order of DESIGN "Client check"
steps 6-9, so that each way of getting it wrong has its own error: the header names a
known key and exactly that key's algorithm (``none`` and HMAC are refused before any key
lookup); the signature holds; the key's pin allows statements issued at ``iat``; ``iss`` is
one of the issuers the site's policy names and ``sub`` is the site; the statement is within
its validity period and its position fresh enough; and last, it is bound to the verifier's
own TLS session, directly or through an inclusion proof against the signed batch size.
A statement is identified by its ``jti``, never by its signature bytes: JWS signatures are
malleable (an ES256 signature with s replaced by n - s verifies too). Errors::

    MlpError
      StatementError
        StatementMalformedError      not a SALVE statement (syntax, header, claims)
        StatementAlgorithmError      alg none/HMAC/unsupported, or not the key's algorithm
        StatementUnknownKeyError     kid not in the key set
        StatementSignatureError      signature does not verify
        StatementKeyRetiredError     issued at or after the key's pinned ``until``
        StatementIssuerError         iss is not an issuer the policy names
        StatementSubjectError        sub is not the site being verified
        StatementExpiredError        now >= exp (+ leeway)
        StatementNotYetValidError    iat or lt in the future (beyond leeway)
        StatementStalePositionError  position older than allowed
        StatementBindingError        bound to another TLS session (or a bad batch proof)
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import math
import re
import secrets
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, TypeAlias

from mlp.errors import MlpError
from mlp.keys import (
    KeySet,
    Signer,
    b64url_decode,
    b64url_encode,
    loads_json_object,
    split_compact_jws,
)
from mlp.merkle import MAX_BATCH_SIZE, InclusionProof, MerkleProofError, verify_inclusion
from mlp.names import HostNameError, check_host_name

__all__ = [
    "DEFAULT_LEEWAY_S",
    "EXPORTER_LABEL",
    "EXPORTER_LENGTH",
    "MAX_POSITIONS",
    "SESSION_HASH_LENGTH",
    "SESSION_HASH_PREFIX",
    "STATEMENT_TYP",
    "StatementAlgorithmError",
    "StatementBindingError",
    "StatementClaims",
    "StatementError",
    "StatementExpiredError",
    "StatementIssuerError",
    "StatementKeyRetiredError",
    "StatementMalformedError",
    "StatementNotYetValidError",
    "StatementPosition",
    "StatementPositions",
    "StatementSignatureError",
    "StatementStalePositionError",
    "StatementSubjectError",
    "StatementUnknownKeyError",
    "VerifiedStatement",
    "great_circle_distance_m",
    "issue_statement",
    "session_hash_from_exporter",
    "verify_statement",
]

STATEMENT_TYP: Final = "salve-statement+jwt"
SESSION_HASH_PREFIX: Final = b"SALVE-v1/session"
EXPORTER_LABEL: Final = b"EXPORTER-Channel-Binding"
"""The RFC 9266 ``tls-exporter`` label (used with an empty context)."""
EXPORTER_LENGTH: Final = 32
"""Bytes of the RFC 9266 ``EXPORTER-Channel-Binding`` value."""
SESSION_HASH_LENGTH: Final = 32
JTI_BYTES: Final = 12
MAX_STATEMENT_LENGTH: Final = 16384
DEFAULT_LEEWAY_S: Final = 5.0
"""Clock skew :func:`verify_statement` allows by default (``exp``, ``iat``, ``lt``)."""
"""Longest token looked at; a one-site statement is about 500 bytes, PS256 under 800."""
MAX_POSITIONS: Final = 64
"""Most circles in a mode-``all`` statement (one per SIM of the site)."""
COORDINATE_DECIMALS: Final = 6
MAX_RADIUS_M: Final = 20_037_509  # half of the equator: larger circles say nothing
EARTH_RADIUS_M: Final = 6_371_008.8  # IUGG mean Earth radius

_REQUIRED_CLAIMS: Final = frozenset({"iss", "sub", "iat", "exp", "jti", "sbh", "pos", "lt", "pm"})
_OPTIONAL_CLAIMS: Final = frozenset({"bsz"})
_HEADER_NAMES: Final = frozenset({"alg", "kid", "typ"})
_JTI_PATTERN: Final = re.compile(r"[A-Za-z0-9_-]{16}")
_METHOD_PATTERN: Final = re.compile(r"[A-Za-z0-9_-]{1,16}")
_MAX_TIME: Final = 2**53  # beyond any real date, and exact in a JSON double


# --------------------------------------------------------------------------- errors


class StatementError(MlpError):
    """A statement that cannot be accepted."""


class StatementMalformedError(StatementError):
    """Not a SALVE statement: bad syntax, header or claims."""


class StatementAlgorithmError(StatementError):
    """The header's algorithm is refused (none, HMAC, unsupported, or not the key's own)."""


class StatementUnknownKeyError(StatementError):
    """The header names a key id the key set does not hold."""


class StatementSignatureError(StatementError):
    """The signature does not verify with the named key."""


class StatementKeyRetiredError(StatementError):
    """The statement was issued at or after the ``until`` its key's pin carries."""


class StatementIssuerError(StatementError):
    """The statement comes from an issuer the site's policy does not name."""


class StatementSubjectError(StatementError):
    """The statement is about another site than the one being verified."""


class StatementExpiredError(StatementError):
    """The statement's validity period is over."""


class StatementNotYetValidError(StatementError):
    """The statement, or its position, is dated in the future beyond the allowed skew."""


class StatementStalePositionError(StatementError):
    """The position was measured longer ago than the verifier accepts."""


class StatementBindingError(StatementError):
    """The statement is bound to another TLS session, or its batch proof does not hold."""


# --------------------------------------------------------------------------- geometry


def _check_latitude(lat: float) -> float:
    if isinstance(lat, bool) or not isinstance(lat, int | float) or not -90.0 <= lat <= 90.0:
        raise ValueError(f"latitude must be a number in [-90, 90], not {lat!r}")
    return float(lat)


def _check_longitude(lon: float) -> float:
    if isinstance(lon, bool) or not isinstance(lon, int | float) or not -180.0 <= lon <= 180.0:
        raise ValueError(f"longitude must be a number in [-180, 180], not {lon!r}")
    return float(lon)


def great_circle_distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres between two WGS84 points (haversine, mean radius).

    The spherical model is within 0.5 % of the ellipsoid, far below cell-positioning
    uncertainty.
    """
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    half_dphi = (phi2 - phi1) / 2
    half_dlambda = math.radians(lon2 - lon1) / 2
    a = math.sin(half_dphi) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(half_dlambda) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


@dataclass(frozen=True, slots=True)
class StatementPosition:
    """A circle: centre in WGS84 degrees, radius in whole metres.

    Coordinates are rounded to 6 decimals on construction, as they are on the wire.

    Raises:
        ValueError: Latitude, longitude or radius out of range.
    """

    lat: float
    lon: float
    radius_m: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "lat", round(_check_latitude(self.lat), COORDINATE_DECIMALS))
        object.__setattr__(self, "lon", round(_check_longitude(self.lon), COORDINATE_DECIMALS))
        radius = self.radius_m
        if isinstance(radius, bool) or not isinstance(radius, int):
            raise ValueError(f"radius must be whole metres, not {radius!r}")
        if not 0 <= radius <= MAX_RADIUS_M:
            raise ValueError(f"radius must be in [0, {MAX_RADIUS_M}] metres, not {radius}")

    @classmethod
    def from_circle(cls, lat: float, lon: float, radius_m: float) -> StatementPosition:
        """A circle whose radius is rounded up, so the area never shrinks.

        Raises:
            ValueError: Out-of-range or non-finite values.
        """
        if not math.isfinite(radius_m):
            raise ValueError("radius must be finite")
        return cls(lat, lon, math.ceil(radius_m))

    def to_claim(self) -> dict[str, float | int]:
        """The circle as it appears in ``pos``."""
        return {"lat": self.lat, "lon": self.lon, "r": self.radius_m}

    def max_distance_m(self, lat: float, lon: float) -> float:
        """Distance from a point to the farthest point of the circle."""
        return great_circle_distance_m(lat, lon, self.lat, self.lon) + self.radius_m


StatementPositions: TypeAlias = StatementPosition | tuple[StatementPosition, ...]
"""The ``pos`` claim: one circle (mode ``one``) or a tuple, one per SIM (mode ``all``)."""


# --------------------------------------------------------------------------- claims


def _malformed(what: str) -> StatementMalformedError:
    return StatementMalformedError(f"malformed statement: {what}")


def _claim_host(claims: Mapping[str, Any], name: str) -> str:
    try:
        return check_host_name(claims[name])
    except HostNameError as exc:
        raise _malformed(f"claim {name!r}: {exc}") from None


def _claim_time(claims: Mapping[str, Any], name: str) -> int:
    value = claims[name]
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < _MAX_TIME:
        raise _malformed(f"claim {name!r} must be a non-negative integer of seconds")
    return value


def _claim_number(value: object, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _malformed(f"{what} must be a number")
    return float(value)


def _circle_from_claim(value: object, where: str) -> StatementPosition:
    if not isinstance(value, dict) or set(value) != {"lat", "lon", "r"}:
        raise _malformed(f"{where} must be an object with exactly lat, lon and r")
    radius = value["r"]
    if isinstance(radius, bool) or not isinstance(radius, int):
        raise _malformed(f"{where}.r must be an integer of metres")
    try:
        return StatementPosition(
            _claim_number(value["lat"], f"{where}.lat"),
            _claim_number(value["lon"], f"{where}.lon"),
            radius,
        )
    except ValueError as exc:
        raise _malformed(f"{where}: {exc}") from None


def _positions_from_claim(value: object) -> StatementPositions:
    if isinstance(value, list):
        if not 1 <= len(value) <= MAX_POSITIONS:
            raise _malformed(f"claim 'pos' must list 1-{MAX_POSITIONS} circles")
        return tuple(_circle_from_claim(item, f"pos[{i}]") for i, item in enumerate(value))
    return _circle_from_claim(value, "pos")


def _positions_to_claim(positions: StatementPositions) -> object:
    if isinstance(positions, tuple):
        return [position.to_claim() for position in positions]
    return positions.to_claim()


@dataclass(frozen=True, slots=True)
class StatementClaims:
    """The claims of a location statement, as typed values.

    Attributes:
        iss: Issuer, the GMLC's host name.
        sub: Subject, the web service's host name.
        iat: Issued at, Unix seconds.
        exp: Expires at, Unix seconds (exclusive).
        jti: Unique token id, base64url of 12 random bytes; what identifies a statement.
        sbh: The 32-byte session hash, or the Merkle root of a batch of them.
        bsz: For a batch, its number of leaves; None for a single session.
        pos: One circle (mode ``one``) or a tuple of circles, one per SIM (mode ``all``).
        lt: When the position was measured (in mode ``all`` the oldest), Unix seconds.
        pm: Positioning method, such as ``"CELL"``.
    """

    iss: str
    sub: str
    iat: int
    exp: int
    jti: str
    sbh: bytes
    bsz: int | None
    pos: StatementPositions
    lt: int
    pm: str

    @property
    def circles(self) -> tuple[StatementPosition, ...]:
        """Every circle of ``pos``, whichever the mode."""
        return self.pos if isinstance(self.pos, tuple) else (self.pos,)

    def to_claims(self) -> dict[str, Any]:
        """The JSON claims object, in wire order."""
        claims: dict[str, Any] = {
            "iss": self.iss,
            "sub": self.sub,
            "iat": self.iat,
            "exp": self.exp,
            "jti": self.jti,
            "sbh": b64url_encode(self.sbh),
        }
        if self.bsz is not None:
            claims["bsz"] = self.bsz
        claims["pos"] = _positions_to_claim(self.pos)
        claims["lt"] = self.lt
        claims["pm"] = self.pm
        return claims

    @classmethod
    def from_claims(cls, claims: Mapping[str, Any]) -> StatementClaims:
        """Read claims strictly: the required names, ``bsz`` optionally, each exactly typed.

        Raises:
            StatementMalformedError: A missing or unknown claim, a wrong type or value.
        """
        names = set(claims)
        missing = sorted(_REQUIRED_CLAIMS - names)
        unknown = sorted(names - _REQUIRED_CLAIMS - _OPTIONAL_CLAIMS)
        if missing or unknown:
            raise _malformed(f"claims missing {missing} / unknown {unknown}")
        iat = _claim_time(claims, "iat")
        exp = _claim_time(claims, "exp")
        if exp <= iat:
            raise _malformed("'exp' is not after 'iat'")
        jti = claims["jti"]
        if not isinstance(jti, str) or not _JTI_PATTERN.fullmatch(jti):
            raise _malformed("claim 'jti' must be base64url of 12 bytes")
        try:
            sbh = b64url_decode(claims["sbh"])
        except (TypeError, ValueError):
            raise _malformed("claim 'sbh' is not base64url") from None
        if len(sbh) != SESSION_HASH_LENGTH:
            raise _malformed(f"claim 'sbh' is not {SESSION_HASH_LENGTH} bytes")
        bsz = claims.get("bsz")
        if bsz is not None and (
            isinstance(bsz, bool) or not isinstance(bsz, int) or not 1 <= bsz <= MAX_BATCH_SIZE
        ):
            raise _malformed(f"claim 'bsz' must be an integer 1-{MAX_BATCH_SIZE}")
        if "bsz" in claims and bsz is None:
            raise _malformed("claim 'bsz' must be an integer when present")
        pm = claims["pm"]
        if not isinstance(pm, str) or not _METHOD_PATTERN.fullmatch(pm):
            raise _malformed("claim 'pm' must be 1-16 characters of A-Z a-z 0-9 _ -")
        return cls(
            iss=_claim_host(claims, "iss"),
            sub=_claim_host(claims, "sub"),
            iat=iat,
            exp=exp,
            jti=jti,
            sbh=sbh,
            bsz=bsz,
            pos=_positions_from_claim(claims["pos"]),
            lt=_claim_time(claims, "lt"),
            pm=pm,
        )


# --------------------------------------------------------------------------- session hash


def session_hash_from_exporter(exporter: bytes) -> bytes:
    """The session hash for a TLS session: ``SHA-256("SALVE-v1/session" || exporter)``.

    Args:
        exporter: The RFC 9266 ``tls-exporter`` value, i.e. the TLS 1.3 exporter with label
            ``EXPORTER-Channel-Binding``, empty context, 32 bytes.

    Returns:
        The 32-byte session hash.

    Raises:
        TypeError: ``exporter`` is not bytes.
        ValueError: ``exporter`` is not 32 bytes long.
    """
    if not isinstance(exporter, bytes | bytearray | memoryview):
        raise TypeError("exporter must be bytes")
    exporter = bytes(exporter)
    if len(exporter) != EXPORTER_LENGTH:
        raise ValueError(f"exporter must be {EXPORTER_LENGTH} bytes, not {len(exporter)}")
    return hashlib.sha256(SESSION_HASH_PREFIX + exporter).digest()


# --------------------------------------------------------------------------- issue


def _unix_seconds(moment: datetime, name: str) -> int:
    if not isinstance(moment, datetime) or moment.tzinfo is None:
        raise ValueError(f"{name} must be a timezone-aware datetime")
    return math.floor(moment.timestamp())


def _checked_positions(
    positions: StatementPositions | Sequence[StatementPosition],
) -> StatementPositions:
    if isinstance(positions, StatementPosition):
        return positions
    if isinstance(positions, Sequence) and not isinstance(positions, str | bytes):
        circles = tuple(positions)
        if not 1 <= len(circles) <= MAX_POSITIONS:
            raise ValueError(f"mode all lists 1-{MAX_POSITIONS} positions, not {len(circles)}")
        if all(isinstance(c, StatementPosition) for c in circles):
            return circles
    raise TypeError("positions must be a StatementPosition or a sequence of them")


def issue_statement(
    *,
    key: Signer,
    issuer: str,
    subject: str,
    session_hash: bytes,
    positions: StatementPositions | Sequence[StatementPosition],
    position_time: datetime,
    now: datetime,
    validity_s: int,
    method: str = "CELL",
    batch_size: int | None = None,
) -> tuple[str, StatementClaims]:
    """Sign a location statement.

    Args:
        key: The GMLC's signer (a key in memory or in a token); its ``kid`` and ``alg`` go
            into the header.
        issuer: The GMLC's canonical host name (``iss``).
        subject: The web service's canonical host name (``sub``).
        session_hash: The 32-byte hash from the location request, or the Merkle root of a
            batch (``sbh``).
        positions: One circle (mode ``one``), or a sequence of circles, one per SIM of the
            site (mode ``all``; written as a list even when it holds one circle).
        position_time: When the position was measured (``lt``; in mode ``all`` the oldest),
            timezone-aware; a time after ``now`` (a measuring clock running ahead) is
            written as ``now``.
        now: Issue time (``iat``), timezone-aware.
        validity_s: Seconds until ``exp``.
        method: Positioning method (``pm``).
        batch_size: For a Merkle root, the number of leaves (``bsz``); None for one session.

    Returns:
        The compact JWS and the claims it carries.

    Raises:
        ValueError: An argument out of range (session hash length, naive datetime,
            non-positive validity, a non-canonical host name, a batch size outside 1-65,536).
        TypeError: ``positions`` is neither a circle nor a sequence of circles.
    """
    if not isinstance(session_hash, bytes) or len(session_hash) != SESSION_HASH_LENGTH:
        raise ValueError(f"session_hash must be {SESSION_HASH_LENGTH} bytes")
    if isinstance(validity_s, bool) or not isinstance(validity_s, int) or validity_s <= 0:
        raise ValueError("validity_s must be a positive integer")
    if batch_size is not None and (
        isinstance(batch_size, bool)
        or not isinstance(batch_size, int)
        or not 1 <= batch_size <= MAX_BATCH_SIZE
    ):
        raise ValueError(f"batch_size must be an integer 1-{MAX_BATCH_SIZE}")
    check_host_name(issuer)
    check_host_name(subject)
    if not isinstance(method, str) or not _METHOD_PATTERN.fullmatch(method):
        raise ValueError("method must be 1-16 characters of A-Z a-z 0-9 _ -")
    iat = _unix_seconds(now, "now")
    claims = StatementClaims(
        iss=issuer,
        sub=subject,
        iat=iat,
        exp=iat + validity_s,
        jti=b64url_encode(secrets.token_bytes(JTI_BYTES)),
        sbh=session_hash,
        bsz=batch_size,
        pos=_checked_positions(positions),
        # A position cannot have been measured after the issuer holds it; a later time
        # only means the appliance's clock runs ahead, so it is capped at the issue time.
        lt=min(_unix_seconds(position_time, "position_time"), iat),
        pm=method,
    )
    signing_input = (
        f"{_statement_header(key.alg, key.kid)}.{b64url_encode(_compact_json(claims.to_claims()))}"
    )
    signature = key.sign(signing_input.encode("ascii"))
    return f"{signing_input}.{b64url_encode(signature)}", claims


@functools.lru_cache(maxsize=64)
def _statement_header(alg: str, kid: str) -> str:
    """The encoded protected header of a statement (members sorted, as PyJWT writes them)."""
    header = {"alg": alg, "kid": kid, "typ": STATEMENT_TYP}
    return b64url_encode(json.dumps(header, separators=(",", ":"), sort_keys=True).encode())


def _compact_json(value: Mapping[str, Any]) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


# --------------------------------------------------------------------------- verify


@dataclass(frozen=True, slots=True)
class VerifiedStatement:
    """A statement whose signature, issuer, subject, freshness and binding were checked.

    Attributes:
        claims: All claims, typed.
        kid: The key that signed it.
        alg: The algorithm it was signed with.
        token: The compact JWS as received.
        proof: The inclusion proof that bound a batch statement to this session; None for
            a statement bound directly.
    """

    claims: StatementClaims
    kid: str
    alg: str
    token: str
    proof: InclusionProof | None = None

    @property
    def circles(self) -> tuple[StatementPosition, ...]:
        """Every stated circle (one in mode ``one``, one per SIM in mode ``all``)."""
        return self.claims.circles

    @property
    def issued_at(self) -> datetime:
        """``iat`` as a UTC datetime."""
        return datetime.fromtimestamp(self.claims.iat, UTC)

    @property
    def expires_at(self) -> datetime:
        """``exp`` as a UTC datetime."""
        return datetime.fromtimestamp(self.claims.exp, UTC)

    @property
    def position_time(self) -> datetime:
        """``lt`` as a UTC datetime: when the position was measured."""
        return datetime.fromtimestamp(self.claims.lt, UTC)


def _check_binding(
    claims: StatementClaims, session_hash: bytes, proof: InclusionProof | None
) -> None:
    if claims.bsz is None:
        if proof is not None:
            raise StatementBindingError("a single-session statement came with a batch proof")
        if not hmac.compare_digest(claims.sbh, session_hash):
            raise StatementBindingError("statement is bound to another TLS session")
        return
    if proof is None:
        raise StatementBindingError("a batch statement came without its inclusion proof")
    if proof.size != claims.bsz:
        raise StatementBindingError(
            f"the inclusion proof is for a batch of {proof.size}, the statement signs {claims.bsz}"
        )
    try:
        verify_inclusion(session_hash, proof, claims.sbh)
    except MerkleProofError as exc:
        raise StatementBindingError(
            f"statement is bound to another TLS session (batch proof: {exc})"
        ) from None


def verify_statement(
    token: str,
    keys: KeySet,
    *,
    issuers: Collection[str],
    subject: str,
    session_hash: bytes,
    proof: InclusionProof | None,
    now: datetime,
    max_position_age_s: float,
    leeway_s: float = DEFAULT_LEEWAY_S,
) -> VerifiedStatement:
    """Verify a location statement for one site and one TLS session.

    Checks, in order: syntax and header (exactly ``alg``, ``kid``, ``typ``), algorithm
    (never ``none`` or HMAC), key id, the key's pinned algorithm, signature, claims, the
    key's ``until``, issuer, subject, expiry, issue time, position time, position age,
    and the session binding (direct, or the inclusion proof against ``sbh`` and ``bsz``).

    Args:
        token: The compact JWS.
        keys: The issuers' public keys (for a client: the JWKS keys its DNS pins allow,
            each with its pin's ``until``).
        issuers: The host names the site's policy names as its GMLCs; ``iss`` must be one.
        subject: The host name of the site being verified; ``sub`` must equal it.
        session_hash: The 32-byte hash of the verifier's own TLS session.
        proof: The inclusion proof delivered with a batch statement; None for a statement
            bound to one session. A proof must come exactly when the statement has ``bsz``.
        now: Current time, timezone-aware.
        max_position_age_s: Oldest position accepted, in seconds before ``now`` (the
            policy's ``age``).
        leeway_s: Allowed clock skew, in seconds.

    Returns:
        The verified statement.

    Raises:
        StatementMalformedError: Not a SALVE statement.
        StatementAlgorithmError: Refused or mismatched algorithm.
        StatementUnknownKeyError: Unknown key id.
        StatementSignatureError: Bad signature.
        StatementKeyRetiredError: Issued at or after the key's ``until``.
        StatementIssuerError: ``iss`` is not one of ``issuers``.
        StatementSubjectError: ``sub`` is not ``subject``.
        StatementExpiredError: ``now >= exp + leeway``.
        StatementNotYetValidError: ``iat`` or ``lt`` later than ``now + leeway``.
        StatementStalePositionError: ``lt`` older than ``max_position_age_s`` (+ leeway).
        StatementBindingError: Bound to another session, or a missing or bad batch proof.
        ValueError: A bad argument (naive ``now``, wrong session hash length, negative
            limits, no issuer, a non-canonical expected name).
    """
    if not isinstance(session_hash, bytes) or len(session_hash) != SESSION_HASH_LENGTH:
        raise ValueError(f"session_hash must be {SESSION_HASH_LENGTH} bytes")
    if not max_position_age_s >= 0 or not leeway_s >= 0:
        raise ValueError("max_position_age_s and leeway_s must be non-negative")
    if isinstance(issuers, str) or not issuers:
        raise ValueError("issuers must be a non-empty collection of host names")
    expected_issuers = [check_host_name(issuer).encode() for issuer in issuers]
    expected_subject = check_host_name(subject).encode()
    now_s = _unix_seconds_exact(now)

    try:
        parts = split_compact_jws(token, max_length=MAX_STATEMENT_LENGTH)
    except ValueError as exc:
        raise _malformed(str(exc)) from exc
    header = parts.header
    alg = header.get("alg")
    if not isinstance(alg, str) or alg.lower() == "none" or alg.upper().startswith("HS"):
        raise StatementAlgorithmError(f"algorithm {repr(alg)[:24]} is never accepted")
    if set(header) != _HEADER_NAMES:
        raise _malformed(f"header must have exactly {sorted(_HEADER_NAMES)}")
    if header["typ"] != STATEMENT_TYP:
        raise _malformed(f"header typ is not {STATEMENT_TYP!r}")
    kid = header["kid"]
    if not isinstance(kid, str):
        raise _malformed("header kid is not a string")
    key = keys.get(kid)
    if key is None:
        raise StatementUnknownKeyError(f"unknown key id {kid[:64]!r}")
    if alg != key.alg:
        raise StatementAlgorithmError(f"key {kid!r} signs with {key.alg}, not {alg[:16]!r}")
    if not key.verify(parts.signing_input, parts.signature):
        raise StatementSignatureError(f"signature does not verify with key {kid!r}")

    try:
        claims = StatementClaims.from_claims(loads_json_object(parts.payload))
    except ValueError as exc:
        raise _malformed(f"claims: {exc}") from exc
    if key.until is not None and claims.iat >= key.until:
        raise StatementKeyRetiredError(
            f"key {kid!r} was retired at {key.until}; the statement was issued at {claims.iat}"
        )
    issuer_bytes = claims.iss.encode()
    if not any(hmac.compare_digest(issuer_bytes, expected) for expected in expected_issuers):
        raise StatementIssuerError(f"issuer {claims.iss!r} is not named by the site's policy")
    if not hmac.compare_digest(claims.sub.encode(), expected_subject):
        raise StatementSubjectError(f"statement is about {claims.sub!r}, not {subject!r}")
    if now_s >= claims.exp + leeway_s:
        raise StatementExpiredError(f"statement expired at {claims.exp}")
    if claims.iat > now_s + leeway_s:
        raise StatementNotYetValidError(f"statement issued in the future ({claims.iat})")
    if claims.lt > now_s + leeway_s:
        raise StatementNotYetValidError(f"position time in the future ({claims.lt})")
    if now_s - claims.lt > max_position_age_s + leeway_s:
        raise StatementStalePositionError(
            f"position is {now_s - claims.lt:.0f} s old; at most {max_position_age_s:g} s allowed"
        )
    _check_binding(claims, session_hash, proof)
    return VerifiedStatement(claims=claims, kid=kid, alg=key.alg, token=token, proof=proof)


def _unix_seconds_exact(moment: datetime) -> float:
    if not isinstance(moment, datetime) or moment.tzinfo is None:
        raise ValueError("now must be a timezone-aware datetime")
    return moment.timestamp()
