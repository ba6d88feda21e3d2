"""Scenario files for the simulated modem: SIM, network timeline and faults.

A scenario is a TOML document. Every table and key is optional except where
noted; unknown keys are an error, and so is a value of the wrong type, so a typo
never silently falls back to a default. Integers may be written in hex
(``tac = 0x04D2``), which is how modems print most identifiers.

Top level::

    description = "free text"              # shown by tools, otherwise ignored
    persona = "quectel-ec25"               # default profile when none is given
    signal_jitter = 0.0                    # dB; seeded random wobble on RSRP/RSSI/RSCP

``[sim]`` — the SIM card::

    present = true                         # false: no SIM (+CME ERROR: 10)
    imsi = "228011234567890"               # 6..15 digits
    iccid = "8941011234567890123"          # 19..20 digits, valid Luhn check digit
    msisdn = "+41791234567"                # omit for data SIMs without a number
    lock = "none"                          # "none" | "pin" | "puk": state at power-on
    pin = "1234"                           # 4..8 digits
    puk = "12345678"                       # 8 digits
    pin_retries = 3                        # attempts left (0..3); 0 means PUK locked
    puk_retries = 10                       # attempts left (0..10); 0 means blocked
    mnc_length = 2                         # 2 or 3: what EF_AD (AT+CRSM) reports

``[[steps]]`` — the network timeline, one table per step (at least one)::

    name = "site"                          # required, unique
    at = 0.0                               # seconds on the scenario clock; omit to make
                                           # the step reachable only by {"cmd": "goto"}
    registration = "home"                  # "home" | "roaming" | "searching" | "denied" |
                                           # "not-registered" | "unknown" | "emergency" |
                                           # "sms-only-home" | "sms-only-roaming" | 0..11
    cs_registration = "home"               # CREG/CGREG state on LTE; default: as registration
    reject_cause = 15                      # EMM cause reported with +CxREG n=3 when denied
    operator = "Swisscom"                  # long name for +COPS (default: the MCC+MNC)
    operator_short = "SCOM"                # short name (default: the long name)

    [steps.serving]                        # the serving cell; omit when out of service
    rat = "LTE"                            # "GSM" | "UMTS" | "LTE" | "NR" (NR = standalone)
    mcc = "228"                            # 3 digits
    mnc = "01"                             # 2 or 3 digits, width preserved
    lac = 0x1A2B                           # GSM/UMTS location area
    tac = 1234                             # LTE (16 bit) / NR (24 bit) tracking area
    ci = 27440068                          # GSM 16 bit, UMTS 28 bit, LTE ECI 28 bit, NR NCI 36 bit
    pci = 101                              # LTE/NR physical cell id
    psc = 300                              # UMTS primary scrambling code
    bsic = 33                              # GSM base station identity code
    arfcn = 62                             # GSM ARFCN, NR-ARFCN
    uarfcn = 10737
    earfcn = 1300
    band = 3
    rsrp = -95.0                           # dBm; rsrq, sinr in dB; rssi, rscp in dBm; ecio dB
    rsrq = -10.0
    rssi = -65.0
    sinr = 12.0
    rscp = -80.0
    ecio = -6.0

    [steps.nr_leg]                         # 5G NSA (EN-DC) secondary NR leg; needs an LTE serving
    pci = 500                              # cell. Takes pci, arfcn, band, rsrp, rsrq, sinr.
    arfcn = 627264
    band = 78

    [[steps.neighbours]]                   # zero or more; same keys as serving (rat required)
    rat = "LTE"
    pci = 102
    earfcn = 1300

``[faults]`` — misbehaviour, all off by default::

    boot_delay = 0.0          # seconds of silence after power-on, reset or replug; RDY after
    echo_stuck = false        # ATE0 answers OK but the echo stays on
    verbose_errors = false    # start with AT+CMEE=2 (errors as text)
    answer_delay = 0.0        # every answer is held back this many seconds
    byte_interval = 0.0       # answers dribble out one byte per interval (seconds)
    nul_bytes = false         # a NUL byte precedes every answer
    no_answer = ["AT+COPS=?"] # commands (prefix, case-insensitive) that never get an answer

    [[faults.silence]]        # the modem hangs: commands in the window get no answer
    at = 10.0
    seconds = 4.0

    [[faults.garbage]]        # raw bytes on the line at a time: hex, or `length` seeded bytes
    at = 3.0
    hex = "00ff0d0a"

    [[faults.disconnect]]     # the port vanishes (unplug) and comes back
    at = 20.0
    seconds = 3.0

Everything here is pure: :func:`parse_scenario` turns TOML text into a frozen
:class:`Scenario`; :func:`load_scenario` adds only the file lookup.
"""

from __future__ import annotations

import importlib.resources
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from modem.at.identity import luhn_check_digit
from modem.sim.errors import ScenarioError

__all__ = [
    "REGISTRATION_NAMES",
    "Disconnect",
    "Faults",
    "Garbage",
    "NetworkStep",
    "NrLeg",
    "Scenario",
    "SimCard",
    "SimCell",
    "Window",
    "load_scenario",
    "luhn_check_digit",
    "parse_scenario",
    "shipped_scenarios",
]

RATS: Final = ("GSM", "UMTS", "LTE", "NR")

#: Names accepted for ``registration``/``cs_registration`` and the 27.007 <stat> they stand for.
REGISTRATION_NAMES: Final[Mapping[str, int]] = {
    "not-registered": 0,
    "home": 1,
    "searching": 2,
    "denied": 3,
    "unknown": 4,
    "roaming": 5,
    "sms-only-home": 6,
    "sms-only-roaming": 7,
    "emergency": 8,
}
_REGISTERED_STATS: Final = frozenset({1, 5, 6, 7, 9, 10})


@dataclass(frozen=True, slots=True)
class SimCell:
    """A cell as the scenario describes it (serving or neighbour)."""

    rat: str
    mcc: str | None = None
    mnc: str | None = None
    lac: int | None = None
    tac: int | None = None
    ci: int | None = None
    pci: int | None = None
    psc: int | None = None
    bsic: int | None = None
    arfcn: int | None = None
    uarfcn: int | None = None
    earfcn: int | None = None
    band: int | None = None
    rsrp: float | None = None
    rsrq: float | None = None
    rssi: float | None = None
    sinr: float | None = None
    rscp: float | None = None
    ecio: float | None = None

    @property
    def area(self) -> int | None:
        """TAC for LTE/NR, LAC otherwise."""
        return self.tac if self.rat in ("LTE", "NR") else self.lac

    @property
    def channel(self) -> int | None:
        """The channel number this RAT uses (ARFCN, UARFCN or EARFCN)."""
        if self.rat == "UMTS":
            return self.uarfcn
        if self.rat == "LTE":
            return self.earfcn
        return self.arfcn


@dataclass(frozen=True, slots=True)
class NrLeg:
    """The NR secondary cell of a 5G NSA (EN-DC) connection: no identity, only radio values."""

    pci: int | None = None
    arfcn: int | None = None
    band: int | None = None
    rsrp: float | None = None
    rsrq: float | None = None
    sinr: float | None = None


@dataclass(frozen=True, slots=True)
class NetworkStep:
    """One state of the network timeline."""

    name: str
    at: float | None
    registration: int
    cs_registration: int | None = None
    reject_cause: int | None = None
    operator: str | None = None
    operator_short: str | None = None
    serving: SimCell | None = None
    nr_leg: NrLeg | None = None
    neighbours: tuple[SimCell, ...] = ()

    @property
    def registered(self) -> bool:
        """True when ``registration`` gives service (home, roaming and their variants)."""
        return self.registration in _REGISTERED_STATS


@dataclass(frozen=True, slots=True)
class SimCard:
    """The SIM card at power-on."""

    present: bool = True
    imsi: str = "001010123456789"
    iccid: str = "8900101234567890120"
    msisdn: str | None = None
    lock: str = "none"
    pin: str = "1234"
    puk: str = "12345678"
    pin_retries: int = 3
    puk_retries: int = 10
    mnc_length: int = 2


@dataclass(frozen=True, slots=True)
class Window:
    """A span of scenario time: ``at`` seconds for ``seconds`` seconds."""

    at: float
    seconds: float


@dataclass(frozen=True, slots=True)
class Disconnect:
    """The port vanishes at ``at`` and comes back ``seconds`` later."""

    at: float
    seconds: float


@dataclass(frozen=True, slots=True)
class Garbage:
    """Raw bytes put on the line at ``at``: ``data`` given, or ``length`` seeded random bytes."""

    at: float
    data: bytes | None = None
    length: int = 0


@dataclass(frozen=True, slots=True)
class Faults:
    """Misbehaviour switched on by the scenario."""

    boot_delay: float = 0.0
    echo_stuck: bool = False
    verbose_errors: bool = False
    answer_delay: float = 0.0
    byte_interval: float = 0.0
    nul_bytes: bool = False
    no_answer: tuple[str, ...] = ()
    silence: tuple[Window, ...] = ()
    garbage: tuple[Garbage, ...] = ()
    disconnect: tuple[Disconnect, ...] = ()


@dataclass(frozen=True, slots=True)
class Scenario:
    """A validated scenario; see the module docstring for the file format."""

    steps: tuple[NetworkStep, ...]
    sim: SimCard = field(default_factory=SimCard)
    faults: Faults = field(default_factory=Faults)
    persona: str | None = None
    description: str = ""
    signal_jitter: float = 0.0
    source: str = "<scenario>"

    def step(self, name: str) -> NetworkStep:
        """The step called ``name``.

        Raises:
            KeyError: no step has that name.
        """
        for step in self.steps:
            if step.name == name:
                return step
        raise KeyError(name)

    @property
    def initial_step(self) -> NetworkStep:
        """The step in force at scenario time 0: the earliest timed step, else the first one."""
        timed = [s for s in self.steps if s.at is not None and s.at <= 0]
        return timed[-1] if timed else self.steps[0]


# --------------------------------------------------------------------------- validation


class _Reader:
    """Typed access to one TOML table, collecting the key path for error messages."""

    def __init__(self, source: str, path: str, table: Mapping[str, Any]) -> None:
        self.source = source
        self.path = path
        self.table = table

    def fail(self, key: str | None, message: str) -> ScenarioError:
        where = self.path if key is None else (f"{self.path}.{key}" if self.path else key)
        return ScenarioError(f"{self.source}: {where or '(top level)'}: {message}")

    def check_keys(self, allowed: tuple[str, ...]) -> None:
        for key in self.table:
            if key not in allowed:
                raise self.fail(key, f"unknown key (expected one of: {', '.join(allowed)})")

    def _get(self, key: str) -> Any:
        return self.table.get(key)

    def string(self, key: str, default: str | None = None) -> str | None:
        value = self._get(key)
        if value is None:
            return default
        if not isinstance(value, str):
            raise self.fail(key, f"expected a string, got {_describe(value)}")
        return value

    def digits(self, key: str, lengths: tuple[int, ...], default: str | None = None) -> str | None:
        value = self.string(key, default)
        if value is None:
            return None
        if not value.isdigit() or not value.isascii() or len(value) not in lengths:
            wanted = " or ".join(str(n) for n in lengths)
            raise self.fail(key, f"expected {wanted} decimal digits as a string, got {value!r}")
        return value

    def boolean(self, key: str, default: bool) -> bool:
        value = self._get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self.fail(key, f"expected true or false, got {_describe(value)}")
        return value

    def integer(self, key: str, low: int, high: int, default: int | None = None) -> int | None:
        value = self._get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(key, f"expected an integer, got {_describe(value)}")
        if not low <= value <= high:
            raise self.fail(key, f"{value} is out of range {low}..{high}")
        return value

    def number(
        self, key: str, low: float, high: float, default: float | None = None
    ) -> float | None:
        value = self._get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(key, f"expected a number, got {_describe(value)}")
        result = float(value)
        if not math.isfinite(result) or not low <= result <= high:
            raise self.fail(key, f"{value} is out of range {low:g}..{high:g}")
        return result

    def table_at(self, key: str) -> _Reader | None:
        value = self._get(key)
        if value is None:
            return None
        if not isinstance(value, dict):
            raise self.fail(key, f"expected a table, got {_describe(value)}")
        return _Reader(self.source, f"{self.path}.{key}" if self.path else key, value)

    def tables(self, key: str) -> list[_Reader]:
        value = self._get(key)
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise self.fail(key, f"expected an array of tables ([[{key}]]), got {_describe(value)}")
        prefix = f"{self.path}.{key}" if self.path else key
        return [_Reader(self.source, f"{prefix}[{i}]", v) for i, v in enumerate(value)]


def _describe(value: object) -> str:
    kind = {
        bool: "boolean",
        int: "integer",
        float: "number",
        str: "string",
        list: "array",
        dict: "table",
    }.get(type(value), type(value).__name__)
    text = repr(value)
    if len(text) > 40:
        text = text[:37] + "..."
    return f"{kind} {text}"


_CELL_KEYS: Final = (
    "rat", "mcc", "mnc", "lac", "tac", "ci", "pci", "psc", "bsic", "arfcn", "uarfcn",
    "earfcn", "band", "rsrp", "rsrq", "rssi", "sinr", "rscp", "ecio",
)  # fmt: skip


def _cell(reader: _Reader) -> SimCell:
    reader.check_keys(_CELL_KEYS)
    rat = reader.string("rat")
    if rat is None:
        raise reader.fail("rat", f"required (one of: {', '.join(RATS)})")
    if rat not in RATS:
        raise reader.fail("rat", f"{rat!r} is not one of: {', '.join(RATS)}")
    ci_bits = {"GSM": 16, "UMTS": 28, "LTE": 28, "NR": 36}[rat]
    tac_max = 0xFFFFFF if rat == "NR" else 0xFFFF
    cell = SimCell(
        rat=rat,
        mcc=reader.digits("mcc", (3,)),
        mnc=reader.digits("mnc", (2, 3)),
        lac=reader.integer("lac", 0, 0xFFFF),
        tac=reader.integer("tac", 0, tac_max),
        ci=reader.integer("ci", 0, (1 << ci_bits) - 1),
        pci=reader.integer("pci", 0, 1007),
        psc=reader.integer("psc", 0, 511),
        bsic=reader.integer("bsic", 0, 63),
        arfcn=reader.integer("arfcn", 0, 3279165),
        uarfcn=reader.integer("uarfcn", 0, 16383),
        earfcn=reader.integer("earfcn", 0, 262143),
        band=reader.integer("band", 1, 512),
        rsrp=reader.number("rsrp", -160, -30),
        rsrq=reader.number("rsrq", -45, 20),
        rssi=reader.number("rssi", -130, -10),
        sinr=reader.number("sinr", -30, 50),
        rscp=reader.number("rscp", -130, -10),
        ecio=reader.number("ecio", -30, 0),
    )
    if rat in ("LTE", "NR") and cell.lac is not None:
        raise reader.fail("lac", f"{rat} cells have a tac, not a lac")
    if rat in ("GSM", "UMTS") and cell.tac is not None:
        raise reader.fail("tac", f"{rat} cells have a lac, not a tac")
    return cell


def _registration(reader: _Reader, key: str) -> int | None:
    value = reader.table.get(key)
    if value is None:
        return None
    if isinstance(value, str):
        if value not in REGISTRATION_NAMES:
            names = ", ".join(REGISTRATION_NAMES)
            raise reader.fail(key, f"{value!r} is not one of: {names} (or a number 0..11)")
        return REGISTRATION_NAMES[value]
    return reader.integer(key, 0, 11)


_STEP_KEYS: Final = (
    "name", "at", "registration", "cs_registration", "reject_cause", "operator",
    "operator_short", "serving", "nr_leg", "neighbours",
)  # fmt: skip


def _step(reader: _Reader) -> NetworkStep:
    reader.check_keys(_STEP_KEYS)
    name = reader.string("name")
    if not name:
        raise reader.fail("name", "required: a non-empty string")
    registration = _registration(reader, "registration")
    serving_reader = reader.table_at("serving")
    serving = _cell(serving_reader) if serving_reader is not None else None
    if registration is None:
        registration = 1 if serving is not None else 2
    if registration in _REGISTERED_STATS:
        if serving is None:
            raise reader.fail("serving", "a registered step needs a serving cell")
        missing = [k for k in ("mcc", "mnc", "ci") if getattr(serving, k) is None]
        if serving.area is None:
            missing.append("tac" if serving.rat in ("LTE", "NR") else "lac")
        if missing:
            raise reader.fail("serving", f"a registered serving cell needs {', '.join(missing)}")
    nr_reader = reader.table_at("nr_leg")
    nr_leg = None
    if nr_reader is not None:
        nr_reader.check_keys(("pci", "arfcn", "band", "rsrp", "rsrq", "sinr"))
        if serving is None or serving.rat != "LTE":
            raise reader.fail("nr_leg", "an NSA NR leg needs an LTE serving cell (the anchor)")
        nr_leg = NrLeg(
            pci=nr_reader.integer("pci", 0, 1007),
            arfcn=nr_reader.integer("arfcn", 0, 3279165),
            band=nr_reader.integer("band", 1, 512),
            rsrp=nr_reader.number("rsrp", -160, -30),
            rsrq=nr_reader.number("rsrq", -45, 20),
            sinr=nr_reader.number("sinr", -30, 50),
        )
    return NetworkStep(
        name=name,
        at=reader.number("at", 0, 1e9),
        registration=registration,
        cs_registration=_registration(reader, "cs_registration"),
        reject_cause=reader.integer("reject_cause", 0, 255),
        operator=reader.string("operator"),
        operator_short=reader.string("operator_short"),
        serving=serving,
        nr_leg=nr_leg,
        neighbours=tuple(_cell(r) for r in reader.tables("neighbours")),
    )


def _sim(reader: _Reader | None) -> SimCard:
    if reader is None:
        return SimCard()
    reader.check_keys(
        ("present", "imsi", "iccid", "msisdn", "lock", "pin", "puk", "pin_retries",
         "puk_retries", "mnc_length")
    )  # fmt: skip
    defaults = SimCard()
    imsi = reader.string("imsi", defaults.imsi)
    assert imsi is not None
    if not imsi.isdigit() or not 6 <= len(imsi) <= 15:
        raise reader.fail("imsi", f"expected 6..15 decimal digits, got {imsi!r}")
    iccid = reader.string("iccid", defaults.iccid)
    assert iccid is not None
    if not iccid.isdigit() or not 19 <= len(iccid) <= 20:
        raise reader.fail("iccid", f"expected 19..20 decimal digits, got {iccid!r}")
    if luhn_check_digit(iccid[:-1]) != iccid[-1]:
        raise reader.fail(
            "iccid",
            f"check digit of {iccid!r} is wrong (Luhn wants {luhn_check_digit(iccid[:-1])})",
        )
    msisdn = reader.string("msisdn")
    if msisdn is not None and not (
        msisdn.removeprefix("+").isdigit() and 3 <= len(msisdn.removeprefix("+")) <= 15
    ):
        raise reader.fail("msisdn", f"expected an optional '+' and 3..15 digits, got {msisdn!r}")
    lock = reader.string("lock", "none")
    if lock not in ("none", "pin", "puk"):
        raise reader.fail("lock", f"{lock!r} is not one of: none, pin, puk")
    pin = reader.digits("pin", (4, 5, 6, 7, 8), defaults.pin)
    puk = reader.digits("puk", (8,), defaults.puk)
    pin_retries = reader.integer("pin_retries", 0, 3, defaults.pin_retries)
    puk_retries = reader.integer("puk_retries", 0, 10, defaults.puk_retries)
    mnc_length = reader.integer("mnc_length", 2, 3, defaults.mnc_length)
    assert lock is not None and pin is not None and puk is not None
    assert pin_retries is not None and puk_retries is not None and mnc_length is not None
    if lock == "pin" and pin_retries == 0:
        raise reader.fail("pin_retries", "a PIN-locked SIM needs at least one PIN attempt left")
    return SimCard(
        present=reader.boolean("present", True),
        imsi=imsi,
        iccid=iccid,
        msisdn=msisdn,
        lock=lock,
        pin=pin,
        puk=puk,
        pin_retries=pin_retries,
        puk_retries=puk_retries,
        mnc_length=mnc_length,
    )


def _window(reader: _Reader) -> tuple[float, float]:
    reader.check_keys(("at", "seconds"))
    at = reader.number("at", 0, 1e9)
    seconds = reader.number("seconds", 0.001, 1e6)
    if at is None:
        raise reader.fail("at", "required: seconds on the scenario clock")
    if seconds is None:
        raise reader.fail("seconds", "required: how long it lasts")
    return at, seconds


def _garbage(reader: _Reader) -> Garbage:
    reader.check_keys(("at", "hex", "length"))
    at = reader.number("at", 0, 1e9)
    if at is None:
        raise reader.fail("at", "required: seconds on the scenario clock")
    text = reader.string("hex")
    length = reader.integer("length", 1, 65536)
    if (text is None) == (length is None):
        raise reader.fail(None, "give exactly one of hex (the bytes) or length (random bytes)")
    if text is not None:
        try:
            data = bytes.fromhex(text)
        except ValueError:
            raise reader.fail("hex", f"not hexadecimal byte pairs: {text!r}") from None
        if not data:
            raise reader.fail("hex", "no bytes given")
        return Garbage(at=at, data=data)
    assert length is not None
    return Garbage(at=at, length=length)


def _faults(reader: _Reader | None) -> Faults:
    if reader is None:
        return Faults()
    reader.check_keys(
        ("boot_delay", "echo_stuck", "verbose_errors", "answer_delay", "byte_interval",
         "nul_bytes", "no_answer", "silence", "garbage", "disconnect")
    )  # fmt: skip
    no_answer_value = reader.table.get("no_answer", [])
    if not isinstance(no_answer_value, list) or not all(
        isinstance(v, str) and v for v in no_answer_value
    ):
        raise reader.fail(
            "no_answer", f"expected an array of command strings, got {_describe(no_answer_value)}"
        )
    for command in no_answer_value:
        if not command.upper().startswith("AT"):
            raise reader.fail("no_answer", f"{command!r} is not an AT command line")
    boot_delay = reader.number("boot_delay", 0, 600, 0.0)
    answer_delay = reader.number("answer_delay", 0, 600, 0.0)
    byte_interval = reader.number("byte_interval", 0, 10, 0.0)
    assert boot_delay is not None and answer_delay is not None and byte_interval is not None
    return Faults(
        boot_delay=boot_delay,
        echo_stuck=reader.boolean("echo_stuck", False),
        verbose_errors=reader.boolean("verbose_errors", False),
        answer_delay=answer_delay,
        byte_interval=byte_interval,
        nul_bytes=reader.boolean("nul_bytes", False),
        no_answer=tuple(no_answer_value),
        silence=tuple(Window(*_window(r)) for r in reader.tables("silence")),
        garbage=tuple(sorted((_garbage(r) for r in reader.tables("garbage")), key=_at)),
        disconnect=tuple(
            sorted((Disconnect(*_window(r)) for r in reader.tables("disconnect")), key=_at)
        ),
    )


def _at(item: Garbage | Disconnect) -> float:
    return item.at


def parse_scenario(text: str, source: str = "<scenario>") -> Scenario:
    """Validate TOML text as a scenario.

    Args:
        text: the TOML document.
        source: a name for error messages (usually the file name).

    Returns:
        The frozen scenario.

    Raises:
        ScenarioError: the text is not TOML, has unknown keys, values of the wrong type or
            out of range, duplicate step names, or no step at all.
    """
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{source}: not valid TOML: {exc}") from None
    top = _Reader(source, "", document)
    top.check_keys(("description", "persona", "signal_jitter", "sim", "steps", "faults"))
    step_readers = top.tables("steps")
    if not step_readers:
        raise top.fail("steps", "at least one [[steps]] table is required")
    steps = tuple(_step(r) for r in step_readers)
    seen: set[str] = set()
    for reader, step in zip(step_readers, steps, strict=True):
        if step.name in seen:
            raise reader.fail("name", f"duplicate step name {step.name!r}")
        seen.add(step.name)
    timed = [s.at for s in steps if s.at is not None]
    if timed != sorted(timed):
        raise top.fail("steps", "timed steps must be listed in order of their 'at' times")
    jitter = top.number("signal_jitter", 0, 20, 0.0)
    assert jitter is not None
    return Scenario(
        steps=steps,
        sim=_sim(top.table_at("sim")),
        faults=_faults(top.table_at("faults")),
        persona=top.string("persona"),
        description=top.string("description", "") or "",
        signal_jitter=jitter,
        source=source,
    )


def shipped_scenarios() -> tuple[str, ...]:
    """Names of the scenarios shipped with the package (``demo``, ``faults``, …)."""
    folder = importlib.resources.files("modem.sim") / "scenarios"
    return tuple(
        sorted(p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml"))
    )


def load_scenario(scenario: str | Path | None) -> Scenario:
    """Load a scenario by shipped name (``"demo"``), by file path, or the default one.

    A string without a path separator and without a ``.toml`` suffix is a shipped name;
    anything else is a file path.

    Args:
        scenario: name, path, or ``None`` for the shipped ``default`` scenario.

    Returns:
        The validated scenario.

    Raises:
        ScenarioError: the name is unknown, the file cannot be read, or it does not validate.
    """
    if scenario is None:
        scenario = "default"
    if isinstance(scenario, str) and "/" not in scenario and not scenario.endswith(".toml"):
        if scenario not in shipped_scenarios():
            raise ScenarioError(
                f"no shipped scenario named {scenario!r} (shipped: "
                f"{', '.join(shipped_scenarios())}; or give a path to a .toml file)"
            )
        resource = importlib.resources.files("modem.sim") / "scenarios" / f"{scenario}.toml"
        return parse_scenario(resource.read_text(encoding="utf-8"), f"{scenario}.toml")
    path = Path(scenario)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(f"{path}: no such scenario file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"{path}: cannot read scenario file: {exc}") from None
    return parse_scenario(text, path.name)
