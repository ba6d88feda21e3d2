"""The shared log format: JSON lines, journald priorities, chatter, repeated lines."""

from __future__ import annotations

import io
import json
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from runtime.logs import (
    JsonLinesFormatter,
    RepeatLimiter,
    StructuredHandler,
    configure_logging,
    log_event,
    stream_is_journal,
    syslog_priority,
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def root_restored() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        yield
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in handlers:
            root.addHandler(handler)
        root.setLevel(level)


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_an_event_is_one_json_line_with_its_fields(root_restored: None) -> None:
    stream = io.StringIO()
    configure_logging("info", stream=stream, environ={})
    log_event(
        logging.getLogger("appliance.daemon"),
        logging.WARNING,
        "modem_lost",
        "the modem is gone",
        port="/dev/salve-modem",
        seq=7,
    )
    logging.getLogger("modem.engine").warning("%s: modem port lost (%s)", "/dev/x", "EOF")
    event, plain = lines(stream)
    assert set(event) == {"ts", "level", "logger", "event", "msg", "port", "seq"}
    assert event["level"] == "WARNING"
    assert event["logger"] == "appliance.daemon"
    assert (event["event"], event["msg"], event["port"], event["seq"]) == (
        "modem_lost",
        "the modem is gone",
        "/dev/salve-modem",
        7,
    )
    assert str(event["ts"]).endswith("+00:00")
    assert plain["event"] == "log"
    assert plain["msg"] == "/dev/x: modem port lost (EOF)"


def test_library_chatter_stays_below_info(root_restored: None) -> None:
    stream = io.StringIO()
    configure_logging("info", stream=stream, environ={})
    logging.getLogger("httpx").info('HTTP Request: POST http://gmlc/v1/observations "202"')
    logging.getLogger("uvicorn.access").info("127.0.0.1 - GET /readyz 200")
    logging.getLogger("httpx").warning("a library warning still shows")
    assert [line["msg"] for line in lines(stream)] == ["a library warning still shows"]
    verbose = io.StringIO()
    configure_logging("debug", stream=verbose, environ={})
    logging.getLogger("httpx").info("HTTP Request: shown when asked for")
    (line,) = lines(verbose)
    assert line["level"] == "DEBUG"


def test_exceptions_name_their_class_and_tracebacks_only_at_debug() -> None:
    try:
        raise ValueError("secret request data")
    except ValueError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (), None)
        record.exc_info = sys.exc_info()
    quiet = json.loads(JsonLinesFormatter().format(record))
    assert quiet["exception"] == "ValueError"
    assert "traceback" not in quiet
    verbose = json.loads(JsonLinesFormatter(tracebacks=True).format(record))
    assert "secret request data" in verbose["traceback"]


def test_repeated_lines_are_limited_then_counted() -> None:
    clock = FakeClock()
    stream = io.StringIO()
    handler = StructuredHandler(stream, limiter=RepeatLimiter(burst=3, window_s=60, clock=clock))
    logger = logging.getLogger("test.repeats")
    logger.propagate = False
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        for _ in range(1000):
            logger.warning("/dev/null: modem port lost (end of file)")
            clock.now += 0.001
        logger.warning("another line is not limited by the first")
        assert len(lines(stream)) == 4
        clock.now += 60
        logger.warning("/dev/null: modem port lost (end of file)")
        last = lines(stream)[-1]
        assert last["suppressed"] == 997
        # Left out again, then reported when the handler closes.
        for _ in range(10):
            logger.warning("/dev/null: modem port lost (end of file)")
        handler.close()
        summary = lines(stream)[-1]
        assert summary["event"] == "log_repeats_suppressed"
        assert summary["suppressed"] == 8
        assert summary["line"] == "/dev/null: modem port lost (end of file)"
    finally:
        logger.removeHandler(handler)


def test_lines_that_differ_in_a_field_are_not_repeats() -> None:
    limiter = RepeatLimiter(burst=1, window_s=60, clock=FakeClock())
    assert limiter.admit(("a", 1)) == 0
    assert limiter.admit(("a", 2)) == 0
    assert limiter.admit(("a", 1)) is None


def test_the_limiter_forgets_the_least_recent_lines() -> None:
    limiter = RepeatLimiter(burst=1, window_s=60, max_keys=2, clock=FakeClock())
    for key in ("a", "b", "c"):
        assert limiter.admit(key) == 0
    # "a" was forgotten: it counts as new again.
    assert limiter.admit("a") == 0
    with pytest.raises(ValueError):
        RepeatLimiter(burst=0)


@pytest.mark.parametrize(
    ("level", "priority"),
    [
        (logging.CRITICAL, 2),
        (logging.ERROR, 3),
        (logging.WARNING, 4),
        (logging.INFO, 6),
        (logging.DEBUG, 7),
    ],
)
def test_syslog_priorities(level: int, priority: int) -> None:
    assert syslog_priority(level) == priority


def test_journald_prefix_only_when_stderr_is_the_journal(
    tmp_path: Path, root_restored: None
) -> None:
    with (tmp_path / "journal").open("w+") as journal:
        info = os.fstat(journal.fileno())
        environ = {"JOURNAL_STREAM": f"{info.st_dev}:{info.st_ino}"}
        assert stream_is_journal(journal, environ)
        configure_logging("info", stream=journal, environ=environ)
        log_event(logging.getLogger("appliance"), logging.ERROR, "modem_lost")
        log_event(logging.getLogger("appliance"), logging.INFO, "cell_changed")
        journal.seek(0)
        written = journal.read().splitlines()
    assert written[0].startswith('<3>{"ts"')
    assert written[1].startswith('<6>{"ts"')
    with (tmp_path / "elsewhere").open("w") as other:
        # A child whose stderr was redirected inherits the variable: no prefix for it.
        assert not stream_is_journal(other, environ)
    assert not stream_is_journal(io.StringIO(), environ)
    assert not stream_is_journal(io.StringIO(), {"JOURNAL_STREAM": "garbage"})


def test_a_closed_stream_does_not_raise(root_restored: None) -> None:
    stream = io.StringIO()
    configure_logging("info", stream=stream, environ={})
    stream.close()
    logging.getLogger("appliance").error("stderr is gone")
