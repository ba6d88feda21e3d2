"""Reopening a lost port: backoff for ports that fail at once, and the port handlers.

``/dev/null`` opens fine and answers every read with end of file: the engine must treat
that like a failed open and back off, instead of reopening it in a busy loop (which once
wrote 800,000 log lines in 20 s).
"""

from __future__ import annotations

import io
import itertools
import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from modem import transport
from modem.engine import AtEngine
from modem.errors import ModemUnavailableError
from runtime.logs import RepeatLimiter, StructuredHandler

Factory = Callable[[Callable[[str], bytes | None]], Any]
Waiter = Callable[..., None]


class CountingOpener:
    """The real opener, recording when each open happened."""

    def __init__(self) -> None:
        self.opened_at: list[float] = []
        self._lock = threading.Lock()

    def __call__(self, url: str, *, baudrate: int = 115200, timeout: float = 0.1) -> Any:
        port = transport.open_port(url, baudrate=baudrate, timeout=timeout)
        with self._lock:
            self.opened_at.append(time.monotonic())
        return port

    def count(self) -> int:
        with self._lock:
            return len(self.opened_at)


def test_a_port_that_ends_at_once_backs_off_like_a_failed_open(wait_until: Waiter) -> None:
    opener = CountingOpener()
    stream = io.StringIO()
    handler = StructuredHandler(stream, limiter=RepeatLimiter(burst=3, window_s=60))
    engine_log = logging.getLogger("modem.engine")
    engine_log.addHandler(handler)
    events: list[tuple[bool, str]] = []
    engine = AtEngine(
        "/dev/null", open_port=opener, reconnect_interval=0.1, reconnect_max_interval=0.4
    )
    engine.add_port_handler(lambda up, reason: events.append((up, reason)))
    try:
        wait_until(lambda: opener.count() >= 6, timeout=20, what="six opens of /dev/null")
        with pytest.raises(ModemUnavailableError, match="soon after it was opened"):
            engine.command("AT", timeout=1)
    finally:
        engine.close()
        engine_log.removeHandler(handler)
    gaps = [b - a for a, b in itertools.pairwise(opener.opened_at)]
    # Each wait at least doubles up to the cap (load can only make them longer).
    for gap, floor in zip(gaps, (0.1, 0.2, 0.4, 0.4, 0.4), strict=False):
        assert gap >= floor * 0.9, gaps
    # The handlers heard losses and returns, alternating (it was added after the start).
    states = [up for up, _ in events]
    assert len(states) >= 4
    assert all(a != b for a, b in itertools.pairwise(states))
    # The same two lines repeat: three of each are written, the rest counted.
    written = [json.loads(line)["msg"] for line in stream.getvalue().splitlines()]
    assert written.count("/dev/null: modem port is back") == 3


def test_a_pty_that_closes_is_reported_lost_and_back(
    pty_modem_factory: Factory, wait_until: Waiter
) -> None:
    fake = pty_modem_factory(lambda line: b"\r\nOK\r\n")
    events: list[tuple[bool, str]] = []
    with AtEngine(fake.path) as engine:
        engine.add_port_handler(lambda up, reason: events.append((up, reason)))
        assert engine.command("AT") == []
        fake.unplug()
        wait_until(lambda: events[:1] and not events[0][0], what="the loss")
        with pytest.raises(ModemUnavailableError, match="the modem port is gone"):
            engine.command("AT", timeout=1)
        fake.replug()
        wait_until(lambda: len(events) >= 2, timeout=20, what="the return")
        assert events[1][0] is True
        assert engine.command("AT") == []
        assert engine.generation == 2


def test_a_failing_port_handler_does_not_stop_the_others(
    pty_modem_factory: Factory, wait_until: Waiter
) -> None:
    fake = pty_modem_factory(lambda line: b"\r\nOK\r\n")
    seen: list[bool] = []

    def broken(up: bool, reason: str) -> None:
        raise RuntimeError("handler defect")

    with AtEngine(fake.path) as engine:
        engine.add_port_handler(broken)
        engine.add_port_handler(lambda up, reason: seen.append(up))
        fake.unplug()
        wait_until(lambda: seen == [False], what="the second handler")
