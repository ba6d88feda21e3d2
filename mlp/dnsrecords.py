"""The DNS record texts SALVE publishes, as pure values: policy, key pins, LOC, TXT strings.

Names are relative to the service host ``H`` and the GMLC host ``G`` (all DNSSEC-signed)::

    H              LOC  one per legitimate site (RFC 1876; hp is the allowed diameter)
    _salve.H       TXT  "v=salve1; gmlc=G:PORT[,G2:PORT]; age=SECONDS; mode=one|all
                         [; max-age=SECONDS]"
    _salve-keys.G  TXT  "v=salve1; kid=KID; jkt=THUMBPRINT; alg=ALG[; until=UNIX]" (per key)
    G._m2dmrt.H    TXT  H's M2DMRT declaration of G  (see :mod:`mlp.m2dmrt`)
    H._m2dmrt.G    TXT  G's M2DMRT declaration of H

The presence of a valid ``_salve.H`` policy means the service requires a statement; a
client remembers it for ``max-age`` seconds. A policy or pin is a list of ``tag=value``
pairs separated by ``;``: ``v`` comes first, each tag at most once, unknown tags are ignored
(so a later version can add some), and every known tag must be well formed, else the whole
record is refused: a client never half-understands a security policy.

TXT records carry strings of at most 255 bytes; a longer value is split into several
strings and joined back with nothing between (:func:`split_txt_value`,
:func:`join_txt_strings`). Values are ASCII; anything else is refused.

LOC records keep only one significant digit of their size and precisions (RFC 1876 packs
each into a base and a power of ten, in centimetres), so :func:`format_loc` refuses a
precision that would be silently rounded: the operator must publish what clients will
read back. Errors::

    MlpError
      DnsRecordError        a record text that cannot be used (the message says which field)
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Final, Literal, TypeAlias

from mlp.errors import MlpError
from mlp.keys import KID_PATTERN, SUPPORTED_ALGORITHMS, KeyAlgorithm, KeySet, jwk_thumbprint
from mlp.names import HostNameError, check_host_name
from mlp.statement import great_circle_distance_m

__all__ = [
    "MAX_TXT_STRING",
    "POLICY_VERSION",
    "DnsRecordError",
    "GmlcEndpoint",
    "KeyPin",
    "LocSite",
    "PolicyMode",
    "SalvePolicy",
    "apply_key_pins",
    "format_loc",
    "format_tags",
    "join_txt_strings",
    "keys_record_name",
    "loc_precision_representable",
    "parse_tags",
    "policy_record_name",
    "split_txt_value",
]

POLICY_VERSION: Final = "salve1"
MAX_TXT_STRING: Final = 255
MAX_TXT_VALUE: Final = 4096
"""Longest joined TXT value read; a declaration with an RSA-4096 signature is under 800."""
MAX_GMLCS: Final = 8
MAX_POSITION_AGE_S: Final = 7 * 86400
MAX_POLICY_MAX_AGE_S: Final = 2 * 365 * 86400
MAX_UNIX_TIME: Final = 2**53
_TAG: Final = re.compile(r"[a-z][a-z0-9-]{0,31}", re.ASCII)
_DIGITS: Final = re.compile(r"[0-9]{1,16}", re.ASCII)
_THUMBPRINT: Final = re.compile(r"[A-Za-z0-9_-]{43}", re.ASCII)
_LOC_PRECISION_CM_MAX: Final = 9 * 10**9

PolicyMode: TypeAlias = Literal["one", "all"]


class DnsRecordError(MlpError, ValueError):
    """A DNS record text that cannot be used; the message names the record and field."""


# --------------------------------------------------------------------------- names


def policy_record_name(service_host: str) -> str:
    """``_salve.H``: where the service's policy is published."""
    return "_salve." + check_host_name(service_host)


def keys_record_name(gmlc_host: str) -> str:
    """``_salve-keys.G``: where the GMLC's statement key pins are published."""
    return "_salve-keys." + check_host_name(gmlc_host)


# --------------------------------------------------------------------------- TXT strings


def split_txt_value(value: str) -> list[bytes]:
    """Split a record value into TXT strings of at most 255 bytes, in order.

    Raises:
        DnsRecordError: The value is not ASCII, or longer than a client would read.
    """
    try:
        raw = value.encode("ascii")
    except UnicodeEncodeError:
        raise DnsRecordError("a SALVE TXT value is ASCII only") from None
    if len(raw) > MAX_TXT_VALUE:
        raise DnsRecordError(f"a SALVE TXT value is at most {MAX_TXT_VALUE} bytes")
    return [raw[i : i + MAX_TXT_STRING] for i in range(0, len(raw), MAX_TXT_STRING)] or [b""]


def join_txt_strings(strings: Sequence[bytes]) -> str:
    """Join the strings of one TXT record back into its value (nothing between them).

    A field split in the middle by the 255-byte limit comes back whole.

    Raises:
        DnsRecordError: Non-ASCII bytes, or a value longer than a SALVE record can be.
    """
    raw = b"".join(strings)
    if len(raw) > MAX_TXT_VALUE:
        raise DnsRecordError(f"TXT value of {len(raw)} bytes; a SALVE record is shorter")
    try:
        return raw.decode("ascii")
    except UnicodeDecodeError:
        raise DnsRecordError("TXT value is not ASCII") from None


def parse_tags(text: str, what: str, version_tag: str, version: str) -> dict[str, str]:
    """Read a ``tag=value; ...`` record value (the form of policies, pins, declarations).

    The version tag comes first with exactly ``version``; each tag at most once; spaces
    and tabs around tags and values are ignored; an empty field (a trailing ``;``) is too.

    Args:
        text: The joined TXT value.
        what: The record's name in error messages.
        version_tag: The tag that must come first (``v``).
        version: The value it must have.

    Raises:
        DnsRecordError: Not ``tag=value`` pairs, a repeated tag, or another version.
    """
    tags: dict[str, str] = {}
    for position, field in enumerate(text.split(";")):
        field = field.strip(" \t")
        if not field:
            if position == 0:
                break
            continue
        name, sep, value = field.partition("=")
        name, value = name.strip(" \t"), value.strip(" \t")
        if not sep or not _TAG.fullmatch(name):
            raise DnsRecordError(f"{what}: {field[:40]!r} is not a tag=value pair")
        if name in tags:
            raise DnsRecordError(f"{what}: tag {name!r} appears twice")
        tags[name] = value
    if not tags or next(iter(tags)) != version_tag or tags[version_tag] != version:
        raise DnsRecordError(f"{what}: must begin with {version_tag}={version}")
    return tags


def format_tags(*tags: tuple[str, object]) -> str:
    """Write a ``tag=value; ...`` record value in the given order (what :func:`parse_tags`
    reads); a tag whose value is None is left out."""
    return "; ".join(f"{name}={value}" for name, value in tags if value is not None)


def _required(tags: dict[str, str], name: str, what: str) -> str:
    value = tags.get(name)
    if value is None:
        raise DnsRecordError(f"{what}: tag {name!r} is missing")
    return value


def _integer(text: str, name: str, what: str, low: int, high: int) -> int:
    if not _DIGITS.fullmatch(text) or not low <= int(text) <= high:
        raise DnsRecordError(f"{what}: {name}={text[:20]!r} is not a whole number {low}-{high}")
    return int(text)


# --------------------------------------------------------------------------- policy


@dataclass(frozen=True, slots=True)
class GmlcEndpoint:
    """A GMLC the policy names: its host name and the port of its HTTPS endpoint.

    Raises:
        DnsRecordError: A non-canonical host name or a port outside 1-65535.
    """

    host: str
    port: int

    def __post_init__(self) -> None:
        try:
            check_host_name(self.host)
        except HostNameError as exc:
            raise DnsRecordError(f"gmlc host: {exc}") from None
        if isinstance(self.port, bool) or not isinstance(self.port, int):
            raise DnsRecordError("gmlc port must be an integer")
        if not 1 <= self.port <= 65535:
            raise DnsRecordError(f"gmlc port {self.port} is outside 1-65535")

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"

    @classmethod
    def parse(cls, text: str) -> GmlcEndpoint:
        """Read ``HOST:PORT`` (the port is required).

        Raises:
            DnsRecordError: Not ``HOST:PORT``.
        """
        host, sep, port = text.rpartition(":")
        if not sep or not host:
            raise DnsRecordError(f"gmlc={text[:60]!r} is not HOST:PORT")
        return cls(host, _integer(port, "gmlc port", "policy", 1, 65535))


@dataclass(frozen=True, slots=True)
class SalvePolicy:
    """A service's SALVE policy (``_salve.H TXT``).

    Attributes:
        gmlcs: The GMLCs whose statements the service accepts, in the published order.
        age: Oldest position a statement may carry, in seconds (sent as ``max_loc_age``).
        mode: ``one`` (a statement places one SIM; any LOC will do) or ``all`` (it places
            every SIM of the service; every LOC must be covered).
        max_age: How long a client remembers the policy, in seconds; None: not remembered.

    Raises:
        DnsRecordError: A value out of range, duplicate GMLCs, or none.
    """

    gmlcs: tuple[GmlcEndpoint, ...]
    age: int
    mode: PolicyMode
    max_age: int | None = None

    def __post_init__(self) -> None:
        gmlcs = tuple(self.gmlcs)
        if not 1 <= len(gmlcs) <= MAX_GMLCS:
            raise DnsRecordError(f"policy: names 1-{MAX_GMLCS} GMLCs, not {len(gmlcs)}")
        if len({g.host for g in gmlcs}) != len(gmlcs):
            raise DnsRecordError("policy: a GMLC is named twice")
        object.__setattr__(self, "gmlcs", gmlcs)
        if isinstance(self.age, bool) or not isinstance(self.age, int):
            raise DnsRecordError("policy: age must be an integer")
        if not 1 <= self.age <= MAX_POSITION_AGE_S:
            raise DnsRecordError(f"policy: age {self.age} is outside 1-{MAX_POSITION_AGE_S}")
        if self.mode not in ("one", "all"):
            raise DnsRecordError(f"policy: mode {self.mode!r} is neither one nor all")
        if self.max_age is not None and (
            isinstance(self.max_age, bool)
            or not isinstance(self.max_age, int)
            or not 0 <= self.max_age <= MAX_POLICY_MAX_AGE_S
        ):
            raise DnsRecordError(f"policy: max-age is outside 0-{MAX_POLICY_MAX_AGE_S}")

    @property
    def issuers(self) -> tuple[str, ...]:
        """The GMLC host names, which a statement's ``iss`` must be one of."""
        return tuple(gmlc.host for gmlc in self.gmlcs)

    def gmlc(self, host: str) -> GmlcEndpoint | None:
        """The named GMLC with this host name, or None."""
        return next((g for g in self.gmlcs if g.host == host), None)

    def to_text(self) -> str:
        """The record value, in canonical form."""
        return format_tags(
            ("v", POLICY_VERSION),
            ("gmlc", ",".join(str(g) for g in self.gmlcs)),
            ("age", self.age),
            ("mode", self.mode),
            ("max-age", self.max_age),
        )

    @classmethod
    def parse(cls, text: str) -> SalvePolicy:
        """Read a policy record value.

        Raises:
            DnsRecordError: Not a ``v=salve1`` policy, or a field is malformed.
        """
        tags = parse_tags(text, "policy", "v", POLICY_VERSION)
        gmlcs = tuple(
            GmlcEndpoint.parse(item.strip(" \t"))
            for item in _required(tags, "gmlc", "policy").split(",")
        )
        mode = _required(tags, "mode", "policy")
        if mode not in ("one", "all"):
            raise DnsRecordError(f"policy: mode={mode[:20]!r} is neither one nor all")
        max_age_text = tags.get("max-age")
        return cls(
            gmlcs=gmlcs,
            age=_integer(_required(tags, "age", "policy"), "age", "policy", 1, MAX_POSITION_AGE_S),
            mode="one" if mode == "one" else "all",
            max_age=None
            if max_age_text is None
            else _integer(max_age_text, "max-age", "policy", 0, MAX_POLICY_MAX_AGE_S),
        )

    @classmethod
    def from_rrset(cls, values: Iterable[str]) -> SalvePolicy:
        """The one policy among the joined TXT values at ``_salve.H``.

        TXT records that are not ``v=salve1`` records are ignored; two policies are
        ambiguous and refused, as is an RRset without one.

        Raises:
            DnsRecordError: No policy, more than one, or a malformed one.
        """
        policies = [v for v in values if v.lstrip(" \t").startswith("v=")]
        salve = [v for v in policies if _tags_version(v) == POLICY_VERSION]
        if not salve:
            raise DnsRecordError("policy: no v=salve1 record at the policy name")
        if len(salve) > 1:
            raise DnsRecordError(f"policy: {len(salve)} v=salve1 records; exactly one is allowed")
        return cls.parse(salve[0])


def _tags_version(text: str) -> str:
    first = text.split(";", 1)[0]
    return first.partition("=")[2].strip(" \t")


# --------------------------------------------------------------------------- key pins


@dataclass(frozen=True, slots=True)
class KeyPin:
    """One statement key a GMLC signs with, as pinned in ``_salve-keys.G TXT``.

    Attributes:
        kid: The key id statements name.
        jkt: The key's RFC 7638 SHA-256 JWK thumbprint, base64url.
        alg: The one algorithm the key signs with.
        until: When set, the key verifies only statements issued before this Unix time
            (the key was retired or revoked).

    Raises:
        DnsRecordError: A malformed field.
    """

    kid: str
    jkt: str
    alg: KeyAlgorithm
    until: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.kid, str) or not KID_PATTERN.fullmatch(self.kid):
            raise DnsRecordError("key pin: kid is not 1-64 characters of A-Z a-z 0-9 . _ -")
        if not isinstance(self.jkt, str) or not _THUMBPRINT.fullmatch(self.jkt):
            raise DnsRecordError("key pin: jkt is not a base64url SHA-256 thumbprint")
        if self.alg not in SUPPORTED_ALGORITHMS:
            raise DnsRecordError(f"key pin: alg {str(self.alg)[:16]!r} is not supported")
        if self.until is not None and (
            isinstance(self.until, bool)
            or not isinstance(self.until, int)
            or not 0 <= self.until < MAX_UNIX_TIME
        ):
            raise DnsRecordError("key pin: until is not a Unix time")

    def to_text(self) -> str:
        """The record value."""
        return format_tags(
            ("v", POLICY_VERSION),
            ("kid", self.kid),
            ("jkt", self.jkt),
            ("alg", self.alg),
            ("until", self.until),
        )

    @classmethod
    def parse(cls, text: str) -> KeyPin:
        """Read a key pin record value.

        Raises:
            DnsRecordError: Not a ``v=salve1`` pin, or a field is malformed.
        """
        tags = parse_tags(text, "key pin", "v", POLICY_VERSION)
        alg = _required(tags, "alg", "key pin")
        algorithm = next((a for a in SUPPORTED_ALGORITHMS if a == alg), None)
        if algorithm is None:
            raise DnsRecordError(f"key pin: alg {alg[:16]!r} is not supported")
        until = tags.get("until")
        return cls(
            kid=_required(tags, "kid", "key pin"),
            jkt=_required(tags, "jkt", "key pin"),
            alg=algorithm,
            until=None if until is None else _integer(until, "until", "key pin", 0, 2**53 - 1),
        )


def apply_key_pins(keys: KeySet, pins: Iterable[KeyPin]) -> KeySet:
    """The keys of a JWKS that DNS pins, each carrying its pin's ``until``.

    A key is kept only when a pin names its ``kid`` with its exact RFC 7638 thumbprint and
    algorithm; every other key of the JWKS is dropped, whatever the JWKS says about it.

    Raises:
        DnsRecordError: Two pins for one ``kid``.
    """
    by_kid: dict[str, KeyPin] = {}
    for pin in pins:
        if pin.kid in by_kid:
            raise DnsRecordError(f"key pin: kid {pin.kid!r} is pinned twice")
        by_kid[pin.kid] = pin
    kept = []
    for key in keys:
        found = by_kid.get(key.kid)
        if found is None or found.alg != key.alg or found.jkt != jwk_thumbprint(key.public_key):
            continue
        kept.append(replace(key, until=found.until))
    return KeySet(kept)


# --------------------------------------------------------------------------- LOC


def loc_precision_representable(metres: float) -> bool:
    """Whether a LOC size or precision survives the record's one-digit encoding exactly."""
    centimetres = round(metres * 100, 6)
    if centimetres != int(centimetres) or not 0 <= centimetres <= _LOC_PRECISION_CM_MAX:
        return False
    value = int(centimetres)
    while value >= 10 and value % 10 == 0:
        value //= 10
    return value <= 9


def _dms(value: float, positive: str, negative: str) -> str:
    hemisphere = positive if value >= 0 else negative
    thousandths = round(abs(value) * 3_600_000)
    degrees, rest = divmod(thousandths, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    return f"{degrees} {minutes} {rest / 1000:.3f} {hemisphere}"


def format_loc(
    lat: float,
    lon: float,
    *,
    hp_m: float,
    altitude_m: float = 0.0,
    size_m: float = 1.0,
    vp_m: float = 10.0,
) -> str:
    """The RDATA of a LOC record in presentation form (RFC 1876 §3).

    Args:
        lat: Latitude in degrees (positive north).
        lon: Longitude in degrees (positive east).
        hp_m: Horizontal precision: the *diameter* of the legitimate area, in metres.
        altitude_m: Altitude above the WGS84 ellipsoid, in metres.
        size_m: Diameter of the sphere enclosing the site, in metres.
        vp_m: Vertical precision, in metres.

    Raises:
        DnsRecordError: A coordinate out of range, or a size or precision the record
            cannot carry exactly (only one significant digit survives: 2000 m, not 2500 m).
    """
    if not -90.0 <= lat <= 90.0 or not -180.0 <= lon <= 180.0:
        raise DnsRecordError("LOC: latitude or longitude out of range")
    if not -100_000.0 <= altitude_m <= 42_849_672.95:
        raise DnsRecordError("LOC: altitude out of range")
    for name, value in (("size", size_m), ("hp", hp_m), ("vp", vp_m)):
        if not loc_precision_representable(value):
            raise DnsRecordError(
                f"LOC: {name} {value:g} m cannot be published exactly; use one significant "
                "digit in metres or centimetres (for example 2000 m, 500 m, 30 m)"
            )
    return (
        f"{_dms(lat, 'N', 'S')} {_dms(lon, 'E', 'W')} {altitude_m:.2f}m "
        f"{size_m:g}m {hp_m:g}m {vp_m:g}m"
    )


@dataclass(frozen=True, slots=True)
class LocSite:
    """A legitimate site as its LOC record states it.

    Attributes:
        lat: Latitude of the centre, degrees.
        lon: Longitude of the centre, degrees.
        hp_m: Horizontal precision, the diameter of the allowed area, metres.
    """

    lat: float
    lon: float
    hp_m: float

    def margin_m(self, lat: float, lon: float, radius_m: float) -> float:
        """How far inside the site a circle lies: hp/2 - (distance + r); negative is outside."""
        return self.hp_m / 2 - (great_circle_distance_m(self.lat, self.lon, lat, lon) + radius_m)

    def covers(self, lat: float, lon: float, radius_m: float) -> bool:
        """Whether the whole circle lies inside the site: haversine(centre, LOC) + r ≤ hp/2."""
        return self.margin_m(lat, lon, radius_m) >= 0
