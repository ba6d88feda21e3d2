"""The front's world, from real parts on loopback.

* ``pki``: a test CA (trustme) with the site's certificates (``shop.example.salve.test``,
  and ``api.example.salve.test`` on a second pair), another key for the site's name (a
  rollover's next key, or an attacker's), one for a name the GMLC never enrolled, and the
  GMLC's certificate.
* ``gmlc``: a real GMLC (``python -m gmlc serve``) over TLS for
  ``front-gmlc.gmlc.salve.test``, with a client that owns the site's two domains, an
  appliance and a fresh observation, so it signs statements for any session hash and
  answers declarations.
* ``upstream``: the application behind the front, a threaded HTTP/1.1 server that echoes
  requests, streams large bodies, answers slowly or resets, and counts its connections.
* ``start_front``: ``python -m front serve`` with a TOML file written for the test; the
  default front (single statements, declarations not required) is shared by the module.
* ``client``: a pyOpenSSL TLS 1.3 client that computes its *own* RFC 9266 exporter and
  speaks HTTP/1.1 (h11) on the same connection; it can resume a session.

The names differ from the verifier tests' (``www.example.salve.test``,
``gmlc.salve.test``), so both can publish their records in the one Knot lab.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import h11
import httpx
import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from OpenSSL import SSL

from gmlc.auth import hash_password
from gmlc.keys import KeyRing
from gmlc.store import CellRecord, DomainEnrolment, Store
from mlp.dnsrecords import KeyPin
from mlp.keys import KeySet, jwk_thumbprint
from mlp.m2dmrt import spki_der
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
from mlp.statement import EXPORTER_LABEL, EXPORTER_LENGTH, session_hash_from_exporter

H = "shop.example.salve.test"
API = "api.example.salve.test"
G = "front-gmlc.gmlc.salve.test"
UNREGISTERED = "other.example.salve.test"  # a name the GMLC has not enrolled for the client
PASSWORD = "front-integration-password"
MSISDN, IMSI, ICCID = "41791000201", "228011000000201", "8941011000000000201"
# A SIM of the same client that never reported a cell: the GMLC cannot place it.
SILENT = ("41791000202", "228011000000202", "8941011000000000202")
CELL = CellRecord("LTE", 228, 1, 3100, 777001, 46.9480, 7.4474, 1800, 120)


def wait_for(condition: Callable[[], Any], what: str, timeout: float = 20.0) -> Any:
    """Poll until ``condition()`` is truthy and return it (no fixed sleeps)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)  # polling interval, not a race hider


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def stop_process(process: subprocess.Popen[bytes], *, sig: int = signal.SIGTERM) -> int:
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
    return process.returncode


# --------------------------------------------------------------------------- PKI


@dataclass
class Pki:
    ca: trustme.CA
    ca_file: Path
    site: trustme.LeafCert
    api: trustme.LeafCert
    site_next: trustme.LeafCert
    gmlc: trustme.LeafCert
    unregistered: trustme.LeafCert
    directory: Path

    def pair(self, cert: trustme.LeafCert, name: str) -> tuple[Path, Path]:
        """The chain and key files of ``cert`` (key mode 0600)."""
        chain, key = self.directory / f"{name}-chain.pem", self.directory / f"{name}-key.pem"
        if not chain.exists():
            chain.write_bytes(b"".join(blob.bytes() for blob in cert.cert_chain_pems))
            key.write_bytes(cert.private_key_pem.bytes())
            key.chmod(0o600)
        return chain, key

    @staticmethod
    def private_key(cert: trustme.LeafCert) -> Any:
        return serialization.load_pem_private_key(cert.private_key_pem.bytes(), None)

    @staticmethod
    def spki(cert: trustme.LeafCert) -> bytes:
        return spki_der(x509.load_pem_x509_certificate(cert.cert_chain_pems[0].bytes()))


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    directory = tmp_path_factory.mktemp("front-pki")
    ca = trustme.CA()
    ca_file = directory / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    return Pki(
        ca=ca,
        ca_file=ca_file,
        site=ca.issue_cert(H),
        api=ca.issue_cert(API),
        site_next=ca.issue_cert(H),
        gmlc=ca.issue_cert(G, "127.0.0.1"),
        unregistered=ca.issue_cert(UNREGISTERED),
        directory=directory,
    )


# --------------------------------------------------------------------------- GMLC


@dataclass
class Gmlc:
    port: int
    state_dir: Path
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def key_pins(self) -> list[KeyPin]:
        document = KeyRing(self.state_dir / "keys").jwks(datetime.now(UTC), 0)
        return [
            KeyPin(key.kid, jwk_thumbprint(key.public_key), key.alg)
            for key in KeySet.from_jwks(document)
        ]

    def keys(self) -> KeySet:
        return KeySet.from_jwks(KeyRing(self.state_dir / "keys").jwks(datetime.now(UTC), 0))

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def _observation(key: Ed25519PrivateKey, seq: int) -> str:
    report = ObservationReport(
        appliance="appliance-front",
        seq=seq,
        observed_at=int(time.time()) - 1,
        sim=ReportSim(imsi=IMSI, iccid=ICCID, msisdn=MSISDN),
        modem=ReportModem(manufacturer="Quectel", model="EC25", revision=None, imei=None),
        registration=ReportRegistration(state="home", rat="LTE-M"),
        serving=ReportCell(
            rat="LTE-M", mcc="228", mnc="01", tac=CELL.area, ci=CELL.cell, rsrp=-97.0
        ),
        neighbours=(),
        signal=ReportSignal(rsrp=-97.0, rsrq=-10.0),
    )
    return sign_observation(report, key)


@pytest.fixture(scope="session")
def gmlc(tmp_path_factory: pytest.TempPathFactory, pki: Pki) -> Iterator[Gmlc]:
    root = tmp_path_factory.mktemp("front-gmlc")
    state_dir = root / "state"
    state_dir.mkdir(mode=0o700)
    KeyRing(state_dir / "keys").generate("ES256")
    appliance_key = Ed25519PrivateKey.generate()
    with Store.open(f"sqlite:///{state_dir / 'gmlc.sqlite3'}") as store:
        store.migrate()
        store.add_client(
            "shop-front",
            hash_password(PASSWORD),
            networks=["127.0.0.0/8"],
            msisdns=[MSISDN, SILENT[0]],
            imsis=[IMSI, SILENT[1]],
            # Enrolled directly: the GMLC's DNSSEC check of the policy is its own tests' job.
            domains=[DomainEnrolment(H), DomainEnrolment(API)],
        )
        store.add_appliance(
            "appliance-silent",
            public_key=encode_public_key(Ed25519PrivateKey.generate().public_key()),
            imsi=SILENT[1],
            iccid=SILENT[2],
            msisdn=SILENT[0],
            site="site-silent",
        )
        store.add_appliance(
            "appliance-front",
            public_key=encode_public_key(appliance_key.public_key()),
            imsi=IMSI,
            iccid=ICCID,
            msisdn=MSISDN,
            site="site-front",
        )
        store.upsert_cells([CELL])
    cert, key = pki.pair(pki.gmlc, "gmlc")
    port = free_port()
    config = root / "gmlc.toml"
    config.write_text(
        "[gmlc]\n"
        f'issuer = "{G}"\n'
        f'state_dir = "{state_dir}"\n'
        'host = "127.0.0.1"\n'
        f"port = {port}\n"
        f"metrics_port = {free_port()}\n"
        f'tls_cert = "{cert}"\n'
        f'tls_key = "{key}"\n'
        "statement_validity_s = 300\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("SALVE_")}
    log_path = root / "gmlc.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "gmlc", "serve", "--config", str(config)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
    server = Gmlc(port, state_dir, process, log_path)
    context = ssl.create_default_context(cafile=str(pki.ca_file))

    def ready() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"the GMLC exited: {server.log()}")
        try:
            return httpx.get(f"{server.url}/readyz", verify=context, timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    try:
        wait_for(ready, "the GMLC to be ready", 30)
        answer = httpx.post(
            f"{server.url}/v1/observations",
            content=_observation(appliance_key, 1),
            headers={"Content-Type": "application/jose"},
            verify=context,
            timeout=10,
        )
        assert answer.status_code == 202, answer.text
        yield server
    finally:
        stop_process(process)


# --------------------------------------------------------------------------- the application


@dataclass
class Upstream:
    port: int
    server: ThreadingHTTPServer
    peers: list[tuple[str, int]] = field(default_factory=list)
    seen: list[dict[str, Any]] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def connections(self) -> int:
        """How many TCP connections the front opened to the application so far."""
        return len(set(self.peers))


def _handler(upstream_ref: list[Upstream]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _record(self, body: bytes) -> dict[str, Any]:
            upstream = upstream_ref[0]
            upstream.peers.append(self.client_address)
            entry = {
                "method": self.command,
                "path": self.path,
                "headers": [[k, v] for k, v in self.headers.items()],
                "length": len(body),
                "sha256": hashlib.sha256(body).hexdigest(),
                "peer": list(self.client_address),
            }
            upstream.seen.append(entry)
            return entry

        def _body(self) -> bytes:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                chunks = []
                while True:
                    size = int(self.rfile.readline().split(b";")[0], 16)
                    if size == 0:
                        while self.rfile.readline() not in (b"\r\n", b""):
                            pass
                        return b"".join(chunks)
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
            length = int(self.headers.get("Content-Length", "0"))
            return self.rfile.read(length) if length else b""

        def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("X-App", "upstream")
            self.send_header("Connection", "keep-alive")
            self.send_header("Keep-Alive", "timeout=30")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def do_GET(self) -> None:
            body = self._body()
            entry = self._record(body)
            path = self.path.split("?")[0]
            if path == "/big":
                size = int(self.path.split("n=")[1])
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(size))
                self.end_headers()
                block = bytes(range(256)) * 256  # 64 KiB
                sent = 0
                while sent < size:
                    piece = block[: min(len(block), size - sent)]
                    self.wfile.write(piece)
                    sent += len(piece)
                return
            if path == "/slow":
                upstream_ref[0].release.wait(30)
                self._send(200, b"late\n", "text/plain")
                return
            if path == "/reset":
                self.connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
                )
                self.connection.close()
                self.close_connection = True
                return
            if path == "/half":
                self.send_response(200)
                self.send_header("Content-Length", "100000")
                self.end_headers()
                self.wfile.write(b"x" * 1000)
                self.wfile.flush()
                self.connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
                )
                self.connection.close()
                self.close_connection = True
                return
            self._send(200, json.dumps(entry).encode())

        do_POST = do_GET  # noqa: N815 - http.server's names
        do_PUT = do_GET  # noqa: N815
        do_HEAD = do_GET  # noqa: N815

    return Handler


@pytest.fixture(scope="session")
def upstream() -> Iterator[Upstream]:
    ref: list[Upstream] = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(ref))
    server.daemon_threads = True
    app = Upstream(server.server_address[1], server)
    ref.append(app)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield app
    app.release.set()
    server.shutdown()
    server.server_close()


# --------------------------------------------------------------------------- the front


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return json.dumps(str(value))


@dataclass
class Front:
    directory: Path
    config: Path
    port: int
    metrics_port: int
    process: subprocess.Popen[bytes] | None
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def events(self, name: str) -> list[dict[str, Any]]:
        found = []
        for line in self.log().splitlines():
            with contextlib.suppress(ValueError):
                entry = json.loads(line)
                if entry.get("event") == name:
                    found.append(entry)
        return found

    def metrics(self) -> str:
        return httpx.get(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5).text

    def metric(self, name: str, **labels: str) -> float:
        wanted = name + (
            "{" + ",".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}" if labels else ""
        )
        for line in self.metrics().splitlines():
            if line.startswith(wanted + " "):
                return float(line.split()[-1])
        return 0.0

    def signal(self, number: int) -> None:
        assert self.process is not None
        self.process.send_signal(number)

    def stop(self) -> int:
        assert self.process is not None
        return stop_process(self.process)


@dataclass
class FrontWorld:
    pki: Pki
    gmlc: Gmlc
    upstream: Upstream
    root: Path
    made: list[Front] = field(default_factory=list)

    def settings(self, **tables: dict[str, Any]) -> dict[str, dict[str, Any]]:
        directory = self.root / f"front-{len(self.made)}"
        directory.mkdir(parents=True, exist_ok=True)
        password = directory / "gmlc.password"
        password.write_text(PASSWORD + "\n")
        password.chmod(0o600)
        site_chain, site_key = self.pki.pair(self.pki.site, "site")
        api_chain, api_key = self.pki.pair(self.pki.api, "api")
        base: dict[str, dict[str, Any]] = {
            "tls": {"listen": f"127.0.0.1:{free_port()}", "handshake_timeout_s": 1},
            "http": {
                "header_timeout_s": 1,
                "keepalive_timeout_s": 10,
                "max_request_body_bytes": 8 * 1024 * 1024,
            },
            "upstream": {
                "url": self.upstream.url,
                "response_timeout_s": 1.5,
                "idle_timeout_s": 3,
                "connect_timeout_s": 2,
            },
            "gmlc": {
                "url": self.gmlc.url,
                "name": G,
                "client_id": "shop-front",
                "password_file": str(password),
                "ca_file": str(self.pki.ca_file),
                "msisdn": MSISDN,
                "timeout_s": 5,
                "delivery_wait_s": 5,
                "retry_after_s": 2,
            },
            "site": {"domains": [H, API], "state_dir": str(directory / "state")},
            "policy": {"age": 300, "mode": "one", "max_age": 3600},
            "dns": {"require_declaration": False},
            "metrics": {"listen": f"127.0.0.1:{free_port()}"},
        }
        base["tls"]["_certificates"] = [(site_chain, site_key, False), (api_chain, api_key, False)]
        base["site"]["_locations"] = [("Bern", CELL.lat, CELL.lon, 10000)]
        for table, values in tables.items():
            base.setdefault(table, {}).update(values)
        base["_directory"] = {"path": directory}
        return base

    def write(self, settings: dict[str, dict[str, Any]]) -> Path:
        directory: Path = settings["_directory"]["path"]
        lines: list[str] = []
        for table, values in settings.items():
            if table.startswith("_"):
                continue
            lines.append(f"[{table}]")
            lines += [f"{k} = {_toml(v)}" for k, v in values.items() if not k.startswith("_")]
            lines.append("")
        for chain, key, upcoming in settings["tls"].get("_certificates", []):
            lines += [
                "[[tls.certificates]]",
                f"chain = {_toml(chain)}",
                f"key = {_toml(key)}",
                f"upcoming = {_toml(upcoming)}",
                "",
            ]
        for name, lat, lon, precision in settings["site"].get("_locations", []):
            lines += [
                "[[site.locations]]",
                f"name = {_toml(name)}",
                f"lat = {lat}",
                f"lon = {lon}",
                f"precision_m = {precision}",
                "",
            ]
        config = directory / "front.toml"
        config.write_text("\n".join(lines))
        return config

    def cli(
        self, config: Path, *args: str, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "front", *args, "--config", str(config)],
            capture_output=True,
            text=True,
            timeout=60,
            env={**_clean_env(), **(env or {})},
            check=False,
        )

    def start(
        self,
        settings: dict[str, dict[str, Any]] | None = None,
        *,
        wait: bool = True,
        env: dict[str, str] | None = None,
    ) -> Front:
        settings = settings or self.settings()
        config = self.write(settings)
        directory: Path = settings["_directory"]["path"]
        log_path = directory / "front.log"
        port = int(settings["tls"]["listen"].rsplit(":", 1)[1])
        metrics_port = int(settings["metrics"]["listen"].rsplit(":", 1)[1])
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "front", "serve", "--config", str(config)],
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**_clean_env(), **(env or {})},
            )
        front = Front(directory, config, port, metrics_port, process, log_path)
        self.made.append(front)
        if wait:

            def listening() -> bool:
                if process.poll() is not None:
                    raise AssertionError(
                        f"the front exited with {process.returncode}: {front.log()}"
                    )
                return bool(front.events("front_listening"))

            wait_for(listening, "the front to listen", 30)
        return front

    def close(self) -> None:
        for front in self.made:
            if front.process is not None:
                stop_process(front.process)


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("SALVE_")}


@pytest.fixture(scope="module")
def world(
    tmp_path_factory: pytest.TempPathFactory, pki: Pki, gmlc: Gmlc, upstream: Upstream
) -> Iterator[FrontWorld]:
    made = FrontWorld(pki, gmlc, upstream, tmp_path_factory.mktemp("front"))
    try:
        yield made
    finally:
        made.close()


@pytest.fixture(scope="module")
def front(world: FrontWorld) -> Front:
    """The module's default front: single statements, declarations not required."""
    return world.start()


# --------------------------------------------------------------------------- the client


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes


class TestConnection:
    """A TLS 1.3 client connection that knows its own exporter."""

    def __init__(self, ssl_conn: SSL.Connection, sock: socket.socket) -> None:
        self.ssl = ssl_conn
        self.sock = sock
        self.exporter = ssl_conn.export_keying_material(EXPORTER_LABEL, EXPORTER_LENGTH, b"")
        self.session_hash = session_hash_from_exporter(self.exporter)
        self.http = h11.Connection(h11.CLIENT)

    def send_raw(self, data: bytes) -> None:
        self.ssl.sendall(data)

    def request(
        self,
        method: str,
        target: str,
        *,
        headers: list[tuple[str, str]] | None = None,
        body: bytes | None = None,
        host: str = H,
    ) -> Response:
        fields = [("Host", host), *(headers or [])]
        if body is not None and not any(k.lower() == "transfer-encoding" for k, _ in fields):
            fields.append(("Content-Length", str(len(body))))
        data = self.http.send(h11.Request(method=method, target=target, headers=fields)) or b""
        if body:
            data += self.http.send(h11.Data(data=body)) or b""
        data += self.http.send(h11.EndOfMessage()) or b""
        self.ssl.sendall(data)
        return self.read_response()

    def read_response(self) -> Response:
        status, headers, chunks = 0, {}, []
        while True:
            event = self.http.next_event()
            if event is h11.NEED_DATA:
                try:
                    data = self.ssl.recv(65536)
                except (SSL.ZeroReturnError, SSL.SysCallError):
                    data = b""
                self.http.receive_data(data)
            elif isinstance(event, h11.Response):
                status = event.status_code
                headers = {k.decode().lower(): v.decode() for k, v in event.headers}
            elif isinstance(event, h11.Data):
                chunks.append(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage):
                if self.http.our_state is h11.DONE and self.http.their_state is h11.DONE:
                    self.http.start_next_cycle()
                return Response(status, headers, b"".join(chunks))
            elif isinstance(event, h11.ConnectionClosed):
                raise ConnectionError("the front closed the connection")

    def closed_by_peer(self, timeout: float = 5.0) -> bool:
        self.sock.settimeout(timeout)
        try:
            return self.ssl.recv(1) == b""
        except (SSL.ZeroReturnError, SSL.SysCallError):
            return True
        except SSL.Error:
            return True
        except TimeoutError:
            return False

    def close(self) -> None:
        with contextlib.suppress(SSL.Error, OSError):
            self.ssl.shutdown()
        self.sock.close()


class TestClient:
    """Makes verified TLS 1.3 connections to a front, optionally resuming sessions."""

    def __init__(self, ca_file: Path) -> None:
        context = SSL.Context(SSL.TLS_CLIENT_METHOD)
        context.set_min_proto_version(SSL.TLS1_3_VERSION)
        context.set_verify(SSL.VERIFY_PEER, lambda *args: bool(args[-1]))
        context.load_verify_locations(str(ca_file))
        context.set_session_cache_mode(SSL.SESS_CACHE_CLIENT)
        self.context = context
        self.opened: list[TestConnection] = []

    def connect(
        self, port: int, server_name: str | None = H, session: SSL.Session | None = None
    ) -> TestConnection:
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        sock.setblocking(True)
        connection = SSL.Connection(self.context, sock)
        if server_name is not None:
            connection.set_tlsext_host_name(server_name.encode())
        if session is not None:
            connection.set_session(session)
        connection.set_connect_state()
        connection.do_handshake()
        opened = TestConnection(connection, sock)
        self.opened.append(opened)
        return opened

    def close(self) -> None:
        for connection in self.opened:
            connection.close()


@pytest.fixture
def client(pki: Pki) -> Iterator[TestClient]:
    made = TestClient(pki.ca_file)
    try:
        yield made
    finally:
        made.close()


@pytest.fixture
def poll() -> Callable[..., Any]:
    return wait_for
