"""A sans-IO AT command session: bytes in, events out, bytes to send.

Theory of operation
-------------------
The session never touches a port or a clock. The caller writes what :meth:`AtSession.send`
returns, feeds whatever the port produced to :meth:`AtSession.receive_data` (in any
chunking: whole reads and one byte at a time give the same events), and drains
:meth:`AtSession.next_event` until it returns :data:`NEED_DATA`.

Framing (V.250 §5.7.1, 27.007 §4): lines end at CR or LF; empty lines are framing.
Lines are decoded as UTF-8 without ever failing: NUL bytes are dropped (modules emit
them at power-up), and a line carrying control characters or bytes that are not UTF-8
becomes a :class:`Garbage` event holding the raw bytes, so nothing is lost and nothing can
stop the decoder. What follows the last bad byte is kept as the line when it is
recognisably protocol (a final result or a prefixed line), so ``b"\\xff\\xfeOK"`` still
ends the command, and a prefixed line whose only fault is 8-bit text (an operator name
in Latin-1) is kept whole, decoded as Latin-1.

States: *idle* (nothing pending), *pending* (one command in flight; at most one), and
*abandoned* (the caller gave up on the pending command, e.g. after a timeout; its late
answer, when it comes, is reported as :class:`LateResponse` and never given to the next
command). When a new command is sent while an abandoned one may still answer and the
module echoes (learnt from the last completed command), everything up to the new
command's echo belongs to the abandoned command: modules work first in, first out.
Without echo the two cannot be told apart, so the caller waits for the late answer first
(:attr:`AtSession.draining`) and the session forgets the abandoned command when sent on.

Routing while a command is pending, in order:

1. a final result (see :mod:`modem.at.results`) completes the command -> :class:`Response`;
2. the first line equal to the command text is its echo (modules ignore ``ATE0``) and
   is dropped; the same holds for the echo of a PDU sent after a prompt;
3. a line that starts with one of the command's expected prefixes is information text;
4. a prefixed line (``+NAME:``, ``^NAME:``, ``#NAME:``, ``!NAME:``) with another prefix, or
   one of the well-known bare unsolicited words (``RING``, ``RDY``…), is a :class:`Urc`,
   whether it comes before, between or after the answer's lines;
5. anything else is information text of the pending command.

When nothing is pending every line is a :class:`Urc`. The expected prefixes default to
the command's own name (``AT+CEREG?`` -> ``+CEREG:``), so ``+CEREG:`` lines answer
``AT+CEREG?`` and are unsolicited during ``AT+COPS?``.

Numeric result codes (``ATV0``, V.250 §5.7.1): in ``V0`` mode a module ends a command
with ``0<CR>`` instead of ``<CR><LF>OK<CR><LF>``. A bare digit is also a possible
information line, so it is taken as a final result only when the session knows the
module is in ``V0`` mode (it sent ``ATV0``, or saw a numeric result before) or when the
framing shows it: a numeric result ends with a CR *not followed by LF*, while
information text always ends with CR LF. A digit line whose CR is the last byte received
so far is held until the next byte tells, or until the caller reports the line idle with
:meth:`AtSession.idle` (nothing more came: it was a numeric result). ``ATV1`` and a
verbose ``OK`` switch back; ``ATZ``/``AT&F`` make the mode unknown again.

Prompts (27.005 §3.5.1, ``AT+CMGS``): a command sent with ``prompt=True`` yields a
:class:`Prompt` event when ``>`` starts a line; the caller then sends the PDU with
:meth:`AtSession.send_pdu`. ``receive_data(b"")`` means the port closed:
:class:`PortClosed` follows the buffered events.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass
from typing import Final

from modem.at.results import NUMERIC_RESULTS, FinalResult, classify_final, classify_numeric
from modem.errors import ModemStateError

__all__ = [
    "BARE_URCS",
    "NEED_DATA",
    "AtSession",
    "Event",
    "Garbage",
    "LateResponse",
    "NeedData",
    "PortClosed",
    "Prompt",
    "Response",
    "Urc",
    "expected_prefix",
]


class NeedData:
    """Sentinel type: no complete event is buffered; feed more bytes."""

    _instance: NeedData | None = None

    def __new__(cls) -> NeedData:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "NEED_DATA"


NEED_DATA: Final = NeedData()


@dataclass(frozen=True, slots=True)
class Response:
    """The complete answer to a command.

    Attributes:
        command: the command line as sent (without the CR).
        lines: information lines in arrival order (echo and unsolicited lines removed).
        final: the final result that ended the command.
    """

    command: str
    lines: tuple[str, ...]
    final: FinalResult


@dataclass(frozen=True, slots=True)
class LateResponse:
    """The answer to a command the caller had abandoned; never hand it to anyone."""

    response: Response


@dataclass(frozen=True, slots=True)
class Urc:
    """An unsolicited result code (one line)."""

    line: str


@dataclass(frozen=True, slots=True)
class Prompt:
    """The module asks for the data of the pending command (``> ``)."""

    command: str


@dataclass(frozen=True, slots=True)
class Garbage:
    """Bytes that could not be part of any line: control characters or undecodable text."""

    data: bytes


@dataclass(frozen=True, slots=True)
class PortClosed:
    """The port reported end of file (``receive_data(b"")``)."""


Event = Response | LateResponse | Urc | Prompt | Garbage | PortClosed

#: Bare words modules print unprompted (27.007 §6.11, vendor boot messages). A line equal
#: to one of these is unsolicited even while a command is pending.
BARE_URCS: Final = frozenset(
    {
        "RING",
        "RDY",
        "SMS DONE",
        "PB DONE",
        "CALL READY",
        "SMS READY",
        "^SYSSTART",
        "+PBREADY",
        "NORMAL POWER DOWN",
        "POWERED DOWN",
    }
)

_PREFIXED_LINE = re.compile(r"^([+^#!$%][A-Za-z0-9_]+):")
# Basic commands that change the result format: V0/V1, and Z/&F (back to a stored profile).
_FORMAT_COMMAND = re.compile(r"(&F|Z|V)([0-9]?)", re.IGNORECASE)
_NUMERIC_RING = "2"
_COMMAND_NAME = re.compile(r"^AT([+^#!$%][A-Za-z0-9_]+)", re.IGNORECASE)
_BAD_CHAR = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\udc80-\udcff]")
_CONTROL_CHAR = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_CTRL_Z: Final = "\x1a"


def expected_prefix(command: str) -> tuple[str, ...]:
    """The prefix an answer to ``command`` carries (``AT+CEREG?`` -> ``("+CEREG:",)``).

    Args:
        command: an AT command line.

    Returns:
        A one-element tuple, or ``()`` for basic commands (``ATI``, ``AT``) whose
        answers carry no prefix.
    """
    match = _COMMAND_NAME.match(command.strip())
    if match is None:
        return ()
    return (match.group(1).upper() + ":",)


@dataclass(slots=True)
class _Pending:
    command: str
    expect: tuple[str, ...]
    prompt: bool
    abandoned: bool = False
    echo_seen: bool = False
    prompt_seen: bool = False
    pdu_echo: str | None = None
    # An abandoned command sent before this one whose answer may still come first.
    stale: _Pending | None = None
    stale_lines: list[str] | None = None


class AtSession:
    """The AT protocol state of one port; see the module docstring for the rules.

    Raises:
        ModemStateError: from :meth:`send` while another command is in flight, and from
            :meth:`send_pdu` when no prompt is outstanding.
    """

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._events: deque[Event] = deque()
        self._pending: _Pending | None = None
        self._lines: list[str] = []
        self._closed = False
        self._echo_on: bool | None = None
        self._numeric: bool | None = None

    # -- state -----------------------------------------------------------------------------

    @property
    def pending_command(self) -> str | None:
        """The command awaiting its final result (abandoned or not), if any."""
        return None if self._pending is None else self._pending.command

    @property
    def busy(self) -> bool:
        """True while a command the caller still waits for is in flight."""
        return self._pending is not None and not self._pending.abandoned

    @property
    def draining(self) -> bool:
        """True while the answer of an abandoned command may still arrive."""
        return self._pending is not None and self._pending.abandoned

    @property
    def echo_on(self) -> bool | None:
        """Whether the last completed command was echoed (None before any completed)."""
        return self._echo_on

    @property
    def numeric_results(self) -> bool | None:
        """Whether the module answers with numeric (``V0``) result codes; None: not known."""
        return self._numeric

    @property
    def holding(self) -> bool:
        """True when a digit line waits for the next byte to tell whether it is a final
        result; :meth:`idle` settles it."""
        return self._held_line() is not None

    @property
    def partial_lines(self) -> tuple[str, ...]:
        """Information lines received so far for the pending command."""
        return tuple(self._lines)

    # -- sending ---------------------------------------------------------------------------

    def send(
        self,
        command: str,
        expect: str | tuple[str, ...] | None = None,
        *,
        prompt: bool = False,
    ) -> bytes:
        """Start a command and return the bytes to write.

        An abandoned command still draining is carried along when the module echoes:
        until this command's echo arrives, what comes belongs to the abandoned one (the
        module works first in, first out) and is reported as :class:`LateResponse`. Without
        echo it cannot be told apart, so it is forgotten; the caller waits for late answers
        before sending (see :attr:`draining`).

        Args:
            command: the command line, e.g. ``AT+CEREG?`` (no CR).
            expect: prefixes of the answer's information lines; defaults to the
                command's own name.
            prompt: the command answers with a ``>`` prompt before its result.

        Returns:
            The bytes to write to the port.

        Raises:
            ModemStateError: another command is still in flight.
            ValueError: the command is empty, not ASCII, or contains CR, LF, NUL or Ctrl-Z.
        """
        text = command.strip(" \t")
        if not text or not text.isascii() or any(c in text for c in "\r\n\x00\x1a"):
            raise ValueError(f"not a single ASCII AT command line: {command!r}")
        if self.busy:
            raise ModemStateError(f"{self.pending_command!r} is still in flight")
        if isinstance(expect, str):
            prefixes: tuple[str, ...] = (expect,)
        elif expect is None:
            prefixes = expected_prefix(text)
        else:
            prefixes = tuple(expect)
        data = text.encode("ascii", errors="strict") + b"\r"
        self._note_format(text)
        previous = self._pending
        pending = _Pending(text, tuple(p.upper() for p in prefixes), prompt)
        if previous is not None and self._echo_on:
            pending.stale = previous
            pending.stale_lines = self._lines
        self._pending = pending
        self._lines = []
        return data

    def _note_format(self, command: str) -> None:
        """Follow ``V0``/``V1``/``Z``/``&F`` in the basic part of a command line."""
        basic = re.split(r"[+^#!$%*]", command[2:], maxsplit=1)[0]
        for name, value in _FORMAT_COMMAND.findall(basic):
            if name.upper() == "V":
                self._numeric = value == "0"
            else:
                self._numeric = None

    def send_pdu(self, pdu: str) -> bytes:
        """Answer an outstanding prompt with ``pdu`` and return the bytes to write.

        Args:
            pdu: the data, e.g. an SMS PDU in hexadecimal.

        Returns:
            ``pdu`` followed by Ctrl-Z.

        Raises:
            ModemStateError: no prompt is outstanding.
            ValueError: the PDU contains line or Ctrl-Z characters.
        """
        pending = self._pending
        if pending is None or pending.abandoned or not pending.prompt_seen:
            raise ModemStateError("no prompt is outstanding")
        if any(c in pdu for c in "\r\n\x00\x1a"):
            raise ValueError("a PDU cannot contain CR, LF, NUL or Ctrl-Z")
        pending.pdu_echo = pdu.strip().upper()
        return pdu.encode("ascii", errors="strict") + b"\x1a"

    def abandon(self) -> tuple[str, ...]:
        """Give up on the pending command; its late answer will be discarded.

        Returns:
            The information lines received so far (the partial answer).
        """
        partial = tuple(self._lines)
        if self._pending is not None:
            self._pending.abandoned = True
        return partial

    def forget(self) -> None:
        """Stop waiting for an abandoned command's answer (it is not coming)."""
        if self._pending is not None and self._pending.abandoned:
            self._pending = None
            self._lines = []

    # -- receiving -------------------------------------------------------------------------

    def receive_data(self, data: bytes) -> None:
        """Feed bytes read from the port; ``b""`` means the port closed."""
        if self._closed:
            return
        if not data:
            self._parse()
            self._closed = True
            self._events.append(PortClosed())
            return
        self._buffer += data.replace(b"\x00", b"")
        self._parse()

    def idle(self) -> None:
        """Report that no byte has come for a while: a held digit line ended with a lone
        CR, so it is a numeric result code."""
        if not self._closed:
            self._parse(idle=True)

    def next_event(self) -> Event | NeedData:
        """Return the next event, or :data:`NEED_DATA` when more bytes are needed."""
        if self._events:
            return self._events.popleft()
        return NEED_DATA

    # -- internals -------------------------------------------------------------------------

    def _held_line(self) -> bytes | None:
        """A digit line whose CR is the buffer's last byte, while the mode is unknown."""
        buffer = self._buffer
        if self._numeric is not None or buffer[-1:] != b"\r":
            return None
        raw = bytes(buffer[:-1]).strip(b"\r\n")
        if b"\r" in raw or b"\n" in raw:
            return None
        text = raw.decode("latin-1").strip()
        return raw if (text in NUMERIC_RESULTS or text == _NUMERIC_RING) else None

    def _parse(self, *, idle: bool = False) -> None:
        buffer = self._buffer
        while buffer:
            # Framing characters between lines carry no meaning.
            start = 0
            while start < len(buffer) and buffer[start] in b"\r\n":
                start += 1
            if start:
                del buffer[:start]
                continue
            pending = self._pending
            if (
                pending is not None
                and pending.prompt
                and not pending.prompt_seen
                and not pending.abandoned
                and buffer[:1] == b">"
            ):
                # The prompt is "> " with no line end; a following space is part of it.
                del buffer[:1]
                pending.prompt_seen = True
                self._events.append(Prompt(pending.command))
                continue
            cr = buffer.find(b"\r")
            lf = buffer.find(b"\n")
            ends = [i for i in (cr, lf) if i >= 0]
            if not ends:
                return
            end = min(ends)
            if end == cr and end + 1 == len(buffer) and not idle and self._held_line():
                return  # a CR LF (text) or a lone CR (numeric result): the next byte tells
            lone_cr = end == cr and (end + 1 == len(buffer) or buffer[end + 1] != 0x0A)
            raw = bytes(buffer[:end])
            del buffer[: end + 1]
            self._take_line(raw, lone_cr=lone_cr)

    def _take_line(self, raw: bytes, *, lone_cr: bool = False) -> None:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("utf-8", errors="surrogateescape")
        text = text.replace(_CTRL_Z, "")
        bad = [m.end() for m in _BAD_CHAR.finditer(text)]
        if bad:
            eight_bit = raw.replace(b"\x1a", b"").decode("latin-1").strip()
            if _PREFIXED_LINE.match(eight_bit) and not _CONTROL_CHAR.search(eight_bit):
                # An answer line with 8-bit text in it (an operator name in Latin-1).
                self._route(eight_bit, numeric=False)
                return
            cut = bad[-1]
            rest = text[cut:].strip()
            # What follows junk is trusted only when it is recognisably protocol: a final
            # result or a prefixed answer/URC line. Anything else is part of the noise.
            if rest and (classify_final(rest) is not None or _PREFIXED_LINE.match(rest)):
                junk, text = text[:cut], rest
            else:
                junk, text = text, ""
            self._events.append(Garbage(junk.encode("utf-8", errors="surrogateescape")))
        line = text.strip()
        if line:
            self._route(line, numeric=self._numeric is True or (lone_cr and not bad))

    def _classify(self, line: str, *, numeric: bool) -> FinalResult | None:
        """The final result a line is, following (and learning) the result-code mode."""
        final = classify_final(line)
        if final is not None:
            if line.strip().upper() == "OK":
                self._numeric = False  # only a verbose module prints OK
            return final
        final = classify_numeric(line) if numeric else None
        if final is not None:
            self._numeric = True
        return final

    def _route(self, line: str, *, numeric: bool = False) -> None:
        pending = self._pending
        if numeric and line.strip() == _NUMERIC_RING:
            self._numeric = True
            self._events.append(Urc("RING"))
            return
        if pending is None:
            if numeric and classify_numeric(line) is not None:
                # A numeric result nobody waits for (a late one): nothing to route.
                self._numeric = True
                return
            self._events.append(Urc(line))
            return
        final = self._classify(line, numeric=numeric)
        upper = line.upper()
        if pending.stale is not None and pending.stale_lines is not None:
            # Until our echo shows the module has moved on, output is the stale command's.
            if not pending.echo_seen and upper == pending.command.upper():
                pending.echo_seen = True
                pending.stale = pending.stale_lines = None
                return
            if final is not None:
                late = Response(pending.stale.command, tuple(pending.stale_lines), final)
                pending.stale = pending.stale_lines = None
                self._events.append(LateResponse(late))
                return
            if _is_unsolicited(line, pending.stale.expect):
                self._events.append(Urc(line))
            elif not (upper == pending.stale.command.upper() and not pending.stale.echo_seen):
                pending.stale_lines.append(line)
            else:
                pending.stale.echo_seen = True
            return
        if final is not None:
            response = Response(pending.command, tuple(self._lines), final)
            self._pending = None
            self._lines = []
            if not pending.abandoned:
                self._echo_on = pending.echo_seen
            self._events.append(LateResponse(response) if pending.abandoned else response)
            return
        if not pending.echo_seen and upper == pending.command.upper():
            pending.echo_seen = True
            return
        if pending.pdu_echo is not None and upper == pending.pdu_echo:
            pending.pdu_echo = None
            return
        if _is_unsolicited(line, pending.expect):
            self._events.append(Urc(line))
            return
        self._lines.append(line)


def _is_unsolicited(line: str, expect: tuple[str, ...]) -> bool:
    """Rules 3 and 4 of the module docstring: not an expected answer, but a URC form."""
    upper = line.upper()
    if any(upper.startswith(prefix) for prefix in expect):
        return False
    return upper in BARE_URCS or _PREFIXED_LINE.match(line) is not None
