"""Client domains, statement options and M2DMRT declarations in the store."""

from __future__ import annotations

import hashlib

import pytest

from gmlc.errors import DuplicateError, NotFoundError
from gmlc.store import ANYWHERE, DomainEnrolment, Store
from tests.support.concurrency import all_at_once
from tests.support.gmlc import client_from_previous_version

EVIDENCE = {"policy": "v=salve1; gmlc=gmlc.example.net:9211; age=300; mode=one"}
SITE_SPKI = b"0\x2a" + b"\x01" * 42
GMLC_KEY = hashlib.sha256(b"gmlc spki").hexdigest()


def enrolment(domain: str) -> DomainEnrolment:
    return DomainEnrolment(domain, EVIDENCE)


def declare(store: Store, *, client: str = "web-1", domain: str = "www.example.com") -> bool:
    _, created = store.record_declaration(
        client_id=client,
        domain=domain,
        site_spki=SITE_SPKI,
        site_declaration="v=m2dmrt1; s=www.example.com; t=gmlc.example.net; a=ES256; sig=AA==",
        gmlc_spki_sha256=GMLC_KEY,
        gmlc_declaration="v=m2dmrt1; s=gmlc.example.net; t=www.example.com; a=ES256; sig=AQ==",
    )
    return created


def test_client_with_domains_and_options_round_trips(store: Store) -> None:
    added = store.add_client(
        "web-1",
        "h",
        networks=ANYWHERE,
        msisdns=["41790000001"],
        domains=[enrolment("www.example.com"), enrolment("shop.example.com")],
        mode="all",
        precision=500,
    )
    assert added == store.get_client("web-1")
    assert added.domains == frozenset({"www.example.com", "shop.example.com"})
    assert (added.statement_mode, added.precision_m) == ("all", 500)
    (listed,) = store.list_clients()
    assert listed == added
    (record, _) = store.list_domains("web-1")
    assert (record.client_id, record.evidence) == ("web-1", EVIDENCE)


def test_defaults_are_mode_one_and_exact_positions(store: Store) -> None:
    added = store.add_client("web-1", "h", networks=ANYWHERE)
    assert (added.statement_mode, added.precision_m, added.domains) == ("one", None, frozenset())


def test_a_domain_belongs_to_exactly_one_client(store: Store) -> None:
    store.add_client("web-1", "h", networks=ANYWHERE, domains=[enrolment("www.example.com")])
    with pytest.raises(DuplicateError, match="belongs to client 'web-1'"):
        store.add_client("web-2", "h", networks=ANYWHERE, domains=[enrolment("www.example.com")])
    assert store.get_client("web-2") is None  # nothing of the refused client was stored
    store.add_client("web-2", "h", networks=ANYWHERE)
    with pytest.raises(DuplicateError, match="belongs to client 'web-1'"):
        store.enrol_domains("web-2", [enrolment("new.example.com"), enrolment("www.example.com")])
    web_2 = store.get_client("web-2")
    assert web_2 is not None and web_2.domains == frozenset()


def test_concurrent_enrolments_of_one_domain_leave_one_owner(store: Store) -> None:
    threads = 6
    for n in range(threads):
        store.add_client(f"web-{n}", "h", networks=ANYWHERE)

    def enrol(n: int) -> str:
        try:
            store.enrol_domains(f"web-{n}", [enrolment("www.example.com")])
        except DuplicateError:
            return "refused"
        return "enrolled"

    assert sorted(all_at_once(enrol, threads)) == ["enrolled"] + ["refused"] * (threads - 1)
    assert len(store.list_domains()) == 1


def test_enrolling_again_refreshes_the_evidence_and_keeps_declarations(store: Store) -> None:
    store.add_client("web-1", "h", networks=ANYWHERE, domains=[enrolment("www.example.com")])
    assert declare(store)
    fresh = {"policy": "v=salve1; gmlc=gmlc.example.net:443; age=60; mode=one"}
    (record,) = store.enrol_domains("web-1", [DomainEnrolment("www.example.com", fresh)])
    assert record.evidence == fresh
    assert len(store.list_declarations("www.example.com")) == 1


def test_removing_a_domain_removes_its_declarations(store: Store) -> None:
    store.add_client(
        "web-1",
        "h",
        networks=ANYWHERE,
        domains=[enrolment("www.example.com"), enrolment("shop.example.com")],
    )
    declare(store)
    remaining = store.remove_domains("web-1", ["www.example.com"])
    assert [r.domain for r in remaining] == ["shop.example.com"]
    assert store.list_declarations() == []
    with pytest.raises(NotFoundError, match=r"has no domain www\.example\.com"):
        store.remove_domains("web-1", ["www.example.com"])


@pytest.mark.parametrize(
    "domain", ["WWW.example.com", "www.example.com.", "www.example.com:443", "bücher.example", ""]
)
def test_non_canonical_domains_are_refused_and_nothing_is_stored(store: Store, domain: str) -> None:
    with pytest.raises(ValueError, match="domain"):
        store.add_client("web-1", "h", networks=ANYWHERE, domains=[enrolment(domain)])
    assert store.get_client("web-1") is None


def test_statement_options_are_set_and_checked(store: Store) -> None:
    store.add_client("web-1", "h", networks=ANYWHERE)
    store.set_statement_options("web-1", mode="all", precision=1000)
    client = store.get_client("web-1")
    assert client is not None and (client.statement_mode, client.precision_m) == ("all", 1000)
    store.set_statement_options("web-1", mode="one", precision=None)
    client = store.get_client("web-1")
    assert client is not None and (client.statement_mode, client.precision_m) == ("one", None)
    for mode, precision in (("most", None), ("one", 0), ("one", 100_001), ("one", 2.5)):
        with pytest.raises(ValueError):
            store.set_statement_options("web-1", mode=mode, precision=precision)  # type: ignore[arg-type]
    with pytest.raises(NotFoundError):
        store.set_statement_options("ghost", mode="one", precision=None)


def test_declarations_are_idempotent_per_site_key(store: Store) -> None:
    store.add_client("web-1", "h", networks=ANYWHERE, domains=[enrolment("www.example.com")])
    assert declare(store) is True
    assert declare(store) is False
    (stored,) = store.list_declarations()
    assert stored.site_spki == SITE_SPKI
    assert stored.site_spki_sha256 == hashlib.sha256(SITE_SPKI).hexdigest()
    assert stored.gmlc_declaration.startswith("v=m2dmrt1; s=gmlc.example.net")


def test_only_the_domains_owner_can_declare(store: Store) -> None:
    store.add_client("web-1", "h", networks=ANYWHERE, domains=[enrolment("www.example.com")])
    store.add_client("web-2", "h", networks=ANYWHERE)
    with pytest.raises(NotFoundError, match="not registered to client 'web-2'"):
        declare(store, client="web-2")
    with pytest.raises(NotFoundError):
        declare(store, domain="other.example.com")
    assert store.list_declarations() == []


def test_upgrade_gives_existing_clients_mode_one_and_no_domain(store_url: str) -> None:
    upgraded = client_from_previous_version(store_url, "0002_client_networks")
    assert upgraded is not None
    assert (upgraded.statement_mode, upgraded.precision_m, upgraded.domains) == (
        "one",
        None,
        frozenset(),
    )
