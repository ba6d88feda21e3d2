"""The threaded AT engine: an :class:`~modem.at.session.AtSession` bound to a real port.

Theory of operation
-------------------
One reader thread owns reading: it feeds every byte to the session and handles the
events under one condition variable. Callers of :meth:`AtEngine.command` hold the
command lock (one command in flight), write the command, and wait on the condition
for the answer, a prompt, a vanished port or their deadline.

* On a timeout the session abandons the command; its late answer is logged and dropped.
  Before the next command is written the engine waits (up to the abandoned command's
  own timeout) for that late answer, so it can never be taken for the next answer.
* Unsolicited lines go to a queue served by a dispatcher thread, so a callback may
  itself send commands without deadlocking the reader.
* When the port fails (unplugged, USB re-enumeration, EIO, socket closed) the pending
  command fails with :class:`~modem.errors.ModemUnavailableError`, and the reader tries
  to reopen the same port string until it is back or the engine is closed. A port that
  worked for a while is reopened at once; failed opens, and ports that fail again soon
  after opening (``/dev/null`` answers every read with end of file), back off from
  ``reconnect_interval`` doubling up to ``reconnect_max_interval``, so a port that can
  never work costs a few attempts a minute, not a busy loop.
  :attr:`AtEngine.generation` counts successful opens, so a caller can tell that the
  module may have restarted and lost its settings; port handlers
  (:meth:`AtEngine.add_port_handler`) hear of each loss and return as it happens.

Raw traffic is logged at :data:`AT_TRAFFIC` (5, below DEBUG), so it is off unless asked for.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from modem import transport
from modem.at.results import error_for
from modem.at.session import (
    NEED_DATA,
    AtSession,
    Garbage,
    LateResponse,
    PortClosed,
    Prompt,
    Response,
    Urc,
)
from modem.errors import (
    ModemError,
    ModemProtocolError,
    ModemStateError,
    ModemTimeoutError,
    ModemUnavailableError,
)

__all__ = ["AT_TRAFFIC", "AtEngine", "PortHandler", "PortOpener"]

logger = logging.getLogger(__name__)

AT_TRAFFIC = 5
"""Log level of raw AT traffic (below ``logging.DEBUG``)."""

_LATE_WAIT_FLOOR = 1.0
_LATE_WAIT_CAP = 10.0
#: A port lost sooner than this after opening counts as a failed open (backoff grows).
_HEALTHY_AFTER_S = 10.0


def _redacted(line: str) -> str:
    """A command line with its arguments hidden (``AT+CPIN="1234"`` -> ``AT+CPIN=<hidden>``)."""
    name, equals, _ = line.partition("=")
    return f"{name}=<hidden>" if equals else line


def _late_wait(timeout: float) -> float:
    """How long to wait for a timed-out command's late answer before the next command."""
    return min(max(timeout, _LATE_WAIT_FLOOR), _LATE_WAIT_CAP)


class PortOpener(Protocol):
    """How the engine opens its port; :func:`modem.transport.open_port` by default."""

    def __call__(
        self, url: str, *, baudrate: int = ..., timeout: float = ...
    ) -> transport.SerialLike:
        """Open ``url`` or raise ``ModemUnavailableError``."""
        ...


UrcHandler = Callable[[str], None]
#: Called with ``(connected, reason)`` when the port is lost (False) or back (True).
PortHandler = Callable[[bool, str], None]


@dataclass(frozen=True, slots=True)
class _PortChange:
    connected: bool
    reason: str


class AtEngine:
    """Send AT commands over one port, one at a time, with timeouts and reconnects.

    Args:
        port_url: device path or pyserial URL.
        open_port: the opener (injectable for tests).
        baudrate: line speed for real UARTs.
        reconnect: reopen the port after it vanished.
        reconnect_interval: the first wait before reopening a port that failed again
            soon after opening, or could not be opened; doubles on each such failure.
        reconnect_max_interval: the longest wait between reopen attempts.

    Raises:
        ModemUnavailableError: the port cannot be opened.
    """

    def __init__(
        self,
        port_url: str,
        *,
        open_port: PortOpener = transport.open_port,
        baudrate: int = 115200,
        reconnect: bool = True,
        reconnect_interval: float = 0.5,
        reconnect_max_interval: float = 15.0,
    ) -> None:
        self.port_url = port_url
        self._open_port = open_port
        self._baudrate = baudrate
        self._reconnect = reconnect
        self._reconnect_interval = reconnect_interval
        self._reconnect_max_interval = max(reconnect_interval, reconnect_max_interval)
        self._reopen_failures = 0
        self._opened_at = time.monotonic()
        self._lost = ""
        self._port_handlers: list[PortHandler] = []
        self._cond = threading.Condition()
        self._command_lock = threading.Lock()
        self._session = AtSession()
        self._port: transport.SerialLike | None = self._open()
        self._generation = 1
        self._closed = False
        self._failure: ModemError | None = None
        self._answer: Response | None = None
        self._prompted = False
        self._late_deadline = 0.0
        self._commands_sent = 0
        self._secret = b""
        self._urc_handlers: list[UrcHandler] = []
        self._urc_queue: queue.SimpleQueue[str | _PortChange | None] = queue.SimpleQueue()
        self._reader = threading.Thread(target=self._read_loop, name="at-reader", daemon=True)
        self._dispatcher = threading.Thread(
            target=self._dispatch_loop, name="at-urc-dispatch", daemon=True
        )
        self._reader.start()
        self._dispatcher.start()

    # -- public state ----------------------------------------------------------------------

    @property
    def commands_sent(self) -> int:
        """How many command lines have been written since the engine was created."""
        return self._commands_sent

    @property
    def connected(self) -> bool:
        """True while the port is open (False while it is gone or after close)."""
        with self._cond:
            return self._port is not None and not self._closed

    @property
    def generation(self) -> int:
        """How many times the port has been opened; grows by one per reconnect."""
        with self._cond:
            return self._generation

    def add_urc_handler(self, handler: UrcHandler) -> None:
        """Call ``handler(line)`` for every unsolicited line, in arrival order.

        Handlers run on the engine's dispatcher thread; they may send commands. An
        exception in a handler is logged and does not stop the others.
        """
        with self._cond:
            self._urc_handlers.append(handler)

    def remove_urc_handler(self, handler: UrcHandler) -> None:
        """Stop calling ``handler``; unknown handlers are ignored."""
        with self._cond:
            if handler in self._urc_handlers:
                self._urc_handlers.remove(handler)

    def add_port_handler(self, handler: PortHandler) -> None:
        """Call ``handler(connected, reason)`` when the port is lost and when it is back.

        Handlers run on the dispatcher thread, in order with the unsolicited lines; an
        exception in one is logged and does not stop the others.
        """
        with self._cond:
            self._port_handlers.append(handler)

    # -- commands --------------------------------------------------------------------------

    def command(
        self,
        line: str,
        *,
        expect: str | tuple[str, ...] | None = None,
        timeout: float = 5.0,
        sensitive: bool = False,
    ) -> list[str]:
        """Send one command and return its information lines.

        Args:
            line: the command, e.g. ``AT+CEREG?``.
            expect: prefixes of the answer lines; defaults to the command's name.
            timeout: seconds to wait for the final result.
            sensitive: the command carries a secret (``AT+CPIN="…"``): its arguments
                are left out of traffic logs and error messages.

        Returns:
            The information lines (echo and unsolicited lines removed).

        Raises:
            CommandError: ``ERROR`` and other failing results (``CmeError``/``CmsError``
                for coded errors).
            ModemTimeoutError: no final result in time; carries the partial answer.
            ModemUnavailableError: the port is gone.
            ModemStateError: the engine is closed.
            ValueError: ``line`` is not a single command line.
        """
        shown = _redacted(line) if sensitive else line
        with self._command_lock:
            # The module echoes the line: keep its secret out of the received-traffic log.
            self._secret = line.partition("=")[2].encode("ascii", "replace") if sensitive else b""
            try:
                self._start(line, expect, prompt=False, timeout=timeout, shown=shown)
                return self._finish(shown, timeout)
            finally:
                self._secret = b""

    def send_pdu(self, command: str, pdu: str, timeout: float = 30.0) -> list[str]:
        """Send a command that prompts for data (``AT+CMGS=<len>``), then the data.

        Args:
            command: the prompting command.
            pdu: the data to send after the ``>`` prompt (hexadecimal PDU).
            timeout: seconds to wait for the prompt, and again for the final result.

        Returns:
            The information lines of the final answer (``+CMGS: <mr>``).

        Raises:
            CommandError: the module refused the command or the data.
            ModemTimeoutError: no prompt or no final result in time.
            ModemUnavailableError: the port is gone.
            ModemStateError: the engine is closed.
            ValueError: the PDU is empty or contains line or Ctrl-Z characters.
        """
        # Checked before anything is sent: a refused PDU must not leave a prompt open.
        if not pdu or any(c in pdu for c in "\r\n\x00\x1a"):
            raise ValueError("the PDU must be non-empty and free of CR, LF, NUL and Ctrl-Z")
        with self._command_lock:
            self._start(command, None, prompt=True, timeout=timeout)
            deadline = time.monotonic() + timeout
            with self._cond:
                while not self._prompted and self._answer is None and self._failure is None:
                    remaining = deadline - time.monotonic()
                    if self._closed:
                        break
                    if remaining <= 0:
                        partial = self._session.abandon()
                        self._late_deadline = time.monotonic() + _late_wait(timeout)
                        raise ModemTimeoutError(command, timeout, partial)
                    self._cond.wait(remaining)
                if self._prompted and self._answer is None and self._port is not None:
                    self._write(self._session.send_pdu(pdu))
            return self._finish(command, timeout)

    def close(self) -> None:
        """Close the port and stop the threads; further commands raise ModemStateError."""
        with self._cond:
            if self._closed:
                return
            self._closed = True
            port, self._port = self._port, None
            self._cond.notify_all()
        if port is not None:
            with contextlib.suppress(Exception):
                port.close()
        self._urc_queue.put(None)
        if threading.current_thread() is not self._reader:
            self._reader.join(timeout=5)
        if threading.current_thread() is not self._dispatcher:
            self._dispatcher.join(timeout=5)

    def __enter__(self) -> AtEngine:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- internals: command side -----------------------------------------------------------

    def _start(
        self,
        line: str,
        expect: str | tuple[str, ...] | None,
        *,
        prompt: bool,
        timeout: float,
        shown: str | None = None,
    ) -> None:
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        text = line.strip(" \t")
        if not text or not text.isascii() or any(c in text for c in "\r\n\x00\x1a"):
            raise ValueError(f"not a single ASCII AT command line: {line!r}")
        with self._cond:
            self._require_usable()
            # A late answer to an abandoned command must never be read as this answer.
            while self._session.draining and not self._closed and self._port is not None:
                remaining = self._late_deadline - time.monotonic()
                if remaining <= 0:
                    if not self._session.echo_on:
                        # Without echo a later late answer could not be told apart.
                        logger.debug("no late answer to %r", self._session.pending_command)
                        self._session.forget()
                    break
                self._cond.wait(remaining)
            self._require_usable()
            data = self._session.send(line, expect, prompt=prompt)
            self._answer = None
            self._prompted = False
            self._failure = None
            self._write(data, shown=None if shown is None else shown.encode("ascii") + b"\r")
            self._commands_sent += 1

    def _require_usable(self) -> None:
        if self._closed:
            raise ModemStateError("the AT engine is closed")
        if self._port is None:
            raise ModemUnavailableError(f"{self.port_url}: the modem port is gone ({self._lost})")

    def _write(self, data: bytes, *, shown: bytes | None = None) -> None:
        """Write under the condition lock; a failing port is handed to the reader."""
        port = self._port
        if port is None:
            return
        logger.log(AT_TRAFFIC, "%s <- %r", self.port_url, data if shown is None else shown)
        try:
            port.write(data)
        except Exception as exc:  # any pyserial/OS failure means the port is gone
            self._lose_port(port, f"write failed: {exc}")

    def _finish(self, line: str, timeout: float) -> list[str]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._answer is None and self._failure is None and not self._closed:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    partial = self._session.abandon()
                    self._late_deadline = time.monotonic() + _late_wait(timeout)
                    raise ModemTimeoutError(line, timeout, partial)
                self._cond.wait(remaining)
            if self._closed and self._answer is None:
                raise ModemStateError("the AT engine was closed while waiting for an answer")
            if self._failure is not None:
                failure, self._failure = self._failure, None
                raise failure
            answer = self._answer
            assert answer is not None
            self._answer = None
        if answer.final.ok:
            return list(answer.lines)
        raise error_for(line, answer.final, answer.lines)

    # -- internals: reader side ------------------------------------------------------------

    def _open(self) -> transport.SerialLike:
        return self._open_port(self.port_url, baudrate=self._baudrate, timeout=0.05)

    def _lose_port(self, port: transport.SerialLike, reason: str) -> None:
        """Mark the port gone (caller holds the condition lock)."""
        if self._port is not port:
            return
        logger.warning("%s: modem port lost (%s)", self.port_url, reason)
        self._port = None
        words = reason.removeprefix(f"{self.port_url}: ")
        if time.monotonic() - self._opened_at < _HEALTHY_AFTER_S:
            # Opened, then failed at once: as good as a failed open, so back off.
            self._reopen_failures += 1
            self._lost = f"{words} soon after it was opened; is this the modem's AT port?"
        else:
            self._reopen_failures = 0
            self._lost = words
        self._urc_queue.put(_PortChange(False, reason))
        if self._session.busy:
            self._failure = ModemUnavailableError(
                f"{self.port_url}: the modem port went away ({reason})"
            )
        self._session = AtSession()
        self._cond.notify_all()
        with contextlib.suppress(Exception):
            port.close()

    def _read_loop(self) -> None:
        while True:
            with self._cond:
                if self._closed:
                    return
                port = self._port
            if port is None:
                if not self._reconnect or not self._reopen():
                    return
                continue
            try:
                data = port.read(max(1, port.in_waiting))
            except Exception as exc:  # pyserial raises SerialException, OSError, TypeError…
                with self._cond:
                    if self._closed:
                        return
                    self._lose_port(port, str(exc) or type(exc).__name__)
                continue
            if not data:
                # Nothing within the read timeout: a digit line held back to see whether
                # LF follows is a numeric (ATV0) result code.
                with self._cond:
                    if self._port is port and self._session.holding:
                        self._session.idle()
                        self._drain(port)
                continue
            try:
                self._feed(port, data)
            except Exception:
                # A defect in framing must not kill the reader: fail the command, start over.
                logger.exception("%s: cannot frame %r; resetting the session", self.port_url, data)
                with self._cond:
                    if self._session.busy:
                        self._failure = ModemProtocolError(
                            f"{self.port_url}: the module's output could not be framed"
                        )
                    self._session = AtSession()
                    self._cond.notify_all()

    def _feed(self, port: transport.SerialLike, data: bytes) -> None:
        secret = self._secret
        logger.log(
            AT_TRAFFIC,
            "%s -> %r",
            self.port_url,
            data.replace(secret, b"<hidden>") if secret else data,
        )
        with self._cond:
            if self._port is not port:
                return
            self._session.receive_data(data)
            self._drain(port)

    def _drain(self, port: transport.SerialLike) -> None:
        """Handle the session's events (caller holds the condition lock)."""
        while True:
            event = self._session.next_event()
            if event is NEED_DATA:
                break
            if isinstance(event, Response):
                self._answer = event
                self._cond.notify_all()
            elif isinstance(event, Prompt):
                self._prompted = True
                self._cond.notify_all()
            elif isinstance(event, Urc):
                self._urc_queue.put(event.line)
            elif isinstance(event, LateResponse):
                logger.info(
                    "late answer to abandoned %r dropped: %s",
                    event.response.command,
                    event.response.final.line,
                )
                self._cond.notify_all()
            elif isinstance(event, Garbage):
                logger.debug("%s: dropped unreadable bytes %r", self.port_url, event.data)
            elif isinstance(event, PortClosed):
                self._lose_port(port, "end of file")
                break

    def _reopen_delay(self) -> float:
        """Seconds to wait before the next reopen attempt (0 after a healthy port)."""
        if self._reopen_failures == 0:
            return 0.0
        doublings = min(self._reopen_failures - 1, 30)
        return float(min(self._reconnect_interval * 2.0**doublings, self._reconnect_max_interval))

    def _reopen(self) -> bool:
        """Try to reopen until success (True) or close (False)."""
        while True:
            with self._cond:
                deadline = time.monotonic() + self._reopen_delay()
                # Other events wake the condition too: wait out the whole delay.
                while not self._closed and (remaining := deadline - time.monotonic()) > 0:
                    self._cond.wait(remaining)
                if self._closed:
                    return False
            try:
                port = self._open()
            except ModemUnavailableError as exc:
                logger.debug("reopen %s failed: %s", self.port_url, exc)
                with self._cond:
                    self._reopen_failures += 1
                continue
            with self._cond:
                if self._closed:
                    with contextlib.suppress(Exception):
                        port.close()
                    return False
                self._port = port
                self._generation += 1
                self._opened_at = time.monotonic()
                self._urc_queue.put(_PortChange(True, "reopened"))
                self._cond.notify_all()
            logger.warning("%s: modem port is back", self.port_url)
            return True

    def _dispatch_loop(self) -> None:
        while True:
            line = self._urc_queue.get()
            if line is None:
                return
            if isinstance(line, _PortChange):
                self._tell_port_handlers(line)
                continue
            with self._cond:
                handlers = list(self._urc_handlers)
            for handler in handlers:
                try:
                    handler(line)
                except Exception:
                    logger.exception("URC handler failed on %r", line)

    def _tell_port_handlers(self, change: _PortChange) -> None:
        with self._cond:
            handlers = list(self._port_handlers)
        for handler in handlers:
            try:
                handler(change.connected, change.reason)
            except Exception:
                logger.exception("port handler failed on %s", change)
