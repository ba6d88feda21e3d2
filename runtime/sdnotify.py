"""A minimal client for systemd's notification protocol (``sd_notify(3)``).

The service manager passes an ``AF_UNIX`` datagram socket in ``$NOTIFY_SOCKET``; a
leading ``@`` means the Linux abstract namespace (the ``@`` becomes a NUL byte).
Each message is newline-separated ``KEY=VALUE`` assignments such as ``READY=1``,
``STATUS=…``, ``WATCHDOG=1``, ``RELOADING=1`` or ``STOPPING=1``. Without
``$NOTIFY_SOCKET`` (not started by systemd) every call does nothing.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Mapping

from runtime.logs import log_event

__all__ = ["SystemdNotifier"]

_log = logging.getLogger(__name__)


class SystemdNotifier:
    """Sends notifications to the service manager; a no-op when there is none."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        """Reads ``NOTIFY_SOCKET``, ``WATCHDOG_USEC`` and ``WATCHDOG_PID``.

        Args:
            environ: the environment (``os.environ`` when omitted).
        """
        env = os.environ if environ is None else environ
        address = env.get("NOTIFY_SOCKET", "")
        self._address: str | bytes | None
        if not address:
            self._address = None
        elif address.startswith("@"):
            self._address = b"\0" + address[1:].encode()
        elif address.startswith("/"):
            self._address = address
        else:
            log_event(
                _log,
                logging.WARNING,
                "notify_socket_ignored",
                "NOTIFY_SOCKET is not a unix socket path",
            )
            self._address = None
        self._watchdog_usec = _watchdog_usec(env)

    @property
    def enabled(self) -> bool:
        """True when a service manager listens."""
        return self._address is not None

    @property
    def watchdog_interval_s(self) -> float | None:
        """The watchdog timeout systemd enforces, in seconds, or ``None`` when off."""
        return None if self._watchdog_usec is None else self._watchdog_usec / 1_000_000

    def notify(self, **fields: str | int) -> bool:
        """Sends one message made of ``KEY=VALUE`` lines, e.g. ``notify(READY=1)``.

        Returns:
            True when the message was sent; False when there is no socket or sending
            failed (a service manager that went away must not take the daemon down).
        """
        if self._address is None:
            return False
        lines = []
        for key, value in fields.items():
            text = str(value).replace("\n", " ")
            lines.append(f"{key}={text}")
        message = "\n".join(lines).encode("utf-8")
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.connect(self._address)
                sock.sendall(message)
        except OSError as error:
            log_event(_log, logging.WARNING, "notify_failed", error.strerror or str(error))
            return False
        return True

    def ready(self, status: str | None = None) -> bool:
        """``READY=1`` (start-up or reload finished), with an optional ``STATUS=``."""
        if status is None:
            return self.notify(READY=1)
        return self.notify(READY=1, STATUS=status)

    def status(self, text: str) -> bool:
        """``STATUS=``: one line that says what the service is doing."""
        return self.notify(STATUS=text)

    def watchdog(self) -> bool:
        """``WATCHDOG=1``: the main loop is alive."""
        return self.notify(WATCHDOG=1)

    def reloading(self) -> bool:
        """``RELOADING=1`` with ``MONOTONIC_USEC`` (required by ``Type=notify-reload``)."""
        return self.notify(
            RELOADING=1, MONOTONIC_USEC=time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        )

    def stopping(self, status: str | None = None) -> bool:
        """``STOPPING=1``: shutting down."""
        if status is None:
            return self.notify(STOPPING=1)
        return self.notify(STOPPING=1, STATUS=status)


def _watchdog_usec(env: Mapping[str, str]) -> int | None:
    raw = env.get("WATCHDOG_USEC", "")
    if not raw.isdigit() or int(raw) == 0:
        return None
    pid = env.get("WATCHDOG_PID", "")
    # WATCHDOG_PID names the process systemd expects pings from; another process
    # (a child that inherited the environment) must not think it is watched.
    if pid and pid != str(os.getpid()):
        return None
    return int(raw)
