"""SALVE location statements: compact JWS tokens saying where a SIM was, bound to a TLS session.

Theory of operation
-------------------
A web server derives a session hash from its TLS 1.3 exporter
(:func:`session_hash_from_exporter`) and sends it to the GMLC in its location request.
The GMLC answers with a statement (:func:`issue_statement`), a compact JWS (RFC 7515)::

    header  {"alg": "ES256"|"EdDSA"|"PS256", "kid": "...", "typ": "salve-statement+jwt"}
    claims  {"iss": GMLC id, "sub": "msisdn:..."|"imsi:...", "iat": s, "exp": s,
             "jti": 12 random bytes (base64url), "sbh": session hash (base64url),
             "pos": {"lat": deg, "lon": deg, "r": metres} | {"poly": [[lat, lon], ...]},
             "lt": position time (s), "pm": positioning method}

Times are integer Unix seconds (UTC). Latitude and longitude are WGS84 degrees rounded to
6 decimals (about 0.1 m), the radius a whole number of metres, JSON without spaces:
every byte counts, because the statement travels inside the TLS session to the client.

The client verifies it (:func:`verify_statement`) against the GMLC's key set: the header
must name a known key and exactly that key's algorithm (``none`` and HMAC are refused
before any key lookup), the signature must hold, the session hash must be the one of the
client's own TLS session, the statement must be within its validity period, and the
position must be fresh enough. Each failure has its own error class::

    MlpError
      StatementError
        StatementMalformedError      not a SALVE statement (syntax, header, claims)
        StatementAlgorithmError      alg none/HMAC/unsupported, or not the key's algorithm
        StatementUnknownKeyError     kid not in the key set
        StatementSignatureError      signature does not verify
        StatementExpiredError        now >= exp (+ leeway)
        StatementNotYetValidError    iat or lt in the future (beyond leeway)
        StatementStalePositionError  position older than allowed
        StatementBindingError        session hash is not this session's
        StatementIssuerError         iss is not the expected issuer
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, TypeAlias

from jwt import api_jws

from mlp.errors import MlpError
from mlp.keys import (
    KeySet,
    SigningKey,
    b64url_decode,
    b64url_encode,
    loads_json_object,
    split_compact_jws,
)

__all__ = [
    "EXPORTER_LENGTH",
    "SESSION_HASH_LENGTH",
    "SESSION_HASH_PREFIX",
    "STATEMENT_TYP",
    "StatementAlgorithmError",
    "StatementBindingError",
    "StatementClaims",
    "StatementError",
    "StatementExpiredError",
    "StatementIssuerError",
    "StatementMalformedError",
    "StatementNotYetValidError",
    "StatementPolygon",
    "StatementPosition",
    "StatementShape",
    "StatementSignatureError",
    "StatementStalePositionError",
    "StatementUnknownKeyError",
    "VerifiedStatement",
    "great_circle_distance_m",
    "issue_statement",
    "session_hash_from_exporter",
    "verify_statement",
]

STATEMENT_TYP: Final = "salve-statement+jwt"
SESSION_HASH_PREFIX: Final = b"SALVE-v1/session"
EXPORTER_LENGTH: Final = 32
"""Bytes of the RFC 9266 ``EXPORTER-Channel-Binding`` value."""
SESSION_HASH_LENGTH: Final = 32
JTI_BYTES: Final = 12
MAX_STATEMENT_LENGTH: Final = 8192
"""Longest token looked at; a real statement is a few hundred bytes (a PS256 one < 800)."""
MAX_POLYGON_POINTS: Final = 15  # MLP basic-service polygons: at most 15 points (3GPP TS 23.032)
MIN_POLYGON_POINTS: Final = 3
COORDINATE_DECIMALS: Final = 6
MAX_RADIUS_M: Final = 20_037_509  # half of the equator: larger circles say nothing
EARTH_RADIUS_M: Final = 6_371_008.8  # IUGG mean Earth radius

_CLAIM_NAMES: Final = frozenset({"iss", "sub", "iat", "exp", "jti", "sbh", "pos", "lt", "pm"})
_HEADER_NAMES: Final = frozenset({"alg", "kid", "typ"})
_MAX_TEXT: Final = 255
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


class StatementExpiredError(StatementError):
    """The statement's validity period is over."""


class StatementNotYetValidError(StatementError):
    """The statement, or its position, is dated in the future beyond the allowed skew."""


class StatementStalePositionError(StatementError):
    """The position was measured longer ago than the verifier accepts."""


class StatementBindingError(StatementError):
    """The statement is bound to another TLS session."""


class StatementIssuerError(StatementError):
    """The statement comes from another issuer than the one expected."""


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
        """The ``pos`` claim."""
        return {"lat": self.lat, "lon": self.lon, "r": self.radius_m}

    def max_distance_m(self, lat: float, lon: float) -> float:
        """Distance from a point to the farthest point of the circle."""
        return great_circle_distance_m(lat, lon, self.lat, self.lon) + self.radius_m


@dataclass(frozen=True, slots=True)
class StatementPolygon:
    """A polygon of 3-15 WGS84 ``(lat, lon)`` vertices, rounded to 6 decimals.

    Raises:
        ValueError: Too few or too many points, or a coordinate out of range.
    """

    points: tuple[tuple[float, float], ...]

    def __post_init__(self) -> None:
        points = tuple(self.points)
        if not MIN_POLYGON_POINTS <= len(points) <= MAX_POLYGON_POINTS:
            raise ValueError(
                f"a polygon has {MIN_POLYGON_POINTS}-{MAX_POLYGON_POINTS} points, not {len(points)}"
            )
        rounded = tuple(
            (
                round(_check_latitude(lat), COORDINATE_DECIMALS),
                round(_check_longitude(lon), COORDINATE_DECIMALS),
            )
            for lat, lon in points
        )
        object.__setattr__(self, "points", rounded)

    def to_claim(self) -> dict[str, list[list[float]]]:
        """The ``pos`` claim."""
        return {"poly": [[lat, lon] for lat, lon in self.points]}

    def max_distance_m(self, lat: float, lon: float) -> float:
        """Distance from a point to the farthest point of the polygon (always a vertex)."""
        return max(great_circle_distance_m(lat, lon, plat, plon) for plat, plon in self.points)


StatementShape: TypeAlias = StatementPosition | StatementPolygon


# --------------------------------------------------------------------------- claims


def _malformed(what: str) -> StatementMalformedError:
    return StatementMalformedError(f"malformed statement: {what}")


def _claim_text(claims: Mapping[str, Any], name: str) -> str:
    value = claims[name]
    if not isinstance(value, str) or not 1 <= len(value) <= _MAX_TEXT:
        raise _malformed(f"claim {name!r} must be a string of 1-{_MAX_TEXT} characters")
    return value


def _claim_time(claims: Mapping[str, Any], name: str) -> int:
    value = claims[name]
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < _MAX_TIME:
        raise _malformed(f"claim {name!r} must be a non-negative integer of seconds")
    return value


def _claim_number(value: object, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _malformed(f"{what} must be a number")
    return float(value)


def _position_from_claim(value: object) -> StatementShape:
    if not isinstance(value, dict):
        raise _malformed("claim 'pos' must be an object")
    try:
        if set(value) == {"lat", "lon", "r"}:
            radius = value["r"]
            if isinstance(radius, bool) or not isinstance(radius, int):
                raise _malformed("pos.r must be an integer of metres")
            return StatementPosition(
                _claim_number(value["lat"], "pos.lat"),
                _claim_number(value["lon"], "pos.lon"),
                radius,
            )
        if set(value) == {"poly"}:
            points = value["poly"]
            if not isinstance(points, list) or not all(
                isinstance(point, list) and len(point) == 2 for point in points
            ):
                raise _malformed("pos.poly must be a list of [lat, lon] pairs")
            return StatementPolygon(
                tuple(
                    (
                        _claim_number(lat, "pos.poly latitude"),
                        _claim_number(lon, "pos.poly longitude"),
                    )
                    for lat, lon in points
                )
            )
    except ValueError as exc:
        raise _malformed(f"claim 'pos': {exc}") from exc
    raise _malformed("claim 'pos' must be {lat, lon, r} or {poly}")


@dataclass(frozen=True, slots=True)
class StatementClaims:
    """The claims of a location statement, as typed values.

    Attributes:
        iss: Issuer, the GMLC's id.
        sub: Subject, ``"msisdn:<digits>"`` or ``"imsi:<digits>"``.
        iat: Issued at, Unix seconds.
        exp: Expires at, Unix seconds (exclusive).
        jti: Unique token id, base64url of 12 random bytes.
        sbh: The 32-byte session hash the statement is bound to.
        pos: The position: a circle or a polygon.
        lt: When the position was measured, Unix seconds.
        pm: Positioning method, such as ``"CELL"``.
    """

    iss: str
    sub: str
    iat: int
    exp: int
    jti: str
    sbh: bytes
    pos: StatementShape
    lt: int
    pm: str

    def to_claims(self) -> dict[str, Any]:
        """The JSON claims object, in wire order."""
        return {
            "iss": self.iss,
            "sub": self.sub,
            "iat": self.iat,
            "exp": self.exp,
            "jti": self.jti,
            "sbh": b64url_encode(self.sbh),
            "pos": self.pos.to_claim(),
            "lt": self.lt,
            "pm": self.pm,
        }

    @classmethod
    def from_claims(cls, claims: Mapping[str, Any]) -> StatementClaims:
        """Read claims strictly: exactly the nine names, each of its exact type.

        Raises:
            StatementMalformedError: A missing or unknown claim, a wrong type or value.
        """
        names = set(claims)
        if names != _CLAIM_NAMES:
            missing = sorted(_CLAIM_NAMES - names)
            unknown = sorted(names - _CLAIM_NAMES)
            raise _malformed(f"claims missing {missing} / unknown {unknown}")
        iat = _claim_time(claims, "iat")
        exp = _claim_time(claims, "exp")
        if exp <= iat:
            raise _malformed("'exp' is not after 'iat'")
        sbh_text = claims["sbh"]
        try:
            sbh = b64url_decode(sbh_text)
        except ValueError as exc:
            raise _malformed("claim 'sbh' is not base64url") from exc
        if len(sbh) != SESSION_HASH_LENGTH:
            raise _malformed(f"claim 'sbh' is not {SESSION_HASH_LENGTH} bytes")
        pm = claims["pm"]
        if not isinstance(pm, str) or not _METHOD_PATTERN.fullmatch(pm):
            raise _malformed("claim 'pm' must be 1-16 characters of A-Z a-z 0-9 _ -")
        return cls(
            iss=_claim_text(claims, "iss"),
            sub=_claim_text(claims, "sub"),
            iat=iat,
            exp=exp,
            jti=_claim_text(claims, "jti"),
            sbh=sbh,
            pos=_position_from_claim(claims["pos"]),
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


def issue_statement(
    *,
    key: SigningKey,
    issuer: str,
    subject: str,
    session_hash: bytes,
    position: StatementShape,
    position_time: datetime,
    now: datetime,
    validity_s: int,
    method: str = "CELL",
) -> tuple[str, StatementClaims]:
    """Sign a location statement.

    Args:
        key: The GMLC's signing key; its ``kid`` and ``alg`` go into the header.
        issuer: The GMLC id (``iss``).
        subject: ``"msisdn:<digits>"`` or ``"imsi:<digits>"`` (``sub``).
        session_hash: The 32-byte hash from the location request (``sbh``).
        position: Circle or polygon (``pos``).
        position_time: When the position was measured (``lt``), timezone-aware; a time
            after ``now`` (a measuring clock running ahead) is written as ``now``.
        now: Issue time (``iat``), timezone-aware.
        validity_s: Seconds until ``exp``.
        method: Positioning method (``pm``).

    Returns:
        The compact JWS and the claims it carries.

    Raises:
        ValueError: An argument out of range (bad session hash length, naive datetime,
            non-positive validity, empty or overlong text).
    """
    if not isinstance(session_hash, bytes) or len(session_hash) != SESSION_HASH_LENGTH:
        raise ValueError(f"session_hash must be {SESSION_HASH_LENGTH} bytes")
    if isinstance(validity_s, bool) or not isinstance(validity_s, int) or validity_s <= 0:
        raise ValueError("validity_s must be a positive integer")
    if not isinstance(position, StatementPosition | StatementPolygon):
        raise TypeError("position must be a StatementPosition or StatementPolygon")
    for name, text in (("issuer", issuer), ("subject", subject)):
        if not isinstance(text, str) or not 1 <= len(text) <= _MAX_TEXT:
            raise ValueError(f"{name} must be a string of 1-{_MAX_TEXT} characters")
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
        pos=position,
        # A position cannot have been measured after the issuer holds it; a later time
        # only means the appliance's clock runs ahead, so it is capped at the issue time.
        lt=min(_unix_seconds(position_time, "position_time"), iat),
        pm=method,
    )
    token = api_jws.encode(
        _compact_json(claims.to_claims()),
        key.private_key,
        algorithm=key.alg,
        headers={"kid": key.kid, "typ": STATEMENT_TYP},
    )
    return token, claims


def _compact_json(value: Mapping[str, Any]) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


# --------------------------------------------------------------------------- verify


@dataclass(frozen=True, slots=True)
class VerifiedStatement:
    """A statement whose signature, binding and freshness have been checked.

    Attributes:
        claims: All claims, typed.
        kid: The key that signed it.
        alg: The algorithm it was signed with.
        token: The compact JWS as received.
    """

    claims: StatementClaims
    kid: str
    alg: str
    token: str

    @property
    def position(self) -> StatementShape:
        """The stated position."""
        return self.claims.pos

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

    def distance_to(self, lat: float, lon: float) -> float:
        """Worst-case distance in metres from a point to where the statement places the SIM.

        This is the great-circle distance to the farthest point of the stated area: for a
        circle, distance to the centre plus the radius. A statement only proves the SIM
        is somewhere in its area, so only this bound is safe to compare with a threshold.

        Raises:
            ValueError: Latitude or longitude out of range.
        """
        return self.claims.pos.max_distance_m(_check_latitude(lat), _check_longitude(lon))

    def within(self, lat: float, lon: float, threshold_m: float) -> bool:
        """True when the whole stated area lies within ``threshold_m`` of the point.

        Raises:
            ValueError: Latitude or longitude out of range, or a negative threshold.
        """
        if not threshold_m >= 0:
            raise ValueError("threshold_m must be a non-negative number")
        return self.distance_to(lat, lon) <= threshold_m


def verify_statement(
    token: str,
    keys: KeySet,
    *,
    session_hash: bytes,
    now: datetime,
    max_position_age_s: float,
    leeway_s: float = 5.0,
    issuer: str | None = None,
) -> VerifiedStatement:
    """Verify a location statement.

    Checks, in order: syntax and header (exactly ``alg``, ``kid``, ``typ``), algorithm
    (never ``none`` or HMAC), key id, the key's pinned algorithm, signature, claims,
    issuer, session binding, expiry, issue time, position time and position age.

    Args:
        token: The compact JWS.
        keys: The issuer's public keys.
        session_hash: The 32-byte hash of the verifier's own TLS session.
        now: Current time, timezone-aware.
        max_position_age_s: Oldest position accepted, in seconds before ``now``.
        leeway_s: Allowed clock skew, in seconds.
        issuer: When given, the required ``iss``.

    Returns:
        The verified statement.

    Raises:
        StatementMalformedError: Not a SALVE statement.
        StatementAlgorithmError: Refused or mismatched algorithm.
        StatementUnknownKeyError: Unknown key id.
        StatementSignatureError: Bad signature.
        StatementIssuerError: ``iss`` differs from ``issuer``.
        StatementBindingError: Bound to another session.
        StatementExpiredError: ``now >= exp + leeway``.
        StatementNotYetValidError: ``iat`` or ``lt`` later than ``now + leeway``.
        StatementStalePositionError: ``lt`` older than ``max_position_age_s`` (+ leeway).
        ValueError: A bad argument (naive ``now``, wrong session hash length, negative
            limits).
    """
    if not isinstance(session_hash, bytes) or len(session_hash) != SESSION_HASH_LENGTH:
        raise ValueError(f"session_hash must be {SESSION_HASH_LENGTH} bytes")
    if not max_position_age_s >= 0 or not leeway_s >= 0:
        raise ValueError("max_position_age_s and leeway_s must be non-negative")
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
    if issuer is not None and not hmac.compare_digest(claims.iss.encode(), issuer.encode()):
        raise StatementIssuerError(f"issuer {claims.iss!r} is not {issuer!r}")
    if not hmac.compare_digest(claims.sbh, session_hash):
        raise StatementBindingError("statement is bound to another TLS session")
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
    return VerifiedStatement(claims=claims, kid=kid, alg=key.alg, token=token)


def _unix_seconds_exact(moment: datetime) -> float:
    if not isinstance(moment, datetime) or moment.tzinfo is None:
        raise ValueError("now must be a timezone-aware datetime")
    return moment.timestamp()
