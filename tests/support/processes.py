"""Child processes on loopback: free ports, polling with a deadline, stopping, a clean
environment."""

from __future__ import annotations

import os
import select
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for(condition: Callable[[], T], what: str = "", timeout: float = 20.0) -> T:
    """Polls ``condition`` until it returns something truthy and returns that.

    Raises:
        AssertionError: ``timeout`` seconds passed first (the message names ``what``).
    """
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what or condition}")
        select.select([], [], [], 0.02)  # the polling interval, not a race being hidden


def stop_process(
    process: subprocess.Popen[Any], *, sig: int = signal.SIGTERM, timeout: float = 15.0
) -> int:
    """Sends ``sig`` (if the process still runs), kills it after ``timeout`` seconds, and
    returns its exit code."""
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
    return process.returncode


def clean_env(*prefixes: str) -> dict[str, str]:
    """This process's environment without the variables that start with ``prefixes``
    (so a developer's own settings cannot leak into a server under test)."""
    return {key: value for key, value in os.environ.items() if not key.startswith(prefixes)}
