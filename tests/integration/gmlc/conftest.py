"""Fixtures for the GMLC over HTTP: a real server process on loopback with a temporary
state directory, built through the store and the key ring (never SQL), plus signed
observations from test appliances."""

from __future__ import annotations

import ipaddress
import os
import socket
import ssl
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.x509.oid import NameOID

from gmlc.auth import hash_password
from gmlc.keys import KeyRing
from gmlc.store import ANYWHERE, CellRecord, DomainEnrolment, Store
from mlp.client import MlpClient
from mlp.observation import (
    ObservationReport,
    ReportCell,
    ReportModem,
    ReportRegistration,
    ReportSignal,
    ReportSim,
    encode_public_key,
    sign_observation,
)

PASSWORD = "integration-password-1"
OTHER_PASSWORD = "integration-password-2"
# The site web-1 gets statements for (test_gmlc_http.DOMAIN).
DOMAIN = "www.example.com"


@dataclass(frozen=True)
class Target:
    """An enrolled appliance and the SIM it holds."""

    appliance_id: str
    msisdn: str
    imsi: str
    iccid: str
    key: Ed25519PrivateKey


TARGETS = {
    # name: (msisdn, imsi, iccid)
    "ok": ("41791000001", "228011000000001", "8941011000000000001"),
    "absent": ("41791000002", "228011000000002", "8941011000000000002"),
    "unknown_cell": ("41791000003", "228011000000003", "8941011000000000003"),
    "silent": ("41791000004", "228011000000004", "8941011000000000004"),
    "hidden": ("41791000005", "228011000000005", "8941011000000000005"),
}
KNOWN_CELL = CellRecord("LTE", 228, 1, 3100, 777001, 46.9480, 7.4474, 1800, 120)


def wait_for(condition: Callable[[], bool], *, timeout: float = 20.0, what: str = "") -> None:
    """Poll ``condition`` until true, failing after ``timeout`` seconds (no fixed sleeps)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what or condition}")
        time.sleep(0.02)  # polling interval, not a race hider


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class GmlcServer:
    """A running ``gmlc.server.serve`` process and the state behind it."""

    base_url: str
    state_dir: Path
    database_url: str
    process: subprocess.Popen[bytes]
    log_path: Path
    targets: dict[str, Target]
    verify: bool | ssl.SSLContext = True
    seq: dict[str, int] = field(default_factory=dict)
    password: str = PASSWORD
    other_password: str = OTHER_PASSWORD
    known_cell: CellRecord = KNOWN_CELL
    metrics_url: str = ""
    wait_for = staticmethod(wait_for)

    def store(self) -> Store:
        return Store.open(self.database_url)

    def ring(self) -> KeyRing:
        return KeyRing(self.state_dir / "keys")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def report(
        self,
        name: str,
        *,
        seq: int | None = None,
        state: str = "home",
        ci: int = KNOWN_CELL.cell,
        tac: int = KNOWN_CELL.area,
        imsi: str | None = None,
        age_s: int = 2,
    ) -> ObservationReport:
        target = self.targets[name]
        if seq is None:
            seq = self.seq.get(name, 0) + 1
        self.seq[name] = max(seq, self.seq.get(name, 0))
        return ObservationReport(
            appliance=target.appliance_id,
            seq=seq,
            observed_at=int(time.time()) - age_s,
            sim=ReportSim(imsi=imsi or target.imsi, iccid=target.iccid, msisdn=target.msisdn),
            modem=ReportModem(manufacturer="Quectel", model="EC25", revision=None, imei=None),
            registration=ReportRegistration(state=state, rat="LTE-M"),
            serving=ReportCell(rat="LTE-M", mcc="228", mnc="01", tac=tac, ci=ci, rsrp=-97.0),
            neighbours=(),
            signal=ReportSignal(rsrp=-97.0, rsrq=-10.0),
        )

    def token(self, name: str, report: ObservationReport | None = None, **kw: Any) -> str:
        return sign_observation(report or self.report(name, **kw), self.targets[name].key)

    def get(self, path: str) -> httpx.Response:
        return httpx.get(self.base_url + path, timeout=10, verify=self.verify)

    def metrics(self) -> str:
        """The metrics text, from the metrics listener."""
        response = httpx.get(self.metrics_url, timeout=10, verify=self.verify)
        response.raise_for_status()
        return response.text

    @property
    def port(self) -> int:
        return int(self.base_url.rsplit(":", 1)[1])

    def post(
        self, path: str, content: Any, headers: dict[str, str] | None = None
    ) -> httpx.Response:
        return httpx.post(
            self.base_url + path, content=content, headers=headers, timeout=10, verify=self.verify
        )

    def client(self, client_id: str, password: str) -> MlpClient:
        return MlpClient(
            self.base_url, client_id=client_id, password=password, verify=self.verify, timeout=30
        )

    def post_observation(self, body: bytes | str) -> httpx.Response:
        content = body.encode() if isinstance(body, str) else body
        return httpx.post(
            f"{self.base_url}/v1/observations",
            content=content,
            headers={"Content-Type": "application/jose"},
            timeout=10,
            verify=self.verify,
        )


def _prepare_state(root: Path) -> tuple[Path, str, dict[str, Target]]:
    root.mkdir(parents=True, exist_ok=True)
    state_dir = root / "state"
    state_dir.mkdir(mode=0o700)
    database_url = f"sqlite:///{state_dir / 'gmlc.sqlite3'}"
    KeyRing(state_dir / "keys").generate("ES256")
    targets = {}
    with Store.open(database_url) as store:
        store.migrate()
        visible = [n for n in TARGETS if n != "hidden"]
        # web-1 is pinned to the loopback address the tests connect from; 127.0.0.2 is
        # "elsewhere". web-2 may connect from anywhere.
        store.add_client(
            "web-1",
            hash_password(PASSWORD),
            networks=["127.0.0.1"],
            msisdns=[TARGETS[n][0] for n in visible],
            imsis=[TARGETS[n][1] for n in visible],
            domains=[DomainEnrolment(DOMAIN)],
        )
        store.add_client(
            "web-2",
            hash_password(OTHER_PASSWORD),
            networks=ANYWHERE,
            msisdns=[TARGETS["hidden"][0]],
        )
        for name, (msisdn, imsi, iccid) in TARGETS.items():
            key = Ed25519PrivateKey.generate()
            appliance_id = f"appliance-{name}"
            store.add_appliance(
                appliance_id,
                public_key=encode_public_key(key.public_key()),
                imsi=imsi,
                iccid=iccid,
                msisdn=msisdn,
                site=f"site-{name}",
            )
            targets[name] = Target(appliance_id, msisdn, imsi, iccid, key)
        store.upsert_cells([KNOWN_CELL])
    return state_dir, database_url, targets


def _toml_value(value: object) -> str:
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def start_server(
    root: Path,
    *,
    prepare: Callable[[Path], None] | None = None,
    env: dict[str, str] | None = None,
    **settings: object,
) -> GmlcServer:
    """Create a state directory and run the GMLC on a free loopback port until ready.

    ``prepare`` gets the state directory after it is built and before the server starts;
    ``env`` adds to the server's environment (``NOTIFY_SOCKET`` …).
    """
    state_dir, database_url, targets = _prepare_state(root)
    if prepare is not None:
        prepare(state_dir)
    port = free_port()
    values: dict[str, object] = {
        "issuer": "gmlc.integration.test",
        "state_dir": str(state_dir),
        "host": "127.0.0.1",
        "port": port,
        "metrics_port": free_port(),
        **settings,
    }
    config = root / "gmlc.toml"
    config.write_text(
        "[gmlc]\n" + "".join(f"{k} = {_toml_value(v)}\n" for k, v in values.items()),
        encoding="utf-8",
    )
    script = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        from gmlc.errors import GmlcError
        from gmlc.server import serve
        from gmlc.settings import load_settings
        try:
            serve(load_settings(Path({str(config)!r})), log_level="info")
        except GmlcError as exc:
            sys.stderr.write(f"salve-gmlc: {{exc}}\\n")
            sys.exit(1)
        """
    )
    log_path = root / "server.log"
    environment = {k: v for k, v in os.environ.items() if not k.startswith("SALVE_GMLC_")}
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-c", script],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**environment, **(env or {})},
        )
    tls_cert = settings.get("tls_cert")
    scheme = "https" if tls_cert else "http"
    verify: bool | ssl.SSLContext = (
        ssl.create_default_context(cafile=str(tls_cert)) if tls_cert else True
    )
    server = GmlcServer(
        f"{scheme}://127.0.0.1:{port}",
        state_dir,
        database_url,
        process,
        log_path,
        targets,
        verify=verify,
        metrics_url=f"{scheme}://127.0.0.1:{values['metrics_port']}/metrics",
    )

    def ready() -> bool:
        if process.poll() is not None:
            pytest.fail(f"the GMLC exited with {process.returncode}:\n{server.log()}")
        try:
            response = httpx.get(f"{server.base_url}/readyz", timeout=1, verify=server.verify)
            return response.status_code == 200
        except httpx.TransportError:
            return False

    try:
        wait_for(ready, timeout=30, what="the GMLC to become ready")
    except BaseException:
        stop_server(server)
        raise
    return server


def stop_server(server: GmlcServer) -> None:
    if server.process.poll() is not None:
        return
    server.process.terminate()
    try:
        server.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait(timeout=5)


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its private key (mode 0600)."""
    private = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(private, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    os.chmod(key_path, 0o600)
    return cert_path, key_path


@pytest.fixture
def gmlc_state(tmp_path: Path) -> tuple[Path, str]:
    """A prepared state directory and database URL, without a server."""
    state_dir, database_url, _ = _prepare_state(tmp_path / "prepared")
    return state_dir, database_url


@pytest.fixture
def start_gmlc(tmp_path: Path) -> Iterator[Callable[..., GmlcServer]]:
    """Start extra servers with other settings; each is stopped after the test."""
    started: list[GmlcServer] = []

    def start(**settings: Any) -> GmlcServer:
        server = start_server(tmp_path / f"server-{len(started)}", **settings)
        started.append(server)
        return server

    try:
        yield start
    finally:
        for server in started:
            stop_server(server)


@pytest.fixture(scope="module")
def start_module_gmlc(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Callable[..., GmlcServer]]:
    """Start servers with other settings that live for the whole test module."""
    started: list[GmlcServer] = []

    def start(**settings: Any) -> GmlcServer:
        server = start_server(tmp_path_factory.mktemp("module-gmlc"), **settings)
        started.append(server)
        return server

    try:
        yield start
    finally:
        for server in started:
            stop_server(server)


@pytest.fixture(scope="module")
def gmlc_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GmlcServer]:
    """One GMLC (with TLS) for the module, with observations for the targets that need them."""
    root = tmp_path_factory.mktemp("gmlc")
    cert, key = self_signed_certificate(root)
    server = start_server(root, tls_cert=str(cert), tls_key=str(key))
    try:
        for name, state, tac in (
            ("ok", "home", KNOWN_CELL.area),
            ("absent", "searching", KNOWN_CELL.area),
            ("unknown_cell", "home", 9999),
            ("hidden", "home", KNOWN_CELL.area),
        ):
            answer = server.post_observation(server.token(name, state=state, tac=tac))
            assert answer.status_code == 202, answer.text
        yield server
    finally:
        stop_server(server)
