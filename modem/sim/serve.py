"""Serve a simulated modem on a pseudo-terminal or a loopback TCP port.

``salve-modem simulate`` calls :func:`run_simulator`; tests may call :func:`serve_pty`
and :func:`serve_tcp` directly with a ``stop`` event.

What goes to ``announce`` (stdout for the CLI), one line each:

* the pty path (``/dev/pts/7``) or ``HOST:PORT`` whenever the port (re)appears;
* one JSON answer per control line read from ``control_stream``
  (see :mod:`modem.sim.control`).

Unplug (control command or scenario fault): the pty is closed, so an open client gets
EIO, and the ``--link`` symlink is removed; when the port comes back a new pty is made,
the link re-created and the new path announced. Over TCP the client is dropped and the
listening socket closed (connections are refused) until the port comes back on the same
address.
"""

from __future__ import annotations

import ipaddress
import json
import os
import select
import signal
import socket
import sys
import threading
import tty
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from modem.sim.engine import SimulatedModem, create_modem
from modem.sim.errors import SimulatorError
from modem.sim.live import LiveModem
from modem.sim.scenario import load_scenario

__all__ = ["EngineFactory", "announce_stdout", "run_simulator", "serve_pty", "serve_tcp"]

#: Builds the engine given the monotonic time of creation.
EngineFactory = Callable[[float], SimulatedModem]

_POLL = 0.05  # longest wait between looks at the stop event and the modem's clock
_PROGRAM = "salve-modem"


def _refuse(words: str, code: int) -> int:
    # The command this serves is `salve-modem simulate`: its messages read "PROGRAM: words".
    sys.stderr.write(f"{_PROGRAM}: {words}\n")
    return code


def announce_stdout(line: str) -> None:
    """Write one line to stdout and flush it, so a parent process sees it at once."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _start_control_reader(
    live: LiveModem, control_stream: IO[str] | None, announce: Callable[[str], Any]
) -> None:
    if control_stream is None:
        return

    def pump() -> None:
        for line in control_stream:
            if line.strip():
                announce(json.dumps(live.control(line)))

    threading.Thread(target=pump, name="sim-control-stream", daemon=True).start()


def _wait_for_port(live: LiveModem, stop: threading.Event) -> bool:
    # The port is unplugged: look again every poll interval until it is back or we stop.
    while not live.plugged():
        if stop.wait(_POLL):
            return False
    return not stop.is_set()


def _wait_seconds(live: LiveModem) -> float:
    with live.locked() as engine:
        wake = engine.next_event_time()
    if wake is None:
        return _POLL
    return min(_POLL, max(0.0, wake - live.now()))


def _place_link(link: Path, target: str) -> None:
    temporary = link.with_name(f".{link.name}.{os.getpid()}.tmp")
    temporary.unlink(missing_ok=True)
    temporary.symlink_to(target)
    os.replace(temporary, link)


def _remove_link(link: Path, target: str) -> None:
    try:
        if link.is_symlink() and os.readlink(link) == target:
            link.unlink()
    except FileNotFoundError:
        pass


def serve_pty(
    engine_factory: EngineFactory,
    link: Path | None,
    *,
    control_stream: IO[str] | None = None,
    announce: Callable[[str], Any] = announce_stdout,
    stop: threading.Event | None = None,
) -> int:
    """Serve the simulated modem on a pseudo-terminal until ``stop`` is set.

    Args:
        engine_factory: builds the engine.
        link: a symlink kept pointing at the current pty (re-created after an unplug).
        control_stream: text stream of JSON control lines (``None``: no control).
        announce: called with each line to publish (pty path, control answers).
        stop: set it to end serving; ``None`` serves until the process is interrupted.

    Returns:
        0.

    Raises:
        OSError: no pty can be allocated, or the link cannot be placed.
    """
    stop = stop or threading.Event()
    live = LiveModem(engine_factory, name="pty")
    _start_control_reader(live, control_stream, announce)
    try:
        while _wait_for_port(live, stop):
            generation = live.generation
            path = ""
            master, slave = os.openpty()
            try:
                # Raw mode: the line discipline must not echo or translate CR/LF; the
                # simulated modem does its own echo like a real one.
                tty.setraw(slave)
                os.set_blocking(master, False)
                path = os.ttyname(slave)
                if link is not None:
                    _place_link(link, path)
                announce(path)
                _pump_pty(live, master, generation, stop)
            finally:
                os.close(master)
                os.close(slave)
                if link is not None and path:
                    _remove_link(link, path)
    finally:
        live.close()
    return 0


def _pump_pty(live: LiveModem, master: int, generation: int, stop: threading.Event) -> None:
    while not stop.is_set():
        readable, _, _ = select.select([master], [], [], _wait_seconds(live))
        try:
            if readable:
                try:
                    data = os.read(master, 4096)
                except BlockingIOError:
                    data = b""
                except OSError:
                    data = b""  # no client has the slave open right now
                if data:
                    live.write(data, generation)
            output = live.read(1 << 16, 0, generation)
        except ConnectionError:
            return  # unplugged
        if output:
            try:
                os.write(master, output)
            except (BlockingIOError, OSError):
                # Nobody reads and the pty buffer is full: a real UART drops it too.
                pass


def _loopback(host: str) -> str:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        if host == "localhost":
            return "127.0.0.1"
        raise ValueError(f"{host!r} is not an IP address; use 127.0.0.1 or ::1") from None
    if not address.is_loopback:
        raise ValueError(f"{host} is not a loopback address; the simulator serves loopback only")
    return host


def serve_tcp(
    engine_factory: EngineFactory,
    host: str,
    port: int,
    *,
    control_stream: IO[str] | None = None,
    announce: Callable[[str], Any] = announce_stdout,
    stop: threading.Event | None = None,
) -> int:
    """Serve the simulated modem on a loopback TCP port until ``stop`` is set.

    One client at a time, like a serial port: a second connection is closed at once.
    Clients use pyserial's ``socket://HOST:PORT``.

    Args:
        engine_factory: builds the engine.
        host: a loopback address (``127.0.0.1``, ``::1`` or ``localhost``).
        port: TCP port; 0 picks a free one (announced).
        control_stream: text stream of JSON control lines (``None``: no control).
        announce: called with each line to publish (``HOST:PORT``, control answers).
        stop: set it to end serving.

    Returns:
        0.

    Raises:
        ValueError: ``host`` is not a loopback address.
        OSError: the port cannot be bound.
    """
    host = _loopback(host)
    stop = stop or threading.Event()
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    live = LiveModem(engine_factory, name="tcp")
    _start_control_reader(live, control_stream, announce)
    try:
        while _wait_for_port(live, stop):
            generation = live.generation
            listener = socket.socket(family, socket.SOCK_STREAM)
            try:
                listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                listener.bind((host, port))
                listener.listen(1)
                port = listener.getsockname()[1]
                announce(f"{host}:{port}" if family == socket.AF_INET else f"[{host}]:{port}")
                _pump_tcp(live, listener, generation, stop)
            finally:
                listener.close()
    finally:
        live.close()
    return 0


def _pump_tcp(
    live: LiveModem, listener: socket.socket, generation: int, stop: threading.Event
) -> None:
    client: socket.socket | None = None
    try:
        while not stop.is_set():
            sockets = [listener] if client is None else [listener, client]
            readable, _, _ = select.select(sockets, [], [], _wait_seconds(live))
            if listener in readable:
                connection, _ = listener.accept()
                if client is None:
                    connection.setblocking(False)
                    client = connection
                else:
                    connection.close()  # busy, like an exclusively opened port
            try:
                if client is not None and client in readable:
                    try:
                        data = client.recv(4096)
                    except (BlockingIOError, ConnectionError):
                        data = b""
                    if data:
                        live.write(data, generation)
                    else:
                        client.close()
                        client = None
                output = live.read(1 << 16, 0, generation)
            except ConnectionError:
                return  # unplugged
            if output and client is not None:
                try:
                    client.sendall(output)
                except (BlockingIOError, OSError):
                    client.close()
                    client = None
    finally:
        if client is not None:
            client.close()


def run_simulator(
    profile: str | None,
    scenario: str | Path | None,
    seed: int,
    *,
    pty: bool,
    link: Path | None,
    tcp: tuple[str, int] | None,
    control_stream: IO[str] | None = sys.stdin,
    announce: Callable[[str], Any] = announce_stdout,
) -> int:
    """Run ``salve-modem simulate``: serve one simulated modem until interrupted.

    Args:
        profile: persona name; ``None`` or ``""`` uses the scenario's.
        scenario: shipped scenario name or TOML path; ``None`` for the default.
        seed: the seed.
        pty: serve on a pseudo-terminal.
        link: with ``pty``, a symlink kept pointing at the pty.
        tcp: serve on this loopback ``(host, port)`` instead.
        control_stream: JSON control lines (stdin by default).
        announce: where published lines go (stdout by default).

    Returns:
        0 after SIGINT/SIGTERM; 2 when the arguments, profile or scenario are unusable
        (the reason is written to stderr in plain words).
    """
    if pty == (tcp is not None):
        return _refuse("choose exactly one of --pty or --tcp HOST:PORT", 2)
    if link is not None and not pty:
        return _refuse("--link only goes with --pty", 2)
    try:
        loaded = load_scenario(scenario)
        create_modem(profile, loaded, seed=seed)  # validate profile and scenario up front
        if tcp is not None:
            _loopback(tcp[0])
    except (SimulatorError, ValueError) as exc:
        return _refuse(str(exc), 2)

    def factory(now: float) -> SimulatedModem:
        return create_modem(profile, loaded, seed=seed, now=now)

    stop = threading.Event()
    previous: dict[signal.Signals, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for number in (signal.SIGINT, signal.SIGTERM):
            previous[number] = signal.signal(number, lambda *_: stop.set())
    try:
        if tcp is not None:
            return serve_tcp(
                factory,
                tcp[0],
                tcp[1],
                control_stream=control_stream,
                announce=announce,
                stop=stop,
            )
        return serve_pty(factory, link, control_stream=control_stream, announce=announce, stop=stop)
    except OSError as exc:
        return _refuse(f"cannot serve the simulated modem: {exc}", 1)
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
