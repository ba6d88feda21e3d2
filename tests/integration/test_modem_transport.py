"""Opening ports: device paths, URLs, the file-descriptor path, and plain-words errors."""

from __future__ import annotations

import errno
import os
import pty
import re
import tty
from collections.abc import Iterator
from pathlib import Path

import pytest
import serial

from modem.errors import ModemUnavailableError
from modem.transport import FdPort, describe_open_error, open_port


@pytest.fixture
def pty_path() -> Iterator[str]:
    controller, device = pty.openpty()
    tty.setraw(device)
    try:
        yield os.ttyname(device)
    finally:
        os.close(controller)
        os.close(device)


def test_missing_device_says_no_such_port(tmp_path: Path) -> None:
    with pytest.raises(ModemUnavailableError, match="no such port"):
        open_port(str(tmp_path / "ttyUSB9"))


def test_busy_device_says_who_may_hold_it(pty_path: str) -> None:
    first = open_port(pty_path)
    try:
        with pytest.raises(ModemUnavailableError, match="busy") as info:
            open_port(pty_path)
        assert "ModemManager" in str(info.value) or "pid" in str(info.value)
    finally:
        first.close()
    open_port(pty_path).close()


def test_unknown_scheme_is_named() -> None:
    with pytest.raises(ModemUnavailableError, match="unknown port scheme 'nosuch'"):
        open_port("nosuch://x")


def test_refused_socket_is_plain_words() -> None:
    with pytest.raises(ModemUnavailableError, match=r"refused|cannot open"):
        open_port("socket://127.0.0.1:1")


def test_empty_port_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        open_port(" ")


@pytest.mark.parametrize(
    ("code", "words"),
    [
        (errno.EACCES, "dialout"),
        (errno.EPERM, "dialout"),
        (errno.ENOENT, "no such port"),
        (errno.ENODEV, "no such port"),
        (errno.EBUSY, "busy"),
        (errno.EAGAIN, "busy"),
    ],
)
def test_every_errno_maps_to_words(code: int, words: str) -> None:
    message = describe_open_error("/dev/ttyUSB2", serial.SerialException(code, os.strerror(code)))
    assert words in message
    assert message.startswith("/dev/ttyUSB2: ")


def test_pty_device_round_trip(pty_path: str) -> None:
    port = open_port(pty_path, timeout=0.05)
    try:
        port.write(b"AT\r")
    finally:
        port.close()


def test_fifo_uses_the_file_descriptor_path(tmp_path: Path) -> None:
    fifo = tmp_path / "wwan0at0"
    os.mkfifo(fifo)
    port = open_port(str(fifo), timeout=0.05)
    try:
        assert isinstance(port, FdPort)
        # A FIFO opened read-write reads back what was written: a loopback.
        port.write(b"AT+CSQ\r")
        received = b""
        for _ in range(20):
            received += port.read(64)
            if received == b"AT+CSQ\r":
                break
        assert received == b"AT+CSQ\r"
        assert port.in_waiting == 0
    finally:
        port.close()
    port.close()


def test_non_tty_character_device_uses_the_file_descriptor_path() -> None:
    port = open_port("/dev/null", timeout=0.01)
    try:
        assert isinstance(port, FdPort)
        assert port.write(b"AT\r") == 3
    finally:
        port.close()


def test_fd_port_is_exclusive(tmp_path: Path) -> None:
    fifo = tmp_path / "wwan0at1"
    os.mkfifo(fifo)
    first = FdPort(str(fifo))
    try:
        with pytest.raises(ModemUnavailableError, match="busy"):
            FdPort(str(fifo))
    finally:
        first.close()


def test_closed_fd_port_raises_serial_exception(tmp_path: Path) -> None:
    fifo = tmp_path / "wwan0at2"
    os.mkfifo(fifo)
    port = FdPort(str(fifo))
    port.close()
    with pytest.raises(serial.SerialException):
        port.read(1)


def _serial_exception_classes() -> list[type[BaseException]]:
    found: list[type[BaseException]] = []
    pending: list[type[BaseException]] = [serial.SerialException]
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return found


@pytest.mark.parametrize("exception_class", _serial_exception_classes())
def test_every_pyserial_exception_becomes_unavailable(
    monkeypatch: pytest.MonkeyPatch, exception_class: type[BaseException]
) -> None:
    try:
        error = exception_class("could not open port")
    except TypeError:  # PortNotOpenError takes no arguments
        error = exception_class()

    def failing_open(url: str, *args: object, **kwargs: object) -> None:
        raise error

    # pyserial is the outermost edge here; its failures are what is being mapped.
    monkeypatch.setattr(serial, "serial_for_url", failing_open)
    with pytest.raises(ModemUnavailableError, match=re.escape("socket://127.0.0.1:9")):
        open_port("socket://127.0.0.1:9")
