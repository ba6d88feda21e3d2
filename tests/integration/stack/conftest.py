"""Whole-stack fixtures: real processes on loopback, no mocks.

* the simulated modem: ``salve-modem simulate --tcp 127.0.0.1:0`` with its control
  channel on stdin (one JSON line in, one JSON line out);
* the GMLC: ``salve-gmlc init`` into a temporary state directory, then
  ``salve-gmlc serve`` on a free port (it can be stopped and started again on the same
  port and state);
* the appliance: ``salve-appliance init``/``enroll``/``run`` with a configuration in a
  temporary directory and ``NOTIFY_SOCKET`` pointing at a datagram socket the test
  reads, so READY/STATUS/WATCHDOG/STOPPING can be checked.

Conditions are awaited by polling (``salve-appliance status --json``, the GMLC) with
deadlines, never by fixed sleeps.
"""

from __future__ import annotations

import contextlib
import json
import queue
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import IO, Any, TypeVar

import pytest

from mlp.dnsrecords import GmlcEndpoint, SalvePolicy
from modem.at.identity import luhn_check_digit
from tests.support import processes
from tests.support.gmlc import wait_until_ready
from tests.support.processes import free_port, stop_process
from verifier.dnslab import write_site_zone

T = TypeVar("T")

BIN = Path(sys.executable).parent
WEB_CLIENT = "web-frontend"
#: The GMLC's issuer and the site it signs for (test_stack_gmlc.ISSUER and .DOMAIN).
ISSUER = "gmlc.test.invalid"
SITE_DOMAIN = "www.example.com"


def tool(name: str) -> str:
    path = shutil.which(name, path=str(BIN))
    if path is None:
        pytest.skip(f"{name} is not installed next to {sys.executable}")
    return path


def wait_for(what: str, condition: Callable[[], T | None], timeout: float = 30.0) -> T:
    """Polls ``condition`` until it returns something other than None/False."""
    deadline = time.monotonic() + timeout
    delay = 0.05
    while True:
        value = condition()
        if value is not None and value is not False:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(delay)  # polling interval, not a race being hidden
        delay = min(delay * 1.5, 0.5)


def clean_env() -> dict[str, str]:
    env = processes.clean_env("SALVE_GMLC_", "SALVE_APPLIANCE_", "NOTIFY_SOCKET", "WATCHDOG_")
    env["PYTHONUNBUFFERED"] = "1"
    return env


# -- the simulated modem ------------------------------------------------------------------


class SimulatedModem:
    """``salve-modem simulate --tcp`` with its control channel on stdin/stdout."""

    def __init__(
        self, workdir: Path, *, profile: str = "quectel-ec25", scenario: str | Path = "demo"
    ) -> None:
        self.log_path = workdir / "simulator.log"
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [
                tool("salve-modem"),
                "simulate",
                "--tcp",
                "127.0.0.1:0",
                "--profile",
                profile,
                "--scenario",
                str(scenario),
                "--seed",
                "1",
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            env=clean_env(),
        )
        assert self.process.stdout is not None and self.process.stdin is not None
        self._stdin: IO[bytes] = self.process.stdin
        self._lines: queue.Queue[bytes] = queue.Queue()
        self._stdout: IO[bytes] = self.process.stdout
        self._reader = threading.Thread(target=self._read, args=(self._stdout,), daemon=True)
        self._reader.start()
        address = self._next_line(15).decode().strip()
        host, port = address.rsplit(":", 1)
        self.url = f"socket://{host}:{port}"

    def _read(self, stream: IO[bytes]) -> None:
        for line in iter(stream.readline, b""):
            self._lines.put(line)

    def _next_line(self, timeout: float) -> bytes:
        try:
            return self._lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(
                "the simulator did not answer: " + self.log_path.read_text(errors="replace")
            ) from None

    def control(self, **command: Any) -> None:
        """Sends one control command and checks it was accepted."""
        self._stdin.write(json.dumps(command).encode() + b"\n")
        self._stdin.flush()
        answer = json.loads(self._next_line(10))
        assert answer.get("ok") is True, (command, answer)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._stdin.close()
        stop_process(self.process)
        self._reader.join(5)
        self._stdout.close()
        self._log.close()


# -- the GMLC ----------------------------------------------------------------------------


class Gmlc:
    """A GMLC state directory and, while started, its ``salve-gmlc serve`` process."""

    def __init__(self, workdir: Path, **settings: str) -> None:
        self.dir = workdir / "gmlc"
        self.config = workdir / "gmlc.toml"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = clean_env()
        self.env["SALVE_GMLC_PORT"] = str(self.port)
        self.env["SALVE_GMLC_METRICS_PORT"] = str(free_port())
        # The site's DNSSEC-signed policy naming this GMLC, as signed zone files: the GMLC
        # enrols the site's domain only after validating it.
        policy = SalvePolicy((GmlcEndpoint(ISSUER, 9211),), 300, "one")
        zone_files, anchor = write_site_zone(workdir / "dns", SITE_DOMAIN, policy)
        self.env["SALVE_GMLC_DNS_ZONE_FILES"] = json.dumps([str(path) for path in zone_files])
        self.env["SALVE_GMLC_DNS_TRUST_ANCHOR"] = str(anchor)
        for key, value in settings.items():
            self.env[f"SALVE_GMLC_{key.upper()}"] = value
        self.process: subprocess.Popen[bytes] | None = None
        self._logs: list[IO[bytes]] = []
        self.log_path = workdir / "gmlc.log"
        init = ("init", "--state-dir", str(self.dir), "--issuer", ISSUER, "--dev")
        self.run("--config", str(self.config), *init)
        cells = resources.files("demo") / "data" / "demo_cells.csv"
        with resources.as_file(cells) as cells_path:
            self.run("cells", "import", "--config", str(self.config), str(cells_path))

    def run(self, *args: str) -> str:
        result = subprocess.run(
            [tool("salve-gmlc"), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, (args, result.stdout, result.stderr)
        return result.stdout

    def add_client(self, msisdns: list[str]) -> str:
        targets = [arg for msisdn in msisdns for arg in ("--msisdn", msisdn)]
        out = self.run(
            "client",
            "add",
            WEB_CLIENT,
            *targets,
            "--domain",
            SITE_DOMAIN,
            "--from",
            "127.0.0.1",
            "--config",
            str(self.config),
            "--json",
        )
        password: str = json.loads(out)["password"]
        return password

    def enroll(self, enrollment: dict[str, Any]) -> None:
        args = [
            "appliance",
            "add",
            enrollment["appliance_id"],
            f"--public-key={enrollment['public_key']}",
            "--imsi",
            enrollment["imsi"],
            "--iccid",
            enrollment["iccid"],
            "--site",
            enrollment["site"],
            "--config",
            str(self.config),
        ]
        if enrollment.get("msisdn"):
            args += ["--msisdn", enrollment["msisdn"]]
        self.run(*args)

    def start(self) -> None:
        log = self.log_path.open("ab")
        self._logs.append(log)
        self.process = subprocess.Popen(
            [tool("salve-gmlc"), "serve", "--config", str(self.config)],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        wait_until_ready(self.process, self.url, self.log_path)

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)
            self.process = None

    def accepted_seqs(self, appliance_id: str) -> list[int]:
        """The sequence numbers the GMLC stored for an appliance, in order."""
        import sqlite3

        database = self.dir / "gmlc.sqlite3"
        with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as db:
            rows = db.execute(
                "SELECT seq FROM observations WHERE appliance_id = ? ORDER BY seq", (appliance_id,)
            ).fetchall()
        return [row[0] for row in rows]

    def close(self) -> None:
        self.stop()
        for log in self._logs:
            log.close()


# -- systemd's side of sd_notify -----------------------------------------------------------


class NotifyListener:
    """A datagram socket standing in for systemd's NOTIFY_SOCKET."""

    def __init__(self) -> None:
        # A short directory keeps the socket path under the 108-byte limit.
        self._dir = tempfile.TemporaryDirectory(prefix="ntf")
        self.path = str(Path(self._dir.name) / "notify")
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._socket.bind(self.path)
        self._socket.settimeout(0.2)
        self.messages: list[dict[str, str]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data = self._socket.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            fields = dict(line.split("=", 1) for line in data.decode().splitlines() if "=" in line)
            with self._lock:
                self.messages.append(fields)

    def seen(self, key: str, value: str | None = None) -> list[dict[str, str]]:
        with self._lock:
            return [m for m in self.messages if key in m and (value is None or m[key] == value)]

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self._socket.close()
        self._dir.cleanup()


# -- the appliance -------------------------------------------------------------------------


class Appliance:
    """The appliance's configuration, state and (while running) its daemon process."""

    def __init__(
        self,
        workdir: Path,
        port: str,
        gmlc_url: str,
        *,
        interval_s: float = 2,
        appliance_id: str = "dc1-test",
    ) -> None:
        self.workdir = workdir
        self.id = appliance_id
        self.config = workdir / "appliance.toml"
        self.state_dir = workdir / "appliance-state"
        # Unix socket paths are limited to 108 bytes; pytest's tmp paths can be longer.
        self._socket_dir = tempfile.TemporaryDirectory(prefix="apl")
        self.status_socket = Path(self._socket_dir.name) / "status.sock"
        self.env = clean_env()
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = workdir / "appliance.log"
        self._logs: list[IO[bytes]] = []
        self.write_config(port=port, gmlc_url=gmlc_url, interval_s=interval_s)

    def write_config(self, *, port: str, gmlc_url: str, interval_s: float) -> None:
        self.config.write_text(
            "[appliance]\n"
            f'id = "{self.id}"\n'
            'site = "test-site"\n'
            f'state_dir = "{self.state_dir}"\n'
            f"interval_s = {interval_s}\n"
            f'status_socket = "{self.status_socket}"\n'
            "\n[modem]\n"
            f'port = "{port}"\n'
            "command_timeout_s = 3\n"
            "\n[gmlc]\n"
            f'url = "{gmlc_url}"\n'
            "timeout_s = 3\n"
        )

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [tool("salve-appliance"), *args, "--config", str(self.config)],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if check:
            assert result.returncode == 0, (args, result.stdout, result.stderr)
        return result

    def init_and_enroll(self) -> dict[str, Any]:
        self.cli("init")
        enrollment: dict[str, Any] = json.loads(self.cli("enroll", "--json").stdout)
        return enrollment

    def start(self, notify: NotifyListener | None = None, **env: str) -> None:
        process_env = dict(self.env)
        if notify is not None:
            process_env["NOTIFY_SOCKET"] = notify.path
        process_env.update(env)
        log = self.log_path.open("ab")
        self._logs.append(log)
        self.process = subprocess.Popen(
            [tool("salve-appliance"), "run", "--config", str(self.config)],
            env=process_env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def status(self) -> dict[str, Any] | None:
        """``salve-appliance status --json``; None while the daemon does not answer yet."""
        if self.process is not None and self.process.poll() is not None:
            raise AssertionError(
                f"the appliance daemon exited with {self.process.returncode}: "
                + self.log_path.read_text(errors="replace")[-3000:]
            )
        result = self.cli("status", "--json", check=False)
        if result.returncode != 0:
            return None
        status: dict[str, Any] = json.loads(result.stdout)
        return status

    def wait_status(
        self, what: str, condition: Callable[[dict[str, Any]], bool], timeout: float = 30.0
    ) -> dict[str, Any]:
        def check() -> dict[str, Any] | None:
            status = self.status()
            return status if status is not None and condition(status) else None

        return wait_for(what, check, timeout)

    def stop(self) -> int:
        assert self.process is not None
        code = stop_process(self.process)
        self.process = None
        return code

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def close(self) -> None:
        if self.process is not None:
            stop_process(self.process)
            self.process = None
        for log in self._logs:
            log.close()
        self._socket_dir.cleanup()


# -- SIM identities for tests that share one GMLC ---------------------------------------------


@dataclass(frozen=True)
class SimCard:
    """A SIM identity of its own, in a copy of the demo scenario."""

    index: int
    imsi: str
    iccid: str
    msisdn: str

    @classmethod
    def number(cls, index: int) -> SimCard:
        body = f"89410177{index:010d}"
        return cls(
            index=index,
            imsi=f"2280177{index:08d}",
            iccid=body + luhn_check_digit(body),
            msisdn=f"+417977{index:05d}",
        )

    def scenario(self, directory: Path) -> Path:
        demo = resources.files("modem.sim") / "scenarios" / "demo.toml"
        text = demo.read_text()
        for key, value in (("imsi", self.imsi), ("iccid", self.iccid), ("msisdn", self.msisdn)):
            text, count = re.subn(rf'(?m)^{key} = ".*"$', f'{key} = "{value}"', text, count=1)
            assert count == 1, key
        path = directory / f"scenario-{self.index}.toml"
        path.write_text(text)
        return path


# -- fixtures ------------------------------------------------------------------------------


@pytest.fixture
def simulator_factory(tmp_path: Path) -> Iterator[Callable[..., SimulatedModem]]:
    made: list[SimulatedModem] = []

    def make(**options: Any) -> SimulatedModem:
        sim = SimulatedModem(tmp_path, **options)
        made.append(sim)
        return sim

    try:
        yield make
    finally:
        for sim in made:
            sim.close()


@pytest.fixture
def simulator(simulator_factory: Callable[..., SimulatedModem]) -> SimulatedModem:
    return simulator_factory()


@pytest.fixture
def notify() -> Iterator[NotifyListener]:
    listener = NotifyListener()
    try:
        yield listener
    finally:
        listener.close()


@pytest.fixture
def gmlc_factory(tmp_path: Path) -> Iterator[Callable[..., Gmlc]]:
    made: list[Gmlc] = []

    def make(**settings: str) -> Gmlc:
        gmlc = Gmlc(tmp_path, **settings)
        made.append(gmlc)
        return gmlc

    try:
        yield make
    finally:
        for gmlc in made:
            gmlc.close()


@pytest.fixture
def appliance_factory(tmp_path: Path) -> Iterator[Callable[..., Appliance]]:
    made: list[Appliance] = []

    def make(port: str, gmlc_url: str, **options: Any) -> Appliance:
        appliance = Appliance(tmp_path, port, gmlc_url, **options)
        made.append(appliance)
        return appliance

    try:
        yield make
    finally:
        for appliance in made:
            appliance.close()


@pytest.fixture
def poll() -> Callable[..., Any]:
    """``poll(what, condition, timeout=30)``: wait_for, for test modules (they cannot import
    this conftest under --import-mode=importlib)."""
    return wait_for


@pytest.fixture
def unused_url() -> str:
    """A loopback URL where nothing listens (a GMLC that is down)."""
    return f"http://127.0.0.1:{free_port()}"


#: How many SIM identities the shared GMLC authorizes (one per whole-stack test).
SHARED_SIMS = 16


@dataclass
class SharedGmlc:
    gmlc: Gmlc
    password: str
    next_sim: int = 0

    def take_sim(self) -> SimCard:
        assert self.next_sim < SHARED_SIMS, "raise SHARED_SIMS"
        card = SimCard.number(self.next_sim)
        self.next_sim += 1
        return card


@pytest.fixture(scope="module")
def shared_gmlc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SharedGmlc]:
    """One GMLC for a whole module (its command-line tools are slow to start); each test
    enrols its own appliance with its own SIM (SharedGmlc.take_sim)."""
    gmlc = Gmlc(tmp_path_factory.mktemp("shared"))
    try:
        password = gmlc.add_client([SimCard.number(i).msisdn for i in range(SHARED_SIMS)])
        gmlc.start()
        yield SharedGmlc(gmlc, password)
    finally:
        gmlc.close()
