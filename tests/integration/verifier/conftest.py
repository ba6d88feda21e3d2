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
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import trustme

from mlp.delivery import DeliveryFailure, StatementDelivery
from mlp.dnsrecords import GmlcEndpoint, format_loc, policy_record_name
from tests.support.certificates import TestCa, new_test_ca, write_leaf
from tests.support.gmlc import LAB_CELL, GmlcProcess, Sim, running_lab_gmlc
from verifier.dnslab import KnotLab, salve_records
from verifier.sitelab import LabSite, StatementServer

H = "www.example.salve.test"
OTHER_SITE = "other.example.salve.test"
G = "gmlc.salve.test"
PASSWORD = "verifier-integration-password"
SIM = Sim("41791000101", "228011000000101", "8941011000000000101")
MSISDN = SIM.msisdn
CELL = LAB_CELL
SITE_LOC = format_loc(CELL.lat, CELL.lon, hp_m=10000)


# --------------------------------------------------------------------------- PKI


@dataclass
class Pki(TestCa):
    site: trustme.LeafCert
    gmlc: trustme.LeafCert
    site_other_key: trustme.LeafCert
    site_expired: trustme.LeafCert
    other_name: trustme.LeafCert
    unknown_ca_site: trustme.LeafCert


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    directory = tmp_path_factory.mktemp("pki")
    ca, ca_file = new_test_ca(directory)
    past = datetime.now(UTC) - timedelta(days=30)
    return Pki(
        ca=ca,
        ca_file=ca_file,
        directory=directory,
        site=ca.issue_cert(H),
        gmlc=ca.issue_cert(G, "127.0.0.1"),
        site_other_key=ca.issue_cert(H),
        site_expired=ca.issue_cert(H, not_before=past, not_after=past + timedelta(days=1)),
        other_name=ca.issue_cert("other.example.salve.test"),
        unknown_ca_site=trustme.CA().issue_cert(H),
    )


# --------------------------------------------------------------------------- GMLC


@pytest.fixture(scope="session")
def gmlc(tmp_path_factory: pytest.TempPathFactory, pki: Pki) -> Iterator[GmlcProcess]:
    with running_lab_gmlc(
        tmp_path_factory.mktemp("gmlc"),
        issuer=G,
        tls=pki.pair(pki.gmlc, "gmlc"),
        ca_file=pki.ca_file,
        client=("web-1", PASSWORD),
        # The site, and another site of the same operator (whose statements an attacker
        # may replay on the first).
        domains=[H, OTHER_SITE],
        appliances={"appliance-verifier": SIM},
        reporting="appliance-verifier",
        statement_validity_s=300,
        # No metrics listener: its default port (9212) may be taken on a shared machine.
        metrics_port=0,
    ) as server:
        yield server


# --------------------------------------------------------------------------- the site


Serve = StatementServer


@pytest.fixture
def site_factory(tmp_path: Path) -> Iterator[Callable[..., LabSite]]:
    sites: list[LabSite] = []

    def make(cert: trustme.LeafCert, serve: Serve, **options: Any) -> LabSite:
        chain, key = write_leaf(cert, tmp_path, f"site-{len(sites)}")
        site = LabSite(H, chain, key, serve, **options).start()
        sites.append(site)
        return site

    yield make
    for site in sites:
        site.stop()


class Serves:
    """Ways a site answers the statement path (a function of the connection's session hash)."""

    def __init__(self, gmlc: GmlcProcess) -> None:
        self.gmlc = gmlc
        self.client = gmlc.client("web-1", PASSWORD)

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
def serves(gmlc: GmlcProcess) -> Iterator[Serves]:
    answers = Serves(gmlc)
    yield answers
    answers.close()


# --------------------------------------------------------------------------- DNS


@dataclass
class SalveDns:
    lab: KnotLab
    policy: str
    records: dict[tuple[str, str], list[str]]


def published(pki: Pki, gmlc: GmlcProcess) -> dict[tuple[str, str], list[str]]:
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
def salve_dns(knot_lab: KnotLab, pki: Pki, gmlc: GmlcProcess) -> Iterator[SalveDns]:
    records = published(pki, gmlc)
    with contextlib.ExitStack() as stack:
        for (owner, rdtype), values in records.items():
            stack.enter_context(knot_lab.records(owner, rdtype, values))
        yield SalveDns(knot_lab, records[(policy_record_name(H), "TXT")][0], records)
