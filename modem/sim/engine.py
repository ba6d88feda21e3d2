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
* Framing (V.250 §5.7, verbose ``V1``): information text ``\\r\\n<line>\\r\\n``,
  final result ``\\r\\nOK\\r\\n``, prompt ``\\r\\n> ``. With ``V0``: ``<line>\\r\\n``
  and ``0\\r``. Echo (``E1``) returns the command line and its CR.
* Registration (27.007 §7.2, §10.1.19, §10.1.22, §10.1.37): each domain's record is
  recomputed after every change; when it differs from the last one and ``n`` is at
  least 1, the URC is queued (``n=1``: only when ``<stat>`` changed).
* Power: power-on, ``AT+CFUN=1,1`` and replug after an unplug all go through boot:
  silence for the boot delay, then the persona's boot URCs; settings return to
  their power-on values and a PIN-enabled SIM asks for its PIN again.
* Errors: a handler raises a :class:`~modem.sim.dialect.CommandFailure`; the engine
  prints it per ``+CMEE`` (0 ``ERROR``, 1 numeric, 2 verbose, 27.007 §9.2).
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass
from typing import Final

from modem.sim.commands import RegistrationRecord, SimSlot, StandardCommands
from modem.sim.dialect import (
    AtCommand,
    CmeFailure,
    CmsFailure,
    CommandFailure,
    SyntaxFailure,
)
from modem.sim.errors import ControlError, ScenarioError
from modem.sim.personas import Persona, get_persona
from modem.sim.scenario import (
    NetworkStep,
    Scenario,
    load_scenario,
    luhn_check_digit,
)
from modem.sim.v250 import CME_TEXT, CMS_TEXT, UnknownCommand, split_command_line

__all__ = ["CME_TEXT", "CMS_TEXT", "SentMessage", "SimulatedModem", "create_modem"]

#: Verbose texts of the +CME ERROR codes the simulator uses (27.007 §9.2.1).

_CTRL_Z: Final = 0x1A
_ESC: Final = 0x1B
_MAX_LINE: Final = 2048  # longer lines are dropped whole, like a real module's buffer overrun


@dataclass(frozen=True, slots=True)
class SentMessage:
    """An SMS the host submitted with ``AT+CMGS``.

    Attributes:
        reference: the message reference the modem answered (``+CMGS: <mr>``).
        mode: ``"pdu"`` or ``"text"`` (``+CMGF``).
        length: the ``<length>`` argument (PDU mode) or ``None``.
        pdu: the hex PDU as sent (PDU mode), upper-cased.
        number: the destination (text mode).
        text: the message text (text mode).
    """

    reference: int
    mode: str
    length: int | None = None
    pdu: str | None = None
    number: str | None = None
    text: str | None = None


class SimulatedModem(StandardCommands):
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
        _check_rats(persona, scenario)
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
        card = scenario.sim
        self._sim = SimSlot(
            present=card.present,
            imsi=card.imsi,
            iccid=card.iccid,
            msisdn=card.msisdn,
            pin=card.pin,
            puk=card.puk,
            pin_enabled=card.lock != "none",
            pin_retries=0 if card.lock == "puk" else card.pin_retries,
            puk_retries=card.puk_retries,
            mnc_length=card.mnc_length,
        )
        self._queue: deque[tuple[float, bytes]] = deque()
        self._last_release = 0.0
        self._input = bytearray()
        self._discarding_line = False
        self._prompt: tuple[str, int | None, str | None] | None = None
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
        self._reported: dict[str, RegistrationRecord] = {}
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
        if self._queue:
            candidates.append(self._queue[0][0])
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
        chunks: list[bytes] = []
        while self._queue and self._queue[0][0] <= t + 1e-9:
            chunks.append(self._queue.popleft()[1])
        return b"".join(chunks)

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
        return self._echo or self.scenario.faults.echo_stuck

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
        if not (imsi.isascii() and imsi.isdigit() and 6 <= len(imsi) <= 15):
            raise ControlError(f"imsi must be 6..15 digits, got {imsi!r}")
        if not (iccid.isascii() and iccid.isdigit() and 19 <= len(iccid) <= 20):
            raise ControlError(f"iccid must be 19..20 digits, got {iccid!r}")
        if luhn_check_digit(iccid[:-1]) != iccid[-1]:
            raise ControlError(f"iccid {iccid!r} has a wrong Luhn check digit")
        if msisdn is not None:
            digits = msisdn.removeprefix("+")
            if not (digits.isascii() and digits.isdigit() and 3 <= len(digits) <= 15):
                raise ControlError(f"msisdn must be an optional '+' and 3..15 digits: {msisdn!r}")
        t = self.scenario_time(now)
        self._tick(t)
        if self._sim.present:
            for urc in self.persona.sim_removed_urcs:
                self._urc(urc, t)
        self._sim = SimSlot(
            present=True,
            imsi=imsi,
            iccid=iccid,
            msisdn=msisdn,
            pin=self._sim.pin,
            puk=self._sim.puk,
            pin_enabled=False,
            pin_retries=3,
            puk_retries=10,
            mnc_length=self._sim.mnc_length,
        )
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
        self._queue.clear()
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

    # ------------------------------------------------------------------ output queue

    def _push(self, data: bytes, t: float, *, delay: bool) -> None:
        faults = self.scenario.faults
        start = max(t + (faults.answer_delay if delay else 0.0), self._last_release, t)
        if faults.byte_interval > 0 and self._queue:
            # The line is still busy with earlier bytes: queue behind them.
            start = max(start, self._last_release + faults.byte_interval)
        if faults.byte_interval > 0:
            for index, byte in enumerate(data):
                self._queue.append((start + index * faults.byte_interval, bytes([byte])))
            self._last_release = start + max(len(data) - 1, 0) * faults.byte_interval
        else:
            self._queue.append((start, data))
            self._last_release = start

    def _answer(self, lines: list[str], final: str, t: float) -> None:
        prefix = b"\x00" if self.scenario.faults.nul_bytes else b""
        if self._quiet:
            final = ""
        if self._verbose:
            body = "".join(f"{line}\r\n" for line in lines)
            text = (f"\r\n{body}" if lines else "") + (f"\r\n{final}\r\n" if final else "")
        else:
            numeric = {"OK": "0", "ERROR": "4"}.get(final, final)
            text = "".join(f"{line}\r\n" for line in lines) + (f"{numeric}\r" if final else "")
        self._push(prefix + text.encode("latin-1", "replace"), t, delay=True)

    def _urc(self, line: str, t: float) -> None:
        text = f"\r\n{line}\r\n" if self._verbose else f"{line}\r\n"
        self._push(text.encode("latin-1", "replace"), t, delay=False)

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
        reference = self._next_mr
        if mode == "text":
            message = SentMessage(reference=reference, mode="text", number=number, text=body)
        else:
            pdu = "".join(body.split()).upper()
            try:
                octets = bytes.fromhex(pdu)
            except ValueError:
                raise CmsFailure(304) from None
            # <length> counts the TPDU only: total octets minus the SMSC field (27.005 §3.5.1).
            if not octets or octets[0] + 1 > len(octets) or len(octets) - octets[0] - 1 != length:
                raise CmsFailure(304)
            message = SentMessage(reference=reference, mode="pdu", length=length, pdu=pdu)
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
                if lines and self._verbose:
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
        if isinstance(failure, CmsFailure):
            text = CMS_TEXT.get(failure.code, "unknown error")
            self._answer([], f"+CMS ERROR: {text if self._cmee == 2 else failure.code}", t)
        elif isinstance(failure, CmeFailure):
            if self._cmee == 0:
                self._answer([], "ERROR", t)
            elif self._cmee == 1:
                self._answer([], f"+CME ERROR: {failure.code}", t)
            else:
                self._answer([], f"+CME ERROR: {CME_TEXT.get(failure.code, 'unknown')}", t)
        else:
            unknown = isinstance(failure, UnknownCommand)
            if unknown and self.persona.unknown_result is None:
                self._fail(CmeFailure(4), t)  # this family reports "operation not supported"
                return
            self._answer([], (self.persona.unknown_result or "ERROR") if unknown else "ERROR", t)

    # ------------------------------------------------------------------ commands

    def _execute(self, command: AtCommand, t: float) -> list[str]:
        handler = self._handlers().get(command.name)
        if handler is not None:
            return handler(command, t)
        domain = command.name[1:]
        if domain in self.persona.registration_domains:
            return self._cxreg(command, domain)
        vendor = self.persona.handlers.get(command.name)
        if vendor is not None:
            return vendor(command, self._context())
        raise UnknownCommand(command.text)


def _check_rats(persona: Persona, scenario: Scenario) -> None:
    for step in scenario.steps:
        cells = ([step.serving] if step.serving is not None else []) + list(step.neighbours)
        for cell in cells:
            if cell.rat not in persona.rats:
                raise ScenarioError(
                    f"{scenario.source}: step {step.name!r} uses {cell.rat}, which "
                    f"{persona.name} cannot serve on (it supports "
                    f"{', '.join(sorted(persona.rats))})"
                )
        if step.nr_leg is not None and "NR-NSA" not in persona.rats:
            raise ScenarioError(
                f"{scenario.source}: step {step.name!r} uses 5G NSA, which {persona.name} "
                "does not support"
            )


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
