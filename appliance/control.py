"""The daemon's local status socket and the client ``salve-appliance status`` uses.

Protocol: a Unix stream socket; the client sends one line (``status``), the daemon
answers with one line of JSON and closes. The socket file is mode 0660, so the
service's own group (and root) may ask; nothing on it changes the daemon's state.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import select
import socket
import stat
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from appliance.errors import ApplianceError, DaemonNotRunningError
from runtime.logs import log_event

__all__ = ["StatusServer", "query_status"]

_log = logging.getLogger(__name__)
_MAX_REQUEST = 256


class StatusServer:
    """Answers ``status`` requests on a Unix socket from a background thread."""

    def __init__(self, path: Path, provider: Callable[[], dict[str, Any]]) -> None:
        """Creates the server (call :meth:`start`).

        Args:
            path: the socket path.
            provider: returns the current status as a JSON-ready dict (thread-safe).
        """
        self._path = path
        self._provider = provider
        self._socket: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def start(self) -> None:
        """Binds the socket and starts answering.

        Raises:
            ApplianceError: another daemon answers on the path, or it cannot be bound.
        """
        if self._path.exists() or self._path.is_symlink():
            if not stat.S_ISSOCK(self._path.lstat().st_mode):
                raise ApplianceError(f"{self._path} exists and is not a socket; remove it")
            with contextlib.suppress(DaemonNotRunningError):
                query_status(self._path, timeout=1.0)
                raise ApplianceError(
                    f"another salve-appliance daemon already answers on {self._path}"
                )
            self._path.unlink()
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            sock.bind(str(self._path))
            os.chmod(self._path, 0o660)
            sock.listen(8)
        except OSError as error:
            sock.close()
            raise ApplianceError(
                f"cannot listen on the status socket {self._path}: {error.strerror or error}"
            ) from None
        self._socket = sock
        self._thread = threading.Thread(target=self._serve, name="status-socket", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stops answering and removes the socket file."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2.0)
        if self._socket is not None:
            self._socket.close()
            with contextlib.suppress(FileNotFoundError):
                self._path.unlink()

    def _serve(self) -> None:
        assert self._socket is not None
        while not self._stop.is_set():
            readable, _, _ = select.select([self._socket], [], [], 0.2)
            if not readable:
                continue
            try:
                connection, _ = self._socket.accept()
            except OSError:
                continue
            with connection:
                self._answer(connection)

    def _answer(self, connection: socket.socket) -> None:
        connection.settimeout(2.0)
        try:
            request = b""
            while b"\n" not in request and len(request) < _MAX_REQUEST:
                chunk = connection.recv(_MAX_REQUEST)
                if not chunk:
                    break
                request += chunk
            command = request.split(b"\n", 1)[0].strip()
            if command == b"status":
                try:
                    answer: dict[str, Any] = self._provider()
                except Exception as error:
                    # A status bug must not kill the socket thread; say what failed.
                    _log.exception("event=status_failed")
                    answer = {"error": f"status failed: {error}"}
            else:
                answer = {"error": "unknown request; send `status`"}
            connection.sendall(json.dumps(answer, default=str).encode("utf-8") + b"\n")
        except OSError as error:
            log_event(_log, logging.DEBUG, "status_client_error", str(error))


def query_status(path: Path, timeout: float = 5.0) -> dict[str, Any]:
    """Asks the running daemon for its status.

    Args:
        path: the daemon's status socket.
        timeout: how long to wait for the answer.

    Returns:
        The daemon's status as a dict.

    Raises:
        DaemonNotRunningError: nothing listens on ``path``.
        ApplianceError: the daemon answered with something that is not a status.
    """
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.connect(str(path))
        except (FileNotFoundError, ConnectionRefusedError):
            raise DaemonNotRunningError(
                f"the salve-appliance daemon is not running (nothing listens on {path})"
            ) from None
        except PermissionError:
            raise ApplianceError(
                f"not allowed to open {path}; run as root or as a member of the service's group"
            ) from None
        except OSError as error:
            raise DaemonNotRunningError(
                f"the salve-appliance daemon does not answer on {path}: {error.strerror}"
            ) from None
        try:
            sock.sendall(b"status\n")
            data = b""
            while not data.endswith(b"\n"):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
        except TimeoutError:
            raise ApplianceError(f"the daemon did not answer on {path} in {timeout:g} s") from None
        except OSError as error:
            raise DaemonNotRunningError(
                f"the daemon closed the connection on {path}: {error.strerror}"
            ) from None
    try:
        answer = json.loads(data)
    except ValueError:
        raise ApplianceError(f"the daemon sent something that is not JSON on {path}") from None
    if not isinstance(answer, dict):
        raise ApplianceError(f"the daemon sent an unexpected answer on {path}")
    if "error" in answer and len(answer) == 1:
        raise ApplianceError(f"the daemon could not report its status: {answer['error']}")
    return answer
