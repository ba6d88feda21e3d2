"""The ``Modem`` API: identity, SIM (and its PIN), cell observations, registration URCs and
SMS.

A :class:`Modem` sits on an :class:`~modem.engine.AtEngine` and the pure parsers. It picks
a vendor profile from ``AT+CGMI``/``AT+CGMM`` and then asks only read commands, so it
never changes modem state the caller did not ask for: no ``+CFUN``, no operator
selection, no ``ATE0`` (echo is dropped by the session anyway). Two settings are touched
and put back in the same breath: the ``+COPS`` format, switched to numeric for one read
when the module reports its operator by name (the MNC's width comes from that numeric
form), and the SMS format (``+CMGF``) around :meth:`Modem.send_sms`.

The SIM's PIN is entered only on request (:meth:`Modem.enter_pin`), never retried, and
never with the SIM's last attempt unless the caller says so: a wrong PIN tried again
burns the attempts and ends in a PUK lock that needs a person on site. The retry
counters come from the family's own command (``+QPINC``, ``+SPIC``, ``^CPIN``…, see
:mod:`modem.at.pin`).

A command the module does not support (``ERROR``, ``COMMAND NOT SUPPORT``,
``+CME ERROR: 4``) is remembered and skipped in later cycles, so a quirky module costs
nothing per cycle. The memory is cleared when the port comes back after a disconnect,
because the module may have been replaced or may have answered ``ERROR`` while booting.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

from modem import at
from modem.at.pin import PinCounters, pin_counter_queries, read_pin_counters
from modem.engine import AtEngine
from modem.errors import (
    CmeError,
    CommandError,
    ModemError,
    ModemProtocolError,
    ModemStateError,
    ModemTimeoutError,
    ModemUnavailableError,
    ParseError,
)
from modem.models import (
    CellObservation,
    ModemIdentity,
    NeighbourCell,
    Operator,
    Registration,
    RegistrationDomain,
    ServingCell,
    Signal,
    SimIdentity,
    SimState,
)
from modem.profiles import CellQuery, VendorProfile, select_profile

__all__ = ["Modem", "open_modem"]

logger = logging.getLogger(__name__)

RegistrationCallback = Callable[[Registration], None]
T = TypeVar("T")
CellT = TypeVar("CellT", ServingCell, NeighbourCell)

# +CME ERROR codes that tell the SIM state when +CPIN? itself fails (27.007 §9.2).
_SIM_STATE_BY_CME: dict[int, SimState] = {
    5: SimState.PH_SIM_PIN,
    10: SimState.NOT_INSERTED,
    11: SimState.SIM_PIN,
    12: SimState.SIM_PUK,
    13: SimState.FAILURE,
    14: SimState.BUSY,
    15: SimState.FAILURE,
    17: SimState.SIM_PIN2,
    18: SimState.SIM_PUK2,
    40: SimState.PH_NET_PIN,
}

# Modules answer ICCID queries under many names; all of them are the ICCID.
_ICCID_PREFIXES = ("+CCID:", "+ICCID:", "+QCCID:", "^ICCID:", "!ICCID:", "+CICCID:", "ICCID:")

# Registration domains in the order their cell identity is preferred (newest RAT first).
_DOMAIN_PREFERENCE = (
    RegistrationDomain.C5GREG,
    RegistrationDomain.CEREG,
    RegistrationDomain.CGREG,
    RegistrationDomain.CREG,
)

_NOT_SUPPORTED_RESULTS = frozenset({"ERROR", "COMMAND NOT SUPPORT", "TOO MANY PARAMETERS"})
_PIN = re.compile(r"[0-9]{4,8}")
# SIM states in which the retry counters say something worth a command.
_LOCKED_STATES = frozenset(
    {SimState.SIM_PIN, SimState.SIM_PUK, SimState.SIM_PIN2, SimState.SIM_PUK2}
)
_BUSY_CME_CODES = frozenset({14, 515})
_PHONE_NUMBER = re.compile(r"^\+?[0-9]{3,20}$")


def _is_not_supported(exc: CommandError) -> bool:
    if isinstance(exc, CmeError):
        return exc.code == 4
    return type(exc) is CommandError and exc.result.strip().upper() in _NOT_SUPPORTED_RESULTS


def _text(lines: list[str]) -> str:
    return "\r\n".join(lines)


class Modem:
    """A cellular module reached over one AT port.

    Build it with :func:`open_modem`; pass an engine directly to reuse one.

    Args:
        engine: an open AT engine; the modem owns it from now on and closes it.
        command_timeout: seconds each ordinary command may take.
        ready_timeout: seconds to wait for the module to answer ``AT`` at start
            (it may still be booting).

    Raises:
        ModemTimeoutError: the module did not answer within ``ready_timeout``.
        ModemUnavailableError: the port went away while starting.
        ValueError: a timeout is not positive (the engine is closed).
    """

    def __init__(
        self, engine: AtEngine, *, command_timeout: float = 5.0, ready_timeout: float = 20.0
    ) -> None:
        if command_timeout <= 0 or ready_timeout <= 0:
            engine.close()
            raise ValueError("command_timeout and ready_timeout must be positive")
        self._engine = engine
        self._timeout = command_timeout
        self._lock = threading.RLock()
        self._unsupported: set[str] = set()
        self._urcs_wanted = False
        self._seen_generation = engine.generation
        self._callbacks: list[RegistrationCallback] = []
        self._callbacks_lock = threading.Lock()
        self._numeric_operator: dict[tuple[str | None, int | None], Operator] = {}
        self._mnc_length: int | None = None
        self._mnc_length_read = False
        self._setup_sent: set[str] = set()
        # Counters read while the SIM was ready; they change only when a PIN is entered.
        self._ready_counters: PinCounters | None = None
        try:
            self._wait_ready(ready_timeout)
            manufacturer = self._optional("AT+CGMI", at.parse_cgmi)
            model = self._optional("AT+CGMM", at.parse_cgmm)
        except BaseException:
            engine.close()
            raise
        self._manufacturer = manufacturer
        self._model = model
        self.profile: VendorProfile = select_profile(manufacturer, model)
        engine.add_urc_handler(self._on_urc)
        logger.info(
            "modem %s %s on %s: profile %s",
            manufacturer,
            model,
            engine.port_url,
            self.profile.name,
        )

    # -- state -----------------------------------------------------------------------------

    @property
    def commands_sent(self) -> int:
        """AT commands written since the port was opened."""
        return self._engine.commands_sent

    @property
    def connected(self) -> bool:
        """True while the AT port is open."""
        return self._engine.connected

    @property
    def engine(self) -> AtEngine:
        """The AT engine underneath, for diagnostics and commands this API does not cover."""
        return self._engine

    @property
    def port(self) -> str:
        """The port string this modem was opened with."""
        return self._engine.port_url

    @property
    def unsupported_commands(self) -> frozenset[str]:
        """Commands this module refused as unsupported; they are skipped."""
        return frozenset(self._unsupported)

    def close(self) -> None:
        """Close the port. Further calls raise ``ModemStateError``."""
        self._engine.close()

    def __enter__(self) -> Modem:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- public queries --------------------------------------------------------------------

    def identity(self) -> ModemIdentity:
        """Manufacturer, model, firmware revision and IMEI.

        Returns:
            The identity; a field is None when the module does not answer that query.

        Raises:
            ModemTimeoutError, ModemUnavailableError, ModemStateError: port trouble.
        """
        with self._lock:
            self._after_reconnect()
            return ModemIdentity(
                manufacturer=self._optional("AT+CGMI", at.parse_cgmi),
                model=self._optional("AT+CGMM", at.parse_cgmm),
                revision=self._optional("AT+CGMR", at.parse_cgmr),
                imei=self._optional("AT+CGSN", at.parse_cgsn),
            )

    def sim(self) -> SimIdentity:
        """The SIM's state, its PIN/PUK attempts left and, when it is ready, its IMSI,
        ICCID and MSISDN.

        The attempts come from the family's counter command (asked whenever the SIM is
        locked, and once per connection while it is ready).

        Returns:
            The SIM identity; the MSISDN is None when the SIM does not store it, and the
            attempts are None when the module does not report them.

        Raises:
            CommandError: ``+CPIN?`` failed in a way that says nothing about the SIM.
            ModemTimeoutError, ModemUnavailableError, ModemStateError: port trouble.
        """
        with self._lock:
            self._after_reconnect()
            try:
                state = at.parse_cpin(_text(self._command("AT+CPIN?")))
            except CmeError as exc:
                if exc.code not in _SIM_STATE_BY_CME:
                    raise
                state = _SIM_STATE_BY_CME[exc.code]
            except ParseError as exc:
                logger.warning("unreadable +CPIN answer: %s", exc)
                state = SimState.UNKNOWN
            counters = self._pin_counters(state)
            if state is not SimState.READY:
                return SimIdentity(state=state, pin_retries=counters.pin, puk_retries=counters.puk)
            imsi = self._optional("AT+CIMI", at.parse_cimi)
            iccid_command = self.profile.iccid_command
            if "CRSM" in iccid_command.upper():
                iccid = self._optional(iccid_command, at.parse_crsm_iccid)
            else:
                iccid = self._optional(iccid_command, at.parse_iccid, expect=_ICCID_PREFIXES)
            msisdn = self._optional("AT+CNUM", at.parse_cnum)
            return SimIdentity(
                state=state,
                imsi=imsi,
                iccid=iccid,
                msisdn=msisdn,
                pin_retries=counters.pin,
                puk_retries=counters.puk,
            )

    def enter_pin(self, pin: str, *, use_last_try: bool = False) -> SimIdentity:
        """Unlock the SIM with its PIN (``AT+CPIN``), once.

        The PIN is never retried here, and the SIM's last PIN attempt is not used unless
        ``use_last_try`` is set: a wrong PIN then would lock the SIM until its PUK is
        entered. The PIN does not appear in logs, not even in AT traffic traces.

        Args:
            pin: 4 to 8 digits.
            use_last_try: allow the attempt when the SIM has only one left.

        Returns:
            The SIM's identity after the attempt (``READY`` with IMSI and ICCID on
            success). A SIM that is already ready is returned as it is.

        Raises:
            ValueError: the PIN is not 4 to 8 digits.
            ModemStateError: the SIM does not ask for its PIN (PUK, PIN2, no SIM…), or
                only one attempt is left and ``use_last_try`` is not set.
            CommandError: the SIM refused the PIN: ``CmeError`` code 16 ("incorrect
                password") with ``+CMEE`` 1 or 2, a plain ``ERROR`` otherwise.
            ModemTimeoutError, ModemUnavailableError: port trouble.
        """
        if not isinstance(pin, str) or not _PIN.fullmatch(pin):
            raise ValueError("a SIM PIN is 4 to 8 digits")
        with self._lock:
            sim = self.sim()
            if sim.state is SimState.READY:
                return sim
            if sim.state is not SimState.SIM_PIN:
                raise ModemStateError(
                    f"the SIM asks for {sim.state.value}, not its PIN; nothing was sent"
                )
            if sim.pin_retries is not None and sim.pin_retries < 1:
                raise ModemStateError("the SIM has no PIN attempts left; it needs its PUK")
            if sim.pin_retries == 1 and not use_last_try:
                raise ModemStateError(
                    "the SIM has one PIN attempt left; a wrong PIN would lock it until its "
                    "PUK is entered, so the PIN was not sent"
                )
            self._ready_counters = None
            try:
                self._engine.command(
                    f'AT+CPIN="{pin}"', expect=(), timeout=self._timeout, sensitive=True
                )
            except CommandError as exc:
                logger.warning("the SIM refused the PIN: %s", exc.result)
                raise
            logger.info("the SIM accepted its PIN")
            return self.sim()

    def observe(self) -> CellObservation:
        """One observation cycle: registration per domain, operator, cells, signal.

        Returns:
            What the module reported. ``serving`` carries a global identity (MCC, MNC,
            area, cell id) whenever the module is registered and reports one; the MNC's
            width comes from ``+COPS`` numeric, never from a vendor cell dump.

        Raises:
            ModemTimeoutError, ModemUnavailableError, ModemStateError: port trouble.
        """
        with self._lock:
            self._after_reconnect()
            observed_at = datetime.now(UTC)
            registrations = self._registrations()
            operator = self._operator()
            serving, neighbours, nr_leg = self._cells()
            signal = self._signal()
            if serving is None or serving.ci is None:
                registrations = self._with_location(registrations)
            serving, neighbours = self._complete_cells(serving, neighbours, registrations, operator)
            return CellObservation(
                observed_at=observed_at,
                registrations=registrations,
                operator=operator,
                serving=serving,
                neighbours=neighbours,
                signal=signal,
                nr_leg=nr_leg,
            )

    def enable_registration_urcs(self) -> None:
        """Ask the module to report registration and cell changes unsolicited (``+CxREG=2``).

        Domains the module does not support are skipped. The setting is applied again
        after the port comes back from a disconnect (the module may have restarted).

        Raises:
            ModemTimeoutError, ModemUnavailableError, ModemStateError: port trouble.
        """
        with self._lock:
            self._urcs_wanted = True
            self._after_reconnect()
            self._apply_urc_settings()

    def on_change(self, callback: RegistrationCallback) -> None:
        """Call ``callback(registration)`` for every registration/cell-change URC.

        Callbacks run on the engine's dispatcher thread and may use this modem.
        """
        with self._callbacks_lock:
            self._callbacks.append(callback)

    def send_sms(self, number: str, text: str) -> int:
        """Send a text message in PDU mode (27.005 §3.5.1).

        Long texts go out as a concatenated message, one ``AT+CMGS`` per part. The
        message format (``+CMGF``) is set to PDU for the duration and put back.

        Args:
            number: the destination, international form preferred (``+41791234567``).
            text: the message text (GSM 7-bit where possible, else UCS-2).

        Returns:
            The message reference the network gave the (last) part.

        Raises:
            ValueError: the number or text is not valid.
            CommandError: the module or network refused the message (``CmsError``).
            ModemTimeoutError, ModemUnavailableError, ModemStateError: port trouble.
        """
        if not _PHONE_NUMBER.match(number):
            raise ValueError(f"not a phone number: {number!r}")
        if not text:
            raise ValueError("the message text is empty")
        # gsmmodem is imported here: only SMS needs it, and it is slow to import.
        from gsmmodem.pdu import encodeSmsSubmitPdu

        pdus = encodeSmsSubmitPdu(number, text, reference=0, requestStatusReport=False)
        with self._lock:
            self._after_reconnect()
            previous = self._sms_format()
            if previous != 0:
                self._command("AT+CMGF=0")
            try:
                reference = -1
                for pdu in pdus:
                    lines = self._engine.send_pdu(
                        f"AT+CMGS={pdu.tpduLength}",
                        pdu.data.hex().upper(),
                        timeout=max(self._timeout, 60.0),
                    )
                    reference = _message_reference(lines)
                return reference
            finally:
                if previous not in (None, 0):
                    try:
                        self._command(f"AT+CMGF={previous}")
                    except ModemError as exc:
                        logger.warning("could not restore the SMS format: %s", exc)

    # -- internals -------------------------------------------------------------------------

    def _command(
        self,
        line: str,
        *,
        expect: str | tuple[str, ...] | None = None,
        timeout: float | None = None,
    ) -> list[str]:
        return self._engine.command(line, expect=expect, timeout=timeout or self._timeout)

    def _skippable(
        self, line: str, *, expect: str | tuple[str, ...] | None = None
    ) -> list[str] | None:
        """Run a command unless known unsupported; None (and remembered) when unsupported."""
        if line in self._unsupported:
            return None
        try:
            return self._command(line, expect=expect)
        except CommandError as exc:
            if _is_not_supported(exc):
                logger.info("%s is not supported by this module; skipping it from now on", line)
                self._unsupported.add(line)
            else:
                logger.warning("%s failed: %s", line, exc.result)
            return None

    def _optional(
        self,
        line: str,
        parse: Callable[[str], T],
        *,
        expect: str | tuple[str, ...] | None = None,
    ) -> T | None:
        """Run and parse a query; None when unsupported, failing or unreadable."""
        lines = self._skippable(line, expect=expect)
        if lines is None:
            return None
        try:
            return parse(_text(lines))
        except ParseError as exc:
            logger.warning("cannot read the answer to %s: %s", line, exc)
            return None

    def _wait_ready(self, ready_timeout: float) -> None:
        """Poll ``AT`` until the module answers OK (it may still be booting)."""
        deadline = time.monotonic() + ready_timeout
        probe_timeout = min(self._timeout, 1.0)
        pause = threading.Event()
        while True:
            try:
                self._engine.command("AT", timeout=probe_timeout)
                return
            except CmeError as exc:
                last: ModemError = exc
                if exc.code not in _BUSY_CME_CODES:
                    logger.debug("AT answered %s while starting", exc.result)
            except (CommandError, ModemTimeoutError, ModemUnavailableError) as exc:
                last = exc
            if time.monotonic() >= deadline:
                if isinstance(last, ModemTimeoutError):
                    raise ModemTimeoutError("AT", ready_timeout, last.partial) from last
                raise last
            # Not a race being hidden: the module asked us to wait (booting, SIM init).
            pause.wait(0.2)

    def _after_reconnect(self) -> None:
        """After the port came back, forget what the old session learned, redo URC settings."""
        generation = self._engine.generation
        if generation == self._seen_generation:
            return
        self._seen_generation = generation
        self._unsupported.clear()
        self._numeric_operator.clear()
        self._mnc_length_read = False
        self._setup_sent.clear()
        self._ready_counters = None
        if self._urcs_wanted:
            try:
                self._apply_urc_settings()
            except ModemError as exc:
                logger.warning("could not re-enable registration URCs: %s", exc)
                # Try again on the next call rather than never.
                self._seen_generation = generation - 1

    def _apply_urc_settings(self) -> None:
        for line in self.profile.urc_enable_commands:
            self._skippable(line, expect=())

    def _on_urc(self, line: str) -> None:
        try:
            registration = at.parse_urc(line)
        except ParseError as exc:
            logger.warning("unreadable registration URC %r: %s", line, exc)
            return
        if registration is None:
            logger.debug("unsolicited: %s", line)
            return
        with self._callbacks_lock:
            callbacks = list(self._callbacks)
        for callback in callbacks:
            try:
                callback(registration)
            except Exception:
                logger.exception("registration callback failed")

    def _registrations(self) -> tuple[Registration, ...]:
        found: dict[RegistrationDomain, Registration] = {}
        for query in self.profile.registration_queries:
            lines = self._skippable(query)
            if not lines:
                continue
            try:
                records = at.parse_creg(_text(lines))
            except ParseError as exc:
                logger.warning("cannot read the answer to %s: %s", query, exc)
                continue
            # A URC of the same domain may sit in the answer; the read form wins.
            for record in sorted(records, key=lambda r: not r.unsolicited):
                found[record.domain] = record
        return tuple(found[d] for d in reversed(_DOMAIN_PREFERENCE) if d in found)

    def _with_location(self, records: tuple[Registration, ...]) -> tuple[Registration, ...]:
        """Read the registered domain's cell identity when neither vendor nor URC mode gave it.

        27.007 reports LAC/TAC and cell id only with ``<n>`` = 2, so the preferred registered
        domain is read once with ``+CxREG=2`` and ``<n>`` is put back to what it was.
        """
        candidates = sorted(
            (
                r
                for r in records
                if r.stat is not None and r.stat.is_registered and r.ci is None and r.n in (0, 1)
            ),
            key=lambda r: _DOMAIN_PREFERENCE.index(r.domain),
        )
        if not candidates:
            return records
        record = candidates[0]
        name = record.domain.value
        if self._skippable(f"AT+{name}=2", expect=()) is None:
            return records
        try:
            lines = self._skippable(f"AT+{name}?")
        finally:
            self._skippable(f"AT+{name}={record.n}", expect=())
        if not lines:
            return records
        try:
            located = [r for r in at.parse_creg(_text(lines)) if r.domain is record.domain]
        except ParseError as exc:
            logger.warning("cannot read the answer to AT+%s?: %s", name, exc)
            return records
        if not located:
            return records
        # Report <n> as the module keeps it, not the value it had for one read.
        fresh = dataclasses.replace(located[-1], n=record.n)
        return tuple(fresh if r.domain is record.domain else r for r in records)

    def _operator(self) -> Operator | None:
        operator = self._optional("AT+COPS?", at.parse_cops)
        if operator is None or operator.mcc is not None or operator.oper is None:
            return operator
        key = (operator.oper, operator.act)
        numeric = self._numeric_operator.get(key)
        if numeric is None:
            numeric = self._read_numeric_operator(operator.format)
            if numeric is None:
                return operator
            self._numeric_operator[key] = numeric
        return dataclasses.replace(operator, mcc=numeric.mcc, mnc=numeric.mnc)

    def _read_numeric_operator(self, previous_format: int | None) -> Operator | None:
        """Read ``+COPS`` once in numeric form and put the format back."""
        if self._skippable("AT+COPS=3,2", expect=()) is None:
            return None
        try:
            return self._optional("AT+COPS?", at.parse_cops)
        finally:
            restore = previous_format if previous_format is not None else 0
            self._skippable(f"AT+COPS=3,{restore}", expect=())

    def _cells(
        self,
    ) -> tuple[ServingCell | None, tuple[NeighbourCell, ...], ServingCell | None]:
        """Serving cell, neighbours and the EN-DC NR leg from the family's cell queries."""
        serving: ServingCell | None = None
        nr_leg: ServingCell | None = None
        neighbours: list[NeighbourCell] = []
        for query in self.profile.serving_queries:
            report = self._cell_query(query)
            if report is None:
                continue
            if serving is None and report.serving is not None:
                serving = report.serving
            nr_leg = nr_leg or report.nr_leg
            neighbours.extend(report.neighbours)
        if not neighbours:
            for query in self.profile.neighbour_queries:
                report = self._cell_query(query)
                if report is not None:
                    neighbours.extend(report.neighbours)
        return serving, tuple(neighbours), nr_leg

    def _pin_counters(self, state: SimState) -> PinCounters:
        """The SIM's retry counters from the family's command (cached while ready)."""
        if state is SimState.READY and self._ready_counters is not None:
            return self._ready_counters
        if state is not SimState.READY and state not in _LOCKED_STATES:
            return PinCounters()
        pin_left: int | None = None
        puk_left: int | None = None
        for query in pin_counter_queries(self.profile.name, self._model):
            lines = self._skippable(query.command, expect=(query.prefix + ":",))
            if lines is None:
                continue
            try:
                counters = read_pin_counters(query, _text(lines))
            except ParseError as exc:
                logger.warning("cannot read the answer to %s: %s", query.command, exc)
                continue
            pin_left = counters.pin if pin_left is None else pin_left
            puk_left = counters.puk if puk_left is None else puk_left
            if counters.current is not None:
                # Telit #PCT counts for the password +CPIN? asks for now.
                if state is SimState.SIM_PUK:
                    puk_left = counters.current if puk_left is None else puk_left
                elif state is SimState.SIM_PIN:
                    pin_left = counters.current if pin_left is None else pin_left
        found = PinCounters(pin=pin_left, puk=puk_left)
        if state is SimState.READY:
            self._ready_counters = found
        return found

    def _cell_query(self, query: CellQuery) -> at.CellReport | None:
        # Report-format setup (AT+UCGED=2, AT#MONI=7) goes out once per connection.
        for line in query.setup:
            if line not in self._setup_sent:
                self._setup_sent.add(line)
                self._skippable(line, expect=())
        return self._optional(query.command, query.parse, expect=query.prefix)

    def _signal(self) -> Signal | None:
        csq = self._optional("AT+CSQ", at.parse_csq)
        cesq = self._optional("AT+CESQ", at.parse_cesq)
        if csq is None:
            return cesq
        if cesq is None:
            return csq
        merged = {
            f.name: getattr(cesq, f.name)
            if getattr(cesq, f.name) is not None
            else getattr(csq, f.name)
            for f in dataclasses.fields(Signal)
        }
        return Signal(**merged)

    def _complete_cells(
        self,
        serving: ServingCell | None,
        neighbours: tuple[NeighbourCell, ...],
        registrations: tuple[Registration, ...],
        operator: Operator | None,
    ) -> tuple[ServingCell | None, tuple[NeighbourCell, ...]]:
        """Fill the serving cell's identity from registration and fix MNC widths."""
        registered = [
            r
            for r in registrations
            if r.stat is not None and r.stat.is_registered and r.ci is not None
        ]
        registered.sort(key=lambda r: _DOMAIN_PREFERENCE.index(r.domain))
        best = registered[0] if registered else None
        mcc = operator.mcc if operator is not None else None
        mnc = operator.mnc if operator is not None else None
        if serving is None and best is not None:
            serving = ServingCell(rat=best.rat, lac=best.lac, tac=best.tac, ci=best.ci)
        if serving is not None:
            changes: dict[str, object] = {}
            if best is not None:
                for name in ("lac", "tac", "ci"):
                    if getattr(serving, name) is None and getattr(best, name) is not None:
                        changes[name] = getattr(best, name)
                if serving.rat is None and best.rat is not None:
                    changes["rat"] = best.rat
            if serving.mcc is None and serving.mnc is None and mcc is not None:
                changes["mcc"] = mcc
                changes["mnc"] = mnc
            if changes:
                serving = dataclasses.replace(serving, **changes)  # type: ignore[arg-type]
        width = len(mnc) if mnc is not None else self._sim_mnc_length()
        if width is not None:
            serving = _with_mnc_width(serving, mcc, width) if serving is not None else None
            neighbours = tuple(_with_mnc_width(n, mcc, width) for n in neighbours)
        return serving, neighbours

    def _sim_mnc_length(self) -> int | None:
        """The MNC width from the SIM's EF_AD, read once per connection (31.102 §4.2.18)."""
        if self._mnc_length_read:
            return self._mnc_length
        self._mnc_length_read = True
        self._mnc_length = self._optional("AT+CRSM=176,28589,0,0,4", at.parse_crsm_mnc_length)
        return self._mnc_length

    def _sms_format(self) -> int | None:
        lines = self._skippable("AT+CMGF?")
        if not lines:
            return None
        match = re.search(r"\+CMGF:\s*(\d)", _text(lines))
        return int(match.group(1)) if match else None


def _with_mnc_width(cell: CellT, mcc: str | None, width: int | None) -> CellT:
    """Render ``cell``'s MNC with the registered network's width when it is that network.

    Vendor dumps print the MNC as a number (``262,1``), losing the leading zero, so the
    width comes from ``+COPS`` numeric or the SIM; cells of another country stay as printed.
    """
    if cell.mcc is not None and mcc is not None and cell.mcc != mcc:
        return cell
    return at.fix_mnc_width(cell, width)


def _message_reference(lines: list[str]) -> int:
    match = re.search(r"\+CMGS:\s*(\d+)", _text(lines))
    if match is None:
        raise ModemProtocolError(
            f"the module accepted the message but gave no reference: {lines!r}"
        )
    return int(match.group(1))


def open_modem(
    port: str,
    *,
    baudrate: int = 115200,
    command_timeout: float = 5.0,
    ready_timeout: float = 20.0,
) -> Modem:
    """Open the modem on ``port`` (device path, ``socket://``, ``sim://``…).

    Args:
        port: the AT port string.
        baudrate: line speed for real UARTs.
        command_timeout: seconds each ordinary command may take.
        ready_timeout: seconds to wait for a booting module to answer.

    Returns:
        A ready :class:`Modem`.

    Raises:
        ModemUnavailableError: the port cannot be opened (message in plain words).
        ModemTimeoutError: the module does not answer ``AT``.
    """
    engine = AtEngine(port, baudrate=baudrate)
    return Modem(engine, command_timeout=command_timeout, ready_timeout=ready_timeout)
