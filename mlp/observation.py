"""Observation reports: what an appliance's modem saw, signed by the appliance.

The appliance reads its modem (SIM identity, registration, serving and neighbour cells,
signal) and sends the result to the GMLC as a compact JWS signed with its Ed25519 key::

    header  exactly {"alg": "EdDSA", "typ": "salve-observation+jwt", "kid": <appliance id>}
    claims  {"appliance", "seq", "observed_at", "sim", "modem", "registration",
             "serving", "neighbours", "signal"}

Every member is required (absent values are ``null``), unknown members are refused at
every level, and types are exact: a JSON ``true`` is not an integer, a string is not a
number. ``seq`` grows strictly per appliance, across restarts; the GMLC refuses replays.
The appliance's public key travels as unpadded base64url of its raw 32 bytes
(:func:`encode_public_key`).

Validation lives in the dataclasses themselves, so a report that constructs is a report
that verifies; :meth:`ObservationReport.from_claims` adds the structural checks of the
JSON (exact member sets, lists, nesting).

This module knows nothing of the ``modem`` package: values are plain strings and numbers
whose names match ``modem.models`` (``Cell``, ``Signal``…).

Errors::

    MlpError
      ObservationError
        ObservationMalformedError   (also a ValueError) bad token, header, claims or key
          ObservationRangeError     a claim of the right type outside its range
        ObservationSignatureError   the signature does not verify with the given key

Ranges: every number has one (:data:`CLAIM_RANGES`), so a report that verifies holds only
values its readers can use: ``observed_at`` converts to a date, and a signal strength can be
squared and divided by without overflowing or dividing by zero. Identifier ranges are the
widest the 3GPP specifications allow; signal ranges are a physical envelope somewhat wider
than the 3GPP reporting ranges, so a quirky but real modem value is still accepted.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any, Final, TypeVar

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from jwt import api_jws

from mlp.errors import MlpError
from mlp.keys import b64url_decode, b64url_encode, loads_json_object, split_compact_jws

__all__ = [
    "CLAIM_RANGES",
    "DOMAIN_NAMES",
    "MAX_NEIGHBOURS",
    "OBSERVATION_ALG",
    "OBSERVATION_TYP",
    "RAT_NAMES",
    "REGISTRATION_STATES",
    "ObservationError",
    "ObservationMalformedError",
    "ObservationRangeError",
    "ObservationReport",
    "ObservationSignatureError",
    "ReportCell",
    "ReportDomain",
    "ReportModem",
    "ReportRegistration",
    "ReportSignal",
    "ReportSim",
    "decode_public_key",
    "encode_public_key",
    "in_claim_range",
    "peek_appliance_id",
    "registration_state",
    "sign_observation",
    "verify_observation",
]

OBSERVATION_TYP: Final = "salve-observation+jwt"
OBSERVATION_ALG: Final = "EdDSA"
MAX_NEIGHBOURS: Final = 32
MAX_DOMAINS: Final = 8
MAX_OBSERVATION_LENGTH: Final = 65536
"""Longest token looked at; 32 fully populated neighbours fit in about 12 KiB."""
RAT_NAMES: Final = frozenset({"GSM", "UMTS", "LTE", "LTE-M", "NB-IoT", "NR"})
DOMAIN_NAMES: Final = frozenset({"CREG", "CGREG", "CEREG", "C5GREG"})
REGISTRATION_STATES: Final = (
    "home",
    "roaming",
    "emergency_only",
    "searching",
    "denied",
    "not_registered",
    "unknown",
)
"""All registration states, best first: the order :func:`registration_state` ranks by."""

# 3GPP TS 27.007 §7.2 <stat>: 1/6/9 registered home (6 SMS only, 9 CSFB not preferred),
# 5/7/10 the roaming equivalents; 4 (unknown) and 11 (RLOS) give no service.
_STATE_BY_STAT: Final = {
    0: "not_registered",
    1: "home",
    2: "searching",
    3: "denied",
    5: "roaming",
    6: "home",
    7: "roaming",
    8: "emergency_only",
    9: "home",
    10: "roaming",
}
_APPLIANCE_PATTERN: Final = re.compile(r"[A-Za-z0-9._-]{1,64}")
_IMSI_PATTERN: Final = re.compile(r"[0-9]{6,15}")
_ICCID_PATTERN: Final = re.compile(r"[0-9]{18,22}")
_MCC_PATTERN: Final = re.compile(r"[0-9]{3}")
_MNC_PATTERN: Final = re.compile(r"[0-9]{2,3}")
_TEXT_PATTERN: Final = re.compile(r"[\x20-\x7e]{1,128}")
_MAX_INT: Final = 2**53  # exact in every JSON implementation; NR cell ids need 36 bits
_LAST_DATETIME_SECOND: Final = 253402300799  # 9999-12-31T23:59:59Z, the last one a datetime holds

CLAIM_RANGES: Final[Mapping[str, tuple[float, float]]] = {
    "seq": (1, _MAX_INT - 1),
    "observed_at": (0, _LAST_DATETIME_SECOND),
    # 27.007 §7.2: <stat> 0-11, <AcT> 0-13 (room for two more), LAC 16 bits, TAC 24 bits,
    # cell identity up to 36 bits (NR).
    "registration.domains.stat": (0, 11),
    "registration.domains.lac": (0, 0xFFFF),
    "registration.domains.tac": (0, 0xFFFFFF),
    "registration.domains.ci": (0, 2**36 - 1),
    "registration.domains.act": (0, 15),
    "cell.lac": (0, 0xFFFF),
    "cell.tac": (0, 0xFFFFFF),
    "cell.ci": (0, 2**36 - 1),
    "cell.pci": (0, 1007),  # NR 0-1007, LTE 0-503
    "cell.arfcn": (0, 3279165),  # GSM ARFCN 0-1023, NR-ARFCN up to 3,279,165
    "cell.earfcn": (0, 262143),
    "cell.uarfcn": (0, 16383),
    "cell.psc": (0, 511),
    "cell.band": (0, 1024),
    # dBm: 3GPP reports RSRP -156..-31 (NR), RSCP -120..-25, RSSI -113..-51 (+CSQ).
    "cell.rsrp": (-160.0, -20.0),
    "cell.rscp": (-130.0, -20.0),
    "cell.rssi": (-130.0, 0.0),
    # dB: RSRQ -43..20 (NR), SINR -23..40, Ec/Io -24..0.
    "cell.rsrq": (-45.0, 25.0),
    "cell.sinr": (-30.0, 60.0),
    "cell.ecio": (-30.0, 5.0),
    "signal.rsrp": (-160.0, -20.0),
    "signal.rscp": (-130.0, -20.0),
    "signal.rssi": (-130.0, 0.0),
    "signal.rsrq": (-45.0, 25.0),
    "signal.sinr": (-30.0, 60.0),
    "signal.ecno": (-30.0, 5.0),
}
"""The inclusive range of every numeric claim, by its path in the claims object."""
_HEADER_NAMES: Final = frozenset({"alg", "kid", "typ"})
_PUBLIC_KEY_BYTES: Final = 32


class ObservationError(MlpError):
    """An observation report that cannot be accepted."""


class ObservationMalformedError(ObservationError, ValueError):
    """Not a valid observation report: bad token, header, claims, or public key encoding."""


class ObservationRangeError(ObservationMalformedError):
    """A claim of the right type whose value lies outside its range (:data:`CLAIM_RANGES`)."""


class ObservationSignatureError(ObservationError):
    """The report's signature does not verify with the appliance's key."""


def _malformed(where: str, what: str) -> ObservationMalformedError:
    return ObservationMalformedError(f"observation {where}: {what}")


# --------------------------------------------------------------------------- value checks


def in_claim_range(where: str, value: float) -> bool:
    """Whether ``value`` lies within the range of the claim at path ``where``.

    For producers that drop a value they cannot report (the appliance) rather than fail.

    Raises:
        KeyError: ``where`` names no numeric claim.
    """
    low, high = CLAIM_RANGES[where]
    return low <= value <= high


def _check_range(value: float, where: str) -> None:
    low, high = CLAIM_RANGES[where]
    if not low <= value <= high:
        raise ObservationRangeError(f"observation {where}: {value!r} is outside [{low}, {high}]")


def _check_int(value: object, where: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _malformed(where, "must be an integer")
    _check_range(value, where)


def _check_optional_int(value: object, where: str) -> None:
    if value is not None:
        _check_int(value, where)


def _check_optional_number(value: object, where: str) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _malformed(where, "must be a number or null")
    if not math.isfinite(value):
        raise _malformed(where, "must be finite")
    _check_range(value, where)


def _check_pattern(value: object, pattern: re.Pattern[str], where: str, what: str) -> None:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise _malformed(where, f"must be {what}")


def _check_optional_text(value: object, where: str) -> None:
    if value is not None:
        _check_pattern(value, _TEXT_PATTERN, where, "null or 1-128 printable ASCII characters")


def _check_optional_rat(value: object, where: str) -> None:
    if value is not None and (not isinstance(value, str) or value not in RAT_NAMES):
        raise _malformed(where, f"must be null or one of {sorted(RAT_NAMES)}")


# --------------------------------------------------------------------------- report parts


@dataclass(frozen=True, slots=True)
class ReportSim:
    """The SIM's identities. ``imsi`` 6-15 digits, ``iccid`` 18-22 digits.

    Raises:
        ObservationMalformedError: A value of the wrong type or form.
    """

    imsi: str
    iccid: str
    msisdn: str | None = None

    def __post_init__(self) -> None:
        _check_pattern(self.imsi, _IMSI_PATTERN, "sim.imsi", "6-15 digits")
        _check_pattern(self.iccid, _ICCID_PATTERN, "sim.iccid", "18-22 digits")
        _check_optional_text(self.msisdn, "sim.msisdn")


@dataclass(frozen=True, slots=True)
class ReportModem:
    """The modem's identity (``+CGMI``, ``+CGMM``, ``+CGMR``, ``+CGSN``).

    Raises:
        ObservationMalformedError: A value that is neither null nor 1-128 printable
            ASCII characters.
    """

    manufacturer: str | None = None
    model: str | None = None
    revision: str | None = None
    imei: str | None = None

    def __post_init__(self) -> None:
        for name in ("manufacturer", "model", "revision", "imei"):
            _check_optional_text(getattr(self, name), f"modem.{name}")


@dataclass(frozen=True, slots=True)
class ReportDomain:
    """One registration record (``+CREG``/``+CGREG``/``+CEREG``/``+C5GREG``, 27.007 §7.2).

    Raises:
        ObservationMalformedError: Unknown domain or a non-integer field.
    """

    domain: str
    stat: int | None = None
    lac: int | None = None
    tac: int | None = None
    ci: int | None = None
    act: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.domain, str) or self.domain not in DOMAIN_NAMES:
            raise _malformed(
                "registration.domains.domain", f"must be one of {sorted(DOMAIN_NAMES)}"
            )
        for name in ("stat", "lac", "tac", "ci", "act"):
            _check_optional_int(getattr(self, name), f"registration.domains.{name}")


def registration_state(domains: Iterable[ReportDomain]) -> str:
    """The report's registration state, from the best domain record.

    ``<stat>`` 1/6/9 is ``home``, 5/7/10 ``roaming``, 2 ``searching``, 3 ``denied``,
    0 ``not_registered``, 8 ``emergency_only``; anything else, or no record, ``unknown``.
    "Best" follows :data:`REGISTRATION_STATES`: a module registered in any domain is
    registered.
    """
    states = [
        _STATE_BY_STAT.get(d.stat, "unknown") if d.stat is not None else "unknown" for d in domains
    ]
    return min(states, key=REGISTRATION_STATES.index, default="unknown")


@dataclass(frozen=True, slots=True)
class ReportRegistration:
    """Registration state, radio technology and the records they came from.

    Raises:
        ObservationMalformedError: Unknown state or RAT, too many records, or a record
            that is not a :class:`ReportDomain`.
    """

    state: str
    rat: str | None = None
    domains: tuple[ReportDomain, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.state, str) or self.state not in REGISTRATION_STATES:
            raise _malformed("registration.state", f"must be one of {list(REGISTRATION_STATES)}")
        _check_optional_rat(self.rat, "registration.rat")
        if not isinstance(self.domains, tuple | list):
            raise _malformed("registration.domains", "must be a sequence of ReportDomain values")
        domains = tuple(self.domains)
        if len(domains) > MAX_DOMAINS:
            raise _malformed("registration.domains", f"has more than {MAX_DOMAINS} records")
        if not all(isinstance(d, ReportDomain) for d in domains):
            raise _malformed("registration.domains", "must hold ReportDomain values")
        object.__setattr__(self, "domains", domains)

    @classmethod
    def from_domains(
        cls, domains: Sequence[ReportDomain], rat: str | None = None
    ) -> ReportRegistration:
        """A registration whose state is derived with :func:`registration_state`."""
        return cls(state=registration_state(domains), rat=rat, domains=tuple(domains))


@dataclass(frozen=True, slots=True)
class ReportCell:
    """A serving or neighbour cell; field names and units as ``modem.models.Cell``.

    Identifiers and channels are non-negative integers; signal values are dBm or dB.

    Raises:
        ObservationMalformedError: A value of the wrong type or form.
    """

    rat: str | None = None
    mcc: str | None = None
    mnc: str | None = None
    lac: int | None = None
    tac: int | None = None
    ci: int | None = None
    pci: int | None = None
    arfcn: int | None = None
    earfcn: int | None = None
    uarfcn: int | None = None
    psc: int | None = None
    band: int | None = None
    rsrp: float | None = None
    rsrq: float | None = None
    rssi: float | None = None
    sinr: float | None = None
    rscp: float | None = None
    ecio: float | None = None

    def __post_init__(self) -> None:
        _check_optional_rat(self.rat, "cell.rat")
        if self.mcc is not None:
            _check_pattern(self.mcc, _MCC_PATTERN, "cell.mcc", "null or 3 digits")
        if self.mnc is not None:
            _check_pattern(self.mnc, _MNC_PATTERN, "cell.mnc", "null or 2-3 digits")
        for name in _CELL_INTS:
            _check_optional_int(getattr(self, name), f"cell.{name}")
        for name in _CELL_NUMBERS:
            _check_optional_number(getattr(self, name), f"cell.{name}")


_CELL_INTS: Final = ("lac", "tac", "ci", "pci", "arfcn", "earfcn", "uarfcn", "psc", "band")
_CELL_NUMBERS: Final = ("rsrp", "rsrq", "rssi", "sinr", "rscp", "ecio")


@dataclass(frozen=True, slots=True)
class ReportSignal:
    """Serving-cell signal quality in dBm/dB (``+CSQ``, ``+CESQ``).

    Raises:
        ObservationMalformedError: A value that is neither null nor a finite number.
    """

    rssi: float | None = None
    rsrp: float | None = None
    rsrq: float | None = None
    sinr: float | None = None
    rscp: float | None = None
    ecno: float | None = None

    def __post_init__(self) -> None:
        for name in ("rssi", "rsrp", "rsrq", "sinr", "rscp", "ecno"):
            _check_optional_number(getattr(self, name), f"signal.{name}")


@dataclass(frozen=True, slots=True)
class ObservationReport:
    """One signed observation: the claims of an observation JWS, typed.

    Attributes:
        appliance: The appliance id, 1-64 characters of ``A-Z a-z 0-9 . _ -``; also the
            JWS ``kid``.
        seq: Sequence number, >= 1, strictly increasing per appliance.
        observed_at: Unix seconds (UTC) when the modem was read.
        sim: SIM identities.
        modem: Modem identity.
        registration: Registration state and records.
        serving: The serving cell, or None.
        neighbours: Up to 32 neighbour cells.
        signal: Serving-cell signal quality.

    Raises:
        ObservationMalformedError: Any value of the wrong type or form.
    """

    appliance: str
    seq: int
    observed_at: int
    sim: ReportSim
    modem: ReportModem
    registration: ReportRegistration
    serving: ReportCell | None
    neighbours: tuple[ReportCell, ...]
    signal: ReportSignal

    def __post_init__(self) -> None:
        _check_pattern(
            self.appliance, _APPLIANCE_PATTERN, "appliance", "1-64 characters of A-Z a-z 0-9 . _ -"
        )
        _check_int(self.seq, "seq")
        _check_int(self.observed_at, "observed_at")
        for name, kind in (
            ("sim", ReportSim),
            ("modem", ReportModem),
            ("registration", ReportRegistration),
            ("signal", ReportSignal),
        ):
            if not isinstance(getattr(self, name), kind):
                raise _malformed(name, f"must be a {kind.__name__}")
        if self.serving is not None and not isinstance(self.serving, ReportCell):
            raise _malformed("serving", "must be a ReportCell or None")
        if not isinstance(self.neighbours, tuple | list):
            raise _malformed("neighbours", "must be a sequence of ReportCell values")
        neighbours = tuple(self.neighbours)
        if len(neighbours) > MAX_NEIGHBOURS:
            raise _malformed("neighbours", f"has more than {MAX_NEIGHBOURS} cells")
        if not all(isinstance(cell, ReportCell) for cell in neighbours):
            raise _malformed("neighbours", "must hold ReportCell values")
        object.__setattr__(self, "neighbours", neighbours)

    def to_claims(self) -> dict[str, Any]:
        """The JSON claims object."""
        return {
            "appliance": self.appliance,
            "seq": self.seq,
            "observed_at": self.observed_at,
            "sim": _flat(self.sim),
            "modem": _flat(self.modem),
            "registration": {
                "state": self.registration.state,
                "rat": self.registration.rat,
                "domains": [_flat(domain) for domain in self.registration.domains],
            },
            "serving": None if self.serving is None else _flat(self.serving),
            "neighbours": [_flat(cell) for cell in self.neighbours],
            "signal": _flat(self.signal),
        }

    @classmethod
    def from_claims(cls, claims: Mapping[str, Any]) -> ObservationReport:
        """Read claims strictly: exact member sets at every level, exact types.

        Raises:
            ObservationMalformedError: A missing or unknown member, or a bad value.
        """
        top = _exact_object(claims, _REPORT_NAMES, "claims")
        registration = _exact_object(top["registration"], _REGISTRATION_NAMES, "registration")
        domains = _array(registration["domains"], "registration.domains", MAX_DOMAINS)
        neighbours = _array(top["neighbours"], "neighbours", MAX_NEIGHBOURS)
        serving = top["serving"]
        return cls(
            appliance=top["appliance"],
            seq=top["seq"],
            observed_at=top["observed_at"],
            sim=_build(ReportSim, top["sim"], "sim"),
            modem=_build(ReportModem, top["modem"], "modem"),
            registration=ReportRegistration(
                state=registration["state"],
                rat=registration["rat"],
                domains=tuple(
                    _build(ReportDomain, item, f"registration.domains[{index}]")
                    for index, item in enumerate(domains)
                ),
            ),
            serving=None if serving is None else _build(ReportCell, serving, "serving"),
            neighbours=tuple(
                _build(ReportCell, item, f"neighbours[{index}]")
                for index, item in enumerate(neighbours)
            ),
            signal=_build(ReportSignal, top["signal"], "signal"),
        )


_REPORT_NAMES: Final = frozenset(f.name for f in fields(ObservationReport))
_REGISTRATION_NAMES: Final = frozenset(f.name for f in fields(ReportRegistration))


def _flat(
    value: ReportSim | ReportModem | ReportDomain | ReportCell | ReportSignal,
) -> dict[str, Any]:
    return {f.name: getattr(value, f.name) for f in fields(value)}


def _exact_object(value: object, names: frozenset[str], where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _malformed(where, "must be an object")
    present = set(value)
    if present != names:
        missing = sorted(names - present)
        unknown = sorted(str(name) for name in present - names)
        raise _malformed(where, f"missing members {missing}, unknown members {unknown}")
    return value


def _array(value: object, where: str, limit: int) -> list[Any]:
    if not isinstance(value, list):
        raise _malformed(where, "must be an array")
    if len(value) > limit:
        raise _malformed(where, f"has more than {limit} entries")
    return value


_Part = TypeVar("_Part", ReportSim, ReportModem, ReportDomain, ReportCell, ReportSignal)


def _build(kind: type[_Part], value: object, where: str) -> _Part:
    members = _exact_object(value, frozenset(f.name for f in fields(kind)), where)
    try:
        return kind(**members)
    except ObservationMalformedError as exc:
        # Keep the class: a range error stays a range error with the path in front.
        detail = str(exc).removeprefix("observation ")
        raise type(exc)(f"observation {where}: {detail}") from exc


# --------------------------------------------------------------------------- signing


def sign_observation(report: ObservationReport, private_key: Ed25519PrivateKey) -> str:
    """Sign a report as a compact JWS with the appliance's Ed25519 key.

    Args:
        report: The report; its ``appliance`` becomes the header ``kid``.
        private_key: The appliance's private key.

    Returns:
        The compact JWS.

    Raises:
        TypeError: ``private_key`` is not an Ed25519 private key.
    """
    if not isinstance(private_key, Ed25519PrivateKey):
        raise TypeError("private_key must be an Ed25519PrivateKey")
    payload = json.dumps(
        report.to_claims(), separators=(",", ":"), ensure_ascii=True, allow_nan=False
    ).encode("ascii")
    return api_jws.encode(
        payload,
        private_key,
        algorithm=OBSERVATION_ALG,
        headers={"kid": report.appliance, "typ": OBSERVATION_TYP},
    )


def _checked_header(token: str) -> tuple[str, bytes, bytes, bytes]:
    """Split a token and check its header; returns kid, signing input, signature, payload."""
    try:
        parts = split_compact_jws(token, max_length=MAX_OBSERVATION_LENGTH)
    except ValueError as exc:
        raise _malformed("token", str(exc)) from exc
    header = parts.header
    if set(header) != _HEADER_NAMES:
        raise _malformed("header", f"must have exactly the members {sorted(_HEADER_NAMES)}")
    if header["alg"] != OBSERVATION_ALG:
        raise _malformed("header", f"alg must be {OBSERVATION_ALG!r}")
    if header["typ"] != OBSERVATION_TYP:
        raise _malformed("header", f"typ must be {OBSERVATION_TYP!r}")
    kid = header["kid"]
    _check_pattern(kid, _APPLIANCE_PATTERN, "header kid", "an appliance id")
    return kid, parts.signing_input, parts.signature, parts.payload


def peek_appliance_id(token: str) -> str:
    """The appliance id a report claims to come from, NOT verified: use it only to look up
    the key to verify with.

    Raises:
        ObservationMalformedError: Not a compact JWS with a valid observation header.
    """
    kid, _, _, _ = _checked_header(token)
    return kid


def verify_observation(token: str, public_key: Ed25519PublicKey) -> ObservationReport:
    """Verify a report's signature and read its claims strictly.

    Args:
        token: The compact JWS.
        public_key: The enrolled public key of the appliance named by the token.

    Returns:
        The report.

    Raises:
        ObservationMalformedError: Bad token, header or claims, or the ``appliance`` claim
            differs from the header ``kid``.
        ObservationSignatureError: The signature does not verify with ``public_key``.
        TypeError: ``public_key`` is not an Ed25519 public key.
    """
    if not isinstance(public_key, Ed25519PublicKey):
        raise TypeError("public_key must be an Ed25519PublicKey")
    kid, signing_input, signature, payload = _checked_header(token)
    try:
        public_key.verify(signature, signing_input)
    except InvalidSignature:
        raise ObservationSignatureError(
            f"observation signature does not verify for appliance {kid!r}"
        ) from None
    try:
        claims = loads_json_object(payload)
    except ValueError as exc:
        raise _malformed("claims", str(exc)) from exc
    report = ObservationReport.from_claims(claims)
    if report.appliance != kid:
        raise _malformed("claims", "appliance differs from the header kid")
    return report


# --------------------------------------------------------------------------- public keys


def encode_public_key(public_key: Ed25519PublicKey) -> str:
    """An appliance public key as unpadded base64url of its raw 32 bytes.

    Raises:
        TypeError: Not an Ed25519 public key.
    """
    if not isinstance(public_key, Ed25519PublicKey):
        raise TypeError("public_key must be an Ed25519PublicKey")
    return b64url_encode(
        public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    )


def decode_public_key(text: str) -> Ed25519PublicKey:
    """Read an appliance public key written by :func:`encode_public_key`.

    Raises:
        ObservationMalformedError: Not unpadded base64url of exactly 32 bytes.
    """
    try:
        raw = b64url_decode(text)
    except ValueError as exc:
        raise _malformed("public key", "is not unpadded base64url") from exc
    if len(raw) != _PUBLIC_KEY_BYTES:
        raise _malformed("public key", f"must be {_PUBLIC_KEY_BYTES} bytes, not {len(raw)}")
    try:
        return Ed25519PublicKey.from_public_bytes(raw)
    except ValueError as exc:
        raise _malformed("public key", "is not an Ed25519 public key") from exc
