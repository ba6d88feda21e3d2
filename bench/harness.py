"""Shared pieces of the benchmarks and the load test: a real GMLC on loopback, request builders.

The GMLC is prepared exactly as an operator would (``salve-gmlc init``, ``cells
import``, ``client add``, ``appliance add``) and served by ``salve-gmlc serve``;
observations are signed with a real Ed25519 key. Nothing is mocked.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from mlp import encode_request
from mlp.dnsrecords import GmlcEndpoint, SalvePolicy
from mlp.model import Client, Header, LocationRequest, Msid, Slir
from mlp.observation import (
    ObservationReport,
    ReportCell,
    ReportDomain,
    ReportModem,
    ReportRegistration,
    ReportSignal,
    ReportSim,
    encode_public_key,
    sign_observation,
)
from mlp.statement import session_hash_from_exporter
from modem.at.identity import luhn_check_digit
from verifier.dnslab import write_site_zone

ROOT = Path(__file__).resolve().parent.parent
DEMO_CELLS = ROOT / "demo" / "data" / "demo_cells.csv"
MSISDN = "41791234567"
CLIENT_ID = "bench-web"
DOMAIN = "www.bench.example"
ISSUER = "gmlc.example.net"


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def tool(*args: str, env: dict[str, str] | None = None) -> str:
    """Runs one of the project's command-line tools; raises with its stderr on failure."""
    executable = shutil.which(args[0], path=str(Path(sys.executable).parent)) or args[0]
    result = subprocess.run(
        [executable, *args[1:]], capture_output=True, text=True, env=env, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed: {result.stderr.strip() or result.stdout}")
    return result.stdout


def wait_http(url: str, timeout: float = 30.0) -> None:
    """Polls ``url`` until it answers 200."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not become ready within {timeout:g} s")


def slir_body(client_id: str, password: str, msisdn: str, session_hash: bytes | None) -> bytes:
    """An MLP 3.2 SLIR as a site's front sends it (optionally with a session hash)."""
    request = LocationRequest(
        header=Header(
            client=Client(id=client_id, pwd=password, serviceid=None),
            sessionid=None,
            requestor=None,
            subclient=(),
            ver="3.2.0",
        ),
        slir=Slir(
            ver="3.2.0",
            msids=(Msid(msisdn),),
            msid_ranges=(),
            codewords=(),
            eqop=None,
            geo_info=None,
            loc_type=None,
            prio=None,
            pushaddr=None,
            res_type=None,
            req_id=None,
            domain=DOMAIN if session_hash is not None else None,
            session_hash=session_hash,
        ),
    )
    return encode_request(request)


def fresh_session_hash() -> bytes:
    """What a web server derives for one new TLS session (a random exporter stands in)."""
    return session_hash_from_exporter(secrets.token_bytes(32))


@dataclass
class Appliance:
    """An enrolled appliance identity with its signing key and next sequence number."""

    appliance_id: str
    key: Ed25519PrivateKey
    imsi: str
    iccid: str
    msisdn: str
    seq: int = 0

    def observation(self, *, ci: int = 27440068) -> str:
        """Signs the next observation report (LTE cell of the demo site by default)."""
        self.seq += 1
        report = ObservationReport(
            appliance=self.appliance_id,
            seq=self.seq,
            observed_at=int(time.time()),
            sim=ReportSim(imsi=self.imsi, iccid=self.iccid, msisdn=self.msisdn),
            modem=ReportModem(
                manufacturer="Quectel",
                model="EC25",
                revision="EC25EFAR06A06M4G",
                imei="867698041234560",
            ),
            registration=ReportRegistration(
                state="home",
                rat="LTE",
                domains=(ReportDomain(domain="CEREG", stat=1, lac=None, tac=1234, ci=ci, act=7),),
            ),
            serving=ReportCell(
                rat="LTE",
                mcc="228",
                mnc="01",
                lac=None,
                tac=1234,
                ci=ci,
                pci=101,
                arfcn=None,
                earfcn=1300,
                uarfcn=None,
                psc=None,
                band=3,
                rsrp=-95.0,
                rsrq=-10.0,
                rssi=-65.0,
                sinr=12.0,
                rscp=None,
                ecio=None,
            ),
            neighbours=(),
            signal=ReportSignal(
                rssi=-65.0, rsrp=-95.0, rsrq=-10.0, sinr=12.0, rscp=None, ecno=None
            ),
        )
        return sign_observation(report, self.key)


@dataclass
class Gmlc:
    """A prepared GMLC state directory and, once started, its server process."""

    state_dir: Path
    port: int
    env: dict[str, str]
    password: str = ""
    appliances: list[Appliance] = field(default_factory=list)
    process: subprocess.Popen[bytes] | None = None

    @property
    def config(self) -> Path:
        return self.state_dir.parent / "gmlc.toml"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cli(self, *args: str) -> str:
        return tool("salve-gmlc", *args, "--config", str(self.config), env=self.env)

    def enroll_appliances(self, count: int) -> None:
        """Enrolls ``count`` appliances; the first one carries the benchmark MSISDN."""
        for index in range(count):
            msisdn = MSISDN if index == 0 else f"4179{index:07d}"
            appliance = Appliance(
                appliance_id=f"bench-{index}",
                key=Ed25519PrivateKey.generate(),
                imsi=f"22801{index:010d}",
                iccid=(body := f"894101{index:012d}") + luhn_check_digit(body),
                msisdn=msisdn,
            )
            self.cli(
                "appliance",
                "add",
                appliance.appliance_id,
                f"--public-key={encode_public_key(appliance.key.public_key())}",
                "--imsi",
                appliance.imsi,
                "--iccid",
                appliance.iccid,
                "--msisdn",
                "+" + appliance.msisdn,
                "--site",
                "bench",
            )
            self.appliances.append(appliance)

    def post_observation(self, appliance: Appliance) -> None:
        response = httpx.post(f"{self.url}/v1/observations", content=appliance.observation())
        if response.status_code != 202:
            raise RuntimeError(f"observation refused: {response.status_code} {response.text}")

    def rss_kib(self) -> int:
        """Resident memory of the server and its workers, in KiB (Linux /proc)."""
        if self.process is None:
            return 0
        pids = [self.process.pid]
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        if children.exists():
            pids += [int(p) for p in children.read_text().split()]
        total = 0
        for pid in pids:
            status = Path(f"/proc/{pid}/status")
            if status.exists():
                for line in status.read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        return total


def _signed_site_zone(directory: Path) -> dict[str, str]:
    """Signed zone files with the bench site's policy, and the settings that validate them."""
    policy = SalvePolicy((GmlcEndpoint(ISSUER, 9211),), 300, "one")
    zone_files, anchor = write_site_zone(directory, DOMAIN, policy)
    return {
        "SALVE_GMLC_DNS_ZONE_FILES": json.dumps([str(path) for path in zone_files]),
        "SALVE_GMLC_DNS_TRUST_ANCHOR": str(anchor),
    }


@contextmanager
def prepared_gmlc(
    *, workers: int = 1, appliances: int = 1, extra_env: dict[str, str] | None = None
) -> Iterator[Gmlc]:
    """A GMLC state directory with the demo cells, one web client and enrolled appliances."""
    state_dir = Path(tempfile.mkdtemp(prefix="salve-bench-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("SALVE_")}
    port = free_port()
    env |= {
        "SALVE_GMLC_PORT": str(port),
        "SALVE_GMLC_METRICS_PORT": str(free_port()),
        "SALVE_GMLC_WORKERS": str(workers),
        "SALVE_GMLC_OBSERVATION_MAX_AGE_S": "86400",
        # The load is one client asking as fast as it can: measure the statements, not the
        # per-client cap (a real front batches its sessions far below it).
        "SALVE_GMLC_STATEMENT_RATE_PER_S": "1000000",
        "SALVE_GMLC_STATEMENT_BURST": "1000000",
    }
    env |= extra_env or {}
    env |= _signed_site_zone(state_dir / "dns")
    gmlc = Gmlc(state_dir=state_dir / "gmlc", port=port, env=env)
    try:
        tool(
            "salve-gmlc",
            "--config",
            str(gmlc.config),
            "init",
            "--state-dir",
            str(gmlc.state_dir),
            "--issuer",
            ISSUER,
            "--dev",
            env=env,
        )
        gmlc.cli("cells", "import", str(DEMO_CELLS))
        added = json.loads(
            gmlc.cli(
                "client",
                "add",
                CLIENT_ID,
                "--msisdn",
                MSISDN,
                "--domain",
                DOMAIN,
                "--from",
                "127.0.0.1",
                "--json",
            )
        )
        gmlc.password = added["password"]
        gmlc.enroll_appliances(appliances)
        yield gmlc
    finally:
        shutil.rmtree(state_dir, ignore_errors=True)


@contextmanager
def running_gmlc(
    *, workers: int, appliances: int = 1, extra_env: dict[str, str] | None = None
) -> Iterator[Gmlc]:
    """A prepared GMLC served by ``salve-gmlc serve`` with one observation delivered."""
    with prepared_gmlc(workers=workers, appliances=appliances, extra_env=extra_env) as gmlc:
        executable = shutil.which("salve-gmlc", path=str(Path(sys.executable).parent))
        gmlc.process = subprocess.Popen(
            [executable or "salve-gmlc", "serve", "--config", str(gmlc.config)],
            env=gmlc.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            wait_http(f"{gmlc.url}/readyz")
            gmlc.post_observation(gmlc.appliances[0])
            yield gmlc
        finally:
            os.killpg(gmlc.process.pid, signal.SIGTERM)
            gmlc.process.wait(timeout=20)


@contextmanager
def running_baseline(
    *, workers: int, factory: str = "bench.baseline_app:create_baseline_app"
) -> Iterator[str]:
    """The baseline app on the same server stack; yields its base URL."""
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            factory,
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--http",
            "httptools",
            "--loop",
            "uvloop",
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.post(f"{url}/mlp", content=b"x", timeout=1.0)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)


def item(path: str, body: bytes, tag: str) -> dict[str, str]:
    """One request for the load generator's job description."""
    return {"method": "POST", "path": path, "body_b64": base64.b64encode(body).decode(), "tag": tag}


def run_load(
    port: int,
    streams: list[list[dict[str, str]]],
    *,
    concurrency: int,
    requests: int,
    time_limit_s: float = 60.0,
    cycle: bool = True,
    sources: list[str] | None = None,
) -> dict[str, Any]:
    """Runs the load generator in its own process and returns its JSON summary.

    ``sources``: one local address per stream to connect from (loopback 127.0.0.x).
    """
    job = {
        "host": "127.0.0.1",
        "port": port,
        "concurrency": concurrency,
        "requests": requests,
        "time_limit_s": time_limit_s,
        "cycle": cycle,
        "streams": streams,
        "sources": sources,
    }
    result = subprocess.run(
        [sys.executable, "-m", "bench.loadgen"],
        input=json.dumps(job),
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"load generator failed: {result.stderr.strip()}")
    summary: dict[str, Any] = json.loads(result.stdout)
    return summary


def utc_now() -> datetime:
    return datetime.now(UTC)
