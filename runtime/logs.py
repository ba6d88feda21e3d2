"""One log format for every SALVE program: JSON lines on stderr.

Every record becomes one line, a JSON object with ``ts`` (UTC, milliseconds),
``level``, ``logger``, ``event`` and the record's fields::

    {"ts":"2025-01-31T12:00:00.123+00:00","level":"WARNING","logger":"appliance.daemon",
     "event":"modem_lost","msg":"the modem is gone","port":"/dev/salve-modem"}

Structured records come from :func:`log_event` (or from any library that logs with
``extra={"fields": {...}}``: the message is then the event name). Plain records, such as
those of third-party libraries, get ``"event": "log"`` and their text in ``msg``.

The handler that :func:`configure_logging` installs also:

* prefixes each line with its syslog priority (``<3>`` … ``<7>``) when stderr is the
  journal (``$JOURNAL_STREAM`` names stderr's device and inode), so ``journalctl -p``
  filters by level;
* keeps library chatter (one ``httpx`` line per request, uvicorn's access log, asyncio's
  notes) below INFO: such records are demoted to DEBUG;
* rate-limits repeated identical lines: after a few within a window the rest are
  counted, not written, and the next one written after the window says how many were
  left out (``"suppressed": N``). A port that fails in a tight loop costs a few lines a
  minute instead of filling the disk.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple, TextIO

__all__ = [
    "CHATTY_LOGGERS",
    "LOG_LEVELS",
    "JsonLinesFormatter",
    "RepeatLimiter",
    "StructuredHandler",
    "configure_logging",
    "log_event",
    "stream_is_journal",
    "syslog_priority",
]

#: The ``--log-level`` words every program accepts, and their logging levels.
LOG_LEVELS: Mapping[str, int] = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}

#: Loggers whose INFO records describe routine work of a library, not of the program.
CHATTY_LOGGERS: tuple[str, ...] = (
    "httpx",
    "httpcore",
    "uvicorn.access",
    # uvicorn's start and stop notes; its warnings and errors stay as they are.
    "uvicorn.error",
    "asyncio",
    "hpack",
    "multipart",
    "python_multipart",
    "urllib3",
    "alembic",
    "twisted",
)

#: ``<N>`` prefixes journald understands (sd-daemon(3)).
_PRIORITIES = ((logging.CRITICAL, 2), (logging.ERROR, 3), (logging.WARNING, 4), (logging.INFO, 6))

#: The record attribute that carries structured fields (the ``extra=`` convention).
FIELDS_ATTRIBUTE = "fields"


def syslog_priority(levelno: int) -> int:
    """The syslog priority of a logging level (CRITICAL 2, ERROR 3, WARNING 4, INFO 6, else 7)."""
    for level, priority in _PRIORITIES:
        if levelno >= level:
            return priority
    return 7


def log_event(
    logger: logging.Logger, level: int, event: str, message: str | None = None, /, **fields: Any
) -> None:
    """Logs one structured event.

    Args:
        logger: the module's logger.
        level: the logging level.
        event: the event name (``cell_changed``, ``observation_delivered`` …).
        message: plain words for a person, written as ``msg``.
        fields: further members of the line; values that JSON cannot hold are written
            as their ``str()``.
    """
    if not logger.isEnabledFor(level):
        return
    if message is not None:
        fields = {"msg": message, **fields}
    # stacklevel: the record names the caller, not this helper.
    logger.log(level, event, extra={FIELDS_ATTRIBUTE: fields}, stacklevel=2)


class JsonLinesFormatter(logging.Formatter):
    """Formats a record as one JSON object (see the module docstring)."""

    def __init__(self, *, tracebacks: bool = False) -> None:
        """Creates the formatter.

        Args:
            tracebacks: add the traceback text of logged exceptions (only when a person
                asked for debug output: tracebacks can quote data).
        """
        super().__init__()
        self._tracebacks = tracebacks

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON (no newline)."""
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
        }
        fields = getattr(record, FIELDS_ATTRIBUTE, None)
        if isinstance(fields, dict):
            entry["event"] = record.getMessage()
            for key, value in fields.items():
                entry.setdefault(str(key), value)
        else:
            entry["event"] = "log"
            entry["msg"] = record.getMessage()
        suppressed = getattr(record, "suppressed", None)
        if suppressed:
            entry["suppressed"] = suppressed
        if record.exc_info and record.exc_info[0] is not None:
            entry["exception"] = record.exc_info[0].__name__
            if self._tracebacks:
                entry["traceback"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False, separators=(",", ":"))


@dataclass
class _Window:
    started: float
    count: int
    suppressed: int


class RepeatLimiter:
    """Decides which of many identical lines to write; pure apart from its clock.

    Within ``window_s`` seconds of the first of a run of identical lines, ``burst`` are
    written and the rest counted. The first line after the window is written with the
    count, and starts a new window.
    """

    def __init__(
        self,
        *,
        burst: int = 3,
        window_s: float = 60.0,
        max_keys: int = 1024,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Creates a limiter.

        Args:
            burst: identical lines written per window.
            window_s: the window's length in seconds.
            max_keys: distinct lines remembered (the least recently seen are forgotten,
                so lines that never repeat cost bounded memory).
            clock: a monotonic clock in seconds.
        """
        if burst < 1 or window_s <= 0 or max_keys < 1:
            raise ValueError("burst and max_keys must be at least 1, window_s positive")
        self._burst = burst
        self._window_s = window_s
        self._max_keys = max_keys
        self._clock = clock
        self._windows: OrderedDict[Hashable, _Window] = OrderedDict()

    def admit(self, key: Hashable) -> int | None:
        """Accounts for one line.

        Returns:
            ``None`` when the line is to be left out; otherwise how many identical lines
            were left out before it (0 usually).
        """
        now = self._clock()
        window = self._windows.get(key)
        if window is None or now - window.started >= self._window_s:
            suppressed = window.suppressed if window is not None else 0
            self._windows[key] = _Window(started=now, count=1, suppressed=0)
            self._windows.move_to_end(key)
            while len(self._windows) > self._max_keys:
                self._windows.popitem(last=False)
            return suppressed
        self._windows.move_to_end(key)
        window.count += 1
        if window.count <= self._burst:
            return 0
        window.suppressed += 1
        return None

    def pending(self) -> list[tuple[Hashable, int]]:
        """The lines left out and not yet reported, with their counts; then forgets them."""
        counts = [(key, w.suppressed) for key, w in self._windows.items() if w.suppressed]
        for key, _ in counts:
            self._windows[key].suppressed = 0
        return counts


class StructuredHandler(logging.Handler):
    """Writes records as JSON lines: threshold, chatter demotion, repeat limit, priority."""

    def __init__(
        self,
        stream: TextIO,
        *,
        threshold: int = logging.INFO,
        journal: bool = False,
        limiter: RepeatLimiter | None = None,
        chatty: Iterable[str] = CHATTY_LOGGERS,
    ) -> None:
        """Creates the handler.

        Args:
            stream: where lines go (stderr).
            threshold: the lowest level written, applied after chatter is demoted.
            journal: prefix each line with ``<N>``, its syslog priority.
            limiter: the repeat limiter (a default one when omitted).
            chatty: logger names whose INFO records are demoted to DEBUG.
        """
        # The handler's own level stays NOTSET: logging compares it before filters run,
        # and demoted chatter must be compared after demotion.
        super().__init__()
        self.stream = stream
        self.threshold = threshold
        self.journal = journal
        self.limiter = limiter if limiter is not None else RepeatLimiter()
        self._chatty = tuple(chatty)
        self.setFormatter(JsonLinesFormatter(tracebacks=threshold <= logging.DEBUG))

    def _is_chatty(self, name: str) -> bool:
        return any(name == root or name.startswith(root + ".") for root in self._chatty)

    def emit(self, record: logging.LogRecord) -> None:
        """Writes the record unless it is below the threshold or a suppressed repeat."""
        try:
            if record.levelno == logging.INFO and self._is_chatty(record.name):
                record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            if record.levelno < self.threshold:
                return
            suppressed = self.limiter.admit(_repeat_key(record))
            if suppressed is None:
                return
            if suppressed:
                record.suppressed = suppressed
            self._write(record.levelno, self.format(record))
        except RecursionError:
            raise
        except Exception:
            self.handleError(record)

    def _write(self, levelno: int, line: str) -> None:
        prefix = f"<{syslog_priority(levelno)}>" if self.journal else ""
        self.acquire()
        try:
            self.stream.write(prefix + line + "\n")
            self.stream.flush()
        finally:
            self.release()

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 (logging's name)
        """Drops the line: stderr that is gone or full must not take the program down,
        and logging's default report would itself go to that stderr."""

    def close(self) -> None:
        """Reports the repeats still left out, then closes."""
        try:
            for key, count in self.limiter.pending():
                if not isinstance(key, _LineKey):
                    continue
                entry = {
                    "ts": datetime.now(UTC).isoformat(timespec="milliseconds"),
                    "level": logging.getLevelName(key.levelno),
                    "logger": key.logger,
                    "event": "log_repeats_suppressed",
                    "msg": f"{count} more identical line(s) were left out",
                    "line": key.text,
                    "suppressed": count,
                }
                self._write(key.levelno, json.dumps(entry, ensure_ascii=False, default=str))
        except Exception:  # noqa: S110 (the stream may already be gone at exit)
            pass
        finally:
            super().close()


class _LineKey(NamedTuple):
    """What makes two log lines identical: everything but the time."""

    logger: str
    levelno: int
    text: str


def _repeat_key(record: logging.LogRecord) -> _LineKey:
    fields = getattr(record, FIELDS_ATTRIBUTE, None)
    text = record.getMessage()
    if isinstance(fields, dict) and fields:
        text += " " + json.dumps(fields, default=str, sort_keys=True)
    return _LineKey(record.name, record.levelno, text)


def stream_is_journal(stream: TextIO, environ: Mapping[str, str] | None = None) -> bool:
    """True when ``stream`` is connected to the journal.

    systemd sets ``$JOURNAL_STREAM`` to ``DEVICE:INODE`` of the stream it connected to
    the journal; a child whose stderr was redirected elsewhere inherits the variable,
    hence the comparison with the stream's own identity.
    """
    env = os.environ if environ is None else environ
    device, _, inode = env.get("JOURNAL_STREAM", "").partition(":")
    if not device.isdigit() or not inode.isdigit():
        return False
    try:
        info = os.fstat(stream.fileno())
    except (OSError, ValueError, AttributeError):
        return False
    return (info.st_dev, info.st_ino) == (int(device), int(inode))


def configure_logging(
    level: int | str = logging.INFO,
    *,
    stream: TextIO | None = None,
    environ: Mapping[str, str] | None = None,
    limiter: RepeatLimiter | None = None,
) -> StructuredHandler:
    """Sends every log record of the process to stderr in the shared format.

    Replaces the root logger's handlers; called once by each program's ``main``, never
    at import time.

    Args:
        level: the threshold, a logging level or a :data:`LOG_LEVELS` word.
        stream: where to write (``sys.stderr`` when omitted).
        environ: the environment, for ``$JOURNAL_STREAM`` (``os.environ`` when omitted).
        limiter: the repeat limiter (a default one when omitted).

    Returns:
        The installed handler.
    """
    threshold = LOG_LEVELS[level] if isinstance(level, str) else level
    target = sys.stderr if stream is None else stream
    handler = StructuredHandler(
        target,
        threshold=threshold,
        journal=stream_is_journal(target, environ),
        limiter=limiter,
    )
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
        existing.close()
    root.addHandler(handler)
    root.setLevel(threshold)
    return handler
