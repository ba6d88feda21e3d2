"""Fixtures for the GMLC over HTTP: a real server process on loopback with a temporary
state directory, built through the store and the key ring (never SQL), plus signed
observations from test appliances."""

from __future__ import annotations

import contextlib
import itertools
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gmlc.auth import hash_password
from gmlc.store import ANYWHERE, CellRecord, DomainEnrolment, Store
from mlp.observation import ObservationReport, sign_observation
from tests.support.certificates import self_signed_certificate
from tests.support.gmlc import (
    LAB_CELL,
    GmlcProcess,
    Sim,
    enrol_appliance,
    new_state_dir,
    observation_report,
    serve_gmlc,
    sqlite_url,
)
from tests.support.processes import wait_for

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
    "ok": Sim("41791000001", "228011000000001", "8941011000000000001"),
    "absent": Sim("41791000002", "228011000000002", "8941011000000000002"),
    "unknown_cell": Sim("41791000003", "228011000000003", "8941011000000000003"),
    "silent": Sim("41791000004", "228011000000004", "8941011000000000004"),
    "hidden": Sim("41791000005", "228011000000005", "8941011000000000005"),
}
KNOWN_CELL = LAB_CELL


@dataclass
class GmlcServer(GmlcProcess):
    """A running GMLC, the state behind it and the appliances that report to it."""

    database_url: str = ""
    targets: dict[str, Target] = field(default_factory=dict)
    seq: dict[str, int] = field(default_factory=dict)
    password: str = PASSWORD
    other_password: str = OTHER_PASSWORD
    known_cell: CellRecord = KNOWN_CELL
    wait_for = staticmethod(wait_for)

    def store(self) -> Store:
        return Store.open(self.database_url)

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
        sim = Sim(target.msisdn, imsi or target.imsi, target.iccid)
        return observation_report(
            target.appliance_id,
            sim,
            seq=seq,
            observed_at=int(time.time()) - age_s,
            state=state,
            ci=ci,
            tac=tac,
        )

    def token(self, name: str, report: ObservationReport | None = None, **kw: Any) -> str:
        return sign_observation(report or self.report(name, **kw), self.targets[name].key)

    def get(self, path: str) -> httpx.Response:
        return httpx.get(self.url + path, timeout=10, verify=self.verify)

    def metrics(self) -> str:
        """The metrics text, from the metrics listener."""
        response = httpx.get(self.metrics_url, timeout=10, verify=self.verify)
        response.raise_for_status()
        return response.text

    def post(
        self, path: str, content: Any, headers: dict[str, str] | None = None
    ) -> httpx.Response:
        return httpx.post(
            self.url + path, content=content, headers=headers, timeout=10, verify=self.verify
        )


def _prepare_state(root: Path) -> tuple[Path, str, dict[str, Target]]:
    state_dir = new_state_dir(root)
    database_url = sqlite_url(state_dir)
    targets = {}
    with Store.open(database_url) as store:
        store.migrate()
        visible = [sim for name, sim in TARGETS.items() if name != "hidden"]
        # web-1 is pinned to the loopback address the tests connect from; 127.0.0.2 is
        # "elsewhere". web-2 may connect from anywhere.
        store.add_client(
            "web-1",
            hash_password(PASSWORD),
            networks=["127.0.0.1"],
            msisdns=[sim.msisdn for sim in visible],
            imsis=[sim.imsi for sim in visible],
            domains=[DomainEnrolment(DOMAIN)],
        )
        store.add_client(
            "web-2",
            hash_password(OTHER_PASSWORD),
            networks=ANYWHERE,
            msisdns=[TARGETS["hidden"].msisdn],
        )
        for name, sim in TARGETS.items():
            appliance_id = f"appliance-{name}"
            key = enrol_appliance(store, appliance_id, sim, site=f"site-{name}")
            targets[name] = Target(appliance_id, sim.msisdn, sim.imsi, sim.iccid, key)
        store.upsert_cells([KNOWN_CELL])
    return state_dir, database_url, targets


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
    settings = {"issuer": "gmlc.integration.test", **settings}
    process = serve_gmlc(root, state_dir, settings, env=env)
    return GmlcServer(**vars(process), database_url=database_url, targets=targets)


@contextlib.contextmanager
def _server_starter(next_root: Callable[[], Path]) -> Iterator[Callable[..., GmlcServer]]:
    """``start(**settings)`` runs a server in ``next_root()``; all are stopped at the end."""
    started: list[GmlcServer] = []

    def start(**settings: Any) -> GmlcServer:
        server = start_server(next_root(), **settings)
        started.append(server)
        return server

    try:
        yield start
    finally:
        for server in started:
            server.stop()


@pytest.fixture
def gmlc_state(tmp_path: Path) -> tuple[Path, str]:
    """A prepared state directory and database URL, without a server."""
    state_dir, database_url, _ = _prepare_state(tmp_path / "prepared")
    return state_dir, database_url


@pytest.fixture
def start_gmlc(tmp_path: Path) -> Iterator[Callable[..., GmlcServer]]:
    """Start extra servers with other settings; each is stopped after the test."""
    numbers = itertools.count()
    with _server_starter(lambda: tmp_path / f"server-{next(numbers)}") as start:
        yield start


@pytest.fixture(scope="module")
def start_module_gmlc(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Callable[..., GmlcServer]]:
    """Start servers with other settings that live for the whole test module."""
    with _server_starter(lambda: tmp_path_factory.mktemp("module-gmlc")) as start:
        yield start


@pytest.fixture(scope="module")
def gmlc_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GmlcServer]:
    """One GMLC (with TLS) for the module, with observations for the targets that need them."""
    root = tmp_path_factory.mktemp("gmlc")
    cert, key = self_signed_certificate(root, alt_names=("127.0.0.1",), authority=True)
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
        server.stop()
