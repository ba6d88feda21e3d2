"""A simulated modem running in real time, shared by threads; and the in-process registry.

:class:`LiveModem` wraps the pure engine with a lock, a monotonic clock and a buffer of
bytes the host has not read yet. The ``sim://`` handler, the pty server and the TCP
server all drive the engine through it, so the three modes behave identically.

The registry maps an instance name to its :class:`LiveModem`. It exists because pyserial
constructs URL handler objects itself, so a test has no other way to reach the engine
behind a ``sim://`` port, and a port reopened after an unplug must find the same modem.
An instance stays registered while a port is open on it, or while it is unplugged
(the host is expected to come back); otherwise the next registry access drops it.
"""

from __future__ import annotations

import json
import os
import socket
import stat
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from modem.sim.control import apply_control
from modem.sim.engine import SentMessage, SimulatedModem
from modem.sim.errors import ControlError

__all__ = [
    "LiveModem",
    "discard",
    "live_instances",
    "lookup",
    "open_registered",
    "release_registered",
]

Clock = Callable[[], float]


class LiveModem:
    """A :class:`SimulatedModem` driven by the real clock and safe to share between threads.

    Args:
        engine_factory: builds the engine, given the clock's current time.
        name: a label for logs and the registry.
        control_path: when given, a unix socket served at this path takes control lines.
        clock: monotonic seconds (``time.monotonic`` unless a test passes its own).

    Raises:
        ControlError: ``control_path`` cannot be used (exists, or the folder is missing).
    """

    def __init__(
        self,
        engine_factory: Callable[[float], SimulatedModem],
        *,
        name: str = "sim",
        control_path: Path | None = None,
        clock: Clock = time.monotonic,
    ) -> None:
        self.name = name
        self._clock = clock
        self._condition = threading.Condition()
        self.engine = engine_factory(clock())
        self._pending = bytearray()
        self._attached = 0
        self._closed = False
        self._control: _ControlServer | None = None
        if control_path is not None:
            self._control = _ControlServer(control_path, self)

    # ------------------------------------------------------------------ state

    @contextmanager
    def locked(self) -> Iterator[SimulatedModem]:
        """Hold the lock and yield the engine (for tests that inspect it directly)."""
        with self._condition:
            yield self.engine

    @property
    def sent_messages(self) -> tuple[SentMessage, ...]:
        """Every SMS the host submitted so far (see :class:`SentMessage`)."""
        with self._condition:
            return self.engine.sent_messages

    def now(self) -> float:
        """The clock's current time."""
        return self._clock()

    @property
    def generation(self) -> int:
        """How many times the port has vanished; a port opened before is dead for good."""
        with self._condition:
            return self.engine.unplug_count

    def plugged(self) -> bool:
        """True while the port exists."""
        with self._condition:
            return self.engine.is_plugged(self._clock())

    def _pull(self) -> bool:
        # Caller holds the lock. Moves due output into the pending buffer.
        now = self._clock()
        if not self.engine.is_plugged(now):
            self._pending.clear()
            return False
        self._pending += self.engine.output(now)
        return True

    # ------------------------------------------------------------------ port side

    def write(self, data: bytes, generation: int) -> None:
        """Hand bytes from the host to the engine.

        Raises:
            ConnectionError: the port has vanished since ``generation``.
        """
        with self._condition:
            self._check(generation)
            self.engine.receive(data, self._clock())
            self._condition.notify_all()

    def read(self, size: int, timeout: float | None, generation: int) -> bytes:
        """Up to ``size`` bytes, waiting at most ``timeout`` seconds (``None``: forever).

        Returns as soon as at least one byte is there and nothing more is due right now,
        like a serial port with a read timeout.

        Raises:
            ConnectionError: the port has vanished since ``generation`` (or meanwhile).
        """
        deadline = None if timeout is None else self._clock() + timeout
        with self._condition:
            while True:
                self._check(generation)
                if len(self._pending) >= size or (self._pending and deadline is not None):
                    break
                now = self._clock()
                if deadline is not None and now >= deadline:
                    break
                wake = self.engine.next_event_time()
                limit = (
                    deadline
                    if wake is None
                    else (wake if deadline is None else min(wake, deadline))
                )
                self._condition.wait(None if limit is None else max(limit - now, 0.0005))
            data = bytes(self._pending[:size])
            del self._pending[:size]
            return data

    def in_waiting(self, generation: int) -> int:
        """Bytes ready to read now.

        Raises:
            ConnectionError: the port has vanished since ``generation``.
        """
        with self._condition:
            self._check(generation)
            return len(self._pending)

    def reset_input(self) -> None:
        """Drop what the host has not read yet."""
        with self._condition:
            self._pull()
            self._pending.clear()

    def _check(self, generation: int) -> None:
        if self._closed:
            raise ConnectionError(f"simulated modem {self.name!r} was shut down")
        plugged = self._pull()
        if not plugged or self.engine.unplug_count != generation:
            raise ConnectionError(f"simulated modem {self.name!r} was unplugged")

    def wake(self) -> None:
        """Wake blocked readers (after a control command or on close)."""
        with self._condition:
            self._condition.notify_all()

    # ------------------------------------------------------------------ control side

    def control(self, line: str | bytes | dict[str, Any]) -> dict[str, Any]:
        """Apply one control command (a JSON line or an already-parsed dict)."""
        text = json.dumps(line) if isinstance(line, dict) else line
        with self._condition:
            answer = apply_control(self.engine, text, self._clock())
            self._pull()
            self._condition.notify_all()
        return answer

    # ------------------------------------------------------------------ lifetime

    def attach(self) -> int:
        """Count one more open port; returns the generation it belongs to.

        Raises:
            ConnectionError: the port is unplugged right now.
        """
        with self._condition:
            if self._closed:
                raise ConnectionError(f"simulated modem {self.name!r} was shut down")
            if not self.engine.is_plugged(self._clock()):
                raise ConnectionError(f"simulated modem {self.name!r} is unplugged")
            self._attached += 1
            return self.engine.unplug_count

    def detach(self) -> None:
        """Count one port fewer."""
        with self._condition:
            self._attached = max(0, self._attached - 1)
            self._condition.notify_all()

    @property
    def attached(self) -> int:
        """Open ports on this modem."""
        with self._condition:
            return self._attached

    def close(self) -> None:
        """Stop the control socket and wake every reader; the modem is gone."""
        with self._condition:
            self._closed = True
            self._condition.notify_all()
        if self._control is not None:
            self._control.close()
            self._control = None


class _ControlServer:
    """Unix-socket server for control lines; one thread, any number of clients in turn."""

    def __init__(self, path: Path, modem: LiveModem) -> None:
        self.path = path
        self._modem = modem
        if path.exists() or path.is_symlink():
            raise ControlError(f"control socket path {path} already exists")
        if not path.parent.is_dir():
            raise ControlError(f"control socket folder {path.parent} does not exist")
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self._socket.bind(str(path))
            self._socket.listen(4)
            self._socket.settimeout(0.1)
        except OSError as exc:
            self._socket.close()
            raise ControlError(f"cannot listen on control socket {path}: {exc}") from None
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._serve, name=f"sim-control-{modem.name}", daemon=True
        )
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._socket.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with connection:
                self._talk(connection)

    def _talk(self, connection: socket.socket) -> None:
        connection.settimeout(0.1)
        buffer = b""
        while not self._stop.is_set():
            try:
                chunk = connection.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            if not chunk:
                return
            buffer += chunk
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                if not line.strip():
                    continue
                answer = self._modem.control(line)
                try:
                    connection.sendall(json.dumps(answer).encode() + b"\n")
                except OSError:
                    return

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._socket.close()
        try:
            if stat.S_ISSOCK(os.lstat(self.path).st_mode):
                self.path.unlink()
        except FileNotFoundError:
            pass


# ---------------------------------------------------------------------------------- registry


class _Registry:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._instances: dict[str, LiveModem] = {}

    def open(self, name: str, factory: Callable[[], LiveModem]) -> tuple[LiveModem, int]:
        with self._lock:
            self._purge(keep=name)
            modem = self._instances.get(name)
            if modem is None:
                modem = factory()
                self._instances[name] = modem
            try:
                return modem, modem.attach()
            except ConnectionError:
                if modem.attached == 0 and modem.plugged():
                    del self._instances[name]
                    modem.close()
                raise

    def release(self, name: str, modem: LiveModem) -> None:
        modem.detach()
        with self._lock:
            self._purge(keep=None)

    def _purge(self, keep: str | None) -> None:
        for name, modem in list(self._instances.items()):
            if name != keep and modem.attached == 0 and modem.plugged():
                del self._instances[name]
                modem.close()

    def names(self) -> tuple[str, ...]:
        with self._lock:
            self._purge(keep=None)
            return tuple(self._instances)

    def get(self, name: str) -> LiveModem:
        with self._lock:
            try:
                return self._instances[name]
            except KeyError:
                known = ", ".join(self._instances) or "none"
                raise KeyError(f"no live simulated modem named {name!r} (live: {known})") from None

    def discard(self, name: str) -> None:
        with self._lock:
            modem = self._instances.pop(name, None)
        if modem is not None:
            modem.close()


# One process-wide registry: pyserial builds handler objects itself, so the registry is
# the only place a sim:// port and a test can meet.
_REGISTRY = _Registry()


def lookup(name: str) -> LiveModem:
    """The live in-process modem called ``name`` (the ``name=`` option, else the URL).

    Raises:
        KeyError: no such live instance.
    """
    return _REGISTRY.get(name)


def live_instances() -> tuple[str, ...]:
    """Names of the live in-process modems (after dropping those nobody uses any more)."""
    return _REGISTRY.names()


def discard(name: str) -> None:
    """Shut down and forget a live modem, even if it is unplugged or still attached."""
    _REGISTRY.discard(name)


def open_registered(name: str, factory: Callable[[], LiveModem]) -> tuple[LiveModem, int]:
    """Attach to the live modem ``name``, creating it with ``factory`` when absent.

    Returns:
        The modem and the generation the new port belongs to.

    Raises:
        ConnectionError: the modem exists but is unplugged.
    """
    return _REGISTRY.open(name, factory)


def release_registered(name: str, modem: LiveModem) -> None:
    """Detach a port from ``modem``; unused modems are dropped on the next access."""
    _REGISTRY.release(name, modem)
