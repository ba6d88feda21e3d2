"""The world a verifier checks, built from real parts on loopback.

* ``pki``: a test CA (trustme) and certificates: the site's, the GMLC's, and the ones an
  attacker or a careless operator has (another key for the site's name, an expired one,
  one for another name, one from an unknown CA).
* ``gmlc``: a real GMLC (``python -m gmlc serve``) over TLS for ``gmlc.salve.test``, with
  a client, an appliance and a fresh observation in a known cell, so it signs
  statements (``sub`` = the SLIR's ``salve:domain``) for any session hash.
* ``site_factory``: a TLS 1.3 site (``verifier.sitelab.LabSite``) that computes each
  connection's RFC 9266 exporter and serves ``/.well-known/salve/statement`` as the front
  does; what it serves is a function of the session hash, so a test can stage relays
  and replays.
* ``salve_dns``: the DNS records of the SALVE site published in the Knot lab: policy,
  LOC, both M2DMRT declarations and the GMLC's key pins.
"""

from __future__ import annotations

import contextlib
import os
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import trustme
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gmlc.auth import hash_password
from gmlc.keys import KeyRing
from gmlc.store import CellRecord, DomainEnrolment, Store
from mlp.client import MlpClient
from mlp.delivery import DeliveryFailure, StatementDelivery
from mlp.dnsrecords import GmlcEndpoint, KeyPin, format_loc, policy_record_name
from mlp.keys import KeySet, SigningKey, jwk_thumbprint
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
from verifier.dnslab import KnotLab, salve_records
from verifier.sitelab import LabSite, StatementServer

H = "www.example.salve.test"
OTHER_SITE = "other.example.salve.test"
G = "gmlc.salve.test"
PASSWORD = "verifier-integration-password"
MSISDN, IMSI, ICCID = "41791000101", "228011000000101", "8941011000000000101"
CELL = CellRecord("LTE", 228, 1, 3100, 777001, 46.9480, 7.4474, 1800, 120)
SITE_LOC = format_loc(CELL.lat, CELL.lon, hp_m=10000)


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)  # polling interval, not a race hider


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# --------------------------------------------------------------------------- PKI


@dataclass
class Pki:
    ca: trustme.CA
    ca_file: Path
    site: trustme.LeafCert
    gmlc: trustme.LeafCert
    site_other_key: trustme.LeafCert
    site_expired: trustme.LeafCert
    other_name: trustme.LeafCert
    unknown_ca_site: trustme.LeafCert

    @staticmethod
    def private_key(cert: trustme.LeafCert) -> Any:
        return serialization.load_pem_private_key(cert.private_key_pem.bytes(), None)

    @staticmethod
    def spki(cert: trustme.LeafCert) -> bytes:
        from cryptography import x509

        return spki_der(x509.load_pem_x509_certificate(cert.cert_chain_pems[0].bytes()))


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    directory = tmp_path_factory.mktemp("pki")
    ca = trustme.CA()
    ca_file = directory / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    past = datetime.now(UTC) - timedelta(days=30)
    return Pki(
        ca=ca,
        ca_file=ca_file,
        site=ca.issue_cert(H),
        gmlc=ca.issue_cert(G, "127.0.0.1"),
        site_other_key=ca.issue_cert(H),
        site_expired=ca.issue_cert(H, not_before=past, not_after=past + timedelta(days=1)),
        other_name=ca.issue_cert("other.example.salve.test"),
        unknown_ca_site=trustme.CA().issue_cert(H),
    )


# --------------------------------------------------------------------------- GMLC


@dataclass
class Gmlc:
    port: int
    state_dir: Path
    process: subprocess.Popen[bytes]
    log_path: Path
    ca_file: Path

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def client(self) -> MlpClient:
        return MlpClient(self.url, client_id="web-1", password=PASSWORD, verify=str(self.ca_file))

    def signing_key(self) -> SigningKey:
        return KeyRing(self.state_dir / "keys").active_signing_key()

    def key_pins(self) -> list[KeyPin]:
        document = KeyRing(self.state_dir / "keys").jwks(datetime.now(UTC), 0)
        return [
            KeyPin(key.kid, jwk_thumbprint(key.public_key), key.alg)
            for key in KeySet.from_jwks(document)
        ]

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def _observation(key: Ed25519PrivateKey, seq: int) -> str:
    report = ObservationReport(
        appliance="appliance-verifier",
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
    root = tmp_path_factory.mktemp("gmlc")
    state_dir = root / "state"
    state_dir.mkdir(mode=0o700)
    KeyRing(state_dir / "keys").generate("ES256")
    appliance_key = Ed25519PrivateKey.generate()
    with Store.open(f"sqlite:///{state_dir / 'gmlc.sqlite3'}") as store:
        store.migrate()
        store.add_client(
            "web-1",
            hash_password(PASSWORD),
            networks=["127.0.0.0/8"],  # the site's network: loopback here
            msisdns=[MSISDN],
            imsis=[IMSI],
            # The site, and another site of the same operator (whose statements an
            # attacker may replay on the first).
            domains=[DomainEnrolment(H), DomainEnrolment(OTHER_SITE)],
        )
        store.add_appliance(
            "appliance-verifier",
            public_key=encode_public_key(appliance_key.public_key()),
            imsi=IMSI,
            iccid=ICCID,
            msisdn=MSISDN,
            site="site-verifier",
        )
        store.upsert_cells([CELL])
    cert, key = root / "gmlc-cert.pem", root / "gmlc-key.pem"
    pki.gmlc.cert_chain_pems[0].write_to_path(str(cert))
    for blob in pki.gmlc.cert_chain_pems[1:]:
        blob.write_to_path(str(cert), append=True)
    pki.gmlc.private_key_pem.write_to_path(str(key))
    os.chmod(key, 0o600)
    port = free_port()
    config = root / "gmlc.toml"
    config.write_text(
        "[gmlc]\n"
        f'issuer = "{G}"\n'
        f'state_dir = "{state_dir}"\n'
        'host = "127.0.0.1"\n'
        f"port = {port}\n"
        f'tls_cert = "{cert}"\n'
        f'tls_key = "{key}"\n'
        "statement_validity_s = 300\n"
        # No metrics listener: its default port (9212) may be taken on a shared machine.
        "metrics_port = 0\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("SALVE_GMLC_")}
    log_path = root / "gmlc.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "gmlc", "serve", "--config", str(config)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
    server = Gmlc(port, state_dir, process, log_path, pki.ca_file)
    context = ssl.create_default_context(cafile=str(pki.ca_file))

    def ready() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"the GMLC exited: {server.log()}")
        try:
            return httpx.get(f"{server.url}/readyz", verify=context, timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    try:
        wait_for(ready, "the GMLC to be ready")
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
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


# --------------------------------------------------------------------------- the site


Serve = StatementServer


@pytest.fixture
def site_factory(tmp_path: Path) -> Iterator[Callable[..., LabSite]]:
    sites: list[LabSite] = []

    def make(cert: trustme.LeafCert, serve: Serve, **options: Any) -> LabSite:
        directory = tmp_path / f"site-{len(sites)}"
        directory.mkdir()
        chain, key = directory / "chain.pem", directory / "key.pem"
        chain.write_bytes(b"".join(blob.bytes() for blob in cert.cert_chain_pems))
        key.write_bytes(cert.private_key_pem.bytes())
        site = LabSite(H, chain, key, serve, **options).start()
        sites.append(site)
        return site

    yield make
    for site in sites:
        site.stop()


class Serves:
    """Ways a site answers the statement path (a function of the connection's session hash)."""

    def __init__(self, gmlc: Gmlc) -> None:
        self.gmlc = gmlc
        self.client = gmlc.client()

    def from_gmlc(self, *, domain: str = H) -> Serve:
        """Each connection gets a statement from the real GMLC, bound to its session hash."""

        def serve(session_hash: bytes) -> tuple[int, bytes]:
            result = self.client.request_location(
                MSISDN, session_hash, domain=domain, max_loc_age=300
            )
            assert result.statement is not None
            return 200, StatementDelivery(result.statement).to_json()

        return serve

    def gmlc_statement(self, session_hash: bytes, *, domain: str = H) -> str:
        """A genuine statement from the GMLC for any session hash (a relay's loot)."""
        result = self.client.request_location(MSISDN, session_hash, domain=domain)
        assert result.statement is not None
        return result.statement

    def signed(self, token_for: Callable[[bytes], str]) -> Serve:
        """Serve whatever token ``token_for(session_hash)`` makes."""
        return lambda session_hash: (200, StatementDelivery(token_for(session_hash)).to_json())

    def close(self) -> None:
        # An idle keep-alive connection would hold the GMLC's graceful shutdown.
        self.client.close()

    @staticmethod
    def fixed(status: int, body: bytes) -> Serve:
        return lambda session_hash: (status, body)

    @staticmethod
    def unavailable(error: str = "gmlc_unreachable") -> Serve:
        return Serves.fixed(503, DeliveryFailure(error, None).to_json())  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def serves(gmlc: Gmlc) -> Iterator[Serves]:
    answers = Serves(gmlc)
    yield answers
    answers.close()


# --------------------------------------------------------------------------- DNS


@dataclass
class SalveDns:
    lab: KnotLab
    policy: str
    records: dict[tuple[str, str], list[str]]


def published(pki: Pki, gmlc: Gmlc) -> dict[tuple[str, str], list[str]]:
    """The site's and the GMLC's SALVE records, by (owner, type)."""
    records = salve_records(
        host=H,
        gmlc=GmlcEndpoint(G, gmlc.port),
        sites=[SITE_LOC],
        site_key=Pki.private_key(pki.site),
        site_spki=Pki.spki(pki.site),
        gmlc_key=Pki.private_key(pki.gmlc),
        gmlc_spki=Pki.spki(pki.gmlc),
        pins=gmlc.key_pins(),
    )
    grouped: dict[tuple[str, str], list[str]] = {}
    for record in records:
        grouped.setdefault((record.owner, record.rdtype), []).append(record.value)
    return grouped


@pytest.fixture(scope="session")
def salve_dns(knot_lab: KnotLab, pki: Pki, gmlc: Gmlc) -> Iterator[SalveDns]:
    records = published(pki, gmlc)
    with contextlib.ExitStack() as stack:
        for (owner, rdtype), values in records.items():
            stack.enter_context(knot_lab.records(owner, rdtype, values))
        yield SalveDns(knot_lab, records[(policy_record_name(H), "TXT")][0], records)
