"""Opening AT ports: the one place that imports pyserial.

One port string selects the device, through pyserial's ``serial_for_url``:
``/dev/ttyUSB2``, ``/dev/serial/by-id/…``, ``socket://host:port``, ``spy://…``,
``loop://`` and our own ``sim://PROFILE?scenario=…`` (the simulator's URL handler,
registered with pyserial on first use). Device paths are opened exclusively
(an advisory ``flock``, which keeps out our own duplicates; ModemManager does not
take part, hence the hint in the error text).

PCIe/MHI AT ports such as ``/dev/wwan0at0`` are character devices but not TTYs:
pyserial fails on them in ``tcgetattr``. They, and FIFOs, get :class:`FdPort`, a plain
file-descriptor port with the subset of the pyserial API the engine uses.

Every failure comes out as :class:`~modem.errors.ModemUnavailableError` in plain words;
a port string that can never work (unknown scheme, malformed URL, unknown ``sim://``
profile or option) as its subclass :class:`PortUrlError`, which programs treat as a
usage error rather than a missing modem.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import select
import stat
from pathlib import Path
from typing import Protocol

import serial

from modem.errors import ModemUnavailableError

__all__ = ["FdPort", "PortUrlError", "SerialLike", "describe_open_error", "open_port"]

SIM_HANDLER_PACKAGE = "modem.sim.urlhandler"

_BUSY_ERRNOS = frozenset({errno.EBUSY, errno.EAGAIN, errno.EWOULDBLOCK})
_PERMISSION_ERRNOS = frozenset({errno.EACCES, errno.EPERM})
_MISSING_ERRNOS = frozenset({errno.ENOENT, errno.ENODEV, errno.ENXIO})


class PortUrlError(ModemUnavailableError):
    """The port string itself is wrong; no retry or replug can make it work."""


class SerialLike(Protocol):
    """The part of the pyserial ``Serial`` API the AT engine relies on."""

    @property
    def in_waiting(self) -> int:
        """Bytes ready to read without blocking."""
        ...

    def read(self, size: int = 1) -> bytes:
        """Read up to ``size`` bytes, waiting at most the port's timeout."""
        ...

    def write(self, data: bytes, /) -> int | None:
        """Write all of ``data``."""
        ...

    def close(self) -> None:
        """Release the port."""
        ...


def _register_sim_handler() -> None:
    if SIM_HANDLER_PACKAGE not in serial.protocol_handler_packages:
        serial.protocol_handler_packages.append(SIM_HANDLER_PACKAGE)


def open_port(url: str, *, baudrate: int = 115200, timeout: float = 0.1) -> SerialLike:
    """Open an AT port from its URL or device path.

    Args:
        url: a device path or a pyserial URL (``socket://``, ``spy://``, ``sim://`` …).
        baudrate: line speed for real UARTs (USB modules ignore it).
        timeout: how long one ``read`` waits for data, in seconds.

    Returns:
        An open port object with ``read``/``write``/``close``/``in_waiting``.

    Raises:
        ModemUnavailableError: the port is missing, busy, not permitted, of an unknown
            scheme, or rejected its options; the message says which, in plain words.
        ValueError: ``url`` is empty.
    """
    if not url or not url.strip():
        raise ValueError("the port is empty")
    _register_sim_handler()
    is_path = "://" not in url
    if is_path:
        try:
            mode = os.stat(url).st_mode
        except OSError as exc:
            raise ModemUnavailableError(describe_open_error(url, exc)) from exc
        if stat.S_ISFIFO(mode) or (stat.S_ISCHR(mode) and not _is_tty(url)):
            return FdPort(url, timeout=timeout)
    try:
        if is_path:
            port: SerialLike = serial.serial_for_url(
                url, baudrate=baudrate, timeout=timeout, exclusive=True
            )
        else:
            port = serial.serial_for_url(url, baudrate=baudrate, timeout=timeout)
    except (OSError, ValueError) as exc:
        error = PortUrlError if _is_url_error(exc) else ModemUnavailableError
        raise error(describe_open_error(url, exc)) from exc
    return port


def _is_url_error(exc: BaseException) -> bool:
    """True when pyserial or a URL handler refused the port string, not the device."""
    if isinstance(exc, ValueError):
        # pyserial: unknown scheme, or a parameter (baud rate …) out of range.
        return True
    cause = exc.__cause__
    if cause is not None and not isinstance(cause, ConnectionError):
        # The simulator's handler wraps its own refusals (unknown profile or scenario).
        return type(cause).__module__.startswith("modem.sim.")
    # pyserial's socket:// and our sim:// handler both restate the form they expect.
    return str(exc).startswith("expected ")


def _is_tty(path: str) -> bool:
    try:
        fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    except OSError:
        # Let the real open produce the precise error (permission, busy…).
        return True
    try:
        return os.isatty(fd)
    finally:
        os.close(fd)


def describe_open_error(url: str, exc: BaseException) -> str:
    """Say in plain words why ``url`` could not be opened.

    Args:
        url: the port that failed.
        exc: the exception pyserial or the OS raised.

    Returns:
        One or two sentences for an operator.
    """
    code = getattr(exc, "errno", None)
    text = str(exc)
    if text.startswith(f"{url}: "):
        text = text[len(url) + 2 :]
    if isinstance(exc, ValueError) and "protocol" in text and "not known" in text:
        scheme = url.split("://", 1)[0]
        return (
            f"{url}: unknown port scheme {scheme!r}; use a device path, socket://HOST:PORT, "
            "spy://DEVICE or sim://PROFILE"
        )
    if isinstance(exc, ValueError):
        return f"{url}: {text}"
    if code in _MISSING_ERRNOS or "No such file" in text:
        return f"{url}: no such port (is the modem plugged in, and is this its AT port?)"
    if code in _PERMISSION_ERRNOS or "Permission denied" in text:
        return (
            f"{url}: permission denied; add the user to the 'dialout' group "
            "(sudo usermod -aG dialout $USER, then log in again) or fix the udev rule"
        )
    if code in _BUSY_ERRNOS or "exclusively lock" in text or "busy" in text.lower():
        holders = port_holders(url) if "://" not in url else []
        who = (
            "held by " + ", ".join(holders)
            if holders
            else "another program holds it (often ModemManager: stop it or tell it to "
            "ignore the modem with a udev rule)"
        )
        return f"{url}: port busy; {who}"
    if "Connection refused" in text or code == errno.ECONNREFUSED:
        return f"{url}: connection refused (is the simulator or modem server running?)"
    return f"{url}: cannot open the port: {text}"


def port_holders(path: str) -> list[str]:
    """Name the processes that have ``path`` open, as far as /proc lets us see.

    Args:
        path: a device path.

    Returns:
        ``"NAME (pid N)"`` strings; empty when none are visible (other users' processes
        are hidden from unprivileged users).
    """
    try:
        target = os.path.realpath(path)
    except OSError:
        return []
    holders: list[str] = []
    proc = Path("/proc")
    if not proc.is_dir():
        return holders
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            fds = list((entry / "fd").iterdir())
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(fd) == target:
                    name = (entry / "comm").read_text().strip()
                    holders.append(f"{name} (pid {entry.name})")
                    break
            except OSError:
                continue
    return holders


class FdPort:
    """A port over a plain file descriptor, for AT character devices that are not TTYs.

    Args:
        path: the device (``/dev/wwan0at0``) or FIFO.
        timeout: how long :meth:`read` waits for data, in seconds.

    Raises:
        ModemUnavailableError: the device cannot be opened or is locked by another user.
    """

    def __init__(self, path: str, *, timeout: float = 0.1) -> None:
        self.port = path
        self.timeout = timeout
        try:
            fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        except OSError as exc:
            raise ModemUnavailableError(describe_open_error(path, exc)) from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            raise ModemUnavailableError(describe_open_error(path, exc)) from exc
        self._fd: int | None = fd

    def _require_fd(self) -> int:
        if self._fd is None:
            raise serial.SerialException(f"{self.port}: port is closed")
        return self._fd

    @property
    def is_open(self) -> bool:
        """True until :meth:`close`."""
        return self._fd is not None

    @property
    def in_waiting(self) -> int:
        """1 when a read would not block, else 0 (the device does not say how many)."""
        fd = self._require_fd()
        readable, _, _ = select.select([fd], [], [], 0)
        return 1 if readable else 0

    def read(self, size: int = 1) -> bytes:
        """Read up to ``size`` bytes, waiting at most ``timeout`` seconds.

        Raises:
            serial.SerialException: the device went away (EOF or an I/O error).
        """
        fd = self._require_fd()
        readable, _, _ = select.select([fd], [], [], self.timeout)
        if not readable:
            return b""
        try:
            data = os.read(fd, max(1, size))
        except BlockingIOError:
            return b""
        except OSError as exc:
            raise serial.SerialException(f"{self.port}: {exc}") from exc
        if not data:
            raise serial.SerialException(f"{self.port}: device returned end of file")
        return data

    def write(self, data: bytes, /) -> int:
        """Write all of ``data`` (WWAN AT ports want whole command lines per write).

        Raises:
            serial.SerialException: the device went away.
        """
        fd = self._require_fd()
        view = memoryview(data)
        while view:
            try:
                written = os.write(fd, view)
            except BlockingIOError:
                select.select([], [fd], [], self.timeout)
                continue
            except OSError as exc:
                raise serial.SerialException(f"{self.port}: {exc}") from exc
            view = view[written:]
        return len(data)

    def close(self) -> None:
        """Release the device; closing twice is harmless."""
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)
