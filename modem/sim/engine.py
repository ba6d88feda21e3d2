"""The simulated modem: a pure state machine, bytes in and bytes out.

Theory of operation
-------------------
:class:`SimulatedModem` never reads a clock or touches a port. Every public
method takes ``now``, a monotonic time in seconds chosen by the caller (the I/O
shells pass ``time.monotonic()``, tests pass whatever they like). From it the
engine derives the *scenario clock*: seconds since the engine was created, plus
whatever ``advance`` added. All deadlines (timeline steps, faults, boot end,
delayed output) live on the scenario clock.

* Input: :meth:`receive` takes the bytes the host wrote. A command line ends at
  CR (V.250 S3); LF is ignored. While an ``AT+CMGS`` prompt is open, input is the
  PDU (or text) up to Ctrl-Z (send) or ESC (cancel).
* Output: answers, echo and URCs are queued with a release time. :meth:`output`
  returns what is due; :meth:`next_event_time` says when to ask again. Slow-answer
  faults only change release times, so a byte-by-byte modem is just many small
  releases.
* Framing and errors: see :mod:`modem.sim.framing`; the prompt is ``\\r\\n> ``. Echo
  (``E1``) returns the command line and its CR.
* Registration (27.007 §7.2, §10.1.19, §10.1.22, §10.1.37): each domain's record is
  recomputed after every change; when it differs from the last one and ``n`` is at
  least 1, the URC is queued (``n=1``: only when ``<stat>`` changed).
* Power: power-on, ``AT+CFUN=1,1`` and replug after an unplug all go through boot:
  silence for the boot delay, then the persona's boot URCs; settings return to
  their power-on values and a PIN-enabled SIM asks for its PIN again.
* Commands: the engine dispatches to its own handlers (power, network, SMS, identity),
  then to those of the settings (:mod:`modem.sim.settings`) and the SIM
  (:mod:`modem.sim.simslot`), then to the persona's.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import replace
from typing import Final

from modem.sim.commandline import split_command_line
from modem.sim.dialect import (
    AtCommand,
    CmeFailure,
    CmsFailure,
    CommandFailure,
    PersonaContext,
    RadioView,
    SyntaxFailure,
)
from modem.sim.errors import ControlError
from modem.sim.framing import (
    CME_TEXT,
    CMS_TEXT,
    OutputQueue,
    UnknownCommand,
    final_result,
    frame_answer,
    frame_urc,
)
from modem.sim.personas import Persona, check_fits, get_persona
from modem.sim.radio import (
    MAX_N,
    RegRecord,
    access_technology,
    cesq_line,
    csq_line,
    format_registration,
    radio_view,
    registration_record,
)
from modem.sim.scenario import NetworkStep, Scenario, SimCell, load_scenario, luhn_check_digit
from modem.sim.settings import SETTINGS_COMMANDS, ModuleSettings, basic_value
from modem.sim.simslot import SIM_COMMANDS, SimSlot
from modem.sim.sms import SentMessage, SmsPrompt, sms_prompt, submitted_message

__all__ = ["CME_TEXT", "CMS_TEXT", "SentMessage", "SimulatedModem", "create_modem"]

_CTRL_Z: Final = 0x1A
_ESC: Final = 0x1B
_MAX_LINE: Final = 2048  # longer lines are dropped whole, like a real module's buffer overrun
_RESET_SECONDS: Final = 1.0  # reboot time of AT+CFUN=1,1 when the scenario sets no boot delay


class SimulatedModem:
    """A cellular module simulated from a persona and a scenario.

    Args:
        persona: the dialect to speak.
        scenario: SIM, network timeline and faults.
        seed: makes IMEI, message references, random garbage and signal jitter
            reproducible.
        now: the caller's clock at creation; scenario time 0.

    Raises:
        ScenarioError: the scenario uses a RAT the persona cannot serve on.
    """

    def __init__(
        self, persona: Persona, scenario: Scenario, *, seed: int = 0, now: float = 0.0
    ) -> None:
        check_fits(persona, scenario)
        self.persona = persona
        self.scenario = scenario
        self.seed = seed
        self._origin = now
        self._offset = 0.0
        self._jitter_rng = random.Random(f"jitter:{seed}")
        self._garbage_rng = random.Random(f"garbage:{seed}")
        imei_rng = random.Random(f"imei:{seed}")
        body = persona.imei_tac + f"{imei_rng.randrange(1_000_000):06d}"
        self.imei: str = body + luhn_check_digit(body)
        self._next_mr = random.Random(f"mr:{seed}").randrange(256)
        self._sim = SimSlot.from_card(scenario.sim)
        self._output = OutputQueue(scenario.faults)
        self._input = bytearray()
        self._discarding_line = False
        self._prompt: SmsPrompt | None = None
        self._sent: list[SentMessage] = []
        self._step = scenario.initial_step
        self._timed = [s for s in scenario.steps if s.at is not None]
        self._next_timed = sum(1 for s in self._timed if s.at is not None and s.at <= 0)
        self._next_garbage = 0
        self._next_disconnect = 0
        self._unplugged_until: float | None = None
        #: How often the port has vanished; a port opened before an unplug stays dead.
        self.unplug_count = 0
        self._booting_until: float | None = None
        self._power_on_settings()
        self._reported: dict[str, RegRecord] = {}
        if scenario.faults.boot_delay > 0:
            self._booting_until = scenario.faults.boot_delay
        self._sim.power_on()
        self._reported = self._registration_records()
        self._tick(0.0)

    # ------------------------------------------------------------------ public API: clock

    def scenario_time(self, now: float) -> float:
        """Seconds on the scenario clock at the caller's time ``now``."""
        return now - self._origin + self._offset

    def next_event_time(self) -> float | None:
        """The caller's time at which output or state next changes by itself, if ever."""
        candidates: list[float] = []
        release = self._output.next_release()
        if release is not None:
            candidates.append(release)
        if self._next_timed < len(self._timed):
            at = self._timed[self._next_timed].at
            assert at is not None
            candidates.append(at)
        faults = self.scenario.faults
        if self._next_garbage < len(faults.garbage):
            candidates.append(faults.garbage[self._next_garbage].at)
        if self._next_disconnect < len(faults.disconnect):
            candidates.append(faults.disconnect[self._next_disconnect].at)
        if self._unplugged_until is not None:
            candidates.append(self._unplugged_until)
        if self._booting_until is not None:
            candidates.append(self._booting_until)
        if not candidates:
            return None
        return min(candidates) - self._offset + self._origin

    def advance(self, seconds: float, now: float) -> None:
        """Move the scenario clock forward (the ``advance`` control command).

        Raises:
            ControlError: ``seconds`` is negative or not finite.
        """
        if not seconds >= 0 or seconds == float("inf"):
            raise ControlError(f"advance needs a finite number of seconds >= 0, got {seconds!r}")
        self._offset += seconds
        self._tick(self.scenario_time(now))

    # ------------------------------------------------------------------ public API: port

    def is_plugged(self, now: float) -> bool:
        """False while the port has vanished (unplug fault or control command)."""
        self._tick(self.scenario_time(now))
        return self._unplugged_until is None

    def receive(self, data: bytes, now: float) -> None:
        """Take bytes the host wrote to the port.

        Bytes written while the port is unplugged or the module is booting are lost,
        as on a real module.
        """
        t = self.scenario_time(now)
        self._tick(t)
        if self._unplugged_until is not None or self._booting_until is not None:
            return
        for byte in data:
            if self._booting_until is not None:
                break  # the command just executed rebooted the module
            self._receive_byte(byte, t)
        self._check_registration(t)

    def output(self, now: float) -> bytes:
        """The bytes due for the host at ``now`` (empty when nothing is due)."""
        t = self.scenario_time(now)
        self._tick(t)
        return self._output.release(t)

    @property
    def sent_messages(self) -> tuple[SentMessage, ...]:
        """Every SMS submitted so far, oldest first."""
        return tuple(self._sent)

    @property
    def step(self) -> NetworkStep:
        """The network timeline step in force."""
        return self._step

    @property
    def echo(self) -> bool:
        """True while the module echoes command lines (``ATE1`` or a stuck echo)."""
        return self._settings.echo or self.scenario.faults.echo_stuck

    # ------------------------------------------------------------------ public API: control

    def goto(self, name: str, now: float) -> None:
        """Jump the network timeline to the step called ``name``.

        The scenario clock does not move: later timed steps still happen at their time.

        Raises:
            ControlError: there is no such step.
        """
        t = self.scenario_time(now)
        self._tick(t)
        try:
            self._step = self.scenario.step(name)
        except KeyError:
            names = ", ".join(s.name for s in self.scenario.steps)
            raise ControlError(f"no step named {name!r} (steps: {names})") from None
        self._check_registration(t)

    def unplug(self, seconds: float, now: float) -> None:
        """Make the port vanish for ``seconds``; the module then boots again.

        Raises:
            ControlError: ``seconds`` is not a positive finite number.
        """
        if not 0 < seconds < float("inf"):
            raise ControlError(f"unplug needs a number of seconds > 0, got {seconds!r}")
        t = self.scenario_time(now)
        self._tick(t)
        self._pull_plug(t, t + seconds)

    def inject(self, data: bytes, now: float) -> None:
        """Put raw bytes on the line (garbage, NULs, a URC of the test's choosing)."""
        t = self.scenario_time(now)
        self._tick(t)
        if self._unplugged_until is None:
            self._push(data, t, delay=False)

    def remove_sim(self, now: float) -> None:
        """Pull the SIM out (hot removal).

        Raises:
            ControlError: no SIM is inserted.
        """
        t = self.scenario_time(now)
        self._tick(t)
        if not self._sim.present:
            raise ControlError("no SIM is inserted")
        self._sim.present = False
        self._sim.state = "NOT INSERTED"
        self._prompt = None
        for urc in self.persona.sim_removed_urcs:
            self._urc(urc, t)
        self._check_registration(t)

    def insert_sim(self, now: float) -> None:
        """Put the SIM back; a PIN-enabled SIM asks for its PIN again.

        Raises:
            ControlError: a SIM is already inserted.
        """
        t = self.scenario_time(now)
        self._tick(t)
        if self._sim.present:
            raise ControlError("a SIM is already inserted (remove_sim first)")
        self._sim.present = True
        self._sim.power_on()
        if self.persona.sim_removed_urcs:
            self._urc(f"+CPIN: {self._sim.state}", t)
        self._check_registration(t)

    def swap_sim(self, now: float, *, imsi: str, iccid: str, msisdn: str | None) -> None:
        """Replace the SIM with an unlocked card carrying these identities.

        Raises:
            ControlError: an identity is malformed (IMSI 6..15 digits, ICCID 19..20 digits
                with a valid Luhn check digit, MSISDN optional ``+`` and 3..15 digits).
        """
        card = self._sim.swapped(imsi=imsi, iccid=iccid, msisdn=msisdn)
        t = self.scenario_time(now)
        self._tick(t)
        if self._sim.present:
            for urc in self.persona.sim_removed_urcs:
                self._urc(urc, t)
        self._sim = card
        self._sim.power_on()
        if self.persona.sim_removed_urcs:
            self._urc("+CPIN: READY", t)
        self._check_registration(t)

    # ------------------------------------------------------------------ time-driven changes

    def _tick(self, t: float) -> None:
        faults = self.scenario.faults
        # Work through due events in time order so an unplug swallows garbage due after it.
        while True:
            due: list[tuple[float, int]] = []
            if self._unplugged_until is not None and self._unplugged_until <= t:
                due.append((self._unplugged_until, 0))
            if self._booting_until is not None and self._booting_until <= t:
                due.append((self._booting_until, 1))
            if self._next_disconnect < len(faults.disconnect):
                event = faults.disconnect[self._next_disconnect]
                if event.at <= t:
                    due.append((event.at, 2))
            if (
                self._next_garbage < len(faults.garbage)
                and faults.garbage[self._next_garbage].at <= t
            ):
                due.append((faults.garbage[self._next_garbage].at, 3))
            if self._next_timed < len(self._timed):
                at = self._timed[self._next_timed].at
                assert at is not None
                if at <= t:
                    due.append((at, 4))
            if not due:
                break
            when, kind = min(due)
            if kind == 0:
                self._unplugged_until = None
                self._power_on(when, boot_seconds=faults.boot_delay)
            elif kind == 1:
                self._booting_until = None
                for urc in self.persona.boot_urcs(self._sim.state):
                    self._urc(urc, when)
            elif kind == 2:
                event = faults.disconnect[self._next_disconnect]
                self._next_disconnect += 1
                end = event.at + event.seconds
                if self._unplugged_until is None or self._unplugged_until < end:
                    self._pull_plug(when, end)
            elif kind == 3:
                garbage = faults.garbage[self._next_garbage]
                self._next_garbage += 1
                data = garbage.data
                if data is None:
                    data = bytes(self._garbage_rng.randrange(256) for _ in range(garbage.length))
                if self._unplugged_until is None:
                    self._push(data, when, delay=False)
            else:
                self._step = self._timed[self._next_timed]
                self._next_timed += 1
                self._check_registration(when)
        self._check_registration(t)

    def _pull_plug(self, t: float, until: float) -> None:
        self.unplug_count += 1
        self._unplugged_until = until
        self._booting_until = None
        self._output.clear()
        self._input.clear()
        self._prompt = None

    def _power_on(self, t: float, *, boot_seconds: float) -> None:
        self._power_on_settings()
        self._input.clear()
        self._prompt = None
        self._sim.power_on()
        self._reported = self._registration_records()
        if boot_seconds > 0:
            self._booting_until = t + boot_seconds
        else:
            for urc in self.persona.boot_urcs(self._sim.state):
                self._urc(urc, t)

    def _power_on_settings(self) -> None:
        faults = self.scenario.faults
        default_cmee = 2 if faults.verbose_errors else self.persona.default_cmee
        self._settings = ModuleSettings(default_cmee=default_cmee)

    # ------------------------------------------------------------------ output queue

    def _push(self, data: bytes, t: float, *, delay: bool) -> None:
        self._output.push(data, t, delay=delay)

    def _answer(self, lines: list[str], final: str, t: float) -> None:
        prefix = b"\x00" if self.scenario.faults.nul_bytes else b""
        framed = frame_answer(
            lines, final, verbose=self._settings.verbose, quiet=self._settings.quiet
        )
        self._push(prefix + framed, t, delay=True)

    def _urc(self, line: str, t: float) -> None:
        self._push(frame_urc(line, verbose=self._settings.verbose), t, delay=False)

    # ------------------------------------------------------------------ input

    def _receive_byte(self, byte: int, t: float) -> None:
        if self._prompt is not None:
            self._receive_prompt_byte(byte, t)
            return
        if byte == 0x0D:
            line = self._input.decode("latin-1")
            self._input.clear()
            if self._discarding_line:
                self._discarding_line = False
                return
            if self._silenced(t):
                return
            if self.echo:
                self._push(line.encode("latin-1") + b"\r", t, delay=False)
            self._execute_line(line.strip(" \x00"), t)
            return
        if byte == 0x0A:
            return
        if byte in (0x08, 0x7F):
            # Backspace edits the line being typed (V.250 S5).
            if self._input:
                self._input.pop()
            return
        if len(self._input) >= _MAX_LINE:
            self._discarding_line = True
            self._input.clear()
            return
        if not self._discarding_line:
            self._input.append(byte)

    def _receive_prompt_byte(self, byte: int, t: float) -> None:
        assert self._prompt is not None
        if byte == _ESC:
            self._prompt = None
            self._input.clear()
            self._answer([], "OK", t)
            return
        if byte != _CTRL_Z:
            if len(self._input) < 4 * _MAX_LINE:
                self._input.append(byte)
            if self.echo and byte not in (0x0D, 0x0A):
                self._push(bytes([byte]), t, delay=False)
            return
        mode, length, number = self._prompt
        self._prompt = None
        payload = self._input.decode("latin-1")
        self._input.clear()
        try:
            message = self._submit(mode, length, number, payload)
        except CmsFailure as failure:
            self._fail(failure, t)
            return
        self._sent.append(message)
        self._answer([f"+CMGS: {message.reference}"], "OK", t)

    def _submit(self, mode: str, length: int | None, number: str | None, body: str) -> SentMessage:
        message = submitted_message(self._next_mr, mode, length, number, body)
        self._next_mr = (self._next_mr + 1) % 256
        return message

    def _silenced(self, t: float) -> bool:
        return any(w.at <= t < w.at + w.seconds for w in self.scenario.faults.silence)

    def _execute_line(self, line: str, t: float) -> None:
        if not line:
            return
        if line[:2].upper() != "AT":
            return  # not a command line: real modules ignore it
        upper = line.upper()
        for pattern in self.scenario.faults.no_answer:
            if upper.startswith(pattern.upper()):
                return
        try:
            commands = split_command_line(line[2:])
        except SyntaxFailure:
            self._answer([], "ERROR", t)
            return
        lines: list[str] = []
        for command in commands:
            try:
                lines += self._execute(command, t)
            except CommandFailure as failure:
                if lines and self._settings.verbose:
                    self._answer(lines, "", t)
                self._fail(failure, t)
                return
            if self._prompt is not None:
                self._push(b"\r\n> ", t, delay=True)
                return
            if self._booting_until is not None:
                return  # the command rebooted the module: OK was already sent
        self._answer(lines, "OK", t)

    def _fail(self, failure: CommandFailure, t: float) -> None:
        self._answer([], final_result(failure, self._settings.cmee, self.persona.unknown_result), t)

    # ------------------------------------------------------------------ commands

    def _execute(self, command: AtCommand, t: float) -> list[str]:
        handler = self._handlers().get(command.name)
        if handler is not None:
            return handler(command, t)
        setting = SETTINGS_COMMANDS.get(command.name)
        if setting is not None:
            return setting(self._settings, command)
        sim_handler = SIM_COMMANDS.get(command.name)
        if sim_handler is not None:
            return sim_handler(self._sim, command)
        domain = command.name[1:]
        if domain in self.persona.registration_domains:
            return self._cxreg(command, domain)
        vendor = self.persona.handlers.get(command.name)
        if vendor is not None:
            return vendor(command, self._context())
        raise UnknownCommand(command.text)

    def _handlers(self) -> dict[str, Callable[[AtCommand, float], list[str]]]:
        return {
            "I": self._ati,
            "+CGMI": self._identity,
            "+GMI": self._identity,
            "+CGMM": self._identity,
            "+GMM": self._identity,
            "+CGMR": self._identity,
            "+GMR": self._identity,
            "+CGSN": self._cgsn,
            "+GSN": self._cgsn,
            "+COPS": self._cops,
            "+CSQ": self._csq,
            "+CESQ": self._cesq,
            "+CFUN": self._cfun_command,
            "+CMGS": self._cmgs,
        }

    def _ati(self, command: AtCommand, t: float) -> list[str]:
        basic_value(command, (0,))
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

    # network ---------------------------------------------------------------------------

    def _view(self, *, measured: bool = False) -> RadioView:
        # Jitter only what the module measures for an answer: registration checks run on
        # every call and must not consume the seeded random stream.
        if self._settings.cfun != 1:
            return RadioView(serving=None)
        jitter = self.scenario.signal_jitter
        return radio_view(
            self._step,
            sim_ready=self._sim.state == "READY",
            deregistered=self._settings.deregistered,
            measure=self._jittered if jitter > 0 and measured else None,
        )

    def _jittered(self, cell: SimCell) -> SimCell:
        jitter = self.scenario.signal_jitter

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
            settings=self._settings.vendor,
        )

    def _registration_record(self, domain: str, view: RadioView) -> RegRecord:
        return registration_record(domain, view, ci_width=self.persona.reg_ci_width)

    def _registration_records(self) -> dict[str, RegRecord]:
        view = self._view()
        return {d: self._registration_record(d, view) for d in self.persona.registration_domains}

    def _check_registration(self, t: float) -> None:
        if self._unplugged_until is not None or self._booting_until is not None:
            return
        current = self._registration_records()
        for domain, record in current.items():
            previous = self._reported.get(domain)
            if previous == record:
                continue
            n = self._settings.reg_n[domain]
            if n >= 2 or (n == 1 and (previous is None or previous.stat != record.stat)):
                self._urc(format_registration(domain, n, record, read=False), t)
        self._reported = current

    def _cxreg(self, command: AtCommand, domain: str) -> list[str]:
        max_n = MAX_N[domain]
        if command.kind == "test":
            return [f"+{domain}: (0-{max_n})"]
        if command.kind == "read":
            record = self._registration_record(domain, self._view())
            return [format_registration(domain, self._settings.reg_n[domain], record, read=True)]
        if command.kind == "set":
            params = command.params
            if len(params) == 1 and params[0].isdigit() and int(params[0]) <= max_n:
                self._settings.reg_n[domain] = int(params[0])
                return []
        raise SyntaxFailure(command.text)

    def _cops(self, command: AtCommand, t: float) -> list[str]:
        view = self._view()
        if command.kind == "test":
            if view.serving is None or view.plmn is None:
                return ["+COPS: ,,(0-4),(0-2)"]
            return [
                f'+COPS: ({2 if view.registered else 1},"{view.operator_long or view.plmn}",'
                f'"{view.operator_short or view.plmn}","{view.plmn}",{access_technology(view)})'
                ",,(0-4),(0-2)"
            ]
        if command.kind == "read":
            mode = 2 if self._settings.deregistered else 0
            if not view.registered or view.plmn is None:
                return [f"+COPS: {mode}"]
            form = self._settings.cops_format
            name = {0: view.operator_long, 1: view.operator_short, 2: view.plmn}[form]
            return [f'+COPS: {mode},{form},"{name}",{access_technology(view)}']
        if command.kind != "set":
            raise SyntaxFailure(command.text)
        params = command.params
        if not params or params[0] not in ("0", "1", "2", "3", "4"):
            raise SyntaxFailure(command.text)
        mode = int(params[0])
        if mode == 3:
            if len(params) != 2 or params[1] not in ("0", "1", "2"):
                raise SyntaxFailure(command.text)
            self._settings.cops_format = int(params[1])
            return []
        if mode == 2:
            self._settings.deregistered = True
            return []
        if mode == 0:
            self._settings.deregistered = False
            return []
        # Manual selection succeeds only for the network the scenario offers.
        if len(params) < 3 or params[2] != self._step_plmn():
            raise CmeFailure(30 if mode == 1 else 3)
        self._settings.deregistered = False
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
        return [csq_line(self._view(measured=True).serving)]

    def _cesq(self, command: AtCommand, t: float) -> list[str]:
        if command.kind == "test":
            return ["+CESQ: (0-63,99),(0-7,99),(0-96,255),(0-49,255),(0-34,255),(0-97,255)"]
        if command.kind != "exec":
            raise SyntaxFailure(command.text)
        return [cesq_line(self._view(measured=True).serving)]

    def _cfun_command(self, command: AtCommand, t: float) -> list[str]:
        if command.kind == "read":
            return [f"+CFUN: {self._settings.cfun}"]
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
        self._settings.cfun = int(params[0])
        return []

    def _cmgs(self, command: AtCommand, t: float) -> list[str]:
        if command.kind == "test":
            return []
        if command.kind != "set" or not command.params:
            raise SyntaxFailure(command.text)
        prompt = sms_prompt(
            command.params, text_mode=self._settings.cmgf == 1, sim_state=self._sim.state
        )
        if not self._view().registered:
            raise CmsFailure(331)
        self._prompt = prompt
        self._input.clear()
        return []


def create_modem(
    profile: str | None,
    scenario: str | Scenario | None = None,
    *,
    seed: int = 0,
    now: float = 0.0,
) -> SimulatedModem:
    """Build a simulated modem from names.

    Args:
        profile: persona name; ``None`` or ``""`` uses the scenario's ``persona`` (or
            ``quectel-ec25``).
        scenario: a shipped scenario name, a path, a parsed :class:`Scenario`, or ``None``
            for the shipped default.
        seed: see :class:`SimulatedModem`.
        now: the caller's clock at creation.

    Raises:
        UnknownPersonaError: no such profile.
        ScenarioError: the scenario cannot be loaded or does not fit the profile.
    """
    loaded = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    persona = get_persona(profile or loaded.persona or "quectel-ec25")
    return SimulatedModem(persona, loaded, seed=seed, now=now)
