"""Two ``salve-gmlc serve`` nodes on one PostgreSQL behave as one GMLC.

Both nodes are real server processes sharing one real PostgreSQL database and one key
ring whose statement key lives in a PKCS#11 token (SoftHSM2), as a deployment behind a
load balancer would. A client alternates between them. What one node accepts or learns,
the other uses within the change feed's bound (NOTIFY on PostgreSQL); these tests poll for
it with a deadline.
"""

from __future__ import annotations

import concurrent.futures
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gmlc.auth import hash_password
from gmlc.keys import KeyRing
from gmlc.store import DomainEnrolment, Store
from mlp import decode_answer, encode_request
from mlp.keys import KeySet
from mlp.model import Client, Header, LocationRequest, Msid, Position, Slia, Slir
from mlp.statement import session_hash_from_exporter, verify_statement
from tests.support.gmlc import (
    LAB_CELL,
    GmlcProcess,
    Sim,
    enrol_appliance,
    serve_gmlc,
    signed_observation,
)
from tests.support.processes import wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

PASSWORD = "two-nodes-password"
DOMAIN = "www.example.com"
ISSUER = "gmlc.nodes.test"
SIM = Sim("41791000001", "228011000000001", "8941011000000000001")
MSISDN = SIM.msisdn
# The bound the change feed promises is its interval plus a reload; the tests wait longer
# only so a slow CI machine cannot make them flaky.
PATIENCE_S = 10.0
SALVE_GMLC = (str(Path(sys.executable).with_name("salve-gmlc")),)


@dataclass
class Node(GmlcProcess):
    """One ``salve-gmlc serve`` of the cluster."""

    name: str = ""

    def post(self, path: str, body: bytes, source: str = "127.0.0.1") -> httpx.Response:
        transport = httpx.HTTPTransport(local_address=source)
        with httpx.Client(transport=transport, timeout=10) as client:
            return client.post(self.url + path, content=body)


@dataclass
class Cluster:
    nodes: list[Node]
    database_url: str
    appliance_key: Ed25519PrivateKey
    seq: int = 0

    def observation(self) -> bytes:
        self.seq += 1
        token = signed_observation(
            self.appliance_key, "appliance-1", SIM, seq=self.seq, rat="LTE", rsrq=None
        )
        return token.encode()


def slir(session_hash: bytes, *, client_id: str = "web-1", password: str = PASSWORD) -> bytes:
    return encode_request(
        LocationRequest(
            Header(client=Client(client_id, password)),
            Slir(msids=(Msid(MSISDN),), domain=DOMAIN, session_hash=session_hash),
        )
    )


def answer(node: Node, body: bytes, source: str = "127.0.0.1") -> Slia:
    response = node.post("/mlp", body, source)
    assert response.status_code == 200, response.text
    decoded = decode_answer(response.content)
    assert isinstance(decoded, Slia)
    return decoded


@pytest.fixture(scope="module")
def cluster(
    tmp_path_factory: pytest.TempPathFactory, postgres_server: Any, softhsm: Any
) -> Iterator[Cluster]:
    from gmlc.hsm import Pkcs11Token

    root = tmp_path_factory.mktemp("nodes")
    database_url = postgres_server.url(postgres_server.create_database())
    with Store.open(database_url) as store:
        store.migrate()
        store.add_client(
            "web-1",
            hash_password(PASSWORD),
            networks=["127.0.0.1"],
            msisdns=[MSISDN],
            domains=[DomainEnrolment(DOMAIN)],
        )
        appliance_key = enrol_appliance(store, "appliance-1", SIM, site="site-1")
        store.upsert_cells([LAB_CELL])
    state_dir = root / "state"
    state_dir.mkdir(mode=0o700)
    token = Pkcs11Token(softhsm.module, softhsm.token_label, softhsm.pin)
    KeyRing(state_dir / "keys", token=token).generate("ES256", in_token=True)
    token.close()
    pin_file = root / "pin"
    pin_file.write_text(softhsm.pin)
    pin_file.chmod(0o600)
    settings = {
        "issuer": ISSUER,
        "database_url": database_url,
        "pkcs11_module": str(softhsm.module),
        "pkcs11_token": softhsm.token_label,
        "pkcs11_pin_file": str(pin_file),
    }
    nodes: list[Node] = []
    try:
        for name in ("a", "b"):
            node = serve_gmlc(root, state_dir, settings, name=name, program=SALVE_GMLC)
            nodes.append(Node(**vars(node), name=name))
        yield Cluster(nodes, database_url, appliance_key)
    finally:
        for node in nodes:
            node.stop()


def test_an_observation_accepted_by_one_node_is_used_by_the_other(cluster: Cluster) -> None:
    a, b = cluster.nodes
    assert a.post("/v1/observations", cluster.observation()).status_code == 202

    def b_has_it() -> bool:
        entry = answer(b, slir(session_hash_from_exporter(os.urandom(32)))).positions[0]
        return isinstance(entry, Position)

    wait_for(b_has_it, timeout=PATIENCE_S, what="node b to use node a's observation")


def test_a_client_alternating_between_nodes_gets_statements_of_one_key(cluster: Cluster) -> None:
    assert cluster.nodes[0].post("/v1/observations", cluster.observation()).status_code == 202
    jwks = [httpx.get(n.url + "/.well-known/salve/jwks.json").json() for n in cluster.nodes]
    assert jwks[0] == jwks[1] and len(jwks[0]["keys"]) == 1
    keys = KeySet.from_jwks(jwks[0])
    kids = set()
    for turn in range(6):
        node = cluster.nodes[turn % 2]
        session_hash = session_hash_from_exporter(os.urandom(32))

        def positioned(node: Node = node, session_hash: bytes = session_hash) -> bool:
            return isinstance(answer(node, slir(session_hash)).positions[0], Position)

        wait_for(positioned, timeout=PATIENCE_S, what=f"a position from node {node.name}")
        position = answer(node, slir(session_hash)).positions[0]
        assert isinstance(position, Position) and position.statement is not None
        verified = verify_statement(
            position.statement,
            keys,
            issuers=[ISSUER],
            subject=DOMAIN,
            session_hash=session_hash,
            proof=None,
            now=datetime.now(UTC),
            max_position_age_s=300,
        )
        kids.add(verified.kid)
    assert len(kids) == 1  # one key, in the token, for both nodes


def test_replays_are_refused_across_nodes(cluster: Cluster) -> None:
    a, b = cluster.nodes
    first = cluster.observation()
    assert a.post("/v1/observations", first).status_code == 202
    replayed = b.post("/v1/observations", first)
    assert replayed.status_code == 409 and replayed.json()["error"] == "replay"
    # The same new report to both nodes at once: the database lets exactly one in.
    racing = cluster.observation()
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        statuses = sorted(
            pool.map(lambda node: node.post("/v1/observations", racing).status_code, (a, b))
        )
    assert statuses == [202, 409]


def test_the_failure_throttle_is_shared(cluster: Cluster) -> None:
    a, b = cluster.nodes
    source = "127.0.0.7"
    for attempt in range(5):
        body = slir(os.urandom(32), client_id=f"guess-{attempt}", password="wrong")
        assert answer(a, body, source).result is not None
    counted = 'salve_gmlc_auth_failures_total{reason="throttled_source"}'

    def b_throttles() -> bool:
        answer(b, slir(os.urandom(32), client_id="guess-b", password="wrong"), source)
        return counted in httpx.get(b.metrics_url, timeout=10).text

    wait_for(b_throttles, timeout=PATIENCE_S, what="node b to throttle node a's attacker")


def test_a_client_disabled_through_one_node_is_refused_by_the_other(cluster: Cluster) -> None:
    a, b = cluster.nodes
    assert a.post("/v1/observations", cluster.observation()).status_code == 202
    session_hash = session_hash_from_exporter(os.urandom(32))
    wait_for(
        lambda: isinstance(answer(b, slir(session_hash)).positions[0], Position),
        timeout=PATIENCE_S,
        what="node b to answer web-1",
    )
    disabled = subprocess.run(
        [*SALVE_GMLC, "client", "disable", "web-1", "--config", str(a.config)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert disabled.returncode == 0, disabled.stderr
    wait_for(
        lambda: answer(b, slir(session_hash)).result is not None,
        timeout=PATIENCE_S,
        what="node b to refuse the disabled client",
    )
    with Store.open(cluster.database_url) as store:
        store.set_client_enabled("web-1", True)
