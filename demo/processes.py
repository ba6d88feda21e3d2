"""Running the project's programs for the demo: one-shot tools and long-running services.

Every service is started in a process group of its own, with its output in a log file,
and :meth:`Processes.stop_all` ends each group (SIGTERM, then SIGKILL after a grace
period), so nothing outlives the demo, whether it ends normally, fails, or is interrupted.
The programs run with the interpreter's own ``bin`` directory first, and without any
``SALVE_*`` variable of the caller's environment, so an operator's settings never leak in.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Final, TypeVar

__all__ = ["DemoError", "Processes", "Service", "ToolResult", "live_groups", "wait_for"]

T = TypeVar("T")

BIN: Final = Path(sys.executable).parent
STOP_GRACE_S: Final = 10.0
#: How long a process group may take to vanish after SIGKILL.
GROUP_EXIT_WAIT_S: Final = 5.0
TOOL_TIMEOUT_S: Final = 120.0


class DemoError(Exception):
    """A step of the demo failed; the message says which and why."""


def wait_for(what: str, probe: Callable[[], T | None], timeout: float) -> T:
    """Poll ``probe`` until it returns something other than None (or False).

    Raises:
        DemoError: ``timeout`` seconds passed first.
    """
    deadline = time.monotonic() + timeout
    delay = 0.02
    while True:
        value = probe()
        if value is not None and value is not False:
            return value
        if time.monotonic() > deadline:
            raise DemoError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(delay)  # polling interval, not a race being hidden
        delay = min(delay * 1.5, 0.25)


@dataclass(frozen=True, slots=True)
class ToolResult:
    """A finished tool: its exit code and output."""

    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str


@dataclass
class Service:
    """A long-running program started by :meth:`Processes.start`."""

    label: str
    process: subprocess.Popen[bytes]
    log_path: Path
    _log: IO[bytes] = field(repr=False)

    def alive(self) -> bool:
        """Whether it still runs."""
        return self.process.poll() is None

    def log_tail(self, lines: int = 8) -> str:
        """The last lines of its log."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join([line for line in text.splitlines() if line.strip()][-lines:])

    def check(self) -> None:
        """Raise DemoError, quoting the log, when it has exited."""
        if not self.alive():
            raise DemoError(
                f"{self.label} exited with status {self.process.returncode}:\n    "
                + self.log_tail().replace("\n", "\n    ")
            )


def clean_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The caller's environment without ``SALVE_*`` settings, the venv's programs first."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SALVE_")}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra or {})
    return env


def live_groups(pgids: Iterable[int]) -> list[int]:
    """Those of the process groups that still hold a live process (Linux ``/proc``).

    A zombie (dead, waiting for init to collect it) does not count.
    """
    wanted = set(pgids)
    alive = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # it ended while we looked
        if fields[0] != "Z" and int(fields[2]) in wanted:
            alive.add(int(fields[2]))
    return sorted(alive)


class Processes:
    """The programs one demo (or one test session) runs, and their logs."""

    def __init__(self, log_dir: Path) -> None:
        log_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir = log_dir
        self.env = clean_environment()
        self.services: list[Service] = []
        #: The process group of every service ever started (see :func:`live_groups`).
        self.groups: list[int] = []

    @staticmethod
    def executable(name: str) -> str:
        """The program ``name`` installed beside this interpreter (or found on PATH)."""
        candidate = BIN / name
        return str(candidate) if candidate.exists() else name

    def run(self, *args: str, check: bool = True, timeout: float = TOOL_TIMEOUT_S) -> ToolResult:
        """Run one of the project's programs to its end.

        Raises:
            DemoError: It failed (``check``) or did not finish in time.
        """
        command = [self.executable(args[0]), *args[1:]]
        try:
            done = subprocess.run(
                command,
                env=self.env,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
                start_new_session=True,
            )
        except subprocess.TimeoutExpired:
            raise DemoError(f"`{' '.join(args[:3])} ...` did not finish in {timeout:g} s") from None
        result = ToolResult(tuple(args), done.returncode, done.stdout, done.stderr)
        if check and done.returncode != 0:
            detail = (done.stderr or done.stdout).strip().splitlines()[-4:]
            raise DemoError(
                f"`{' '.join(args[:3])} ...` exited with {done.returncode}: " + " | ".join(detail)
            )
        return result

    def start(self, label: str, *args: str, env: Mapping[str, str] | None = None) -> Service:
        """Start a long-running program in its own process group, output to ``label.log``."""
        log_path = self.log_dir / f"{label}.log"
        log = log_path.open("ab")
        try:
            process = subprocess.Popen(
                [self.executable(args[0]), *args[1:]],
                env={**self.env, **(env or {})},
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except BaseException:
            log.close()
            raise
        service = Service(label, process, log_path, log)
        self.services.append(service)
        self.groups.append(process.pid)
        return service

    def check_alive(self) -> None:
        """Raise DemoError when a started service has exited."""
        for service in self.services:
            service.check()

    def stop(self, service: Service) -> None:
        """End one service's process group: SIGTERM, then SIGKILL after the grace period."""
        process = service.process
        if process.poll() is None:
            _signal_group(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                _signal_group(process.pid, signal.SIGKILL)
                process.wait(timeout=5)
        # Whatever the program left behind in its group goes too. A signal is delivered
        # asynchronously: wait until the group is really empty, so that "stopped" is true
        # when this returns (the demo checks it, and a port may be reused at once).
        _signal_group(process.pid, signal.SIGKILL)
        deadline = time.monotonic() + GROUP_EXIT_WAIT_S
        while live_groups([process.pid]) and time.monotonic() < deadline:
            time.sleep(0.01)
        service._log.close()
        with contextlib.suppress(ValueError):
            self.services.remove(service)

    def stop_all(self) -> None:
        """Stop every service, newest first (all SIGTERMs first, so they stop together)."""
        services = list(reversed(self.services))
        for service in services:
            if service.alive():
                _signal_group(service.process.pid, signal.SIGTERM)
        for service in services:
            self.stop(service)


def _signal_group(pgid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)
