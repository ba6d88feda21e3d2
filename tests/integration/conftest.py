"""Fixtures for the integration tests: a scripted module on a real pty, sim URLs, the
``salve-modem`` command line, polling helpers (never fixed sleeps), and systemd's end of
``NOTIFY_SOCKET``."""

from __future__ import annotations

import contextlib
import os
import pty
import select
import socket
import struct
import sys
import tempfile
import threading
import time
import tty
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from modem.sim.personas import PERSONA_NAMES

Responder = Callable[[str], bytes | None]


def wait_for(condition: Callable[[], bool], *, timeout: float = 10.0, what: str = "") -> None:
    """Poll ``condition`` until it is true or fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what or condition}")
        select.select([], [], [], 0.01)


class PtyModem:
    """A scripted module on the controller side of a pty: the outermost edge, faked.

    ``respond(command)`` returns the bytes to answer with (None: stay silent). The port
    path is a symlink, so :meth:`unplug` and :meth:`replug` can make the port vanish and
    come back under the same name, as udev does for a re-enumerated USB modem.
    """

    def __init__(self, directory: Path, respond: Responder) -> None:
        self.link = directory / "ttyMODEM"
        self.respond = respond
        self.received: list[str] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._controller = -1
        self._device = -1
        self.replug()

    @property
    def path(self) -> str:
        return str(self.link)

    def replug(self) -> None:
        controller, device = pty.openpty()
        tty.setraw(device)
        tty.setraw(controller)
        name = os.ttyname(device)
        with contextlib.suppress(FileNotFoundError):
            self.link.unlink()
        self.link.symlink_to(name)
        self._controller, self._device = controller, device
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, args=(controller, self._stop))
        self._thread.daemon = True
        self._thread.start()

    def unplug(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        with contextlib.suppress(FileNotFoundError):
            self.link.unlink()
        for fd in (self._controller, self._device):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._controller = self._device = -1

    def inject(self, data: bytes) -> None:
        """Write unsolicited bytes to the host."""
        os.write(self._controller, data)

    def commands(self) -> list[str]:
        with self._lock:
            return list(self.received)

    def _serve(self, controller: int, stop: threading.Event) -> None:
        buffer = b""
        while not stop.is_set():
            try:
                ready, _, _ = select.select([controller], [], [], 0.02)
                if not ready:
                    continue
                data = os.read(controller, 1024)
            except OSError:
                return
            buffer += data
            while b"\r" in buffer or b"\x1a" in buffer:
                # A command ends at CR; data after a prompt ends at Ctrl-Z (kept in the line).
                ends = [i for i in (buffer.find(b"\r"), buffer.find(b"\x1a")) if i >= 0]
                end = min(ends)
                keep = buffer[end : end + 1] == b"\x1a"
                raw, buffer = buffer[: end + 1 if keep else end], buffer[end + 1 :]
                line = raw.decode("latin-1").strip()
                if not line:
                    continue
                with self._lock:
                    self.received.append(line)
                answer = self.respond(line)
                if answer:
                    with contextlib.suppress(OSError):
                        os.write(controller, answer)

    def close(self) -> None:
        self.unplug()


@pytest.fixture
def pty_modem_factory(tmp_path: Path) -> Iterator[Callable[[Responder], PtyModem]]:
    made: list[PtyModem] = []

    def make(respond: Responder) -> PtyModem:
        modem = PtyModem(tmp_path, respond)
        made.append(modem)
        return modem

    yield make
    for modem in made:
        modem.close()


SIM_PERSONAS = PERSONA_NAMES


@pytest.fixture(params=SIM_PERSONAS)
def port_url(request: pytest.FixtureRequest) -> str:
    """The port the shared modem API checks run against: every simulator persona here;
    ``hw-tests/`` gives the same checks a real module."""
    return f"sim://{request.param}"


def salve_modem_command(*args: str) -> list[str]:
    """The ``salve-modem`` command line, run through the interpreter of this venv."""
    return [sys.executable, "-m", "modem", *args]


@pytest.fixture
def wait_until() -> Callable[..., None]:
    """:func:`wait_for` as a fixture (test modules cannot import conftest)."""
    return wait_for


@pytest.fixture
def salve_modem() -> Callable[..., list[str]]:
    """:func:`salve_modem_command` as a fixture."""
    return salve_modem_command


class NotifySocket:
    """systemd's end of ``NOTIFY_SOCKET``: each message with the pid that sent it.

    The sender's pid comes from the kernel (``SO_PASSCRED``), as systemd reads it, so a
    test can tell the main process's notifications from a worker's.
    """

    def __init__(self, path: Path) -> None:
        """Binds the datagram socket at ``path``."""
        self.path = path
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self._sock.bind(str(path))
        self.messages: list[tuple[int, dict[str, str]]] = []

    def wait_for(self, key: str, *, timeout: float = 30.0) -> tuple[int, dict[str, str]]:
        """The next message (after those already returned) that sets ``key``."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                pytest.fail(f"no {key}= notification within {timeout:g} s: {self.messages}")
            self._sock.settimeout(remaining)
            try:
                data, ancillary, _, _ = self._sock.recvmsg(4096, socket.CMSG_SPACE(12))
            except TimeoutError:
                continue
            pid = next(
                struct.unpack("iII", payload)[0]
                for level, kind, payload in ancillary
                if (level, kind) == (socket.SOL_SOCKET, socket.SCM_CREDENTIALS)
            )
            fields = dict(line.split("=", 1) for line in data.decode().splitlines())
            self.messages.append((pid, fields))
            if key in fields:
                return pid, fields

    def close(self) -> None:
        """Closes the socket."""
        self._sock.close()


@pytest.fixture
def notify_socket() -> Iterator[NotifySocket]:
    """A :class:`NotifySocket` in a short temporary directory (socket paths are short)."""
    with tempfile.TemporaryDirectory(prefix="ntf") as short:
        listener = NotifySocket(Path(short) / "notify")
        try:
            yield listener
        finally:
            listener.close()
