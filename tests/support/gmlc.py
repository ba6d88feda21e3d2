"""A GMLC for tests: its state built through the store and the key ring (never SQL),
signed observations from test appliances, and ``serve`` as a real process on loopback."""

from __future__ import annotations

import contextlib
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gmlc.auth import hash_password
from gmlc.keys import KeyRing
from gmlc.store import CellRecord, ClientRecord, DomainEnrolment, Store
from mlp.client import MlpClient
from mlp.dnsrecords import KeyPin
from mlp.keys import KeySet, SigningKey, jwk_thumbprint
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
from tests.support.processes import clean_env, free_port, stop_process, wait_for
from tests.support.tomlfile import write_toml

#: The cell the lab's appliances report from (Bern), known to every test GMLC.
LAB_CELL = CellRecord("LTE", 228, 1, 3100, 777001, 46.9480, 7.4474, 1800, 120)
#: The module the lab's appliances carry.
QUECTEL_EC25 = ReportModem(manufacturer="Quectel", model="EC25", revision=None, imei=None)


@dataclass(frozen=True)
class Sim:
    """A SIM's identities."""

    msisdn: str
    imsi: str
    iccid: str


def observation_report(
    appliance: str,
    sim: Sim,
    *,
    seq: int,
    observed_at: int | None = None,
    tac: int = LAB_CELL.area,
    ci: int = LAB_CELL.cell,
    state: str = "home",
    rat: str = "LTE-M",
    rsrp: float = -97.0,
    rsrq: float | None = -10.0,
    with_msisdn: bool = True,
    modem: ReportModem = QUECTEL_EC25,
) -> ObservationReport:
    """What ``appliance`` holding ``sim`` reports: registered (``state``) in cell
    ``tac``/``ci`` of 228-01, observed a second before now unless ``observed_at`` says."""
    return ObservationReport(
        appliance=appliance,
        seq=seq,
        observed_at=int(time.time()) - 1 if observed_at is None else observed_at,
        sim=ReportSim(imsi=sim.imsi, iccid=sim.iccid, msisdn=sim.msisdn if with_msisdn else None),
        modem=modem,
        registration=ReportRegistration(state=state, rat=rat),
        serving=ReportCell(rat=rat, mcc="228", mnc="01", tac=tac, ci=ci, rsrp=rsrp),
        neighbours=(),
        signal=ReportSignal(rsrp=rsrp, rsrq=rsrq),
    )


def signed_observation(
    key: Ed25519PrivateKey, appliance: str, sim: Sim, *, seq: int, **fields: Any
) -> str:
    """:func:`observation_report` signed with the appliance's ``key`` (a compact JWS)."""
    return sign_observation(observation_report(appliance, sim, seq=seq, **fields), key)


def enrol_appliance(
    store: Store,
    appliance_id: str,
    sim: Sim,
    *,
    site: str,
    key: Ed25519PrivateKey | None = None,
) -> Ed25519PrivateKey:
    """Adds ``appliance_id`` holding ``sim`` at ``site`` and returns its signing key
    (``key``, or a new one)."""
    key = key or Ed25519PrivateKey.generate()
    store.add_appliance(
        appliance_id,
        public_key=encode_public_key(key.public_key()),
        imsi=sim.imsi,
        iccid=sim.iccid,
        msisdn=sim.msisdn,
        site=site,
    )
    return key


def new_state_dir(root: Path) -> Path:
    """``root/state`` (mode 0700) with a key ring holding one ES256 statement key."""
    root.mkdir(parents=True, exist_ok=True)
    state_dir = root / "state"
    state_dir.mkdir(mode=0o700)
    KeyRing(state_dir / "keys").generate("ES256")
    return state_dir


def sqlite_url(state_dir: Path) -> str:
    """The URL of the SQLite database ``serve`` uses in ``state_dir`` by default."""
    return f"sqlite:///{state_dir / 'gmlc.sqlite3'}"


@dataclass
class GmlcProcess:
    """A running ``serve`` process, the state directory behind it and how to reach it."""

    url: str
    metrics_url: str
    state_dir: Path
    config: Path
    process: subprocess.Popen[bytes]
    log_path: Path
    verify: bool | ssl.SSLContext

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def ring(self) -> KeyRing:
        return KeyRing(self.state_dir / "keys")

    def keys(self) -> KeySet:
        """The public keys the GMLC publishes now."""
        return KeySet.from_jwks(self.ring().jwks(datetime.now(UTC), 0))

    def signing_key(self) -> SigningKey:
        """The key the GMLC signs statements with now."""
        return self.ring().active_signing_key()

    def key_pins(self) -> list[KeyPin]:
        """The DNS key pins of :meth:`keys`."""
        return [KeyPin(key.kid, jwk_thumbprint(key.public_key), key.alg) for key in self.keys()]

    def post_observation(self, body: bytes | str) -> httpx.Response:
        content = body.encode() if isinstance(body, str) else body
        return httpx.post(
            f"{self.url}/v1/observations",
            content=content,
            headers={"Content-Type": "application/jose"},
            timeout=10,
            verify=self.verify,
        )

    def client(self, client_id: str, password: str) -> MlpClient:
        """An MLP client of the GMLC that trusts its certificate."""
        return MlpClient(
            self.url, client_id=client_id, password=password, verify=self.verify, timeout=30
        )

    def stop(self) -> int:
        return stop_process(self.process)


def serve_gmlc(
    root: Path,
    state_dir: Path,
    settings: Mapping[str, object],
    *,
    name: str = "gmlc",
    program: Sequence[str] = (sys.executable, "-m", "gmlc"),
    env: Mapping[str, str] | None = None,
    ca_file: Path | None = None,
) -> GmlcProcess:
    """Writes ``root/{name}.toml`` and runs ``program serve`` with it until it is ready.

    The configuration is ``settings`` over the state directory and free loopback ports;
    HTTPS when they name a ``tls_cert`` (trusted through ``ca_file``, else the certificate
    itself). ``env`` adds to the environment, which has no ``SALVE_`` variables of its own.
    """
    values: dict[str, object] = {
        "state_dir": str(state_dir),
        "host": "127.0.0.1",
        "port": free_port(),
        "metrics_port": free_port(),
        **settings,
    }
    config = write_toml(root / f"{name}.toml", {"gmlc": values})
    log_path = root / f"{name}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [*program, "serve", "--config", str(config)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**clean_env("SALVE_"), **(env or {})},
        )
    tls_cert = values.get("tls_cert")
    scheme = "https" if tls_cert else "http"
    verify: bool | ssl.SSLContext = (
        ssl.create_default_context(cafile=str(ca_file or tls_cert)) if tls_cert else True
    )
    server = GmlcProcess(
        url=f"{scheme}://127.0.0.1:{values['port']}",
        metrics_url=f"{scheme}://127.0.0.1:{values['metrics_port']}/metrics",
        state_dir=state_dir,
        config=config,
        process=process,
        log_path=log_path,
        verify=verify,
    )
    try:
        wait_until_ready(process, server.url, log_path, verify=verify, what=f"the GMLC {name}")
    except BaseException:
        server.stop()
        raise
    return server


def wait_until_ready(
    process: subprocess.Popen[Any],
    url: str,
    log_path: Path,
    *,
    verify: bool | ssl.SSLContext = True,
    what: str = "the GMLC",
    timeout: float = 30.0,
) -> None:
    """Polls ``url/readyz`` until it answers 200; fails with the log if the process ends."""

    def ready() -> bool:
        if process.poll() is not None:
            log = log_path.read_text(errors="replace")
            raise AssertionError(f"{what} exited with {process.returncode}:\n{log}")
        try:
            return httpx.get(f"{url}/readyz", timeout=1, verify=verify).status_code == 200
        except httpx.TransportError:
            return False

    wait_for(ready, f"{what} to become ready", timeout)


@contextlib.contextmanager
def running_lab_gmlc(
    root: Path,
    *,
    issuer: str,
    tls: tuple[Path, Path],
    ca_file: Path,
    client: tuple[str, str],
    domains: Sequence[str],
    appliances: Mapping[str, Sim],
    reporting: str,
    **settings: object,
) -> Iterator[GmlcProcess]:
    """A GMLC over TLS (certificate and key ``tls``, issued under ``ca_file``) for
    ``issuer``, as a site's world needs it, stopped at the end.

    ``client`` (id, password) may connect from loopback and owns ``domains`` (enrolled
    directly: the DNSSEC check of the policy is the GMLC's own tests' job) and the SIMs of
    ``appliances`` (id: SIM). Appliance ``reporting`` has reported from :data:`LAB_CELL`
    already, so the GMLC signs statements for its SIM; the others never report.
    """
    state_dir = new_state_dir(root)
    client_id, password = client
    with Store.open(sqlite_url(state_dir)) as store:
        store.migrate()
        store.add_client(
            client_id,
            hash_password(password),
            networks=["127.0.0.0/8"],
            msisdns=[sim.msisdn for sim in appliances.values()],
            imsis=[sim.imsi for sim in appliances.values()],
            domains=[DomainEnrolment(domain) for domain in domains],
        )
        keys = {
            appliance_id: enrol_appliance(
                store, appliance_id, sim, site=appliance_id.replace("appliance", "site", 1)
            )
            for appliance_id, sim in appliances.items()
        }
        store.upsert_cells([LAB_CELL])
    cert, key = tls
    values = {"issuer": issuer, "tls_cert": str(cert), "tls_key": str(key), **settings}
    server = serve_gmlc(root, state_dir, values, ca_file=ca_file)
    try:
        token = signed_observation(keys[reporting], reporting, appliances[reporting], seq=1)
        answer = server.post_observation(token)
        assert answer.status_code == 202, answer.text
        yield server
    finally:
        server.stop()


def client_from_previous_version(store_url: str, revision: str) -> ClientRecord | None:
    """Client ``web-old`` as the schema at ``revision`` stored it, after migrating the
    database to the newest revision."""
    with Store.open(store_url) as old:
        old.migrate(revision)
        with old._write("a client made by the previous version") as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO clients (client_id, password_hash, enabled, created_at) "
                    "VALUES ('web-old', 'h', true, '2026-01-01 00:00:00')"
                )
            )
        old.migrate()
        return old.get_client("web-old")
