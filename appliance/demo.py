"""The end-to-end demo: a GMLC, an appliance on the simulated modem, and a verifying web server.

``make demo`` (or ``python -m appliance.demo``) runs the whole SALVE path on loopback:

1. initialises a throw-away GMLC state directory (signing key, SQLite store) and
   imports a small cell database that matches the demo scenario;
2. starts the GMLC (``salve-gmlc serve``) and the appliance daemon
   (``salve-appliance run``) against ``sim://`` with the ``demo`` scenario;
3. acts as a web server: derives a session hash for a fresh session, sends an SLIR
   carrying it, receives the SLIA with its location statement, and verifies the
   statement the way a client would (JWKS signature, session binding, freshness,
   position within the threshold of the legitimate site);
4. moves the simulated SIM to a far-away cell, asks again, and shows the
   verification failing with its reason.

Everything runs as real processes talking HTTP and AT; the demo only drives them
through their command-line tools, their HTTP APIs and the simulator's control
socket. Every process it starts is stopped when it ends, and its state lives in a
temporary directory, so it can be run again and again.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import IO, Any, TypeVar

import httpx

from mlp.client import MlpClient, MlpResultError
from mlp.dnsrecords import GmlcEndpoint, LocSite, SalvePolicy, format_loc
from mlp.shapes import CircularArea
from mlp.statement import StatementError, session_hash_from_exporter, verify_statement
from verifier.dnslab import LabRecord, write_site_zone

T = TypeVar("T")

#: The demo data centre: where the appliance's first cell is, and what the domain's
#: DNS LOC record would publish as the legitimate location.
SITE_NAME = "Zurich demo site"
SITE_LAT = 47.376887
SITE_LON = 8.541694
#: How far from the site a statement's position (including its radius) may reach.
THRESHOLD_M = 3000.0
#: The demo SIM (see modem/sim/scenarios/demo.toml).
DEMO_MSISDN = "41791234567"
DEMO_DOMAIN = "www.example.test"
DEMO_ISSUER = "gmlc.example.test"
APPLIANCE_ID = "demo-zrh-1"
WEB_CLIENT_ID = "demo-web"
MAX_POSITION_AGE_S = 300.0


class DemoError(Exception):
    """A step of the demo failed; the message says which and why."""


@dataclass
class Step:
    """Prints numbered progress lines so a person sees what the demo is doing."""

    total: int
    current: int = 0

    def __call__(self, text: str) -> None:
        self.current += 1
        print(f"[{self.current}/{self.total}] {text}", flush=True)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_for(what: str, probe: Callable[[], T | None], timeout: float) -> T:
    """Polls ``probe`` until it returns a value, or raises DemoError after ``timeout``."""
    deadline = time.monotonic() + timeout
    delay = 0.05
    while True:
        value = probe()
        if value is not None:
            return value
        if time.monotonic() > deadline:
            raise DemoError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(delay)
        delay = min(delay * 1.5, 0.5)


class Demo:
    """Owns the temporary state directory and every process the demo starts."""

    def __init__(self, workdir: Path, *, keep: bool) -> None:
        self.workdir = workdir
        self.keep = keep
        self.processes: list[tuple[str, subprocess.Popen[bytes], IO[bytes]]] = []
        self.env = dict(os.environ)
        # Child tools must not pick up an operator's real configuration.
        for key in list(self.env):
            if key.startswith(("SALVE_GMLC_", "SALVE_APPLIANCE_")):
                del self.env[key]
        self.gmlc_port = _free_port()
        self.env["SALVE_GMLC_PORT"] = str(self.gmlc_port)
        self.env["SALVE_GMLC_METRICS_PORT"] = str(_free_port())
        self.gmlc_url = f"http://127.0.0.1:{self.gmlc_port}"
        self.gmlc_dir = workdir / "gmlc"
        self.gmlc_config = workdir / "gmlc.toml"
        self.appliance_dir = workdir / "appliance"
        self.appliance_config = workdir / "appliance.toml"
        self.sim_control = workdir / "sim-control.sock"

    # -- running tools -------------------------------------------------------

    def tool(self, *args: str) -> str:
        """Runs one of our command-line tools and returns its standard output."""
        name = args[0]
        executable = shutil.which(name, path=str(Path(sys.executable).parent)) or name
        result = subprocess.run(
            [executable, *args[1:]],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if result.returncode != 0:
            detail = (result.stderr or result.stdout).strip().splitlines()[-5:]
            raise DemoError(f"`{' '.join(args)}` failed: " + " | ".join(detail))
        return result.stdout

    def start(self, label: str, *args: str) -> subprocess.Popen[bytes]:
        """Starts a long-running tool with its output going to a log file."""
        executable = shutil.which(args[0], path=str(Path(sys.executable).parent)) or args[0]
        log = (self.workdir / f"{label}.log").open("wb")
        process = subprocess.Popen(
            [executable, *args[1:]],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.processes.append((label, process, log))
        return process

    def check_alive(self) -> None:
        """Raises DemoError, quoting its log, when a started process has died."""
        for label, process, _ in self.processes:
            if process.poll() is not None:
                tail = (self.workdir / f"{label}.log").read_text(errors="replace")
                lines = [line for line in tail.splitlines() if line.strip()][-8:]
                raise DemoError(
                    f"{label} exited with status {process.returncode}:\n    " + "\n    ".join(lines)
                )

    def stop_all(self) -> None:
        """SIGTERM to every started process (newest first), SIGKILL after a grace period."""
        for label, process, log in reversed(self.processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    print(f"      {label} did not stop within 10 s; killing it", flush=True)
                    process.kill()
                    process.wait(timeout=5)
            log.close()
        self.processes.clear()

    # -- the simulator's control socket -------------------------------------

    def sim_control_command(self, command: dict[str, Any]) -> None:
        """Sends one JSON-lines control command to the appliance's simulated modem."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(5)
            sock.connect(str(self.sim_control))
            sock.sendall(json.dumps(command).encode() + b"\n")
            answer = b""
            while not answer.endswith(b"\n"):
                chunk = sock.recv(4096)
                if not chunk:
                    break
                answer += chunk
        reply = json.loads(answer or b"{}")
        if not reply.get("ok"):
            raise DemoError(f"simulator refused {command}: {reply.get('error', 'no answer')}")

    # -- setup ----------------------------------------------------------------

    def sign_site_zone(self) -> None:
        """Signs the demo site's DNS zone (its LOC and its SALVE policy naming the GMLC).

        The zone is written as signed zone files with its trust anchor; the GMLC validates
        the policy over them (DNSSEC, offline) before it enrols the site's domain.
        """
        policy = SalvePolicy((GmlcEndpoint(DEMO_ISSUER, 9211),), int(MAX_POSITION_AGE_S), "one")
        site = format_loc(SITE_LAT, SITE_LON, hp_m=2 * THRESHOLD_M)
        zone_files, anchor = write_site_zone(
            self.workdir / "dns", DEMO_DOMAIN, policy, records=[LabRecord(DEMO_DOMAIN, "LOC", site)]
        )
        self.env["SALVE_GMLC_DNS_ZONE_FILES"] = json.dumps([str(path) for path in zone_files])
        self.env["SALVE_GMLC_DNS_TRUST_ANCHOR"] = str(anchor)

    def setup_gmlc(self) -> str:
        """Initialises the GMLC state and returns the web-server client's password."""
        self.sign_site_zone()
        self.tool(
            "salve-gmlc",
            "--config",
            str(self.gmlc_config),
            "init",
            "--state-dir",
            str(self.gmlc_dir),
            "--issuer",
            DEMO_ISSUER,
            "--dev",
        )
        cells = resources.files("appliance") / "data" / "demo_cells.csv"
        with resources.as_file(cells) as cells_path:
            self.tool(
                "salve-gmlc", "cells", "import", "--config", str(self.gmlc_config), str(cells_path)
            )
        added = json.loads(
            self.tool(
                "salve-gmlc",
                "client",
                "add",
                WEB_CLIENT_ID,
                "--msisdn",
                DEMO_MSISDN,
                "--domain",
                DEMO_DOMAIN,
                "--from",
                "127.0.0.1",
                "--config",
                str(self.gmlc_config),
                "--json",
            )
        )
        password: str = added["password"]
        return password

    def setup_appliance(self) -> dict[str, Any]:
        """Writes the appliance config, creates its key and enrolls it at the GMLC."""
        port = f"sim://quectel-ec25?scenario=demo&seed=1&control={self.sim_control}"
        self.appliance_config.write_text(
            "[appliance]\n"
            f'id = "{APPLIANCE_ID}"\n'
            f'site = "{SITE_NAME}"\n'
            f'state_dir = "{self.appliance_dir}"\n'
            "interval_s = 5\n"
            f'status_socket = "{self.workdir / "appliance-status.sock"}"\n'
            "\n[modem]\n"
            f'port = "{port}"\n'
            "\n[gmlc]\n"
            f'url = "{self.gmlc_url}"\n'
            "timeout_s = 5\n"
        )
        self.tool("salve-appliance", "init", "--config", str(self.appliance_config))
        # Enrolling reads the SIM, so it must run before the daemon holds the modem.
        enrollment: dict[str, Any] = json.loads(
            self.tool("salve-appliance", "enroll", "--config", str(self.appliance_config), "--json")
        )
        # Run exactly the command line the appliance printed for the GMLC operator.
        self.tool(*shlex.split(enrollment["command"]), "--config", str(self.gmlc_config))
        return enrollment

    def wait_ready(self) -> None:
        """Waits until the GMLC answers /readyz."""

        def ready() -> bool | None:
            self.check_alive()
            try:
                response = httpx.get(f"{self.gmlc_url}/readyz", timeout=1.0)
            except httpx.HTTPError:
                return None
            return True if response.status_code == 200 else None

        _wait_for("the GMLC to become ready", ready, timeout=30)


def _describe_position(area: CircularArea) -> str:
    lat, lon = area.center.lat, area.center.lon
    return (
        f"{abs(lat):.5f}{'N' if lat >= 0 else 'S'} {abs(lon):.5f}{'E' if lon >= 0 else 'W'}"
        f" ± {area.radius_m:,.0f} m"
    )


@dataclass(frozen=True)
class Outcome:
    """What one web-server request produced and what verification concluded."""

    position: CircularArea
    statement_bytes: int
    distance_m: float
    accepted: bool
    reason: str


def _web_server_round(client: MlpClient, label: str) -> Outcome:
    """Plays the web server for one fresh TLS session and the client verifying it."""
    # A TLS 1.3 server derives this from RFC 9266's EXPORTER-Channel-Binding; here a
    # fresh random exporter stands in for one session's.
    exporter = secrets.token_bytes(32)
    session_hash = session_hash_from_exporter(exporter)
    result = client.request_location(DEMO_MSISDN, session_hash, domain=DEMO_DOMAIN)
    if result.statement is None:
        raise DemoError("the GMLC answered without a location statement")
    if not isinstance(result.position.shape, CircularArea):
        raise DemoError(f"unexpected shape {type(result.position.shape).__name__}")
    keys = client.fetch_jwks()
    now = datetime.now(UTC)
    try:
        verified = verify_statement(
            result.statement,
            keys,
            issuers=[DEMO_ISSUER],
            subject=DEMO_DOMAIN,
            session_hash=session_hash,
            proof=None,
            now=now,
            max_position_age_s=MAX_POSITION_AGE_S,
        )
    except StatementError as exc:
        raise DemoError(f"{label}: statement failed verification: {exc}") from exc
    site = LocSite(SITE_LAT, SITE_LON, 2 * THRESHOLD_M)
    (circle,) = verified.circles
    distance = site.hp_m / 2 - site.margin_m(circle.lat, circle.lon, circle.radius_m)
    accepted = site.covers(circle.lat, circle.lon, circle.radius_m)
    if accepted:
        reason = f"position within {THRESHOLD_M / 1000:g} km of {SITE_NAME}"
    else:
        reason = (
            f"position is {distance / 1000:,.1f} km from {SITE_NAME}, beyond the "
            f"{THRESHOLD_M / 1000:g} km threshold: the server is not where its domain says"
        )
    return Outcome(result.position.shape, len(result.statement), distance, accepted, reason)


def _print_outcome(title: str, outcome: Outcome) -> None:
    verdict = "VERIFIED" if outcome.accepted else "REJECTED"
    print(f"      {title}")
    print(f"        position   {_describe_position(outcome.position)}")
    print(f"        statement  {outcome.statement_bytes} bytes, signature and session binding OK")
    print(f"        result     {verdict}: {outcome.reason}", flush=True)


def _serving_position(client: MlpClient) -> CircularArea | None:
    try:
        result = client.request_location(DEMO_MSISDN)
    except MlpResultError:
        return None
    shape = result.position.shape
    return shape if isinstance(shape, CircularArea) else None


def run(keep: bool = False) -> int:
    """Runs the demo; returns the process exit status."""
    step = Step(total=8)
    workdir = Path(tempfile.mkdtemp(prefix="salve-demo-"))
    demo = Demo(workdir, keep=keep)
    try:
        step(
            "Initialising the GMLC (signing key, SQLite store, demo cell database) and "
            f"enrolling {DEMO_DOMAIN} after validating its signed SALVE policy"
        )
        password = demo.setup_gmlc()
        step("Creating the appliance key and enrolling it with the simulated SIM")
        enrollment = demo.setup_appliance()
        print(
            f"      appliance {enrollment['appliance_id']}: IMSI {enrollment['imsi']}, "
            f"ICCID {enrollment['iccid']}"
        )
        step(f"Starting the GMLC on {demo.gmlc_url}")
        demo.start("gmlc", "salve-gmlc", "serve", "--config", str(demo.gmlc_config))
        demo.wait_ready()
        step("Starting the appliance daemon on sim://quectel-ec25 (demo scenario)")
        demo.start("appliance", "salve-appliance", "run", "--config", str(demo.appliance_config))
        with MlpClient(demo.gmlc_url, client_id=WEB_CLIENT_ID, password=password) as client:

            def first_fix() -> CircularArea | None:
                demo.check_alive()
                return _serving_position(client)

            step("Waiting for the appliance's first signed observation to reach the GMLC")
            position = _wait_for("the first observation", first_fix, timeout=60)
            print(f"      GMLC now locates the SIM at {_describe_position(position)}")

            step("Web server: SLIR with a fresh session hash -> SLIA with a statement")
            at_site = _web_server_round(client, "at the site")
            _print_outcome("Statement for a session while the appliance is at the site:", at_site)

            step("Moving the simulated SIM to a far-away cell (Frankfurt)")
            demo.sim_control_command({"cmd": "goto", "step": "moved"})

            def moved() -> CircularArea | None:
                demo.check_alive()
                current = _serving_position(client)
                if current is None or current.center == position.center:
                    return None
                return current

            new_position = _wait_for("the appliance to report the new cell", moved, timeout=60)
            print(f"      GMLC now locates the SIM at {_describe_position(new_position)}")

            step("Web server: a new session, a new statement, verified again")
            away = _web_server_round(client, "after the move")
            _print_outcome("Statement for a session after the move:", away)
        ok = at_site.accepted and not away.accepted
        print()
        print(
            "Demo complete: the statement verified at the site and was rejected after the move."
            if ok
            else "Demo finished, but the verification results were not the expected ones."
        )
        return 0 if ok else 1
    except DemoError as exc:
        print(f"\ndemo failed: {exc}", file=sys.stderr)
        print(f"logs: {workdir}", file=sys.stderr)
        keep = True
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    finally:
        demo.stop_all()
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)


@contextlib.contextmanager
def _no_traceback() -> Iterator[None]:
    try:
        yield
    except (OSError, httpx.HTTPError) as exc:
        print(f"demo failed: {exc}", file=sys.stderr)
        raise SystemExit(1) from exc


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m appliance.demo``."""
    parser = argparse.ArgumentParser(
        prog="python -m appliance.demo",
        description="Run the SALVE end-to-end demo on loopback against the simulated modem.",
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the temporary state directory and logs"
    )
    args = parser.parse_args(argv)
    with _no_traceback():
        return run(keep=args.keep)


if __name__ == "__main__":
    raise SystemExit(main())
