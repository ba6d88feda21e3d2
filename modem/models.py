"""Typed values produced by the AT parsers and the ``Modem`` API.

Everything here is a frozen dataclass or an enum, so values can be compared,
hashed and passed between threads freely. Absent information is ``None``,
never a zero: a modem that prints ``-`` or ``FFFF`` for "unknown" yields
``None``, because a cell id of 0 is a real (if rare) identity.

Units: signal values are dBm (power) or dB (quality ratios) as floats.
Identifiers (LAC, TAC, cell id, PCI, channels) are plain integers, converted
from whatever base the module printed. MCC and MNC are digit strings because
the MNC's width matters: ``"01"`` and ``"001"`` are different networks.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

__all__ = [
    "Cell",
    "CellObservation",
    "ModemIdentity",
    "NeighbourCell",
    "Operator",
    "Rat",
    "Registration",
    "RegistrationDomain",
    "RegistrationStatus",
    "ServingCell",
    "Signal",
    "SimIdentity",
    "SimState",
]


class Rat(enum.StrEnum):
    """Radio access technology of a cell."""

    GSM = "GSM"
    UMTS = "UMTS"
    LTE = "LTE"
    LTE_M = "LTE-M"
    NB_IOT = "NB-IoT"
    NR = "NR"


class RegistrationDomain(enum.StrEnum):
    """Which 27.007 registration command a record came from."""

    CREG = "CREG"  # circuit-switched (GSM/UMTS)
    CGREG = "CGREG"  # GPRS / packet-switched UMTS
    CEREG = "CEREG"  # EPS (LTE, LTE-M, NB-IoT)
    C5GREG = "C5GREG"  # 5GS (NR standalone)


class RegistrationStatus(enum.IntEnum):
    """``<stat>`` of +CREG/+CGREG/+CEREG/+C5GREG (3GPP TS 27.007 §7.2, §10.1.19)."""

    NOT_REGISTERED = 0
    HOME = 1
    SEARCHING = 2
    DENIED = 3
    UNKNOWN = 4
    ROAMING = 5
    SMS_ONLY_HOME = 6
    SMS_ONLY_ROAMING = 7
    EMERGENCY_ONLY = 8
    CSFB_NOT_PREFERRED_HOME = 9
    CSFB_NOT_PREFERRED_ROAMING = 10
    RLOS = 11

    @property
    def is_registered(self) -> bool:
        """True when the module is attached to a network it may use for service."""
        return self in _REGISTERED


_REGISTERED = frozenset(
    {
        RegistrationStatus.HOME,
        RegistrationStatus.ROAMING,
        RegistrationStatus.SMS_ONLY_HOME,
        RegistrationStatus.SMS_ONLY_ROAMING,
        RegistrationStatus.CSFB_NOT_PREFERRED_HOME,
        RegistrationStatus.CSFB_NOT_PREFERRED_ROAMING,
    }
)


class SimState(enum.StrEnum):
    """SIM state as reported by ``+CPIN`` (27.007 §8.3) or inferred from errors."""

    READY = "READY"
    SIM_PIN = "SIM PIN"
    SIM_PUK = "SIM PUK"
    SIM_PIN2 = "SIM PIN2"
    SIM_PUK2 = "SIM PUK2"
    PH_SIM_PIN = "PH-SIM PIN"
    PH_NET_PIN = "PH-NET PIN"
    NOT_INSERTED = "NOT INSERTED"
    FAILURE = "FAILURE"
    BUSY = "BUSY"
    UNKNOWN = "UNKNOWN"


def _json_value(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple):
        return [_json_value(v) for v in value]
    if hasattr(value, "__dataclass_fields__"):
        return {f.name: _json_value(getattr(value, f.name)) for f in fields(value)}
    return value


class _JsonMixin:
    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: enums as their values, datetimes in ISO 8601."""
        result: dict[str, Any] = _json_value(self)
        return result


@dataclass(frozen=True, slots=True)
class Registration(_JsonMixin):
    """One registration record (read answer or unsolicited form).

    ``lac`` is set for CREG/CGREG, ``tac`` for CEREG/C5GREG (CGREG on some
    modules reports both). ``ci`` is the full cell identity: 16-bit GSM CI,
    28-bit UMTS UC-Id or E-UTRAN ECI, 36-bit NR NCI.
    """

    domain: RegistrationDomain
    stat: RegistrationStatus | None
    n: int | None = None
    lac: int | None = None
    tac: int | None = None
    ci: int | None = None
    act: int | None = None
    rat: Rat | None = None
    unsolicited: bool = False


@dataclass(frozen=True, slots=True)
class Operator(_JsonMixin):
    """``+COPS`` read answer or one entry of the ``=?`` list."""

    mode: int | None = None
    format: int | None = None
    oper: str | None = None
    mcc: str | None = None
    mnc: str | None = None
    act: int | None = None
    status: int | None = None  # only in the =? list: 0 unknown, 1 available, 2 current, 3 forbidden


@dataclass(frozen=True, slots=True)
class Cell(_JsonMixin):
    """Fields common to serving and neighbour cells; all optional but ``rat``."""

    rat: Rat | None
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

    @property
    def area(self) -> int | None:
        """The location/tracking area code, whichever this RAT uses."""
        return self.tac if self.tac is not None else self.lac

    @property
    def is_identified(self) -> bool:
        """True when the cell has a global identity (MCC, MNC, area and cell id)."""
        return None not in (self.mcc, self.mnc, self.area, self.ci)


@dataclass(frozen=True, slots=True)
class ServingCell(Cell):
    """The cell the module is camped on. ``state`` is the vendor's word (``NOCONN``…).

    ``nsa_leg`` marks the NR secondary cell of a 5G non-standalone (EN-DC) connection:
    the module serves on it too, but its identity is the LTE anchor's.
    """

    state: str | None = None
    nsa_leg: bool = False


@dataclass(frozen=True, slots=True)
class NeighbourCell(Cell):
    """A neighbour cell; most vendors give only channel and PCI/PSC plus signal."""


@dataclass(frozen=True, slots=True)
class Signal(_JsonMixin):
    """Signal quality of the serving cell, converted to dBm/dB (``+CSQ``, ``+CESQ``)."""

    rssi: float | None = None
    ber: float | None = None  # percent, upper bound of the 27.007 class
    rscp: float | None = None
    ecno: float | None = None
    rsrp: float | None = None
    rsrq: float | None = None
    sinr: float | None = None


@dataclass(frozen=True, slots=True)
class SimIdentity(_JsonMixin):
    """What the SIM says about itself. Identities are ``None`` until the SIM is ready."""

    state: SimState
    imsi: str | None = None
    iccid: str | None = None
    msisdn: str | None = None
    pin_retries: int | None = None
    puk_retries: int | None = None


@dataclass(frozen=True, slots=True)
class ModemIdentity(_JsonMixin):
    """Manufacturer, model, firmware revision and IMEI (``+CGMI/+CGMM/+CGMR/+CGSN``)."""

    manufacturer: str | None = None
    model: str | None = None
    revision: str | None = None
    imei: str | None = None


@dataclass(frozen=True, slots=True)
class CellObservation(_JsonMixin):
    """Everything one observation cycle learned about the radio environment.

    ``nr_leg`` is the NR secondary cell in 5G non-standalone (EN-DC) service; ``serving``
    is then the LTE anchor, whose identity locates the module.
    """

    observed_at: datetime
    registrations: tuple[Registration, ...] = ()
    operator: Operator | None = None
    serving: ServingCell | None = None
    neighbours: tuple[NeighbourCell, ...] = field(default=())
    signal: Signal | None = None
    nr_leg: ServingCell | None = None

    @property
    def is_registered(self) -> bool:
        """True when any domain reports a registration that gives service."""
        return any(r.stat is not None and r.stat.is_registered for r in self.registrations)
