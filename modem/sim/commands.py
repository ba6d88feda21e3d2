"""The standard command set of the simulated modem: V.250 basics, 27.007 and 27.005.

:class:`StandardCommands` holds the handlers of the commands every persona answers the
same way (``E``, ``V``, ``Q``, ``Z``, ``I``, identity, ``+CMEE``, ``+CPIN``, ``+CIMI``,
``+CNUM``, ``+CRSM``, ``+COPS``, ``+CSQ``, ``+CESQ``, ``+CFUN``, ``+CMGF``, ``+CMGS``,
and the registration commands ``+CREG``/``+CGREG``/``+CEREG``/``+C5GREG``), the settings
they change, and the radio view they answer from (the scenario step, the SIM and the
``+CFUN`` state). :class:`~modem.sim.engine.SimulatedModem` is the rest of the machine:
the clock, framing, the output queue, power and faults; it inherits these handlers and
routes vendor commands to the persona.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Final, Protocol

from modem.sim.dialect import (
    AtCommand,
    CmeFailure,
    CmsFailure,
    PersonaContext,
    RadioView,
    SyntaxFailure,
)
from modem.sim.personas import Persona
from modem.sim.scenario import NetworkStep, Scenario, SimCell

__all__ = ["RegistrationRecord", "SimSlot", "StandardCommands"]

_DOMAINS_BY_RAT: Final = {
    "GSM": ("CREG", "CGREG"),
    "UMTS": ("CREG", "CGREG"),
    "LTE": ("CREG", "CGREG", "CEREG"),
    "NR": ("C5GREG",),
}
_RESET_SECONDS: Final = 1.0  # reboot time of AT+CFUN=1,1 when the scenario sets no boot delay
_REGISTERED: Final = frozenset({1, 5, 6, 7, 9, 10})
_MAX_N: Final = {"CREG": 3, "CGREG": 4, "CEREG": 5, "C5GREG": 3}


@dataclass(frozen=True, slots=True)
class RegistrationRecord:
    stat: int
    area: str | None = None
    ci: str | None = None
    act: int | None = None
    cause: int | None = None


@dataclass(slots=True)
class SimSlot:
    present: bool
    imsi: str
    iccid: str
    msisdn: str | None
    pin: str
    puk: str
    pin_enabled: bool
    pin_retries: int
    puk_retries: int
    mnc_length: int
    state: str = "READY"

    def power_on(self) -> None:
        if not self.present:
            self.state = "NOT INSERTED"
        elif self.puk_retries == 0:
            self.state = "BLOCKED"
        elif self.pin_retries == 0:
            self.state = "SIM PUK"
        elif self.pin_enabled:
            self.state = "SIM PIN"
        else:
            self.state = "READY"


class _PowerOn(Protocol):
    def __call__(self, t: float, *, boot_seconds: float) -> None: ...


class StandardCommands:
    """The standard commands' handlers and settings, mixed into the simulated modem.

    The annotated attributes and methods below are the engine's (set in
    :class:`~modem.sim.engine.SimulatedModem`); they are declared here so that the
    handlers are type-checked against them.
    """

    persona: Persona
    scenario: Scenario
    imei: str
    _sim: SimSlot
    _step: NetworkStep
    _reported: dict[str, RegistrationRecord]
    _prompt: tuple[str, int | None, str | None] | None
    _input: bytearray
    _unplugged_until: float | None
    _booting_until: float | None
    _jitter_rng: random.Random
    _urc: Callable[[str, float], None]
    _answer: Callable[[list[str], str, float], None]

    _power_on: _PowerOn

    def _power_on_settings(self) -> None:
        self._echo = True
        self._verbose = True
        self._quiet = False
        self._cmee = 2 if self.scenario.faults.verbose_errors else self.persona.default_cmee
        self._reg_n = dict.fromkeys(("CREG", "CGREG", "CEREG", "C5GREG"), 0)
        self._cops_format = 0
        self._cfun = 1
        self._deregistered = False
        self._cmgf = 0
        self._persona_settings: dict[str, int] = {}

    def _handlers(self) -> dict[str, Callable[[AtCommand, float], list[str]]]:
        return {
            "": self._at,
            "E": self._ate,
            "V": self._atv,
            "Q": self._atq,
            "Z": self._atz,
            "&F": self._atz,
            "X": self._accept_basic,
            "&C": self._accept_basic,
            "&D": self._accept_basic,
            "I": self._ati,
            "+CGMI": self._identity,
            "+GMI": self._identity,
            "+CGMM": self._identity,
            "+GMM": self._identity,
            "+CGMR": self._identity,
            "+GMR": self._identity,
            "+CGSN": self._cgsn,
            "+GSN": self._cgsn,
            "+CMEE": self._cmee_command,
            "+CPIN": self._cpin,
            "+CIMI": self._cimi,
            "+CNUM": self._cnum,
            "+CRSM": self._crsm,
            "+COPS": self._cops,
            "+CSQ": self._csq,
            "+CESQ": self._cesq,
            "+CFUN": self._cfun_command,
            "+CMGF": self._cmgf_command,
            "+CMGS": self._cmgs,
        }

    def _at(self, command: AtCommand, t: float) -> list[str]:
        return []

    def _basic_value(self, command: AtCommand, allowed: tuple[int, ...]) -> int:
        value = int(command.args) if command.args else 0
        if value not in allowed:
            raise SyntaxFailure(command.text)
        return value

    def _ate(self, command: AtCommand, t: float) -> list[str]:
        self._echo = self._basic_value(command, (0, 1)) == 1
        return []

    def _atv(self, command: AtCommand, t: float) -> list[str]:
        self._verbose = self._basic_value(command, (0, 1)) == 1
        return []

    def _atq(self, command: AtCommand, t: float) -> list[str]:
        self._quiet = self._basic_value(command, (0, 1)) == 1
        return []

    def _atz(self, command: AtCommand, t: float) -> list[str]:
        self._basic_value(command, (0,))
        self._echo = True
        self._verbose = True
        self._quiet = False
        self._cmee = 2 if self.scenario.faults.verbose_errors else self.persona.default_cmee
        self._reg_n = dict.fromkeys(self._reg_n, 0)
        self._cops_format = 0
        return []

    def _accept_basic(self, command: AtCommand, t: float) -> list[str]:
        self._basic_value(command, (0, 1, 2, 3, 4))
        return []

    def _ati(self, command: AtCommand, t: float) -> list[str]:
        self._basic_value(command, (0,))
        return self.persona.ati(self.imei)

    def _identity(self, command: AtCommand, t: float) -> list[str]:
        if command.kind == "test":
            return []
        if command.kind != "exec":
            raise SyntaxFailure(command.text)
        key = command.name.removeprefix("+C").removeprefix("+")
        return [
            {"GMI": self.persona.manufacturer, "GMM": self.persona.model}.get(
                key, self.persona.revision
            )
        ]

    def _cgsn(self, command: AtCommand, t: float) -> list[str]:
        if command.kind == "test":
            return ["+CGSN: (0-3)"]
        if command.kind == "exec":
            return [self.imei]
        if command.kind == "set" and command.params in (["0"], ["1"]):
            return [f'+CGSN: "{self.imei}"']
        if command.kind == "set" and command.params == ["2"]:
            return [f'+CGSN: "{self.imei[:14]}16"']
        if command.kind == "set" and command.params == ["3"]:
            return ['+CGSN: "16"']
        raise SyntaxFailure(command.text)

    def _cmee_command(self, command: AtCommand, t: float) -> list[str]:
        if command.kind == "read":
            return [f"+CMEE: {self._cmee}"]
        if command.kind == "test":
            return ["+CMEE: (0-2)"]
        if command.kind == "set" and command.params in (["0"], ["1"], ["2"]):
            self._cmee = int(command.params[0])
            return []
        raise SyntaxFailure(command.text)

    # SIM -------------------------------------------------------------------------------

    def _require_sim_ready(self) -> None:
        state = self._sim.state
        if state == "NOT INSERTED":
            raise CmeFailure(10)
        if state == "SIM PIN":
            raise CmeFailure(11)
        if state == "SIM PUK":
            raise CmeFailure(12)
        if state == "BLOCKED":
            raise CmeFailure(13)

    def _cpin(self, command: AtCommand, t: float) -> list[str]:
        sim = self._sim
        if command.kind == "test":
            return []
        if command.kind == "read":
            if sim.state == "NOT INSERTED":
                raise CmeFailure(10)
            if sim.state == "BLOCKED":
                raise CmeFailure(13)
            return [f"+CPIN: {sim.state}"]
        if command.kind != "set":
            raise SyntaxFailure(command.text)
        params = command.params
        if not params or len(params) > 2 or not all(p.isascii() and p.isdigit() for p in params):
            raise CmeFailure(50)
        if sim.state == "NOT INSERTED":
            raise CmeFailure(10)
        if sim.state == "BLOCKED":
            raise CmeFailure(13)
        if sim.state == "READY":
            raise CmeFailure(3)
        if sim.state == "SIM PIN":
            if len(params) != 1 or not 4 <= len(params[0]) <= 8:
                raise CmeFailure(50)
            if params[0] != sim.pin:
                sim.pin_retries -= 1
                if sim.pin_retries == 0:
                    sim.state = "SIM PUK"
                raise CmeFailure(16)
            sim.pin_retries = 3
            sim.state = "READY"
            return []
        # SIM PUK: <puk>,<newpin>
        if len(params) != 2 or len(params[0]) != 8 or not 4 <= len(params[1]) <= 8:
            raise CmeFailure(50)
        if params[0] != sim.puk:
            sim.puk_retries -= 1
            if sim.puk_retries == 0:
                sim.state = "BLOCKED"
            raise CmeFailure(16)
        sim.pin = params[1]
        sim.pin_retries = 3
        sim.puk_retries = 10
        sim.state = "READY"
        return []

    def _cimi(self, command: AtCommand, t: float) -> list[str]:
        if command.kind == "test":
            return []
        if command.kind != "exec":
            raise SyntaxFailure(command.text)
        self._require_sim_ready()
        return [self._sim.imsi]

    def _cnum(self, command: AtCommand, t: float) -> list[str]:
        if command.kind == "test":
            return []
        if command.kind != "exec":
            raise SyntaxFailure(command.text)
        self._require_sim_ready()
        msisdn = self._sim.msisdn
        if msisdn is None:
            return []
        number_type = 145 if msisdn.startswith("+") else 129
        return [f'+CNUM: "","{msisdn}",{number_type}']

    def _crsm(self, command: AtCommand, t: float) -> list[str]:
        if command.kind == "test":
            return []
        if command.kind != "set":
            raise SyntaxFailure(command.text)
        params = command.params
        if len(params) < 2 or not all(p.isdigit() for p in params[:5] if p):
            raise CmeFailure(50)
        if not self._sim.present:
            raise CmeFailure(10)
        if params[0] != "176":  # READ BINARY only
            return ["+CRSM: 109,0"]
        if params[1] == "12258":  # EF_ICCID, BCD with swapped nibbles
            padded = self._sim.iccid.ljust(20, "F")
            swapped = "".join(padded[i + 1] + padded[i] for i in range(0, 20, 2))
            return [f'+CRSM: 144,0,"{swapped}"']
        if params[1] == "28589":  # EF_AD: byte 4 is the MNC length
            self._require_sim_ready()
            return [f'+CRSM: 144,0,"000000{self._sim.mnc_length:02X}"']
        return ["+CRSM: 106,130"]

    # network ---------------------------------------------------------------------------

    def _view(self, *, measured: bool = False) -> RadioView:
        # Jitter only what the module measures for an answer: registration checks run on
        # every call and must not consume the seeded random stream.
        step = self._step
        if self._cfun != 1:
            return RadioView(serving=None)
        serving = step.serving
        neighbours = step.neighbours
        jitter = self.scenario.signal_jitter
        if jitter > 0 and measured:
            serving = self._jittered(serving, jitter) if serving is not None else None
            neighbours = tuple(self._jittered(n, jitter) for n in neighbours)
        operator_long = step.operator
        if operator_long is None and step.serving is not None:
            # Modules print the numeric PLMN when they know no name for it.
            operator_long = (step.serving.mcc or "") + (step.serving.mnc or "") or None
        if self._sim.state != "READY" or self._deregistered:
            return RadioView(
                serving=serving,
                neighbours=neighbours,
                limited=serving is not None,
                operator_long=operator_long,
            )
        registered = step.registration in _REGISTERED
        cs_stat = step.cs_registration if step.cs_registration is not None else step.registration
        return RadioView(
            serving=serving,
            nr_leg=step.nr_leg,
            neighbours=neighbours,
            stat=step.registration,
            cs_stat=cs_stat,
            registered=registered,
            limited=not registered and serving is not None,
            reject_cause=step.reject_cause,
            operator_long=operator_long,
            operator_short=step.operator_short or operator_long,
        )

    def _jittered(self, cell: SimCell, jitter: float) -> SimCell:
        def wobble(value: float | None) -> float | None:
            if value is None:
                return None
            return round(value + self._jitter_rng.uniform(-jitter, jitter), 1)

        return replace(cell, rsrp=wobble(cell.rsrp), rssi=wobble(cell.rssi), rscp=wobble(cell.rscp))

    def _context(self) -> PersonaContext:
        sim = self._sim
        return PersonaContext(
            view=self._view(measured=True),
            sim_present=sim.present,
            sim_state=sim.state,
            iccid=sim.iccid if sim.present else None,
            imsi=sim.imsi if sim.state == "READY" else None,
            pin_retries=sim.pin_retries,
            puk_retries=sim.puk_retries,
            settings=self._persona_settings,
        )

    def _registration_record(self, domain: str, view: RadioView) -> RegistrationRecord:
        cell = view.serving
        stat = view.stat
        if cell is None:
            return RegistrationRecord(stat=stat, cause=view.reject_cause if stat == 3 else None)
        if domain not in _DOMAINS_BY_RAT[cell.rat]:
            return RegistrationRecord(stat=0)
        if domain == "CREG":
            stat = view.cs_stat
        if stat not in _REGISTERED:
            return RegistrationRecord(stat=stat, cause=view.reject_cause if stat == 3 else None)
        if cell.rat == "NR":
            return RegistrationRecord(stat, _hex(cell.tac, 6), _hex(cell.ci, 9), 11)
        if cell.rat == "LTE":
            return RegistrationRecord(
                stat, _hex(cell.tac, 4), _hex(cell.ci, self.persona.reg_ci_width), 7
            )
        width = 4 if cell.rat == "GSM" else self.persona.reg_ci_width
        return RegistrationRecord(
            stat, _hex(cell.lac, 4), _hex(cell.ci, width), 0 if cell.rat == "GSM" else 2
        )

    def _registration_records(self) -> dict[str, RegistrationRecord]:
        view = self._view()
        return {d: self._registration_record(d, view) for d in self.persona.registration_domains}

    def _format_registration(
        self, domain: str, n: int, record: RegistrationRecord, *, read: bool
    ) -> str:
        fields = [str(n)] if read else []
        fields.append(str(record.stat))
        if n >= 2 and record.area is not None:
            fields += [f'"{record.area}"', f'"{record.ci}"', str(record.act)]
        if n in (3, 5) and record.cause is not None:
            if n >= 2 and record.area is None:
                fields += ["", "", ""]
            fields += ["0", str(record.cause)]
        return f"+{domain}: " + ",".join(fields)

    def _check_registration(self, t: float) -> None:
        if self._unplugged_until is not None or self._booting_until is not None:
            return
        current = self._registration_records()
        for domain, record in current.items():
            previous = self._reported.get(domain)
            if previous == record:
                continue
            n = self._reg_n[domain]
            if n >= 2 or (n == 1 and (previous is None or previous.stat != record.stat)):
                self._urc(self._format_registration(domain, n, record, read=False), t)
        self._reported = current

    def _cxreg(self, command: AtCommand, domain: str) -> list[str]:
        max_n = _MAX_N[domain]
        if command.kind == "test":
            return [f"+{domain}: (0-{max_n})"]
        if command.kind == "read":
            record = self._registration_record(domain, self._view())
            return [self._format_registration(domain, self._reg_n[domain], record, read=True)]
        if command.kind == "set":
            params = command.params
            if len(params) == 1 and params[0].isdigit() and int(params[0]) <= max_n:
                self._reg_n[domain] = int(params[0])
                return []
        raise SyntaxFailure(command.text)

    def _act(self, view: RadioView) -> int:
        cell = view.serving
        assert cell is not None
        if cell.rat == "NR":
            return 11
        if cell.rat == "LTE":
            return 13 if view.nr_leg is not None else 7
        return 0 if cell.rat == "GSM" else 2

    def _cops(self, command: AtCommand, t: float) -> list[str]:
        view = self._view()
        if command.kind == "test":
            if view.serving is None or view.plmn is None:
                return ["+COPS: ,,(0-4),(0-2)"]
            return [
                f'+COPS: ({2 if view.registered else 1},"{view.operator_long or view.plmn}",'
                f'"{view.operator_short or view.plmn}","{view.plmn}",{self._act(view)})'
                ",,(0-4),(0-2)"
            ]
        if command.kind == "read":
            mode = 2 if self._deregistered else 0
            if not view.registered or view.plmn is None:
                return [f"+COPS: {mode}"]
            name = {0: view.operator_long, 1: view.operator_short, 2: view.plmn}[self._cops_format]
            return [f'+COPS: {mode},{self._cops_format},"{name}",{self._act(view)}']
        if command.kind != "set":
            raise SyntaxFailure(command.text)
        params = command.params
        if not params or params[0] not in ("0", "1", "2", "3", "4"):
            raise SyntaxFailure(command.text)
        mode = int(params[0])
        if mode == 3:
            if len(params) != 2 or params[1] not in ("0", "1", "2"):
                raise SyntaxFailure(command.text)
            self._cops_format = int(params[1])
            return []
        if mode == 2:
            self._deregistered = True
            return []
        if mode == 0:
            self._deregistered = False
            return []
        # Manual selection succeeds only for the network the scenario offers.
        if len(params) < 3 or params[2] != self._step_plmn():
            raise CmeFailure(30 if mode == 1 else 3)
        self._deregistered = False
        return []

    def _step_plmn(self) -> str | None:
        cell = self._step.serving
        if cell is None or cell.mcc is None or cell.mnc is None:
            return None
        return cell.mcc + cell.mnc

    def _csq(self, command: AtCommand, t: float) -> list[str]:
        if command.kind == "test":
            return ["+CSQ: (0-31,99),(0-7,99)"]
        if command.kind != "exec":
            raise SyntaxFailure(command.text)
        cell = self._view(measured=True).serving
        if cell is None or cell.rssi is None:
            return ["+CSQ: 99,99"]
        rssi = max(0, min(31, round((cell.rssi + 113) / 2)))
        ber = 0 if cell.rat == "GSM" else 99
        return [f"+CSQ: {rssi},{ber}"]

    def _cesq(self, command: AtCommand, t: float) -> list[str]:
        if command.kind == "test":
            return ["+CESQ: (0-63,99),(0-7,99),(0-96,255),(0-49,255),(0-34,255),(0-97,255)"]
        if command.kind != "exec":
            raise SyntaxFailure(command.text)
        view = self._view(measured=True)
        cell = view.serving
        values = [99, 99, 255, 255, 255, 255]
        if cell is not None:
            if cell.rat == "GSM" and cell.rssi is not None:
                values[0] = _clamp(cell.rssi + 111, 63)
                values[1] = 0
            if cell.rat == "UMTS":
                if cell.rscp is not None:
                    values[2] = _clamp(cell.rscp + 121, 96)
                if cell.ecio is not None:
                    values[3] = _clamp((cell.ecio + 24.5) * 2, 49)
            if cell.rat == "LTE":
                if cell.rsrq is not None:
                    values[4] = _clamp((cell.rsrq + 20) * 2, 34)
                if cell.rsrp is not None:
                    values[5] = _clamp(cell.rsrp + 141, 97)
            if cell.rat == "NR":
                # Rel-15 extension: SS-RSRQ, SS-RSRP, SS-SINR (38.133 report mappings).
                values += [
                    255 if cell.rsrq is None else _clamp((cell.rsrq + 43.5) * 2, 127),
                    255 if cell.rsrp is None else _clamp(cell.rsrp + 157, 126),
                    255 if cell.sinr is None else _clamp((cell.sinr + 23.5) * 2, 127),
                ]
        return ["+CESQ: " + ",".join(str(v) for v in values)]

    def _cfun_command(self, command: AtCommand, t: float) -> list[str]:
        if command.kind == "read":
            return [f"+CFUN: {self._cfun}"]
        if command.kind == "test":
            return ["+CFUN: (0,1,4),(0-1)"]
        params = command.params
        if command.kind != "set" or not params or len(params) > 2:
            raise SyntaxFailure(command.text)
        if params[0] not in ("0", "1", "4") or (len(params) == 2 and params[1] not in ("0", "1")):
            raise CmeFailure(50)
        if len(params) == 2 and params[1] == "1":
            # Reset: OK first, then the module is gone for its boot time.
            self._answer([], "OK", t)
            boot = self.scenario.faults.boot_delay or _RESET_SECONDS
            self._power_on(t, boot_seconds=boot)
            return []
        self._cfun = int(params[0])
        return []

    def _cmgf_command(self, command: AtCommand, t: float) -> list[str]:
        if command.kind == "read":
            return [f"+CMGF: {self._cmgf}"]
        if command.kind == "test":
            return ["+CMGF: (0-1)"]
        if command.kind == "set" and command.params in (["0"], ["1"]):
            self._cmgf = int(command.params[0])
            return []
        raise SyntaxFailure(command.text)

    def _cmgs(self, command: AtCommand, t: float) -> list[str]:
        if command.kind == "test":
            return []
        if command.kind != "set" or not command.params:
            raise SyntaxFailure(command.text)
        params = command.params
        if self._sim.state == "NOT INSERTED":
            raise CmsFailure(310)
        if self._sim.state == "SIM PIN":
            raise CmsFailure(311)
        if self._sim.state in ("SIM PUK", "BLOCKED"):
            raise CmsFailure(316)
        if self._cmgf == 0:
            if len(params) != 1 or not params[0].isdigit() or not 7 <= int(params[0]) <= 164:
                raise CmsFailure(304)
            prompt: tuple[str, int | None, str | None] = ("pdu", int(params[0]), None)
        else:
            number = params[0]
            if not number or not number.removeprefix("+").isdigit():
                raise CmsFailure(305)
            prompt = ("text", None, number)
        if not self._view().registered:
            raise CmsFailure(331)
        self._prompt = prompt
        self._input.clear()
        return []


def _clamp(value: float, high: int) -> int:
    return max(0, min(high, int(value)))


def _hex(value: int | None, width: int) -> str | None:
    return None if value is None else f"{value:0{width}X}"
