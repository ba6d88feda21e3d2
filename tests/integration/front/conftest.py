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
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import h11
import httpx
import pytest
import trustme
from OpenSSL import SSL

from mlp.statement import EXPORTER_LABEL, EXPORTER_LENGTH, session_hash_from_exporter
from tests.support.certificates import TestCa, new_test_ca
from tests.support.gmlc import LAB_CELL, GmlcProcess, Sim, running_lab_gmlc
from tests.support.processes import clean_env, free_port, stop_process, wait_for
from tests.support.tomlfile import toml_value

H = "shop.example.salve.test"
API = "api.example.salve.test"
G = "front-gmlc.gmlc.salve.test"
UNREGISTERED = "other.example.salve.test"  # a name the GMLC has not enrolled for the client
PASSWORD = "front-integration-password"
SIM = Sim("41791000201", "228011000000201", "8941011000000000201")
MSISDN = SIM.msisdn
# A SIM of the same client that never reported a cell: the GMLC cannot place it.
SILENT = Sim("41791000202", "228011000000202", "8941011000000000202")
CELL = LAB_CELL


# --------------------------------------------------------------------------- PKI


@dataclass
class Pki(TestCa):
    site: trustme.LeafCert
    api: trustme.LeafCert
    site_next: trustme.LeafCert
    gmlc: trustme.LeafCert
    unregistered: trustme.LeafCert


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    directory = tmp_path_factory.mktemp("front-pki")
    ca, ca_file = new_test_ca(directory)
    return Pki(
        ca=ca,
        ca_file=ca_file,
        directory=directory,
        site=ca.issue_cert(H),
        api=ca.issue_cert(API),
        site_next=ca.issue_cert(H),
        gmlc=ca.issue_cert(G, "127.0.0.1"),
        unregistered=ca.issue_cert(UNREGISTERED),
    )


# --------------------------------------------------------------------------- GMLC


@pytest.fixture(scope="session")
def gmlc(tmp_path_factory: pytest.TempPathFactory, pki: Pki) -> Iterator[GmlcProcess]:
    with running_lab_gmlc(
        tmp_path_factory.mktemp("front-gmlc"),
        issuer=G,
        tls=pki.pair(pki.gmlc, "gmlc"),
        ca_file=pki.ca_file,
        client=("shop-front", PASSWORD),
        domains=[H, API],
        appliances={"appliance-front": SIM, "appliance-silent": SILENT},
        reporting="appliance-front",
        statement_validity_s=300,
    ) as server:
        yield server


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
    gmlc: GmlcProcess
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
            lines += [f"{k} = {toml_value(v)}" for k, v in values.items() if not k.startswith("_")]
            lines.append("")
        for chain, key, upcoming in settings["tls"].get("_certificates", []):
            lines += [
                "[[tls.certificates]]",
                f"chain = {toml_value(chain)}",
                f"key = {toml_value(key)}",
                f"upcoming = {toml_value(upcoming)}",
                "",
            ]
        for name, lat, lon, precision in settings["site"].get("_locations", []):
            lines += [
                "[[site.locations]]",
                f"name = {toml_value(name)}",
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
            env={**clean_env("SALVE_"), **(env or {})},
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
                env={**clean_env("SALVE_"), **(env or {})},
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


@pytest.fixture(scope="module")
def world(
    tmp_path_factory: pytest.TempPathFactory, pki: Pki, gmlc: GmlcProcess, upstream: Upstream
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
